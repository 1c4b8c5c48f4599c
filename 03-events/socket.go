package events

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// A Socket is one client in one namespace: socket of io.on("connection",
// (socket) => …). It is made when the client's CONNECT is accepted and is
// gone after its OnDisconnect functions ran.
//
// Handlers of one socket run one at a time, in the order the events
// arrived, on a goroutine of the socket's own. Emit, Join, Leave and the
// broadcast methods may be called from any goroutine, handlers included.
type Socket struct {
	id        string
	ns        *Namespace
	handshake *Handshake

	mu           sync.Mutex
	handlers     map[string]Handler
	onDisconnect []func(reason string)
	rooms        map[string]struct{}
	connected    bool
	// Exercise 3.4 adds the session the socket writes to; 3.6 adds the
	// table of acks the socket waits for.
}

// Disconnect reasons (the strings socket.io uses, plus one of ours).
const (
	ReasonClientDisconnect = "client namespace disconnect" // the client sent DISCONNECT
	ReasonServerDisconnect = "server namespace disconnect" // Socket.Disconnect was called
	ReasonTransportClose   = "transport close"             // the connection closed
	ReasonTransportError   = "transport error"             // a malformed or oversized packet
	ReasonPingTimeout      = "ping timeout"                // no pong within PingTimeout
	ReasonSendQueueFull    = "send queue full"             // the client does not read fast enough
	ReasonServerShutdown   = "server shutting down"        // Server.Close
)

// ErrDisconnected is returned by Emit and EmitWithAck on a socket (or
// client) that is no longer connected, and by EmitWithAck when the socket
// goes away while it waits.
var ErrDisconnected = errors.New("events: socket disconnected")

// reserved are the event names socket.io keeps for itself: a peer may not
// send them, and On may not listen for them (use OnDisconnect).
var reserved = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true,
	"disconnecting": true, "newListener": true, "removeListener": true,
}

// An Event is one incoming event, as a handler sees it.
type Event struct {
	Name   string
	Args   []json.RawMessage // placeholders not resolved; use Bytes
	Socket *Socket

	attachments [][]byte
	// Exercise 3.6 adds what answering the client's ack needs.
}

// Decode is json.Unmarshal of Args[i] into v. A missing argument or one that
// does not decode is an error that names the event and the index, such as
// `event "send-message": argument 0: json: cannot unmarshal ...`.
func (e *Event) Decode(i int, v any) error {
	return exercise.TODO("3.4")
}

// Bytes returns Args[i] as a binary attachment, if it is one: a placeholder
// {"_placeholder":true,"num":N} with N one of the packet's attachments. A
// Buffer or ArrayBuffer sent by socket.io-client arrives this way.
func (e *Event) Bytes(i int) ([]byte, bool) {
	_ = exercise.TODO("3.4")
	return nil, false
}

// A Handler handles one event; see Socket.On.
type Handler func(e *Event)

// ID is the socket's ID, sent to the client in the CONNECT answer
// (socket.id in JavaScript): 20+ random URL-safe characters from
// crypto/rand. Each socket is also in a room of this name.
func (s *Socket) ID() string { return s.id }

// Namespace is the namespace the socket belongs to.
func (s *Socket) Namespace() *Namespace { return s.ns }

// Handshake is what the client sent when it connected.
func (s *Socket) Handshake() *Handshake { return s.handshake }

// On sets the handler of event, replacing any earlier one:
// socket.on("send-message", …). Events nobody handles are dropped. The
// reserved names (connect, connect_error, disconnect, disconnecting,
// newListener, removeListener) panic: that is a programmer error, and
// OnDisconnect is the way to hear about disconnection.
func (s *Socket) On(event string, h Handler) {
	_ = exercise.TODO("3.4")
}

// OnDisconnect adds fn to the functions run once, with the reason, when the
// socket is disconnected for whatever reason (the Reason constants). They
// run on the socket's handler goroutine, after any handler still running.
func (s *Socket) OnDisconnect(fn func(reason string)) {
	_ = exercise.TODO("3.4")
}

// Emit sends an event to the client: socket.emit("message-saved", data).
// A reserved name is an error, as is an argument encoding/json cannot
// encode; []byte arguments go as binary attachments (see EncodeArgs).
//
// Emit never blocks: it queues the packet for the socket's writer. When the
// queue is full (Options.SendQueue) the client is not reading fast enough,
// and the socket is disconnected with ReasonSendQueueFull instead. With
// Options.Recovery set, the event also carries its offset as its last
// argument (see RecoveryOptions).
func (s *Socket) Emit(event string, args ...any) error {
	return exercise.TODO("3.4")
}

// Disconnect sends DISCONNECT to the client and ends the socket with
// ReasonServerDisconnect. The Engine.IO session stays open for the client's
// other namespaces.
func (s *Socket) Disconnect() {
	_ = exercise.TODO("3.4")
}

// Connected reports whether the socket is still connected.
func (s *Socket) Connected() bool {
	_ = exercise.TODO("3.4")
	return false
}

// Handle is the generic helper: fn receives the first argument decoded into T.
// When it does not decode, the handler is not called; if the client asked for
// an ack, the ack is answered with {"error": "<what was wrong>"}, otherwise the
// server emits "error" {"event": name, "error": "..."} to the sender.
//
//	events.Handle(s, "send-message", func(m Message, e *events.Event) {
//		saved := store.Save(m)
//		s.Namespace().Emit("message-saved", saved)
//	})
func Handle[T any](s *Socket, event string, fn func(v T, e *Event)) {
	_ = exercise.TODO("3.4")
}

// EmitWithAck sends an event that asks for an acknowledgement and waits for
// the client's answer, returned as raw JSON arguments:
//
//	res, err := s.EmitWithAck(ctx, "ping-me", 1) // client: (n, cb) => cb(n+1)
//
// It returns ctx.Err() when ctx ends first, and ErrDisconnected if the
// socket goes away (socket.io-protocol v5, "Acknowledgement").
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	return nil, exercise.TODO("3.6")
}
