package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"sync"
	"time"
)

// A session is one Engine.IO connection on the server (engine.io-protocol
// v4): a Transport, the reader goroutine that decodes what comes in, its
// wire (with a writer goroutine while there is something to write), and at
// most one Socket per namespace.
type session struct {
	srv *Server
	sid string
	w   *wire

	// From the HTTP request, for every Handshake of the session.
	header     http.Header
	query      map[string][]string
	remoteAddr string
	opened     time.Time
	upgrades   []string // the open packet's "upgrades": none over WebSocket

	// plain is set when the layer above is Options.Messages, not Socket.IO.
	plain *EngineSession

	mu           sync.Mutex
	sockets      map[string]*Socket // by namespace
	connectTimer *time.Timer        // ends a session that joins no namespace; nil when plain
}

// errSessionClosed ends the reader loop without an error of the peer's.
var errSessionClosed = errors.New("events: session closed")

func newSession(srv *Server, t Transport, r *http.Request) *session {
	s := &session{
		srv:        srv,
		sid:        newID(),
		w:          newWire(t, srv.opts.SendQueue),
		header:     r.Header.Clone(),
		query:      r.URL.Query(),
		remoteAddr: r.RemoteAddr,
		opened:     time.Now(),
		upgrades:   []string{},
		sockets:    make(map[string]*Socket),
	}
	if srv.opts.Messages != nil {
		s.plain = &EngineSession{s: s}
	}
	return s
}

// start sends the open packet, starts the heartbeat and the reader (the
// Server counted it in its WaitGroup).
func (s *session) start() {
	o := s.srv.opts
	open, _ := json.Marshal(struct {
		Sid          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int      `json:"maxPayload"`
	}{s.sid, s.upgrades, o.PingInterval.Milliseconds(), o.PingTimeout.Milliseconds(), o.MaxPayload})
	_ = s.w.send(&outItem{text: append([]byte{byte(EIOOpen)}, open...)})
	if s.plain == nil {
		s.connectTimer = time.AfterFunc(o.ConnectTimeout, func() {
			s.mu.Lock()
			idle := len(s.sockets) == 0
			s.mu.Unlock()
			if idle {
				s.w.shutdown(ReasonTransportClose)
			}
		})
	}
	s.w.startHeartbeat(o.PingInterval, o.PingTimeout)
	go func() {
		defer s.srv.wg.Done()
		if s.plain != nil {
			o.Messages.OpenSession(s.plain)
		}
		s.readLoop()
	}()
}

// readLoop is the reader goroutine. When it ends, the session is over: it
// closes the transport and disconnects every socket with the reason.
func (s *session) readLoop() {
	o := s.srv.opts
	heartbeat := o.PingInterval + o.PingTimeout
	s.w.extendRead(heartbeat)
	var asm assembler
	var reason string
	for {
		frame, binary, err := s.w.t.ReadMessage()
		if err == nil && len(frame) > o.MaxPayload {
			err = errMessageTooBig // a Transport without SetReadLimit
		}
		if err == nil {
			err = s.handleFrame(&asm, frame, binary, heartbeat)
		}
		if err != nil {
			reason = s.w.readFailed(err)
			break
		}
	}
	if s.connectTimer != nil {
		s.connectTimer.Stop()
	}
	s.w.finish()
	if s.plain != nil {
		o.Messages.CloseSession(s.plain, reason)
	}
	s.mu.Lock()
	sockets := make([]*Socket, 0, len(s.sockets))
	for _, sock := range s.sockets {
		sockets = append(sockets, sock)
	}
	s.mu.Unlock()
	for _, sock := range sockets {
		sock.close(reason)
	}
	s.srv.removeSession(s)
}

// handleFrame handles one WebSocket message.
func (s *session) handleFrame(asm *assembler, frame []byte, binary bool, heartbeat time.Duration) error {
	ep, err := DecodeEIO(frame, binary)
	if err != nil {
		return err
	}
	var p *Packet
	switch ep.Type {
	case EIOPong:
		s.w.pongReceived(heartbeat)
		return nil
	case EIOPing: // not in v4's heartbeat, but harmless: answer it
		return s.w.send(&outItem{text: append([]byte{byte(EIOPong)}, ep.Data...)})
	case EIOClose:
		s.w.shutdown(ReasonTransportClose)
		return errSessionClosed
	case EIONoop:
		return nil
	case EIOMessage:
		if s.plain != nil {
			if err := s.srv.opts.Messages.Message(s.plain, ep.Data, ep.Binary); err != nil {
				return fmt.Errorf("%w: %w", ErrBadPacket, err)
			}
			return nil
		}
		p, err = asm.packet(ep)
		if err != nil || p == nil {
			return err
		}
		return s.handlePacket(p)
	default: // open, upgrade: never from a client on a websocket-only session
		return badPacket("unexpected Engine.IO packet type %q from the client", ep.Type)
	}
}

