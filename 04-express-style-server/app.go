package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// A HandlerFunc is an HTTP handler that may fail. Where an Express handler
// calls next(err) (or, in Express 5, rejects its promise), a HandlerFunc
// returns the error, and the App's one error handler answers for it:
//
//	app.Handle("GET /api/messages/{id}", func(w http.ResponseWriter, r *http.Request) error {
//		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
//		if err != nil {
//			return server.Errorf(http.StatusBadRequest, "id must be a number, got %q", r.PathValue("id"))
//		}
//		m, err := store.Get(r.Context(), id)
//		if err != nil {
//			return err // a 500 for the client, the whole error in the log
//		}
//		return server.WriteJSON(w, http.StatusOK, m)
//	})
//
// A handler that returns nil has answered the request itself.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// A Middleware wraps a handler in another: it may look at the request, set
// headers, answer by itself (a refused origin, a missing login) or pass the
// request on by calling the handler it wraps. It is what Express's app.use
// takes, with next() spelled next.ServeHTTP(w, r):
//
//	func logRequests(log *slog.Logger) server.Middleware {
//		return func(next http.Handler) http.Handler {
//			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//				start := time.Now()
//				next.ServeHTTP(w, r)
//				log.Info("request", "method", r.Method, "path", r.URL.Path, "took", time.Since(start))
//			})
//		}
//	}
//
// Being a plain func(http.Handler) http.Handler, any middleware written for
// net/http fits, and Middleware written here fits any net/http server.
type Middleware func(http.Handler) http.Handler

// An HTTPError is an error that says how the client should be answered:
// Status is the HTTP status, Message the text the client reads in
// {"error": Message}. Err, when set, is the cause: it goes to the log, never
// to the client.
//
// Return an HTTPError for what the client did wrong (400, 404, 409, 413,
// 415) and for refusals the client should see (403, 503). Return any other
// error for what went wrong on the server: the client then gets 500 and
// "internal server error", and the error, which may hold a file name, a
// query or a password, stays in the log.
type HTTPError struct {
	Status  int    // an error status, 400 to 599
	Message string // for the client; "" means the status text ("not found")
	Err     error  // the cause, for the log and errors.Is; may be nil
}

// This type and Errorf are given; the App is exercise 4.1.

