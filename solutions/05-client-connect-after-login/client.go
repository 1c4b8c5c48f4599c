package login

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// The course's client makes its socket at start-up, but does not connect
// it:
//
//	// socket.js
//	import { io } from "socket.io-client";
//	const socket = io(BASE_URL, { autoConnect: false });
//	export default socket;
//
// and connects it once the user has logged in:
//
//	const res = await fetch(`${BASE_URL}/api/login`, {
//	  method: "POST",
//	  headers: { "Content-Type": "application/json" },
//	  body: JSON.stringify({ name, password }),
//	});
//	const { token } = await res.json();
//	socket.auth = { token };
//	socket.connect();
//
// Client is that socket in Go, with the login beside it:
//
//	c := login.NewClient("http://localhost:8000", login.ClientOptions{})
//	c.On("message-saved", func(e *events.Event) { ... })
//	c.OnStatus(func(s login.Status) { log.Print(s) })
//	if err := c.Login(ctx, name, password); err != nil { ... }
//	if err := c.Connect(ctx); err != nil { ... }
//	...
//	c.Logout(ctx)
//
// Why wait for the login? A connection before it could only be refused:
// the server's middleware (Authenticate) wants a token in the CONNECT
// packet's auth, and the token is what Login brings back. Connecting
// first would also mean a socket the server has to hold open for nobody.

// Client errors that are not the server's answer.
var (
	// ErrNotLoggedIn: Connect (or Logout's request) needs the token that
	// Login gets; there is none yet, or Logout dropped it.
	ErrNotLoggedIn = errors.New("login: not logged in: call Login before Connect")
	// ErrNotConnected: Emit and EmitWithAck need a connection; the Client
	// is disconnected, or between two attempts to reconnect.
	ErrNotConnected = errors.New("login: not connected")
)

// Defaults of ClientOptions.
const (
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
)

// attemptTimeout bounds one reconnection attempt, dial and handshake (as
// socket.io-client's timeout option, 20 s, does). Connect's first attempt
// is bounded by its ctx instead.
const attemptTimeout = 20 * time.Second

// httpTimeout bounds the login and logout requests of a Client made
// without an HTTPClient, whatever their ctx says.
const httpTimeout = 30 * time.Second

// maxAnswer bounds the body of an API answer the Client reads.
const maxAnswer = 64 << 10

// Disconnect reasons (see events.Client.OnDisconnect) the Client treats
// apart: the server's DISCONNECT, which it does not answer by
// reconnecting, and its own.
const (
	reasonServerDisconnect = "io server disconnect"
	reasonClientDisconnect = "io client disconnect"
)

// reservedEvents are the names events.Client.On refuses; On refuses them
// at once, rather than at the next reconnection.
var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true,
	"disconnecting": true, "newListener": true, "removeListener": true,
}

// ClientOptions configures a Client. The zero value is the course's
// client: io(BASE_URL, { autoConnect: false }), reconnecting by itself.
type ClientOptions struct {
	// AutoConnect makes Login connect as soon as it has the token, as if
	// Connect followed it. In socket.io-client, autoConnect: true (its
	// default) dials in io() itself; a Client has nothing to show the
	// server before Login, so "at once" means "at login". False, as in
	// the course: the program calls Connect.
	AutoConnect bool

	// DisableReconnect turns reconnection off: a lost connection stays
	// lost until Connect is called again (socket.io-client's
	// reconnection: false). The zero value reconnects, as
	// socket.io-client does by default.
	DisableReconnect bool

	// MinBackoff and MaxBackoff bound the wait before each reconnection
	// attempt: before attempt n (from 0), the ceiling min(MaxBackoff,
	// MinBackoff·2ⁿ), and the wait a random duration between 0 and the
	// ceiling. Zero means DefaultMinBackoff, DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration

	// Jitter picks the wait before an attempt from [0, ceiling]. Nil is
	// full jitter: uniformly at random. Set it to watch the backoff
	// without chance (func(d time.Duration) time.Duration { return d }
	// waits the whole ceiling).
	Jitter func(ceiling time.Duration) time.Duration

	// HTTPClient sends the login and logout requests. Nil means a client
	// of the Client's own, which keeps no idle connection open, with a
	// 30 s timeout.
	HTTPClient *http.Client

	// Header is sent with every WebSocket handshake (events.ClientOptions).
	// The server's origin check lets a request without Origin through,
	// which is what a program that is not a browser sends.
	Header http.Header

	// Dialer dials the WebSocket (TLS settings, proxy); nil means
	// websocket.DefaultDialer.
	Dialer *websocket.Dialer
}

