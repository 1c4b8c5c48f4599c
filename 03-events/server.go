package events

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/websocket-workbook/workbook/internal/exercise"
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

	mu         sync.Mutex
	namespaces map[string]*Namespace
	closed     bool
	// Exercises 3.3 and 3.4 add the set of open sessions and a WaitGroup
	// for their goroutines, so that Close can wait for them.
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
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.Upgrader == nil {
		opts.Upgrader = GorillaUpgrader{}
	}
	s := &Server{opts: opts, namespaces: make(map[string]*Namespace)}
	s.root = newNamespace(s, "/")
	s.namespaces["/"] = s.root
	return s
}

// newNamespace makes an empty namespace of s.
func newNamespace(s *Server, name string) *Namespace {
	return &Namespace{server: s, name: name}
}

// ServeHTTP serves GET /socket.io/?EIO=4&transport=websocket (path is the
// caller's business: mount at "/socket.io/"). EIO != 4 or a transport other
// than websocket → 400 with Engine.IO's JSON error {"code":N,"message":"..."}
// (0 "Transport unknown", 3 "Bad request", 5 "Unsupported protocol version").
//
// A valid request is upgraded with Options.Upgrader, and the Engine.IO
// session begins (engine.io-protocol v4, "Handshake"): the server sends the
// open packet
//
//	0{"sid":"…","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
//
// and then, every PingInterval, a ping "2" (engine.io-protocol v4,
// "Heartbeat"). The client answers each ping with a pong "3"; when no pong
// comes within PingTimeout the session is over (ReasonPingTimeout). MESSAGE
// packets "4…" carry Socket.IO packets, which the session hands to the
// namespaces (exercise 3.4 onwards).
//
// ServeHTTP returns when the upgrade is done; the session runs on its own
// goroutines (one reader, one writer) until it ends. Once upgraded, the
// transport goes to Attach, which runs the session.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	exercise.TODOHandler("3.3").ServeHTTP(w, r)
}

// ErrServerClosed is what Attach returns after Close.
var ErrServerClosed = errors.New("events: server closed")

// Attach runs an Engine.IO session on t: the ServeHTTP of this lesson calls
// it with the WebSocket it has just upgraded, and lesson 04 with its HTTP
// long-polling transport, which can later move the session onto a
// WebSocket. r is the request that opened the session (its headers, query
// and address reach every Handshake). If t has a method SetReadLimit(int64),
// Attach calls it with Options.MaxPayload first. The open packet, the first
// thing written to t, lists upgrades (nil means none, an empty array;
// lesson 04 passes ["websocket"]). Attach returns the session's ID, the
// "sid" of the open packet; after Close it closes t and returns
// ErrServerClosed.
func (s *Server) Attach(t Transport, r *http.Request, upgrades []string) (sid string, err error) {
	return "", exercise.TODO("3.3")
}

// Options returns the Server's options with every default filled in:
// lesson 04's engine reads MaxPayload, the heartbeat and the Upgrader here.
func (s *Server) Options() Options { return s.opts }

// Of returns the namespace name ("/admin"), creating it on first use. "/"
// always exists, and is what the Server's own OnConnection, Use, Emit and
// To act on. A client that asks for a namespace nobody made with Of gets
// CONNECT_ERROR {"message":"Invalid namespace"} (socket.io-protocol v5,
// "Connection to a namespace").
func (s *Server) Of(name string) *Namespace {
	if name == "" || name == "/" {
		return s.root
	}
	_ = exercise.TODO("3.7")
	return newNamespace(s, name) // not registered: a client cannot join it yet
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
// their goroutines, and refuses new connections.
//
// Each socket's OnDisconnect runs and each transport closes with a close
// frame; socket.io-client sees "transport close" and, as after any lost
// connection, may reconnect. A request that arrives after Close gets 503.
// Do not call Close from a handler: it waits for the handlers to return.
func (s *Server) Close() error {
	return exercise.TODO("3.4")
}
