package server

import (
	"net/http"
	"time"

	"github.com/websocket-workbook/workbook/internal/exercise"
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
	// Your fields: the events.Server, the options, the sessions by sid.
}

// NewEngine serves srv's sessions over both transports. Mount at "/socket.io/".
func NewEngine(srv *events.Server, opts EngineOptions) *Engine {
	_ = exercise.TODO("4.4")
	return &Engine{}
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
	exercise.TODOHandler("4.4").ServeHTTP(w, r)
}
