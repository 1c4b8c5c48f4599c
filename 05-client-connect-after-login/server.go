package login

import (
	"log/slog"
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
// It is lesson 04's server.Server, assembled from other parts
// (server.Assemble): Handler, Serve and Shutdown are lesson 04's, and so is
// the order in which Shutdown stops it. Here the chat's Drain refuses new
// messages first, the sockets' expiry timers stop as they disconnect, the
// HTTP server waits for a login or a logout still running, and closing the
// store closes the database of the users and revocations too. A user, a
// message or a logout that was answered is in the database when Shutdown
// returns, so a restart on the same file (and the same Key) has it: a
// logged-out token stays refused.
//
// # The database
//
// One SQLite file holds everything: lesson 04's messages table, the users
// and the revoked tokens, in one pool of connections. The messages are
// lesson 04's server.SQLiteStore, reused as it is; Users and Tokens create
// their tables in the store's database (SQLiteStore.DB), which the store
// opened with the settings a server wants (WAL, busy_timeout) and closes
// last. With ":memory:" the single connection holds all three tables.
type Server = server.Server

// New opens the database and assembles the Server: Users, Tokens and a
// Limiter behind Auth's routes; an events.Server whose every CONNECT goes
// through Authenticate; lesson 04's Engine and store; the Chat.
func New(cfg Config) (*Server, error) {
	return nil, exercise.TODO("5.5")
}
