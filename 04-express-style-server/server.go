package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/websocket-workbook/workbook/internal/exercise"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// Config configures a Server.
type Config struct {
	DB      string         // SQLite path; ":memory:" in tests
	Origins Origins        // nil → Origins{DefaultOrigin}
	Logger  *slog.Logger   // nil → slog.Default()
	Events  events.Options // PingInterval etc. for tests; Upgrader is set by New from Origins
}

// Server is the whole app of the seed: App + Engine + events.Server + Chat + Store.
//
// The course's server was a dozen lines of Express and Socket.IO:
//
//	const app = express();
//	const myapp = app.listen(PORT);
//	const io = new Server(myapp, { cors: { origin: ["http://localhost:5173"] } });
//	io.on("connection", (socket) => {
//	  socket.on("send-message", async (payload) => { ...; io.emit("message-saved", data); });
//	});
//
// This is the same server, whole: one listener serves the chat page, the
// history API and Socket.IO, behind one origin allowlist.
//
//	GET  /                    the chat page (web/), same origin as the API
//	GET  /api/messages        Chat.History
//	     /socket.io/          the Engine: long-polling and WebSocket
//
// What the JavaScript server leaves to the process manager, this one does
// itself: Shutdown stops it without losing a message it acknowledged.
type Server struct {
	parts Parts
	// Exercise 4.8 adds the http.Server that Serve and Shutdown share, and
	// what makes a second Shutdown return the first one's result.
}

// Parts are what a Server runs: the handler it serves, and the three
// things Shutdown stops, in its order. New assembles lesson 04's; lesson
// 05 assembles its own (a chat with logins, the same store) and gets the
// same Serve and Shutdown.
type Parts struct {
	Handler http.Handler                              // what Serve serves: the App
	Chat    interface{ Drain(context.Context) error } // drained first
	Events  *events.Server                            // closed second
	Store   Store                                     // closed last
	Logger  *slog.Logger                              // nil → slog.Default()
}

// Assemble returns a Server that serves p.Handler and stops p as Shutdown
// says. Every field but Logger must be set.
func Assemble(p Parts) *Server {
	_ = exercise.TODO("4.8")
	return &Server{parts: p}
}

// New opens the database and assembles the Server (Assemble). The
// Socket.IO WebSocket handshake and every HTTP request check the same
// allowlist: cfg.Origins, plus the server's own origin (the page it serves).
func New(cfg Config) (*Server, error) {
	return nil, exercise.TODO("4.8")
}

// Handler returns the App: CORS, /api/messages, /socket.io/, and the chat
// page at /. It is what Serve serves; tests mount it on an httptest.Server.
func (s *Server) Handler() http.Handler { return exercise.TODOHandler("4.8") }

// Serve accepts connections on l and serves them until Shutdown, when it
// returns http.ErrServerClosed (any other error is a failure of l). Serve
// may be called for several listeners, from several goroutines.
func (s *Server) Serve(l net.Listener) error {
	return exercise.TODO("4.8")
}

// Shutdown stops the server without losing a message it acknowledged, in
// this order:
//
//  1. Chat.Drain: messages that arrive from now on are refused with
//     "server is shutting down"; the saves in flight finish, and their
//     message-saved and acks go out;
//  2. close every socket with reason "server shutting down"
//     (events.Server.Close), and refuse new ones: WebSockets get a close
//     frame, long-polling clients the close packet "1" on their next poll;
//     socket.io-client then reconnects to whoever listens next;
//  3. http.Server.Shutdown: the listeners close, then the idle connections,
//     and the requests still running are waited for (or ctx). The
//     listeners stay open until here so that a long-polling client, which
//     may need a new connection for every request, can still fetch what
//     the first two steps sent it;
//  4. close the store; SQLite writes its log back into the database file.
//
// A message acknowledged as stored is in the database when Shutdown
// returns, so a restart on the same file shows it. Shutdown may be called
// more than once; every call returns the first one's result. If ctx ends
// first, the remaining steps still run, and the error says so.
func (s *Server) Shutdown(ctx context.Context) error {
	return exercise.TODO("4.8")
}

// Run is what a command does with a Server: it serves l until ctx is done
// (Ctrl-C, SIGTERM), then shuts down gracefully, waiting at most grace. If
// l fails first, Run shuts down and returns that error. It logs on the
// Logger of the Server's Parts when it begins to shut down and once it has
// stopped. The chat commands of lessons 04 and 05 end with it.
//
// This function is given: it is not an exercise.
func (s *Server) Run(ctx context.Context, l net.Listener, grace time.Duration) error {
	logger := s.parts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	select {
	case err := <-served: // the listener failed
		_ = s.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	logger.Info("chat: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := s.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err == nil {
		logger.Info("chat: stopped")
	}
	return err
}

// PageURL is the address to open in a browser for a server listening on
// bound, which a command asked for as flagAddr: the host as the flag gave
// it (so "localhost" stays "localhost", the origin the page will have) and
// the port the listener got (the flag may have said 0).
//
// This function is given: it is not an exercise.
func PageURL(flagAddr string, bound net.Addr) string {
	host, _, err := net.SplitHostPort(flagAddr)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	_, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return "http://" + bound.String() + "/"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
