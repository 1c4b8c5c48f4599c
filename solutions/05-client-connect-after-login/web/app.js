// app.js is the page's client: a login form, then the chat. It uses no
// library. The course's React client did this with socket.io-client:
//
//   const socket = io(BASE_URL, { autoConnect: false });   // nothing is dialled yet
//   // ... the user logs in ...
//   socket.auth = { token };
//   socket.connect();
//
// Here Socket, below, is a small client with the same shape, speaking
// Engine.IO v4 and Socket.IO v5 over the browser's own WebSocket, as
// lesson 04's chat.js does. The socket is created only once the user has
// logged in, and it sends the token in the CONNECT packet:
//
//   → POST /api/login {"name":"ana","password":"…"}   ← {"token":"eyJ…","user":{…}}
//   → GET /socket.io/?EIO=4&transport=websocket        (a WebSocket handshake)
//   ← 0{"sid":"…","pingInterval":25000,…}              Engine.IO OPEN
//   → 40{"token":"eyJ…"}                                Socket.IO CONNECT with auth
//   ← 40{"sid":"…"}                                     accepted, or
//   ← 44{"message":"token expired"}                     CONNECT_ERROR: log in again
//   → 42["send-message",{"text":"hi"}]                 no author: the server knows who
//   ← 42["message-saved",{"success":true,"message":{"author":"ana",…}}]
//   ← 42["session-ended",{"reason":"logged out"}]  ← 41   the login ended
//
// The token is kept in sessionStorage: it survives a reload of this tab,
// and no other tab or window sees it.
"use strict";

