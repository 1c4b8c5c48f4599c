package login

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/websocket-workbook/workbook/internal/exercise"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
	server "github.com/websocket-workbook/workbook/solutions/04-express-style-server"
)

// Defaults of Config.
const (
	DefaultTokenTTL    = time.Hour       // how long a login lasts
	DefaultLoginLimit  = 10              // failed logins per name, and per address, ...
	DefaultLoginWindow = 5 * time.Minute // ... within this window
)

// Config configures a Server. The zero value of a field means its default.
type Config struct {
	DB      string         // SQLite path; ":memory:" in tests
	Origins server.Origins // nil → server.Origins{server.DefaultOrigin}
	Logger  *slog.Logger   // nil → slog.Default()
	Events  events.Options // PingInterval etc. for tests; Upgrader is set by New from Origins

	// Key signs the tokens: at least MinKeySize random bytes, the same
	// on every start, or a restart logs everybody out. nil → a random key,
	// made by New and logged as such: tokens then end with the process.
	Key []byte
	// TokenTTL is how long a token, and so a login and its sockets, lasts.
	// 0 → DefaultTokenTTL.
	TokenTTL time.Duration

	// LoginLimit failed logins per name and per client address within
	// LoginWindow, then 429 until the window has passed (Limiter).
	// 0 → DefaultLoginLimit; negative → no limit. LoginWindow 0 →
	// DefaultLoginWindow.
	LoginLimit  int
	LoginWindow time.Duration
	// BcryptCost is the cost of new password hashes (Users.Cost); 0 →
	// bcrypt.DefaultCost. Tests use bcrypt.MinCost.
	BcryptCost int
}

// Server is lesson 04's chat server with logins: users register and log in
// over HTTP, get a token, and connect their socket with it; the chat stamps
// every message with the socket's user, and ends a socket whose login ends.
//
//	GET  /                    the page (web/): a login form, then the chat
//	POST /api/register        Auth: {"name","password"} → 201
//	POST /api/login           Auth: {"name","password"} → 200 {"token",...}
//	POST /api/logout          Auth: Authorization: Bearer <token> → 204
//	GET  /api/messages        Chat.History, with Authorization: Bearer <token>
//	     /socket.io/          lesson 04's Engine (long-polling and WebSocket),
//	                          behind Authenticate: CONNECT needs {"token"}
//
// As in lesson 04, one origin allowlist guards both the HTTP requests
// (server.Origins.CORS) and the WebSocket handshake (the Upgrader's
// CheckOrigin), and Shutdown stops the server without losing a message it
// acknowledged.
//
// # The database
//
// One SQLite file holds everything: lesson 04's messages table, the users
// and the revoked tokens, in one pool of connections. The messages are
// lesson 04's server.SQLiteStore, reused as it is; Users and Tokens create
// their tables in the store's database (SQLiteStore.DB), which the store
// opened with the settings a server wants (WAL, busy_timeout) and closes
// last. With ":memory:" the single connection holds all three tables.
type Server struct {
	log  *slog.Logger
	io   *events.Server
	chat *Chat
	app  *server.App
}

// New opens the database and assembles the Server: Users, Tokens and a
// Limiter behind Auth's routes; an events.Server whose every CONNECT goes
// through Authenticate; lesson 04's Engine and store; the Chat.
func New(cfg Config) (*Server, error) {
	return nil, exercise.TODO("5.5")
}

// Handler returns the App: CORS, the auth routes, /api/messages,
// /socket.io/ and the page at /. It is what Serve serves; tests mount it on
// an httptest.Server.
func (s *Server) Handler() http.Handler { return exercise.TODOHandler("5.5") }

// Serve accepts connections on l and serves them until Shutdown, when it
// returns http.ErrServerClosed (any other error is a failure of l). Serve
// may be called for several listeners, from several goroutines.
func (s *Server) Serve(l net.Listener) error {
	return exercise.TODO("5.5")
}

// Shutdown stops the server in lesson 04's order, without losing a message
// it acknowledged:
//
//  1. Chat.Drain: new messages are refused with "server is shutting
//     down"; the saves in flight finish and are acknowledged;
//  2. close every socket with reason "server shutting down"; their
//     expiry timers stop as they disconnect;
//  3. http.Server.Shutdown: the listeners close, then the idle
//     connections, and running requests (a login, a logout) are waited
//     for, or ctx. The listeners stay open until here so that a
//     long-polling client can still fetch what the first two steps sent it;
//  4. close the store, and with it the database of the users and
//     revocations.
//
// A user, a message or a logout that was answered is in the database when
// Shutdown returns, so a restart on the same file (and the same Key) has
// it: a logged-out token stays refused. Shutdown may be called more than
// once; every call returns the first one's result. If ctx ends first, the
// remaining steps still run, and the error says so.
func (s *Server) Shutdown(ctx context.Context) error {
	return exercise.TODO("5.5")
}