// A Client logs in over the server's HTTP API, then holds one Socket.IO
// connection that carries the token, and keeps it up.
//
// # Connecting after login
//
// NewClient dials nothing: Login posts the name and password to
// /api/login and keeps the token of the answer; Connect dials
// /socket.io/ with {"token": …} as the CONNECT packet's auth — what
// socket.auth = { token }; socket.connect() does. Connect before Login is
// ErrNotLoggedIn, without a packet sent.
//
// # Handlers outlive connections
//
// Each connection is a new events.Client, with its own handlers. A
// Client keeps the handlers given to On, and puts them on every new
// connection before it reports StateConnected, so a program registers
// them once, as it does on a socket.io-client socket.
//
// # Reconnecting
//
// When the connection is lost — the server restarted, the network
// dropped, pings stopped — the Client dials again by itself, sending the
// token again, and waits longer before each attempt: at most
// min(MaxBackoff, MinBackoff·2ⁿ) before attempt n, and a random part of
// that ("full jitter"). The randomness matters when a server restarts:
// all its clients lose their connection at the same instant, and without
// it they would all come back at the same instants too, a crowd at every
// step of the backoff. socket.io-client does the same with
// reconnectionDelay, reconnectionDelayMax and randomizationFactor.
//
// The Client does not reconnect when reconnecting cannot help, as
// socket.io-client does not either:
//
//   - after Disconnect or Logout: the program asked for it;
//   - after the server's DISCONNECT ("io server disconnect"): the server
//     ended this socket on purpose, for example because its token was
//     revoked or expired ("session-ended" comes first);
//   - when an attempt gets a CONNECT_ERROR (*events.ConnectError): the
//     server's middleware refused the token — "token expired", "token
//     revoked" — and will refuse it again. The Client reports it as
//     StateDisconnected with Status.Err; the program logs in again (a
//     new token) and calls Connect.
//
// Any other failed attempt — connection refused, a timeout, or the one
// CONNECT_ERROR that says the server could not check the token for now —
// is followed by the next, for as long as it takes.
//
// # Concurrency
//
// A Client is safe for concurrent use. Event handlers run on the
// connection's goroutine, one at a time (events.Client); the functions
// given to OnStatus run on the Client's own goroutine, in order. Both may
// call any method, Disconnect and Logout included.
type Client struct {
	base    *url.URL // scheme and host of the server
	baseErr error    // why the base URL given to NewClient is unusable
	opts    ClientOptions
	http    *http.Client

	mu       sync.Mutex
	token    string
	user     User
	handlers map[string]events.Handler
	statusFn []func(Status)
	run      *run              // the connection being kept up; nil when disconnected
	runs     map[*run]struct{} // runs whose goroutine has not returned yet
}

