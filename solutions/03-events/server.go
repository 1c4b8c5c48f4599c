package events

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configures a Server. The zero value of a field means its default.
type Options struct {
	PingInterval time.Duration // default 25s
	PingTimeout  time.Duration // default 20s
	MaxPayload   int           // bytes of one Engine.IO packet; default 1_000_000
	SendQueue    int           // packets queued per socket before it is cut off; default 1024
	Upgrader     Upgrader      // default GorillaUpgrader{} (CheckOrigin: same origin)

	// ConnectTimeout closes a session that has joined no namespace this
	// long after it opened (socket.io's connectTimeout); default 45s.
	ConnectTimeout time.Duration

	// Messages, when set, makes the Server a plain Engine.IO server: each
	// session's messages go to it, and no Socket.IO is spoken on the
	// session (no namespaces, events or acks, and no ConnectTimeout).
	// nil, the default, runs Socket.IO on every session.
	Messages MessageHandler

	// Recovery, when set, turns on connection state recovery: a client
	// whose connection dropped comes back to the same socket and gets
	// what it missed. nil, the default, leaves it off, as socket.io does.
	// See RecoveryOptions.
	Recovery *RecoveryOptions

	// Adapter, when set, is called once for each namespace as it is
	// created ("/" by NewServer, others by Of), and the Adapter it returns
	// carries that namespace's broadcasts to the other servers of a
	// cluster. nil, the default, serves this process's clients alone.
	// It runs under the Server's lock: it must not call the Server back.
	// See Adapter.
	Adapter func(ns *Namespace) Adapter
}

// Defaults of Options, the values socket.io uses.
const (
	DefaultPingInterval   = 25 * time.Second
	DefaultPingTimeout    = 20 * time.Second
	DefaultMaxPayload     = 1_000_000
	DefaultSendQueue      = 1024
	DefaultConnectTimeout = 45 * time.Second
)

// A Server is a Socket.IO server: an http.Handler for the Engine.IO endpoint
// and the registry of its namespaces. Mount it at "/socket.io/":
//
//	srv := events.NewServer(events.Options{})
//	srv.OnConnection(func(s *events.Socket) {
//		s.On("send-message", func(e *events.Event) { ... })
//	})
//	http.Handle("/socket.io/", srv)
type Server struct {
	opts Options
	root *Namespace // "/"
	rec  *recovery  // nil unless Options.Recovery
	wg   sync.WaitGroup

	mu         sync.Mutex
	namespaces map[string]*Namespace
	sessions   map[*session]struct{}
	closed     bool
}

// NewServer returns a Server with opts, its zero fields set to the defaults.
func NewServer(opts Options) *Server {
	if opts.PingInterval <= 0 {
		opts.PingInterval = DefaultPingInterval
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = DefaultPingTimeout
	}
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = DefaultMaxPayload
	}
	if opts.SendQueue <= 0 {
		opts.SendQueue = DefaultSendQueue
	}
	if opts.Upgrader == nil {
		opts.Upgrader = GorillaUpgrader{}
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	s := &Server{opts: opts, namespaces: make(map[string]*Namespace), sessions: make(map[*session]struct{})}
	if opts.Recovery != nil {
		s.rec = newRecovery(*opts.Recovery, opts.SendQueue)
		o := s.rec.opts // the defaults filled in, for Options
		s.opts.Recovery = &o
	}
	s.root = s.newNamespace("/")
	s.namespaces["/"] = s.root
	return s
}

// Engine.IO's HTTP errors (engine.io-protocol v4; engine.io's Server.errors).
const (
	eioTransportUnknown    = 0
	eioBadRequest          = 3
	eioUnsupportedProtocol = 5
)

var eioErrorMessages = map[int]string{
	eioTransportUnknown:    "Transport unknown",
	eioBadRequest:          "Bad request",
	eioUnsupportedProtocol: "Unsupported protocol version",
}

// eioError answers 400 with Engine.IO's JSON error body.
func eioError(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, eioErrorMessages[code]})
}

// ServeHTTP serves GET /socket.io/?EIO=4&transport=websocket (path is the
// caller's business: mount at "/socket.io/"). EIO != 4 or a transport other
// than websocket → 400 with Engine.IO's JSON error {"code":N,"message":"..."}
// (0 "Transport unknown", 3 "Bad request", 5 "Unsupported protocol version").
//
// A valid request is upgraded with Options.Upgrader, and the Engine.IO
// session begins (engine.io-protocol v4, "Handshake"): the server sends the
// open packet and then, every PingInterval, a ping "2" (engine.io-protocol
// v4, "Heartbeat"). When no pong comes within PingTimeout the session is
// over (ReasonPingTimeout). ServeHTTP returns when the upgrade is done; the
// session runs on its own goroutines (a reader, and a writer while there is
// something to write).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("transport") != "websocket":
		eioError(w, eioTransportUnknown)
		return
	case q.Get("EIO") != "4":
		eioError(w, eioUnsupportedProtocol)
		return
	case q.Has("sid"):
		// Joining an existing (long-polling) session: there are none here.
		eioError(w, eioBadRequest)
		return
	case r.Method != http.MethodGet || !headerHasToken(r.Header, "Connection", "upgrade") ||
		!headerHasToken(r.Header, "Upgrade", "websocket"):
		eioError(w, eioBadRequest)
		return
	}
	if s.isClosed() {
		http.Error(w, "events: server closed", http.StatusServiceUnavailable)
		return
	}
	t, err := s.opts.Upgrader.Upgrade(w, r)
	if err != nil {
		return // the Upgrader has answered
	}
	_, _ = s.Attach(t, r, nil)
}

