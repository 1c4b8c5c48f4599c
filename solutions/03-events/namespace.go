package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// A Namespace is a separate channel on the same connection
// (socket.io-protocol v5, "Connection to a namespace"): a client joins "/"
// with the packet "40" and "/admin" with "40/admin,". Each namespace has its
// own connection handlers, middleware, sockets and rooms; one Engine.IO
// session can hold one socket in each of several namespaces.
type Namespace struct {
	server  *Server
	name    string
	adapter Adapter // nil: this server alone

	mu          sync.Mutex
	onConnect   []func(*Socket)
	middlewares []Middleware
	sockets     map[string]*Socket              // by socket ID
	rooms       map[string]map[*Socket]struct{} // room → members
}

func newNamespace(s *Server, name string) *Namespace {
	return &Namespace{
		server:  s,
		name:    name,
		sockets: make(map[string]*Socket),
		rooms:   make(map[string]map[*Socket]struct{}),
	}
}

// A Middleware runs for every CONNECT to its namespace, in the order Use
// added them, before the connection handlers: io.use of socket.io. Return a
// *ConnectError (or any error) to refuse the connection; the client gets a
// CONNECT_ERROR packet and its socket never exists. Middleware runs on the
// connection's reader goroutine: keep it quick.
type Middleware func(h *Handshake) error // return a *ConnectError (or any error) to refuse

// Name is the namespace's name, "/" or "/admin".
func (n *Namespace) Name() string { return n.name }

// OnConnection adds fn to the functions run for every new socket of the
// namespace: io.on("connection") of socket.io. fn runs on the socket's
// handler goroutine after the CONNECT answer went out and before the
// socket's first event is handled, so the handlers it registers with
// Socket.On see every event.
func (n *Namespace) OnConnection(fn func(*Socket)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.onConnect = append(n.onConnect, fn)
}

// Use adds a middleware; see Middleware.
func (n *Namespace) Use(mw Middleware) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.middlewares = append(n.middlewares, mw)
}

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error {
	return (&Broadcast{ns: n}).Emit(event, args...)
}

// To starts a broadcast to the sockets in any of rooms.
func (n *Namespace) To(rooms ...string) *Broadcast {
	return &Broadcast{ns: n, rooms: append([]string(nil), rooms...)}
}

// Except starts a broadcast to every socket of the namespace but those in
// any of rooms.
func (n *Namespace) Except(rooms ...string) *Broadcast {
	return &Broadcast{ns: n, except: append([]string(nil), rooms...)}
}

// Sockets returns the namespace's connected sockets, in no particular order.
func (n *Namespace) Sockets() []*Socket {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}

// snapshot returns the connection handlers and middleware as they are now.
func (n *Namespace) snapshot() ([]func(*Socket), []Middleware) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var onConnect []func(*Socket)
	onConnect = append(onConnect, n.onConnect...)
	return onConnect, append([]Middleware(nil), n.middlewares...)
}

// add registers a new socket, in the room of its own ID, after announce
// (which queues the CONNECT answer) succeeds. Both happen under n.mu, which
// every broadcast holds while it collects its recipients: a broadcast either
// collected them before (and the new client, not yet told it is connected,
// rightly misses it) or sees the socket and queues behind the CONNECT
// answer. Answering first and registering afterwards would let a broadcast
// slip between the two and miss a client that already knows it is
// connected.
//
// A recovering socket (ks not nil) gets, still under n.mu, what it missed,
// queued before the CONNECT answer as socket.io does (socket.io-client
// holds events that come before it and hands them to its listeners just
// before "connect"), and its old rooms back; a broadcast logged after that
// is queued behind them. When the log cannot give all it missed, add does
// nothing and returns errRecoveryLost.
func (n *Namespace) add(s *Socket, announce func() error, ks *keptSession) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var missed []*outItem
	if rec := n.server.rec; rec != nil {
		s.joined = rec.current()
		if ks != nil {
			var ok bool
			if missed, ok = rec.missed(ks); !ok {
				return errRecoveryLost
			}
			s.joined = ks.from // a client that receives none of missed asks from there again
		}
	}
	for _, it := range missed {
		if err := s.w.send(it); err != nil {
			return err
		}
	}
	if err := announce(); err != nil {
		return err
	}
	n.sockets[s.id] = s
	s.inRoom = true
	n.addToRoom(s.id, s)
	if ks != nil {
		for room := range ks.rooms {
			n.addToRoom(room, s)
		}
	}
	return nil
}

// errRecoveryLost: the session could not be recovered after all.
var errRecoveryLost = errors.New("events: the session's missed packets are gone")

// remove takes a socket out of the namespace and all its rooms. With
// recovery on, a socket whose connection was lost is kept for its client,
// with its rooms, in the same critical section: every packet logged after
// it left is one it missed.
func (n *Namespace) remove(s *Socket, reason string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	if rec := n.server.rec; rec != nil && s.inRoom && recoverable[reason] {
		rec.keep(&keptSession{
			pid: s.pid, id: s.id, nsp: n.name, rooms: maps.Clone(s.rooms),
			data: s.handshake.Data, at: time.Now(), joined: s.joined,
		})
	}
	s.inRoom = false
	for r := range s.rooms {
		n.removeFromRoom(r, s)
	}
}

// addToRoom and removeFromRoom keep n.rooms and s.rooms in step; n.mu must
// be held. An empty room is deleted.
func (n *Namespace) addToRoom(room string, s *Socket) {
	m := n.rooms[room]
	if m == nil {
		m = make(map[*Socket]struct{})
		n.rooms[room] = m
	}
	m[s] = struct{}{}
	s.rooms[room] = struct{}{}
}

func (n *Namespace) removeFromRoom(room string, s *Socket) {
	delete(s.rooms, room)
	if m := n.rooms[room]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(n.rooms, room)
		}
	}
}

// recipients lists the sockets a broadcast goes to.
func (n *Namespace) recipients(b *Broadcast) []*Socket {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.recipientsLocked(b)
}

func (n *Namespace) recipientsLocked(b *Broadcast) []*Socket {
	excluded := func(s *Socket) bool {
		if s == b.skip {
			return true
		}
		for _, r := range b.except {
			if _, ok := n.rooms[r][s]; ok {
				return true
			}
		}
		return false
	}
	var out []*Socket
	if len(b.rooms) == 0 {
		out = make([]*Socket, 0, len(n.sockets))
		for _, s := range n.sockets {
			if !excluded(s) {
				out = append(out, s)
			}
		}
		return out
	}
	seen := make(map[*Socket]struct{})
	for _, r := range b.rooms {
		for s := range n.rooms[r] {
			if _, dup := seen[s]; dup || excluded(s) {
				continue
			}
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	return out
}

// emitLogged sends p as b says with recovery on: logged with its offset
// and queued to the recipients in one critical section, so that offsets
// reach every socket in order.
func (n *Namespace) emitLogged(b *Broadcast, p Packet) {
	n.mu.Lock()
	defer n.mu.Unlock()
	to := n.recipientsLocked(b)
	skip := ""
	if b.skip != nil {
		skip = b.skip.id
	}
	it := n.server.rec.record(n.name, b.rooms, b.except, skip, p)
	it.shared = len(to) > 1
	for _, s := range to {
		_ = s.w.send(it)
	}
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
	var ce *ConnectError
	if errors.As(err, &ce) {
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