// NewClient returns a Client of the server at baseURL ("http://host:port";
// https for TLS). It dials nothing, whatever the options say: with
// AutoConnect, Login connects.
func NewClient(baseURL string, opts ClientOptions) *Client {
	c := &Client{opts: opts, handlers: make(map[string]events.Handler), runs: make(map[*run]struct{})}
	if c.opts.MinBackoff <= 0 {
		c.opts.MinBackoff = DefaultMinBackoff
	}
	if c.opts.MaxBackoff <= 0 {
		c.opts.MaxBackoff = DefaultMaxBackoff
	}
	c.opts.MaxBackoff = max(c.opts.MaxBackoff, c.opts.MinBackoff)
	if c.opts.Jitter == nil {
		c.opts.Jitter = fullJitter
	}
	c.http = opts.HTTPClient
	if c.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Two requests per login: an idle connection kept between them
		// would only be a goroutine and a socket left behind.
		tr.DisableKeepAlives = true
		c.http = &http.Client{Transport: tr, Timeout: httpTimeout}
	}
	u, err := url.Parse(baseURL)
	switch {
	case err != nil:
		c.baseErr = fmt.Errorf("login: NewClient: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		c.baseErr = fmt.Errorf("login: NewClient %q: the scheme must be http or https", baseURL)
	case u.Host == "":
		c.baseErr = fmt.Errorf("login: NewClient %q: no host", baseURL)
	case u.Path != "" && u.Path != "/":
		c.baseErr = fmt.Errorf("login: NewClient %q: give the server's origin, without a path: the API is at /api/ and Socket.IO at /socket.io/", baseURL)
	default:
		c.base = &url.URL{Scheme: u.Scheme, Host: u.Host}
	}
	return c
}

// Login posts name and password to /api/login and keeps the token of the
// answer for Connect and for every reconnection. A wrong name or password
// is an *APIError that errors.Is matches with ErrBadCredentials; too many
// failures, an *APIError with Status 429 and RetryAfter. Login dials no
// socket, unless AutoConnect is set.
//
// Logging in again replaces the token; a connection already up keeps
// running on the old one until it is lost, and reconnects with the new.
func (c *Client) Login(ctx context.Context, name, password string) error {
	if c.baseErr != nil {
		return c.baseErr
	}
	body, err := json.Marshal(credentials{Name: name, Password: password})
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.JoinPath("/api/login").String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	var answer loginAnswer
	if err := c.do(req, http.StatusOK, &answer); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			ae.Err = ErrBadCredentials
		}
		return err
	}
	if answer.Token == "" {
		return errors.New("login: the server's answer has no token")
	}
	c.mu.Lock()
	c.token, c.user = answer.Token, answer.User
	c.mu.Unlock()
	if c.opts.AutoConnect {
		if err := c.Connect(ctx); err != nil {
			return fmt.Errorf("login: logged in, but could not connect: %w", err)
		}
	}
	return nil
}

// User returns the user Login logged in, and false when there is none.
func (c *Client) User() (User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user, c.token != ""
}