// handlePacket acts on one complete Socket.IO packet. A packet for a
// namespace the client has not joined ends the connection, as in socket.io.
func (s *session) handlePacket(p *Packet) error {
	s.mu.Lock()
	sock := s.sockets[p.Namespace]
	s.mu.Unlock()
	switch {
	case p.Type == PacketConnect && sock == nil:
		s.connect(p)
		return nil
	case p.Type == PacketConnect, p.Type == PacketConnectError, sock == nil:
		// What socket.io calls an invalid state: a second CONNECT, a
		// CONNECT_ERROR from a client, or a packet for a namespace the
		// client has not joined. The connection is closed.
		return badPacket("packet type %d for namespace %s in the wrong state", p.Type, p.Namespace)
	}
	switch p.Type {
	case PacketDisconnect:
		sock.close(ReasonClientDisconnect)
	case PacketEvent, PacketBinaryEvent:
		return sock.dispatch(p)
	case PacketAck, PacketBinaryAck:
		sock.handleAck(p)
	}
	return nil
}

// connect handles CONNECT (socket.io-protocol v5, "Connection to a
// namespace"): an unknown namespace or a middleware's refusal is answered
// with CONNECT_ERROR; otherwise a Socket is made, the client gets
// CONNECT {"sid": id}, and the socket's goroutine runs the namespace's
// connection handlers.
//
// With recovery on, the answer also carries the socket's pid, and a
// CONNECT whose auth has a kept session's pid recovers it (RecoveryOptions):
// the session is taken from the store before the middleware runs (which
// then sees its Handshake.Data), and its missed packets are queued when the
// socket is added. If they are gone by then, the socket starts fresh, and
// middleware that was skipped for the recovery runs after all.
func (s *session) connect(p *Packet) {
	refuse := func(payload json.RawMessage) {
		_ = s.w.send(messageItem(Packet{Type: PacketConnectError, Namespace: p.Namespace, ID: -1, Data: payload}))
	}
	ns := s.srv.namespace(p.Namespace)
	if ns == nil {
		refuse(json.RawMessage(`{"message":"Invalid namespace"}`))
		return
	}
	hs := &Handshake{Header: s.header, Query: s.query, RemoteAddr: s.remoteAddr, Time: s.opened}
	if len(p.Data) > 0 {
		hs.Auth = p.Data
	}
	rec := s.srv.rec
	var ks *keptSession
	if pid, offset, ok := recoveryAuth(hs.Auth); ok && rec != nil {
		ks = rec.take(ns.name, pid, offset)
	}
	onConnect, middlewares := ns.snapshot()
	checked := false // the middleware has run and said yes
	if ks != nil {
		hs.Data = ks.data
	}
	for {
		if !checked && (ks == nil || !rec.opts.SkipMiddlewares) {
			if err := runMiddlewares(middlewares, hs); err != nil {
				refuse(connectErrorPayload(err))
				return
			}
			checked = true
		}
		sock := newSocket(s, ns, hs)
		answer := map[string]string{"sid": sock.id}
		if rec != nil {
			sock.pid = newID()
			if ks != nil {
				sock.id, sock.pid, sock.recovered = ks.id, ks.pid, true
				answer["sid"] = ks.id
			}
			answer["pid"] = sock.pid
		}
		connected, _ := json.Marshal(answer)
		item := messageItem(Packet{Type: PacketConnect, Namespace: ns.name, ID: -1, Data: connected})
		err := ns.add(sock, func() error { return s.w.send(item) }, ks)
		if errors.Is(err, errRecoveryLost) {
			ks = nil
			if !checked {
				hs.Data = nil // the middleware starts from a fresh Handshake
			}
			continue
		}
		if err != nil {
			return // the session is over
		}
		s.mu.Lock()
		s.sockets[ns.name] = sock
		s.mu.Unlock()
		s.connectTimer.Stop() // (never nil here: a plain session has no sockets)
		sock.post(func() {
			for _, fn := range onConnect {
				sock.safely("connection", func() { fn(sock) })
			}
		})
		return
	}
}

// runMiddlewares runs mws in order and returns the first refusal.
func runMiddlewares(mws []Middleware, hs *Handshake) error {
	for _, mw := range mws {
		if err := runMiddleware(mw, hs); err != nil {
			return err
		}
	}
	return nil
}

// runMiddleware runs mw; a panic refuses the connection.
func runMiddleware(mw Middleware, hs *Handshake) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("events: panic in middleware: %v", r)
			err = fmt.Errorf("server error")
		}
	}()
	return mw(hs)
}

// removeSocket forgets sock, once it is closed.
func (s *session) removeSocket(sock *Socket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sockets[sock.nsp] == sock {
		delete(s.sockets, sock.nsp)
	}
}
