package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// EngineOptions configures an Engine. The zero value is ready to use.
type EngineOptions struct {
	// AllowRequest refuses a request before anything else: 403 {"code":4,"message":"Forbidden"}.
	// nil allows all. The app passes Origins.Allowed.
	AllowRequest func(r *http.Request) bool
	// UpgradeTimeout bounds an upgrade, from the WebSocket handshake to
	// the client's upgrade packet "5"; default 10s (engine.io's
	// upgradeTimeout).
	UpgradeTimeout time.Duration
}

// defaultUpgradeTimeout is EngineOptions.UpgradeTimeout's default.
const defaultUpgradeTimeout = 10 * time.Second

// An Engine is the Engine.IO endpoint of an events.Server with both of
// Engine.IO's transports: the WebSocket of lesson 03, and HTTP long-polling
// (engine.io-protocol v4, "HTTP long-polling"), on which socket.io-client
// starts by default before it upgrades to a WebSocket (engine.io-protocol
// v4, "Upgrade").
//
// A long-polling session is a series of ordinary HTTP requests that name it
// by its sid:
//
//	GET  /socket.io/?EIO=4&transport=polling                → 0{"sid":"x1","upgrades":["websocket"],...}
//	POST /socket.io/?EIO=4&transport=polling&sid=x1  40     → ok
//	GET  /socket.io/?EIO=4&transport=polling&sid=x1         → 40{"sid":"fT3…"}
//	GET  /socket.io/?EIO=4&transport=polling&sid=x1         … held open until there is something: 2
//	POST /socket.io/?EIO=4&transport=polling&sid=x1  3      → ok
//
// The event layer does not know the difference: the Engine gives it a
// Transport (events.Server.Attach) whose writes wait in an outbox for the
// next GET and whose reads come from the POSTs, and which later moves the
// session onto a WebSocket without the session noticing.
type Engine struct {
	srv  *events.Server
	opts EngineOptions
	eopt events.Options // srv.Options(): MaxPayload, Upgrader

	mu       sync.Mutex
	sessions map[string]*pollTransport // by sid: the long-polling sessions, upgraded or not
}

// NewEngine serves srv's sessions over both transports. Mount at "/socket.io/".
func NewEngine(srv *events.Server, opts EngineOptions) *Engine {
	if opts.UpgradeTimeout <= 0 {
		opts.UpgradeTimeout = defaultUpgradeTimeout
	}
	return &Engine{srv: srv, opts: opts, eopt: srv.Options(), sessions: make(map[string]*pollTransport)}
}

// Engine.IO's HTTP errors (engine.io's Server.errors): the code and message
// of the JSON body {"code":N,"message":"..."} a refused request gets.
const (
	codeTransportUnknown    = 0
	codeUnknownSID          = 1
	codeBadHandshakeMethod  = 2
	codeBadRequest          = 3
	codeForbidden           = 4
	codeUnsupportedProtocol = 5
)

var codeMessages = [...]string{
	codeTransportUnknown:    "Transport unknown",
	codeUnknownSID:          "Session ID unknown",
	codeBadHandshakeMethod:  "Bad handshake method",
	codeBadRequest:          "Bad request",
	codeForbidden:           "Forbidden",
	codeUnsupportedProtocol: "Unsupported protocol version",
}

// engineError answers with Engine.IO's JSON error body: 403 for code 4
// (Forbidden), 400 for every other code.
func engineError(w http.ResponseWriter, code int) {
	status := http.StatusBadRequest
	if code == codeForbidden {
		status = http.StatusForbidden
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, codeMessages[code]})
}

// ServeHTTP routes an Engine.IO request by its query (the path is the
// caller's business: mount at "/socket.io/"), checking it as engine.io does:
//
//   - AllowRequest says no → 403, code 4;
//   - transport neither "polling" nor "websocket" → code 0; EIO not 4 → code 5;
//   - no sid, transport=polling: the handshake, GET only (else code 2): a
//     new session whose open packet lists the upgrade ["websocket"] and is
//     the answer to this first GET;
//   - no sid, transport=websocket: a WebSocket-only session, lesson 03's
//     events.Server.ServeHTTP;
//   - a sid nobody knows → code 1;
//   - transport=polling with a sid: GET is a long poll, POST carries
//     packets to the server; anything else → code 3;
//   - transport=websocket with a sid: the upgrade of that session
//     (serveUpgrade, exercise 4.5).
//
// Every error answer but 403 is 400 with the JSON body
// {"code":N,"message":"..."}, Content-Type application/json, with
// engine.io's messages: 0 "Transport unknown", 1 "Session ID unknown",
// 2 "Bad handshake method", 3 "Bad request", 4 "Forbidden",
// 5 "Unsupported protocol version". socket.io-client reports them as a
// connect_error.
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.opts.AllowRequest != nil && !e.opts.AllowRequest(r) {
		engineError(w, codeForbidden)
		return
	}
	q := r.URL.Query()
	transport, sid := q.Get("transport"), q.Get("sid")
	switch {
	case transport != "polling" && transport != "websocket":
		engineError(w, codeTransportUnknown)
	case q.Get("EIO") != "4":
		engineError(w, codeUnsupportedProtocol)
	case sid == "" && r.Method != http.MethodGet:
		engineError(w, codeBadHandshakeMethod)
	case sid == "" && transport == "websocket":
		e.srv.ServeHTTP(w, r)
	case sid == "":
		e.handshake(w, r)
	case transport == "websocket":
		e.serveUpgrade(w, r, sid)
	default:
		t := e.lookup(sid)
		switch {
		case t == nil:
			engineError(w, codeUnknownSID)
		case r.Method == http.MethodGet:
			t.servePoll(w, r)
		case r.Method == http.MethodPost:
			t.serveData(w, r)
		default:
			engineError(w, codeBadRequest)
		}
	}
}

// handshake opens a long-polling session (engine.io-protocol v4,
// "Handshake"): a new transport, a session on it, and this request as its
// first poll, which the open packet answers.
func (e *Engine) handshake(w http.ResponseWriter, r *http.Request) {
	t := newPollTransport(e)
	sid, err := e.srv.Attach(t, r, []string{"websocket"})
	if errors.Is(err, events.ErrServerClosed) {
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	if err != nil {
		engineError(w, codeBadRequest)
		return
	}
	e.register(sid, t)
	t.servePoll(w, r)
}

// register makes t reachable by sid, unless its session has ended already.
func (e *Engine) register(sid string, t *pollTransport) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sid = sid
	if !t.closed {
		e.sessions[sid] = t
	}
}

// lookup returns the transport of sid, nil if there is none.
func (e *Engine) lookup(sid string) *pollTransport {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sessions[sid]
}

// forget removes t, once its session is over and the client has been told
// (or could not be).
func (e *Engine) forget(t *pollTransport) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t.mu.Lock()
	sid := t.sid
	t.mu.Unlock()
	if e.sessions[sid] == t {
		delete(e.sessions, sid)
	}
}
