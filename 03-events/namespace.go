package events

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// A Namespace is a separate channel on the same connection
// (socket.io-protocol v5, "Connection to a namespace"): a client joins "/"
// with the packet "40" and "/admin" with "40/admin,". Each namespace has its
// own connection handlers, middleware, sockets and rooms; one Engine.IO
// session can hold one socket in each of several namespaces.
type Namespace struct {
	server *Server
	name   string

	mu          sync.Mutex
	onConnect   []func(*Socket)
	middlewares []Middleware
	sockets     map[string]*Socket              // by socket ID
	rooms       map[string]map[*Socket]struct{} // room → members
}

// A Middleware runs for every CONNECT to its namespace, in the order Use
// added them, before the connection handlers: io.use of socket.io. Return a
// *ConnectError (or any error) to refuse the connection; the client gets a
// CONNECT_ERROR packet and its socket never exists.
type Middleware func(h *Handshake) error // return a *ConnectError (or any error) to refuse

// Name is the namespace's name, "/" or "/admin".
func (n *Namespace) Name() string { return n.name }

// OnConnection adds fn to the functions run for every new socket of the
// namespace: io.on("connection") of socket.io. fn runs after the CONNECT
// answer went out and before the socket's first event is handled, so the
// handlers it registers with Socket.On see every event.
func (n *Namespace) OnConnection(fn func(*Socket)) {
	_ = exercise.TODO("3.4")
}

// Use adds a middleware; see Middleware.
func (n *Namespace) Use(mw Middleware) {
	_ = exercise.TODO("3.7")
}

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error {
	return exercise.TODO("3.5")
}

// To starts a broadcast to the sockets in any of rooms.
func (n *Namespace) To(rooms ...string) *Broadcast {
	_ = exercise.TODO("3.5")
	return &Broadcast{ns: n}
}

// Except starts a broadcast to every socket of the namespace but those in
// any of rooms.
func (n *Namespace) Except(rooms ...string) *Broadcast {
	_ = exercise.TODO("3.5")
	return &Broadcast{ns: n}
}

// Sockets returns the namespace's connected sockets, in no particular order.
func (n *Namespace) Sockets() []*Socket {
	_ = exercise.TODO("3.4")
	return nil
}

// A ConnectError refuses a connection; the client receives CONNECT_ERROR with
// {"message": Message, "data": Data} (data omitted when nil).
//
// socket.io-client hands it to the "connect_error" listener as an Error
// whose message is Message and whose data is Data.
type ConnectError struct {
	Message string
	Data    any
}

// Error returns the message.
func (e *ConnectError) Error() string { return "events: connection refused: " + e.Message }

// connectErrorPayload is the JSON of a CONNECT_ERROR packet.
func connectErrorPayload(err error) json.RawMessage {
	body := struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{Message: err.Error()}
	if ce, ok := err.(*ConnectError); ok {
		body.Message, body.Data = ce.Message, ce.Data
	}
	b, merr := json.Marshal(body)
	if merr != nil {
		b, _ = json.Marshal(map[string]string{"message": fmt.Sprint(body.Message)})
	}
	return b
}

// A Handshake is what a middleware and a handler know about the connection.
type Handshake struct {
	Auth       json.RawMessage // the CONNECT packet's payload (socket.io-client's `auth` option); nil when absent
	Header     http.Header
	Query      url.Values
	RemoteAddr string
	Time       time.Time

	// Data is the application's: a middleware may set it (the user a token
	// names, say), and handlers read it back through Socket.Handshake. The
	// event layer never touches it.
	Data any
}
