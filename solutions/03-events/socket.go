package events

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
)

// A Socket is one client in one namespace: socket of io.on("connection",
// (socket) => …). It is made when the client's CONNECT is accepted and is
// gone after its OnDisconnect functions ran.
//
// Handlers of one socket run one at a time, in the order the events
// arrived, on a goroutine of the socket's own. Emit, Join, Leave and the
// broadcast methods may be called from any goroutine, handlers included.
type Socket struct {
	endpoint
	id        string
	ns        *Namespace
	handshake *Handshake
	sess      *session

	// With recovery on (RecoveryOptions): the private session ID, and
	// whether this socket recovered one.
	pid       string
	recovered bool

	// Guarded by ns.mu.
	rooms  map[string]struct{}
	inRoom bool   // registered in ns: Join has effect
	joined uint64 // with recovery on, the last offset given before the socket was added
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

// reserved are the event names socket.io keeps for itself: a peer may not
// send them, and On may not listen for them (use OnDisconnect).
var reserved = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true,
	"disconnecting": true, "newListener": true, "removeListener": true,
}

// newID returns 22 random URL-safe characters (128 bits from crypto/rand).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func newSocket(sess *session, ns *Namespace, hs *Handshake) *Socket {
	s := &Socket{id: newID(), ns: ns, handshake: hs, sess: sess, rooms: make(map[string]struct{})}
	s.init(ns.name, sess.w, s)
	s.wg = &sess.srv.wg
	return s
}

// A Handler handles one event; see Socket.On.
type Handler func(e *Event)

// ID is the socket's ID, sent to the client in the CONNECT answer
// (socket.id in JavaScript). Each socket is also in a room of this name.
func (s *Socket) ID() string { return s.id }

// Namespace is the namespace the socket belongs to.
func (s *Socket) Namespace() *Namespace { return s.ns }

// Handshake is what the client sent when it connected.
func (s *Socket) Handshake() *Handshake { return s.handshake }

// On sets the handler of event, replacing any earlier one (nil removes it):
// socket.on("send-message", …). Events nobody handles are dropped. The
// reserved names (connect, connect_error, disconnect, disconnecting,
// newListener, removeListener) panic: that is a programmer error, and
// OnDisconnect is the way to hear about disconnection.
func (s *Socket) On(event string, h Handler) { s.on(event, h) }

// OnDisconnect adds fn to the functions run once, with the reason, when the
// socket is disconnected for whatever reason (the Reason constants). They
// run on the socket's handler goroutine, after the events that arrived
// before the disconnection were handled. Added after that, fn runs at
// once, on the caller's goroutine, with the reason.
func (s *Socket) OnDisconnect(fn func(reason string)) { s.addOnDisconnect(fn) }

// Emit sends an event to the client: socket.emit("message-saved", data).
// A reserved name is an error, as is an argument encoding/json cannot
// encode; []byte arguments go as binary attachments (see EncodeArgs).
//
// Emit never blocks: it queues the packet for the connection's writer. When
// the queue is full (Options.SendQueue) the client is not reading fast
// enough, and it is disconnected with ReasonSendQueueFull instead; Emit
// then returns ErrDisconnected. With Options.Recovery set, the event also
// carries its offset as its last argument (see RecoveryOptions).
func (s *Socket) Emit(event string, args ...any) error {
	if s.ns.server.rec != nil {
		return s.emitLogged(event, args)
	}
	return s.emit(event, args)
}

// emitLogged is Emit with recovery on: as socket.io does, the packet goes
// through the log, to the room of the socket's own ID, so that it carries
// an offset and a client whose connection drops before it arrives gets it
// when it recovers.
func (s *Socket) emitLogged(event string, args []any) error {
	p, err := s.eventPacket(event, -1, args)
	if err != nil {
		return err
	}
	n := s.ns
	n.mu.Lock()
	defer n.mu.Unlock()
	if !s.inRoom {
		return ErrDisconnected
	}
	return s.w.send(n.server.rec.record(n.name, []string{s.id}, nil, "", p))
}

// EmitWithAck sends an event that asks for an acknowledgement and waits for
// the client's answer, returned as raw JSON arguments. It returns ctx.Err()
// when ctx ends first, and ErrDisconnected if the socket goes away
// (socket.io-protocol v5, "Acknowledgement").
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	return s.emitWithAck(ctx, event, args)
}

// Disconnect sends DISCONNECT to the client and ends the socket with
// ReasonServerDisconnect. The Engine.IO session stays open for the client's
// other namespaces (socket.io-client closes it when none is left).
func (s *Socket) Disconnect() {
	if s.close(ReasonServerDisconnect) {
		_ = s.w.send(messageItem(Packet{Type: PacketDisconnect, Namespace: s.ns.name, ID: -1}))
	}
}

// Connected reports whether the socket is still connected.
func (s *Socket) Connected() bool { return s.connected() }

// close ends the socket with reason, takes it out of its namespace, rooms
// and session; it reports whether this call did it.
func (s *Socket) close(reason string) bool {
	return s.end(reason, func() {
		s.ns.remove(s, reason)
		s.sess.removeSocket(s)
	})
}

// Handle is the generic helper: fn receives the first argument decoded into T.
// When it does not decode, the handler is not called; if the client asked for
// an ack, the ack is answered with {"error": "<what was wrong>"}, otherwise the
// server emits "error" {"event": name, "error": "..."} to the sender.
func Handle[T any](s *Socket, event string, fn func(v T, e *Event)) {
	s.On(event, func(e *Event) {
		var v T
		if err := e.Decode(0, &v); err != nil {
			if e.HasAck() {
				_ = e.Ack(map[string]string{"error": err.Error()})
			} else {
				_ = s.Emit("error", map[string]string{"event": event, "error": err.Error()})
			}
			return
		}
		fn(v, e)
	})
}