// Error returns the status and the message, then the cause if it says more.
func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%d %s", e.Status, e.Message)
	if e.Err != nil && e.Err.Error() != e.Message {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause, so that errors.Is and errors.As see through an
// HTTPError.
func (e *HTTPError) Unwrap() error { return e.Err }

// Errorf returns an HTTPError with status and a message formatted as
// fmt.Errorf formats it. A %w verb wraps its operand as Err, so errors.Is
// still finds it; but its text becomes part of the message, which the
// client reads, so wrap only what the client may see.
func Errorf(status int, format string, args ...any) *HTTPError {
	err := fmt.Errorf(format, args...)
	e := &HTTPError{Status: status, Message: err.Error()}
	if errors.Unwrap(err) != nil || isMultiWrap(err) {
		e.Err = err
	}
	return e
}

// isMultiWrap reports whether err wraps several errors (two %w verbs).
func isMultiWrap(err error) bool {
	u, ok := err.(interface{ Unwrap() []error })
	return ok && len(u.Unwrap()) > 0
}

// An App is an HTTP handler built the way an Express app is built: routes
// (Handle, Express's app.get and app.post), plain handlers mounted on a
// prefix (Mount: the socket.io endpoint, static files) and middleware around
// all of it (Use, Express's app.use). What Express spreads over several
// places, an App does in one:
//
//	app := server.NewApp(logger)
//	app.Use(origins.CORS())                           // app.use(cors({origin: [...]}))
//	app.Handle("GET /api/messages", chat.History)     // app.get("/api/messages", ...)
//	app.Handle("POST /api/messages/{id}/like", like)  // app.post("/api/messages/:id/like", ...)
//	app.Mount("/socket.io/", engine)                  // new Server(httpServer)
//	app.Mount("/", server.Static(webFiles))           // app.use(express.static("public"))
//	http.ListenAndServe("localhost:8000", app)
//
// # Routes
//
// Underneath is Go's own router, http.ServeMux, and its patterns (Go 1.22
// and later): an optional method, then a path whose {name} segments match
// one segment each and are read with r.PathValue("name") (Express's :name
// and req.params.name); a path ending in "/" matches everything below it,
// and {name...} matches the rest of the path. The most specific pattern
// wins, whatever the order of registration, and two patterns that conflict
// make Handle panic when they are registered rather than surprise you later.
// "GET" also matches HEAD.
//
// # One error handler
//
// Every error answer of an App is JSON, {"error": "..."}, with
// Content-Type: application/json, so a client has one shape to parse. An
// App answers:
//
//   - a HandlerFunc's *HTTPError (found with errors.As, so it may be
//     wrapped) with its Status and Message;
//   - any other error with 500 {"error":"internal server error"}, and logs
//     the error;
//   - a panic in a handler, routed or mounted, like an error: 500, logged
//     with its stack, and the server goes on serving the next request;
//   - a path that no pattern matches with 404 {"error":"not found"};
//   - a path that some pattern matches, but not with this method, with 405
//     {"error":"method not allowed"} and an Allow header listing the
//     methods that would do (RFC 9110, section 15.5.6).
//
// Express needs a four-argument error middleware registered last, and a
// final catch-all for 404s; here both are built in.
//
// An error that comes after the handler has started its response (a header
// written, a byte of body, a flush, a hijacked connection) cannot change the
// answer any more: the status line is on its way to the client. The App then
// only logs it. A panic at that point also cuts the connection, so that the
// client sees a broken response rather than a short one it might believe.
//
// # Middleware
//
// Use adds middleware around the whole App: every route and every mount,
// and the 404 and 405 answers too, so that (say) CORS headers and a request
// log cover every request. The first middleware given is the outermost: it
// sees the request first and the response last. Unlike Express, where
// app.use only affects the routes added after it, the order of Use and
// Handle does not matter.
//
// Middleware runs outside the error handler: a middleware that wraps the
// ResponseWriter to record the status sees the App's 500s and 404s like any
// other answer.
type App struct {
	// Yours to choose: an *http.ServeMux for the routes, the middleware
	// that Use was given, the logger, ...
}

// NewApp returns an App with no routes, which answers 404 to everything. It
// logs errors and panics to logger, or to slog.Default() when logger is nil.
func NewApp(logger *slog.Logger) *App {
	_ = exercise.TODO("4.1")
	return &App{}
}

// Use adds middleware around the App, mw[0] outermost. Calling Use twice is
// the same as calling it once with both lists: Use(a, b) then Use(c) runs a,
// then b, then c, then the handler. It is meant for setting the App up, but
// is safe at any time; a request already in progress keeps the middleware
// it started with.
func (a *App) Use(mw ...Middleware) {
	_ = exercise.TODO("4.1")
}

// Handle routes requests that match pattern to h, whose errors go to the
// App's error handler. pattern is an http.ServeMux pattern, usually with a
// method: "GET /api/messages", "POST /api/messages/{id}/like". Handle panics
// if pattern is malformed or conflicts with one already registered.
func (a *App) Handle(pattern string, h HandlerFunc) {
	_ = exercise.TODO("4.1")
}

// Mount routes requests that match pattern to a plain http.Handler, such as
// the socket.io endpoint ("/socket.io/", every method) or static files ("/",
// which then catches every path that no other pattern matches). A mounted
// handler answers for itself, errors included, but its panics are caught
// like a HandlerFunc's, and middleware from Use wraps it too. The
// http.ResponseWriter it gets still supports http.Hijacker, for WebSocket
// upgrades, and http.Flusher, for long polling.
func (a *App) Mount(pattern string, h http.Handler) {
	_ = exercise.TODO("4.1")
}

// ServeHTTP runs the middleware, then the route that matches r.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	exercise.TODOHandler("4.1").ServeHTTP(w, r)
}