// ErrServerClosed is what Attach returns after Close.
var ErrServerClosed = errors.New("events: server closed")

// Attach runs an Engine.IO session on t: ServeHTTP calls it with the
// WebSocket it has just upgraded, and lesson 04 with its HTTP long-polling
// transport, which can later move the session onto a WebSocket. r is the
// request that opened the session (its headers, query and address reach
// every Handshake). If t has a method SetReadLimit(int64), Attach calls it
// with Options.MaxPayload first. The open packet, the first thing written
// to t, lists upgrades (nil means none, an empty array; lesson 04 passes
// ["websocket"]). Attach returns the session's ID, the "sid" of the open
// packet; after Close it closes t and returns ErrServerClosed.
func (s *Server) Attach(t Transport, r *http.Request, upgrades []string) (sid string, err error) {
	if rl, ok := t.(interface{ SetReadLimit(int64) }); ok {
		rl.SetReadLimit(int64(s.opts.MaxPayload))
	}
	sess := newSession(s, t, r)
	if upgrades != nil {
		sess.upgrades = upgrades
	}
	return s.run(sess)
}

// Options returns the Server's options with every default filled in:
// lesson 04's engine reads MaxPayload, the heartbeat and the Upgrader here.
func (s *Server) Options() Options { return s.opts }

// run registers sess and starts its goroutines, unless the Server is closed.
func (s *Server) run(sess *session) (string, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = sess.w.t.Close()
		return "", ErrServerClosed
	}
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	sess.start()
	return sess.sid, nil
}

// headerHasToken reports whether the comma-separated header name contains
// token, compared case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Of returns the namespace name ("/admin"; a missing leading slash is
// added), creating it on first use. "/" always exists, and is what the
// Server's own OnConnection, Use, Emit and To act on. A client that asks for
// a namespace nobody made with Of gets CONNECT_ERROR
// {"message":"Invalid namespace"} (socket.io-protocol v5, "Connection to a
// namespace").
func (s *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.namespaces[name]
	if n == nil {
		n = s.newNamespace(name)
		s.namespaces[name] = n
	}
	return n
}

// namespace looks a namespace up without creating it.
func (s *Server) namespace(name string) *Namespace {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.namespaces[name]
}

// OnConnection is s.Of("/").OnConnection.
func (s *Server) OnConnection(fn func(*Socket)) { s.Of("/").OnConnection(fn) }

// Use is s.Of("/").Use.
func (s *Server) Use(mw Middleware) { s.Of("/").Use(mw) }

// Emit is s.Of("/").Emit: io.emit of the course notes.
func (s *Server) Emit(event string, args ...any) error { return s.Of("/").Emit(event, args...) }

// To is s.Of("/").To.
func (s *Server) To(rooms ...string) *Broadcast { return s.Of("/").To(rooms...) }

// Close disconnects every socket with reason ReasonServerShutdown, waits for
// their goroutines, and refuses new connections. What a session had queued
// when Close was called (an ack, a broadcast) is written first; a client
// that does not read it within two seconds is cut off.
//
// Each socket's OnDisconnect runs and each transport closes with a close
// frame; socket.io-client sees "transport close" and, as after any lost
// connection, may reconnect. A request that arrives after Close gets 503.
// Do not call Close from a handler: it waits for the handlers to return.
func (s *Server) Close() error {
	s.mu.Lock()
	again := s.closed
	s.closed = true
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	// What each session has queued (the acks of saves that finished just
	// now, the last broadcasts) goes out first, then its transport closes;
	// a session whose client does not read is cut off after closeFlush.
	for _, sess := range sessions {
		sess.w.endAfter(ReasonServerShutdown)
	}
	flushed := time.NewTimer(closeFlush)
	defer flushed.Stop()
wait:
	for _, sess := range sessions {
		select {
		case <-sess.w.done:
		case <-flushed.C:
			break wait
		}
	}
	for _, sess := range sessions {
		sess.w.shutdown(ReasonServerShutdown)
	}
	s.wg.Wait()
	if s.rec != nil {
		s.rec.close()
	}
	if again {
		return nil
	}
	s.mu.Lock()
	var adapters []Adapter
	for _, n := range s.namespaces {
		if n.adapter != nil {
			adapters = append(adapters, n.adapter)
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, a := range adapters {
		errs = append(errs, a.Close())
	}
	return errors.Join(errs...)
}

// newNamespace makes a namespace and, with Options.Adapter, its adapter.
func (s *Server) newNamespace(name string) *Namespace {
	n := newNamespace(s, name)
	if s.opts.Adapter != nil {
		n.adapter = s.opts.Adapter(n)
	}
	return n
}

// closeFlush bounds how long Close lets the sessions write what they had
// queued before it closes them anyway.
const closeFlush = 2 * time.Second

func (s *Server) removeSession(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, sess)
}