(() => {
  // -----------------------------------------------------------------------
  // Socket: socket.io-client's shape, in small. new Socket(url, {autoConnect:
  // false, auth}) dials nothing; connect() does. on(event, fn) hears the
  // server's events and "connect", "connect_error", "disconnect" and
  // "reconnecting". A lost connection is retried with backoff; a refused
  // one (CONNECT_ERROR) or one the server ended (DISCONNECT) is not.

  class Socket {
    constructor(url, opts = {}) {
      this.url = new URL(url);
      this.auth = opts.auth || null;
      this.listeners = new Map();
      this.ws = null;
      this.active = false; // connect() was called and disconnect() not since
      this.connected = false; // the server accepted our CONNECT
      this.attempts = 0; // failed connections in a row, for the backoff
      this.retry = 0;
      this.watchdog = 0;
      this.heartbeat = 0;
      if (opts.autoConnect !== false) this.connect();
    }

    on(event, fn) {
      if (!this.listeners.has(event)) this.listeners.set(event, []);
      this.listeners.get(event).push(fn);
      return this;
    }

    fire(event, ...args) {
      for (const fn of this.listeners.get(event) || []) fn(...args);
    }

    connect() {
      if (this.active) return this;
      this.active = true;
      this.open();
      return this;
    }

    // disconnect: ours, not the server's. A connected socket says so
    // (DISCONNECT, "41") before the WebSocket closes.
    disconnect() {
      const was = this.connected;
      this.active = false;
      this.connected = false;
      clearTimeout(this.retry);
      clearTimeout(this.watchdog);
      if (this.ws) {
        if (was) this.send("41");
        this.ws.close();
        this.ws = null;
      }
      if (was) this.fire("disconnect", "io client disconnect");
      return this;
    }

    emit(event, ...args) {
      if (!this.connected) return false;
      return this.send("42" + JSON.stringify([event, ...args]));
    }

    send(text) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) {
        this.ws.send(text);
        return true;
      }
      return false;
    }

    open() {
      const scheme = this.url.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(`${scheme}//${this.url.host}/socket.io/?EIO=4&transport=websocket`);
      this.ws = ws;
      ws.onmessage = (ev) => {
        if (this.ws === ws) this.receive(String(ev.data));
      };
      ws.onclose = () => {
        if (this.ws === ws) this.lost();
      };
    }

    // The server pings every pingInterval; no ping for pingInterval +
    // pingTimeout means the connection is dead even if TCP has not noticed
    // (engine.io-protocol v4, "Heartbeat").
    armWatchdog() {
      clearTimeout(this.watchdog);
      if (this.heartbeat > 0) this.watchdog = setTimeout(() => this.ws?.close(), this.heartbeat);
    }

    lost() {
      const was = this.connected;
      clearTimeout(this.watchdog);
      this.ws = null;
      this.connected = false;
      if (was) this.fire("disconnect", "transport close");
      if (!this.active) return;
      this.attempts++;
      // A ceiling of 0.5 s, 1 s, 2 s, … up to 10 s, and a random wait
      // below it ("full jitter", as the Go client does), so that a
      // restarted server is not hit by every page at once.
      const base = Math.min(10000, 500 * 2 ** (this.attempts - 1));
      const delay = Math.round(Math.random() * base);
      this.fire("reconnecting", delay);
      this.retry = setTimeout(() => this.active && this.open(), delay);
    }

    // ended: the server refused or ended this socket; do not reconnect.
    ended() {
      this.active = false;
      clearTimeout(this.watchdog);
      const ws = this.ws;
      this.ws = null;
      ws?.close();
    }

    // receive handles one Engine.IO packet: its first character is its type.
    receive(packet) {
      this.armWatchdog();
      switch (packet[0]) {
        case "0": { // OPEN: the session's parameters; now join "/" with the token
          const open = JSON.parse(packet.slice(1));
          this.heartbeat = (open.pingInterval || 25000) + (open.pingTimeout || 20000);
          this.armWatchdog();
          this.send("40" + (this.auth ? JSON.stringify(this.auth) : ""));
          break;
        }
        case "2": // PING → PONG, with the same data
          this.send("3" + packet.slice(1));
          break;
        case "1": // CLOSE
          this.ws?.close();
          break;
        case "4": // MESSAGE: a Socket.IO packet
          this.receiveSocketIO(packet.slice(1));
          break;
        default: // NOOP and the rest: nothing to do
      }
    }

    // receiveSocketIO handles one Socket.IO packet of the main namespace:
    // <type>[<ack id>][JSON data] (socket.io-protocol v5, "Format").
    receiveSocketIO(p) {
      const type = p[0];
      const data = p.slice(1).replace(/^\d+/, ""); // an ack id, if any, is not used here
      switch (type) {
        case "0": // CONNECT answered
          this.connected = true;
          this.attempts = 0;
          this.fire("connect");
          break;
        case "1": // DISCONNECT by the server: socket.io-client does not reconnect
          this.connected = false;
          this.ended();
          this.fire("disconnect", "io server disconnect");
          break;
        case "4": { // CONNECT_ERROR: refused by the server's middleware
          const err = JSON.parse(data || "{}");
          this.ended();
          this.fire("connect_error", { message: err.message || "connection refused", data: err.data });
          break;
        }
        case "2": { // EVENT: ["name", ...args]
          const [event, ...args] = JSON.parse(data);
          this.fire(event, ...args);
          break;
        }
        default:
      }
    }
  }

  // -----------------------------------------------------------------------
  // The page.

  const el = (id) => document.getElementById(id);
  const ui = {
    account: el("account"),
    user: el("user"),
    logout: el("logout"),
    loginView: el("login-view"),
    notice: el("notice"),
    loginForm: el("login-form"),
    loginName: el("login-name"),
    loginPassword: el("login-password"),
    loginError: el("login-error"),
    register: el("register"),
    chatView: el("chat-view"),
    status: el("status"),
    list: el("messages"),
    error: el("error"),
    form: el("composer"),
    text: el("text"),
    send: el("send"),
    older: el("older"),
    loadOlder: el("load-older"),
  };

  const SESSION_KEY = "chat.session";
  let session = null; // {token, user: {id, name}, expires}
  let socket = null;

  function show(node, text) {
    node.textContent = text || "";
    node.hidden = !text;
  }

  function setState(state, text) {
    document.body.dataset.connection = state;
    ui.status.textContent = text;
    ui.send.disabled = state !== "connected";
  }

  function showLogin(notice) {
    document.body.dataset.view = "login";
    ui.chatView.hidden = true;
    ui.account.hidden = true;
    ui.loginView.hidden = false;
    show(ui.notice, notice);
    ui.loginPassword.value = "";
    ui.loginName.focus();
  }

  function showChat() {
    document.body.dataset.view = "chat";
    ui.loginView.hidden = true;
    show(ui.loginError, "");
    ui.user.textContent = session.user.name;
    ui.account.hidden = false;
    ui.chatView.hidden = false;
    ui.text.focus();
  }

  // api sends a JSON request; it returns {status, body}.
  async function api(method, path, body, token) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = "Bearer " + token;
    const res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
    const text = await res.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { error: text };
    }
    return { status: res.status, body: parsed };
  }

  // ---- Logging in and out.

  async function logIn(name, password) {
    const res = await api("POST", "/api/login", { name, password });
    if (res.status !== 200) {
      show(ui.loginError, res.body?.error || `could not log in (${res.status})`);
      return;
    }
    session = { token: res.body.token, user: res.body.user, expires: res.body.expires };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    startChat();
  }

  async function register(name, password) {
    const res = await api("POST", "/api/register", { name, password });
    if (res.status !== 201) {
      show(ui.loginError, res.body?.error || `could not register (${res.status})`);
      return;
    }
    await logIn(name, password);
  }

  // endSession forgets the login and goes back to the form, with notice.
  function endSession(notice) {
    const s = socket;
    socket = null;
    s?.disconnect();
    session = null;
    sessionStorage.removeItem(SESSION_KEY);
    clearMessages(); // what was shown to this user is not left in the page
    setState("disconnected", "disconnected");
    showLogin(notice);
  }

  // logOut disconnects the socket, revokes the token on the server (which
  // would end every other socket that uses it), and forgets it.
  // Disconnecting first lets this socket leave quietly, instead of being
  // told by the server that its session has ended.
  async function logOut() {
    if (!session) return;
    const token = session.token;
    const s = socket;
    socket = null;
    s?.disconnect();
    setState("disconnected", "logging out…");
    let notice = "";
    try {
      const res = await api("POST", "/api/logout", undefined, token);
      if (res.status !== 204 && res.status !== 401) {
        notice = "The server did not confirm the logout: " + (res.body?.error || res.status);
      }
    } catch (err) {
      notice = "Could not reach the server to log out: " + err.message;
    }
    endSession(notice);
  }

  // ---- The chat, once logged in.

  const shown = new Set(); // IDs of the messages on the page
  let oldestID = 0; // the smallest ID shown, the cursor for older pages
  let historyLoaded = false;

  function clearMessages() {
    shown.clear();
    oldestID = 0;
    historyLoaded = false;
    ui.list.replaceChildren();
    ui.older.hidden = true;
    show(ui.error, "");
  }

  function render(m) {
    if (typeof m?.id !== "number" || shown.has(m.id)) return;
    shown.add(m.id);
    if (oldestID === 0 || m.id < oldestID) oldestID = m.id;

    const li = document.createElement("li");
    li.className = "message";
    li.dataset.testid = "message-item";
    li.dataset.id = String(m.id);
    li.dataset.author = m.author;
    if (session && m.author === session.user.name) li.classList.add("mine");
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = m.author; // textContent, never innerHTML: a message is data
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = m.text;
    const time = document.createElement("time");
    time.dateTime = m.time;
    time.textContent = new Date(m.time).toLocaleTimeString();
    li.append(author, text, time);

    const after = [...ui.list.children].find((other) => Number(other.dataset.id) > m.id);
    const atBottom = ui.list.scrollHeight - ui.list.scrollTop - ui.list.clientHeight < 40;
    ui.list.insertBefore(li, after ?? null);
    if (!after && atBottom) ui.list.scrollTop = ui.list.scrollHeight;
  }

  // loadHistory reads one page of GET /api/messages, which wants the token.
  async function loadHistory(before) {
    if (!session) return;
    const q = new URLSearchParams({ limit: "50" });
    if (before) q.set("before", String(before));
    try {
      const res = await api("GET", "/api/messages?" + q, undefined, session.token);
      if (res.status === 401) {
        endSession("Your session has ended: " + (res.body?.error || "log in again"));
        return;
      }
      if (res.status !== 200) throw new Error(res.body?.error || String(res.status));
      res.body.messages.forEach(render);
      if (before || !historyLoaded) ui.older.hidden = !res.body.more;
      historyLoaded = true;
    } catch (err) {
      show(ui.error, "Could not load the history: " + err.message);
    }
  }

  // The refusals that mean "log in again", as the server words them.
  const authRefusals = new Set(["authentication required", "invalid token", "token expired", "token revoked"]);

  function startChat() {
    clearMessages();
    showChat();
    setState("connecting", "connecting…");
    // Created now, after the login, and connected explicitly: the
    // course's autoConnect: false.
    const s = new Socket(location.href, { autoConnect: false, auth: { token: session.token } });
    socket = s;
    s.on("connect", () => {
      show(ui.error, "");
      setState("connected", "connected");
      loadHistory(0); // catch up on whatever was said while away
    });
    s.on("reconnecting", (delay) => setState("offline", `offline, reconnecting in ${Math.ceil(delay / 1000)} s`));
    s.on("disconnect", (reason) => {
      if (socket === s && reason !== "transport close") setState("disconnected", "disconnected");
    });
    s.on("connect_error", (err) => {
      if (authRefusals.has(err.message)) {
        endSession("Please log in again: " + err.message + ".");
      } else {
        setState("disconnected", "disconnected");
        show(ui.error, "The server refused the connection: " + err.message);
      }
    });
    s.on("session-ended", (payload) => {
      // The server disconnects the socket right after this event: it is
      // over already, so leave without sending DISCONNECT.
      s.connected = false;
      s.ended();
      const reason = payload?.reason || "ended";
      endSession(reason === "logged out"
        ? "You were logged out (from this or another window)."
        : `Your session has ended: ${reason}. Please log in again.`);
    });
    s.on("message-saved", (res) => {
      if (res?.success) render(res.message);
      else show(ui.error, "Not sent: " + (res?.error || "unknown error"));
    });
    s.connect();
  }

  // ---- The forms.

  ui.loginForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    show(ui.loginError, "");
    logIn(ui.loginName.value.trim(), ui.loginPassword.value).catch((err) => show(ui.loginError, err.message));
  });

  ui.register.addEventListener("click", () => {
    if (!ui.loginForm.reportValidity()) return;
    show(ui.loginError, "");
    register(ui.loginName.value.trim(), ui.loginPassword.value).catch((err) => show(ui.loginError, err.message));
  });

  ui.logout.addEventListener("click", () => logOut());

  ui.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = ui.text.value;
    if (!text.trim()) return;
    if (!socket || !socket.connected) {
      show(ui.error, "Not connected: wait a moment and try again.");
      return;
    }
    show(ui.error, "");
    // socket.emit("send-message", {text}): no author, the server knows who.
    if (socket.emit("send-message", { text })) {
      ui.text.value = "";
      ui.text.focus();
    }
  });

  ui.loadOlder.addEventListener("click", () => loadHistory(oldestID));

  // A reload of a tab that is logged in goes straight back to the chat;
  // anything else starts at the login form, and dials nothing.
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    if (saved?.token && new Date(saved.expires) > new Date()) session = saved;
  } catch {
    session = null;
  }
  if (session) startChat();
  else showLogin("");
})();
