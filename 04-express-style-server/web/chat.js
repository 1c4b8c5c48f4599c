// chat.js is the chat page's client. It uses no library: it speaks
// Engine.IO v4 and Socket.IO v5 itself, over the browser's own WebSocket,
// with the packets lesson 03 builds (engine.io-protocol v4 and
// socket.io-protocol v5). What socket.io-client would do for the course's
// React page, in a few hundred lines of plain JavaScript:
//
//   → GET /socket.io/?EIO=4&transport=websocket   (a WebSocket handshake)
//   ← 0{"sid":"…","pingInterval":25000,"pingTimeout":20000,…}   Engine.IO OPEN
//   → 40                                           Socket.IO CONNECT to "/"
//   ← 40{"sid":"…"}                                connected
//   ← 2   → 3                                      PING, PONG (the server pings)
//   → 42["send-message",{"author":"ana","text":"hi"}]
//   ← 42["message-saved",{"success":true,"message":{"id":1,…}}]
//
// The conversation so far comes from GET /api/messages, after every
// (re)connection, so a page that was offline for a while catches up. A lost
// connection is retried with exponential backoff.
"use strict";

(() => {
  const el = (id) => document.getElementById(id);
  const ui = {
    status: el("status"),
    list: el("messages"),
    error: el("error"),
    form: el("composer"),
    name: el("name"),
    text: el("text"),
    send: el("send"),
    older: el("older"),
    loadOlder: el("load-older"),
  };

  // ---------------------------------------------------------------------
  // Messages on the page, kept in ID order whatever order they arrive in:
  // a live message-saved can come before the history that precedes it.

  const shown = new Set(); // IDs of the messages on the page
  let oldestID = 0; // the smallest ID shown, the cursor for older pages
  let historyLoaded = false; // the first page came: "more" is the older pages' business now

  function render(m) {
    if (typeof m?.id !== "number" || shown.has(m.id)) return;
    shown.add(m.id);
    if (oldestID === 0 || m.id < oldestID) oldestID = m.id;

    const li = document.createElement("li");
    li.className = "message";
    li.dataset.testid = "message-item";
    li.dataset.id = String(m.id);
    li.dataset.author = m.author;
    if (m.author === ui.name.value.trim()) li.classList.add("mine");
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

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = !text;
  }

  // loadHistory reads one page of GET /api/messages: the newest, or the one
  // before the oldest message shown.
  async function loadHistory(before) {
    const q = new URLSearchParams({ limit: "50" });
    if (before) q.set("before", String(before));
    try {
      const res = await fetch("/api/messages?" + q, { headers: { Accept: "application/json" } });
      const body = await res.json();
      if (!res.ok) throw new Error(body.error || res.statusText);
      body.messages.forEach(render);
      if (before || !historyLoaded) ui.older.hidden = !body.more;
      historyLoaded = true;
    } catch (err) {
      showError("Could not load the history: " + err.message);
    }
  }

  // ---------------------------------------------------------------------
  // The connection: one WebSocket at a time, reopened after it is lost.

  let ws = null;
  let connected = false; // the Socket.IO CONNECT was answered
  let attempts = 0; // failed connections in a row, for the backoff
  let watchdog = 0; // ends a connection whose pings stopped
  let heartbeat = 0; // pingInterval + pingTimeout from the OPEN packet

  function setState(state, text) {
    document.body.dataset.connection = state;
    ui.status.textContent = text;
    ui.send.disabled = state !== "connected";
  }

  function endpoint() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/socket.io/?EIO=4&transport=websocket`;
  }

  function connect() {
    setState("connecting", "connecting…");
    ws = new WebSocket(endpoint());
    const self = ws;
    ws.onmessage = (ev) => {
      if (ws === self) receive(String(ev.data));
    };
    ws.onclose = () => {
      if (ws === self) lost();
    };
  }

  // The server pings every pingInterval; no ping for pingInterval +
  // pingTimeout means the connection is dead even if TCP has not noticed
  // (engine.io-protocol v4, "Heartbeat").
  function armWatchdog() {
    clearTimeout(watchdog);
    if (heartbeat > 0) watchdog = setTimeout(() => ws?.close(), heartbeat);
  }

  function lost() {
    clearTimeout(watchdog);
    ws = null;
    connected = false;
    attempts++;
    // 0.5 s, 1 s, 2 s, … up to 10 s, each with up to half of it as jitter,
    // so that a restarted server is not hit by every page at once.
    const base = Math.min(10000, 500 * 2 ** (attempts - 1));
    const delay = Math.round(base / 2 + (Math.random() * base) / 2);
    setState("offline", `offline, reconnecting in ${Math.ceil(delay / 1000)} s`);
    setTimeout(connect, delay);
  }

  function sendPacket(text) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(text);
      return true;
    }
    return false;
  }

  // receive handles one Engine.IO packet: its first character is its type.
  function receive(packet) {
    armWatchdog();
    switch (packet[0]) {
      case "0": { // OPEN: the session's parameters; now join "/"
        const open = JSON.parse(packet.slice(1));
        heartbeat = (open.pingInterval || 25000) + (open.pingTimeout || 20000);
        armWatchdog();
        sendPacket("40");
        break;
      }
      case "2": // PING → PONG, with the same data
        sendPacket("3" + packet.slice(1));
        break;
      case "1": // CLOSE
        ws?.close();
        break;
      case "4": // MESSAGE: a Socket.IO packet
        receiveSocketIO(packet.slice(1));
        break;
      default: // NOOP and the rest: nothing to do
    }
  }

  // receiveSocketIO handles one Socket.IO packet of the main namespace:
  // <type>[<ack id>][JSON data] (socket.io-protocol v5, "Format").
  function receiveSocketIO(p) {
    const type = p[0];
    const data = p.slice(1).replace(/^\d+/, ""); // an ack id, if any, is not used here
    switch (type) {
      case "0": // CONNECT answered
        connected = true;
        attempts = 0;
        showError("");
        setState("connected", "connected");
        loadHistory(0); // catch up on whatever was said while away
        break;
      case "1": // DISCONNECT by the server
        ws?.close();
        break;
      case "4": // CONNECT_ERROR
        showError("The server refused the connection: " + (JSON.parse(data || "{}").message || "no reason"));
        ws?.close();
        break;
      case "2": { // EVENT: ["name", ...args]
        const [event, payload] = JSON.parse(data);
        if (event === "message-saved") messageSaved(payload);
        break;
      }
      default:
    }
  }

  // messageSaved: everyone gets the saved messages; only the sender gets
  // the failures.
  function messageSaved(res) {
    if (res?.success) {
      render(res.message);
    } else {
      showError("Not sent: " + (res?.error || "unknown error"));
    }
  }

  // ---------------------------------------------------------------------
  // The form.

  ui.name.value = sessionStorage.getItem("chat.name") || "";
  ui.name.addEventListener("change", () => sessionStorage.setItem("chat.name", ui.name.value.trim()));

  ui.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const author = ui.name.value.trim();
    const text = ui.text.value;
    if (!author || !text.trim()) return;
    if (!connected) {
      showError("Not connected: wait a moment and try again.");
      return;
    }
    showError("");
    // socket.emit("send-message", {author, text}) of socket.io-client.
    if (sendPacket("42" + JSON.stringify(["send-message", { author, text }]))) {
      ui.text.value = "";
      ui.text.focus();
    }
  });

  ui.loadOlder.addEventListener("click", () => loadHistory(oldestID));

  connect();
})();
