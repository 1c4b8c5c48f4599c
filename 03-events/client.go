package events

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gorilla/websocket"
	"github.com/websocket-workbook/workbook/internal/exercise"
)

// ClientOptions configures NewClient.
type ClientOptions struct {
	Namespace string            // default "/"
	Auth      any               // sent in CONNECT
	Header    http.Header       // handshake headers (Origin, ...)
	Dialer    *websocket.Dialer // gorilla; nil = default

	// Recover, when its PID is set, asks the server for the session of an
	// earlier Client: pass that Client's RecoveryPoint after it lost its
	// connection. The CONNECT's auth then carries "pid" and "offset"
	// beside Auth's fields (see RecoveryOptions), and Recovered reports
	// whether the server gave the session back.
	Recover RecoveryPoint
}

// A RecoveryPoint is what a client needs to get its session back after
// its connection dropped: the private session ID the server gave in its
// CONNECT answer, and the offset of the last event it received (the last
// argument of every event the server sends with recovery on, if it is a
// string, as socket.io-client takes it). PID is empty when the server does
// not offer recovery; Offset, until an event has come.
type RecoveryPoint struct {
	PID    string
	Offset string
}

// A Client is the Go counterpart of socket.io-client: one Engine.IO session
// over WebSocket with one socket in one namespace. Its handlers run one at a
// time on a goroutine of its own, as on the server; Emit may be called from
// any goroutine.
type Client struct {
	id string
	// Exercise 3.8 adds the transport, the handlers, the send queue and the
	// ack table: the same parts as a server Socket, seen from the other side.
}

// NewClient makes a Client for the server at url (like
// http://127.0.0.1:8000; the path /socket.io/ is added) without connecting
// it, as socket.io-client's io(url, { autoConnect: false }) does. Register
// handlers with On and OnDisconnect, then call Connect: an event the server
// emits as soon as the socket connects reaches a handler registered before
// Connect. NewClient checks url (http, https, ws or wss) and that opts.Auth
// encodes as a JSON object; it makes no connection.
//
// The WebSocket URL is ws://host/socket.io/?EIO=4&transport=websocket
// (https → wss), as socket.io-client builds it with transports:
// ["websocket"]. A path in url names the namespace ("http://host/admin")
// unless opts.Namespace does.
func NewClient(url string, opts ClientOptions) (*Client, error) {
	return nil, exercise.TODO("3.8")
}

// Connect opens the Engine.IO connection, waits for the open packet, sends
// CONNECT and waits for CONNECT or CONNECT_ERROR (returned as
// *ConnectError); ctx bounds all of it. From then on the handlers run. A
// Client connects once: a second Connect, or one after Close, is an error.
func (c *Client) Connect(ctx context.Context) error {
	return exercise.TODO("3.8")
}

// ID is the socket id from the server's CONNECT answer; "" before Connect.
func (c *Client) ID() string { return c.id }

// RecoveryPoint returns what a new Client needs to recover this one's
// session (ClientOptions.Recover): take it after the connection dropped.
// Its PID is empty when the server does not offer recovery.
func (c *Client) RecoveryPoint() RecoveryPoint {
	_ = exercise.TODO("3.9")
	return RecoveryPoint{}
}

// Recovered reports whether Connect got back the session that
// ClientOptions.Recover asked for: the same ID, and the events missed
// meanwhile are the first to reach the handlers.
func (c *Client) Recovered() bool {
	_ = exercise.TODO("3.9")
	return false
}

// On sets the handler of event. Event.Socket is nil on the client;
// Event.Ack answers the server's EmitWithAck.
func (c *Client) On(event string, h Handler) {
	_ = exercise.TODO("3.8")
}

// OnDisconnect adds fn to the functions run once when the client is
// disconnected: "io server disconnect" when the server sent DISCONNECT,
// "io client disconnect" after Close, "transport close", "ping timeout".
// Added after the client has disconnected, fn runs at once, on the
// caller's goroutine, with the reason.
func (c *Client) OnDisconnect(fn func(reason string)) {
	_ = exercise.TODO("3.8")
}

// Emit sends an event to the server; before Connect it is an error.
func (c *Client) Emit(event string, args ...any) error {
	return exercise.TODO("3.8")
}

// EmitWithAck sends an event and waits for the server's ack; before
// Connect it is an error.
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	return nil, exercise.TODO("3.8")
}

// Close sends DISCONNECT, closes the transport; OnDisconnect gets "io client
// disconnect". Before Connect it does nothing but make a later Connect
// fail. The client answers server pings with pongs; it disconnects with
// "ping timeout" if no ping comes within PingInterval+PingTimeout of the
// open packet's values.
func (c *Client) Close() error {
	return exercise.TODO("3.8")
}
