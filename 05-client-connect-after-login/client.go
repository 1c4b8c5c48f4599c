package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/websocket-workbook/workbook/internal/exercise"
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

// State is where a Client's connection stands, as OnStatus reports it.
type State string

// The states OnStatus reports.
const (
	// StateConnected: Connect, or a reconnection, succeeded; events flow.
	StateConnected State = "connected"
	// StateReconnecting: the connection was lost and the Client is
	// waiting Status.Delay before attempt Status.Attempt.
	StateReconnecting State = "reconnecting"
	// StateDisconnected: the Client has stopped, and stays stopped until
	// Connect: after Disconnect or Logout, after the server's DISCONNECT,
	// or when a reconnection was refused (Status.Err).
	StateDisconnected State = "disconnected"
)

// Status is one change of a Client's connection, given to the functions of
// OnStatus.
type Status struct {
	State State
	// Reason says why the last connection ended, in socket.io-client's
	// words: "transport close" (the server went away), "ping timeout",
	// "io server disconnect" (the server ended the socket, for example at
	// logout or when its token expired), "io client disconnect"
	// (Disconnect, Logout). Empty for StateConnected.
	Reason string
	// Err is, for StateReconnecting, why the previous attempt failed (nil
	// before the first), and for StateDisconnected, why the Client gave
	// up: a *events.ConnectError when the server refused the token
	// (MsgExpired, MsgRevoked, MsgBadToken); nil otherwise.
	Err error
	// Attempt numbers the reconnection attempts from 1; StateReconnecting
	// only.
	Attempt int
	// Delay is the wait before that attempt; StateReconnecting only.
	Delay time.Duration
	// Recovered is, for StateConnected after a reconnection, whether the
	// server gave the old session back (connection state recovery, lesson
	// 03's exercise 3.9): the same socket ID and rooms, and the events
	// missed meanwhile, which reach the handlers first. A server that
	// restarted, or a session kept too long, gives a fresh one instead.
	Recovered bool
}

// String is a line for a log or a status bar.
func (s Status) String() string {
	var b strings.Builder
	b.WriteString(string(s.State))
	if s.State == StateReconnecting {
		fmt.Fprintf(&b, " (attempt %d in %v)", s.Attempt, s.Delay)
	}
	if s.Recovered {
		b.WriteString(" (session recovered)")
	}
	if s.Reason != "" {
		fmt.Fprintf(&b, ": %s", s.Reason)
	}
	if s.Err != nil {
		fmt.Fprintf(&b, ": %v", s.Err)
	}
	return b.String()
}

// An APIError is an answer of the server's API that is not the one asked
// for: its HTTP status and the "error" text of its JSON body.
type APIError struct {
	Status     int
	Message    string
	RetryAfter time.Duration // from Retry-After on 429 Too Many Requests
	// Err is what the answer means in this package's terms, for
	// errors.Is: ErrBadCredentials for a 401 to Login.
	Err error
}

// Error says what the server answered.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.RetryAfter > 0 {
		return fmt.Sprintf("login: server answered %d: %s (retry after %v)", e.Status, msg, e.RetryAfter)
	}
	return fmt.Sprintf("login: server answered %d: %s", e.Status, msg)
}

// Unwrap returns Err.
func (e *APIError) Unwrap() error { return e.Err }

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
	// Exercise 5.6 adds the base URL, the options, the token and the user,
	// the handlers and status functions, and the connection being kept up.
}

// NewClient returns a Client of the server at baseURL ("http://host:port";
// https for TLS). It dials nothing, whatever the options say: with
// AutoConnect, Login connects.
func NewClient(baseURL string, opts ClientOptions) *Client {
	_ = exercise.TODO("5.6")
	return &Client{}
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
	return exercise.TODO("5.6")
}

// User returns the user Login logged in, and false when there is none.
func (c *Client) User() (User, bool) {
	_ = exercise.TODO("5.6")
	return User{}, false
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
	return exercise.TODO("5.6")
}

// On sets the handler of event, on this connection and on every later one
// (socket.on(event, handler)); nil removes it. It may be called at any
// time, before Login too. The names socket.io reserves ("connect",
// "disconnect", …) panic, as in events.Client.On: use OnStatus.
func (c *Client) On(event string, h events.Handler) {
	_ = exercise.TODO("5.6")
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
	_ = exercise.TODO("5.6")
}

// Connected reports whether the Client has a connection right now.
func (c *Client) Connected() bool {
	_ = exercise.TODO("5.6")
	return false
}

// Emit sends an event to the server (socket.emit). Without a connection
// it returns ErrNotConnected: socket.io-client would buffer the event and
// send it after reconnecting, which can send a message long after the
// user gave up on it, or twice; a Go program that wants that can retry
// on StateConnected.
func (c *Client) Emit(event string, args ...any) error {
	return exercise.TODO("5.6")
}

// EmitWithAck sends an event and waits for the server's ack, or ctx
// (socket.timeout(ms).emitWithAck). ErrNotConnected without a connection;
// events.ErrDisconnected when the connection is lost while it waits: the
// server may or may not have handled the event.
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	return nil, exercise.TODO("5.6")
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
	return exercise.TODO("5.6")
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
	return exercise.TODO("5.6")
}