// Connect dials the server with the token of Login, and once connected
// keeps the connection up (see Reconnecting) until Disconnect or Logout.
// ctx bounds this first attempt only.
//
// Connect returns ErrNotLoggedIn before Login, and a *events.ConnectError
// when the server refuses the token (its Message is MsgExpired, MsgRevoked,
// MsgBadToken or MsgNoToken): log in again. Unlike socket.io-client, which
// keeps trying after a first attempt that could not reach the server,
// Connect returns that error too, and nothing is left running: the caller
// decides when to try again. Connect on a Client that is connecting,
// connected or reconnecting does nothing.
func (c *Client) Connect(ctx context.Context) error {
	if c.baseErr != nil {
		return c.baseErr
	}
	c.mu.Lock()
	if c.token == "" {
		c.mu.Unlock()
		return ErrNotLoggedIn
	}
	if c.run != nil {
		c.mu.Unlock()
		return nil
	}
	r := &run{done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	c.run = r
	c.runs[r] = struct{}{}
	token := c.token
	c.mu.Unlock()

	// Disconnect, from another goroutine, ends this attempt too.
	dctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(r.ctx, cancel)
	conn, lost, err := c.dial(dctx, r, token, events.RecoveryPoint{})
	stop()
	cancel()
	if err == nil {
		if !c.attach(r, conn) {
			_ = conn.Close()
			err = errors.New("login: Connect: Disconnect was called while connecting")
		}
	} else if r.ctx.Err() != nil {
		err = fmt.Errorf("login: Connect: Disconnect was called while connecting: %w", err)
	}
	if err != nil {
		c.end(r)
		return err
	}
	go c.keep(r, conn, lost)
	return nil
}

// On sets the handler of event, on this connection and on every later one
// (socket.on(event, handler)); nil removes it. It may be called at any
// time, before Login too. The names socket.io reserves ("connect",
// "disconnect", …) panic, as in events.Client.On: use OnStatus.
func (c *Client) On(event string, h events.Handler) {
	if reservedEvents[event] {
		panic(fmt.Sprintf("login: %q is a reserved event name; use OnStatus", event))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h == nil {
		delete(c.handlers, event)
	} else {
		c.handlers[event] = h
	}
	if c.run != nil && c.run.conn != nil {
		c.run.conn.On(event, c.run.handler(h))
	}
}

// OnStatus adds fn to the functions told of every change of the
// connection: StateConnected after Connect and after each reconnection,
// StateReconnecting before each attempt, StateDisconnected when the
// Client stops (see Status). They run one at a time, in order, on the
// Client's goroutine: a function that blocks holds up reconnecting.
//
// Connect's own outcome is its return value; OnStatus tells what happens
// after it, which in socket.io-client are the "connect", "disconnect" and
// "connect_error" events of the socket and "reconnect_attempt" of its
// Manager.
func (c *Client) OnStatus(fn func(Status)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statusFn = append(c.statusFn, fn)
}

// Connected reports whether the Client has a connection right now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.run != nil && c.run.conn != nil
}

// Emit sends an event to the server (socket.emit). Without a connection
// it returns ErrNotConnected: socket.io-client would buffer the event and
// send it after reconnecting, which can send a message long after the
// user gave up on it, or twice; a Go program that wants that can retry
// on StateConnected.
func (c *Client) Emit(event string, args ...any) error {
	conn := c.conn()
	if conn == nil {
		return ErrNotConnected
	}
	return conn.Emit(event, args...)
}

// EmitWithAck sends an event and waits for the server's ack, or ctx
// (socket.timeout(ms).emitWithAck). ErrNotConnected without a connection;
// events.ErrDisconnected when the connection is lost while it waits: the
// server may or may not have handled the event.
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	conn := c.conn()
	if conn == nil {
		return nil, ErrNotConnected
	}
	return conn.EmitWithAck(ctx, event, args...)
}

// Disconnect closes the connection and stops reconnecting
// (socket.disconnect()); OnStatus gets StateDisconnected with reason "io
// client disconnect". The token stays: Connect connects again.
// Disconnecting a Client that is not connected does nothing.
//
// When Disconnect returns, every goroutine of the Client and of its
// connection has returned — unless an event handler or an OnStatus
// function was running, which may be the caller: then they return as soon
// as it does.
func (c *Client) Disconnect() error {
	c.mu.Lock()
	r := c.run
	c.run = nil
	runs := make([]*run, 0, len(c.runs))
	for x := range c.runs {
		runs = append(runs, x)
	}
	c.mu.Unlock()
	if r != nil {
		r.cancel()
	}
	for _, x := range runs {
		// A callback of x may be the caller, or may be waiting for
		// it: waiting for x here could wait for ever.
		if x.callbacks.Load() == 0 {
			<-x.done
		}
	}
	return nil
}

// Logout disconnects, then posts the token to /api/logout, which revokes
// it on the server: a copy of it, anywhere, no longer connects. The
// Client forgets the token and the user in any case; Connect needs Login
// again. An error means the server did not confirm the revocation (the
// token then stays valid until it expires); an answer 401 means it was
// already expired or revoked, which is no error. Logout without Login
// does nothing.
//
// In the browser:
//
//	await fetch(`${BASE_URL}/api/logout`, {
//	  method: "POST", headers: { Authorization: `Bearer ${token}` },
//	});
//	socket.disconnect();
//
// The Client disconnects first, so that the server's "session-ended" for
// its own socket does not arrive in the middle.
func (c *Client) Logout(ctx context.Context) error {
	_ = c.Disconnect()
	c.mu.Lock()
	token := c.token
	c.token, c.user = "", User{}
	c.mu.Unlock()
	if token == "" || c.baseErr != nil {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.JoinPath("/api/logout").String(), nil)
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	err = c.do(req, http.StatusNoContent, nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		return nil
	}
	return err
}
