package events

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gorilla/websocket"
	"github.com/websocket-workbook/workbook/internal/exercise"
)

// ClientOptions configures Dial.
type ClientOptions struct {
	Namespace string            // default "/"
	Auth      any               // sent in CONNECT
	Header    http.Header       // handshake headers (Origin, ...)
	Dialer    *websocket.Dialer // gorilla; nil = default
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

// Dial opens the Engine.IO connection (url like http://127.0.0.1:8000, the
// path /socket.io/ is added), waits for the open packet, sends CONNECT and
// waits for CONNECT or CONNECT_ERROR (returned as *ConnectError). ctx bounds it.
//
// The WebSocket URL is ws://host/socket.io/?EIO=4&transport=websocket
// (https → wss), as socket.io-client builds it with transports:
// ["websocket"].
func Dial(ctx context.Context, url string, opts ClientOptions) (*Client, error) {
	return nil, exercise.TODO("3.8")
}

// ID is the socket id from the server's CONNECT answer.
func (c *Client) ID() string { return c.id }

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

// Emit sends an event to the server.
func (c *Client) Emit(event string, args ...any) error {
	return exercise.TODO("3.8")
}

// EmitWithAck sends an event and waits for the server's ack.
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	return nil, exercise.TODO("3.8")
}

// Close sends DISCONNECT, closes the transport; OnDisconnect gets "io client
// disconnect". The client answers server pings with pongs; it disconnects
// with "ping timeout" if no ping comes within PingInterval+PingTimeout of the
// open packet's values.
func (c *Client) Close() error {
	return exercise.TODO("3.8")
}
