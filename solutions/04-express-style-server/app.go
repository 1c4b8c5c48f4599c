package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
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
	mux    *http.ServeMux
	logger *slog.Logger

	mu    sync.Mutex // serializes Use
	mw    []Middleware
	chain atomic.Pointer[handlerRef] // the middleware around a.route
}

// handlerRef holds an http.Handler for atomic.Pointer, which needs a
// concrete type.
type handlerRef struct{ http.Handler }

// NewApp returns an App with no routes, which answers 404 to everything. It
// logs errors and panics to logger, or to slog.Default() when logger is nil.
func NewApp(logger *slog.Logger) *App {
	if logger == nil {
		logger = slog.Default()
	}
	a := &App{mux: http.NewServeMux(), logger: logger}
	a.chain.Store(&handlerRef{http.HandlerFunc(a.route)})
	return a
}

// Use adds middleware around the App, mw[0] outermost. Calling Use twice is
// the same as calling it once with both lists: Use(a, b) then Use(c) runs a,
// then b, then c, then the handler. It is meant for setting the App up, but
// is safe at any time; a request already in progress keeps the middleware
// it started with.
func (a *App) Use(mw ...Middleware) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mw = append(a.mw, mw...)
	var h http.Handler = http.HandlerFunc(a.route)
	for i := len(a.mw) - 1; i >= 0; i-- {
		h = a.mw[i](h)
	}
	a.chain.Store(&handlerRef{h})
}

// Handle routes requests that match pattern to h, whose errors go to the
// App's error handler. pattern is an http.ServeMux pattern, usually with a
// method: "GET /api/messages", "POST /api/messages/{id}/like". Handle panics
// if pattern is malformed or conflicts with one already registered.
func (a *App) Handle(pattern string, h HandlerFunc) {
	a.mux.Handle(pattern, a.adapt(h))
}

// Mount routes requests that match pattern to a plain http.Handler, such as
// the socket.io endpoint ("/socket.io/", every method) or static files ("/",
// which then catches every path that no other pattern matches). A mounted
// handler answers for itself, errors included, but its panics are caught
// like a HandlerFunc's, and middleware from Use wraps it too. The
// http.ResponseWriter it gets still supports http.Hijacker, for WebSocket
// upgrades, and http.Flusher, for long polling.
func (a *App) Mount(pattern string, h http.Handler) {
	a.mux.Handle(pattern, h)
}

// ServeHTTP runs the middleware, then the route that matches r.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.chain.Load().ServeHTTP(w, r)
}

// route is the innermost handler, the one that the middleware wraps: it
// finds r's route and catches what goes wrong there.
func (a *App) route(w http.ResponseWriter, r *http.Request) {
	rw := &responseWriter{ResponseWriter: w}
	defer a.recoverPanic(rw, r)

	// Ask the mux which pattern matches before serving. An empty pattern
	// means no route: ServeMux's own answer, a text/plain 404 or 405 (or a
	// redirect to a cleaned-up path), which serveUnrouted turns into JSON.
	// Otherwise let the mux serve the request itself: only ServeHTTP sets
	// r.Pattern and the path values that r.PathValue reads.
	h, pattern := a.mux.Handler(r)
	if pattern == "" {
		a.serveUnrouted(rw, r, h)
		return
	}
	a.mux.ServeHTTP(rw, r)
}

// adapt turns a HandlerFunc into an http.Handler that hands its error to
// the error handler.
func (a *App) adapt(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw, ok := w.(*responseWriter)
		if !ok {
			rw = &responseWriter{ResponseWriter: w}
		}
		if err := h(rw, r); err != nil {
			a.handleError(rw, r, err)
		}
	})
}

// handleError is the one error handler: it answers for err, unless the
// response has already begun, and logs what the client is not told.
func (a *App) handleError(w *responseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, ""
	var he *HTTPError
	if errors.As(err, &he) && he.Status >= 400 && he.Status <= 599 {
		status, msg = he.Status, he.Message
	}
	// An HTTPError whose Status is not an error status is a bug in the
	// handler: it is answered, and logged, as any other error.

	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status, "err", err}
	if w.written {
		a.logger.ErrorContext(r.Context(), "handler failed after its response began", attrs...)
		return
	}
	if status >= 500 {
		a.logger.ErrorContext(r.Context(), "handler failed", attrs...)
	} else {
		a.logger.DebugContext(r.Context(), "request refused", attrs...)
	}
	writeError(w, status, msg)
}

// recoverPanic is deferred by route: a panic anywhere below becomes a 500,
// as an error would.
func (a *App) recoverPanic(w *responseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		// The handler's way of saying "drop this connection"; net/http
		// does that, without logging, when the panic reaches it.
		panic(v)
	}
	a.logger.ErrorContext(r.Context(), "handler panicked",
		"method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
	if w.written {
		// Part of a response is out; cut the connection so that the
		// client does not mistake it for the whole.
		panic(http.ErrAbortHandler)
	}
	writeError(w, http.StatusInternalServerError, "")
}

// serveUnrouted runs h, ServeMux's answer to a request that no pattern
// matches, on a recorder, then sends its 404 and 405 as JSON (keeping the
// Allow header ServeMux computed) and anything else, a redirect, as it is.
func (a *App) serveUnrouted(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := &recorder{header: make(http.Header)}
	h.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusNotFound:
		writeError(w, http.StatusNotFound, "")
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeError(w, http.StatusMethodNotAllowed, "")
	default:
		maps.Copy(w.Header(), rec.header)
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	}
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// writeError answers status with {"error": msg}; an empty msg is the status
// text in lower case: "not found", "internal server error".
func writeError(w http.ResponseWriter, status int, msg string) {
	if msg == "" {
		msg = strings.ToLower(http.StatusText(status))
	}
	h := w.Header()
	// A Content-Length or Content-Encoding set for the answer the handler
	// meant to give would not fit this one.
	h.Del("Content-Length")
	h.Del("Content-Encoding")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	b, _ := json.Marshal(errorBody{msg}) // a struct of one string always encodes
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// responseWriter remembers whether the response has begun, which decides
// whether an error can still be answered. It passes Hijack, Flush and
// ReadFrom through (WebSocket upgrades, long polling, sendfile), and Unwrap
// lets http.ResponseController reach everything else.
type responseWriter struct {
	http.ResponseWriter
	written bool
}

func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.written = true // 1xx informational answers (103 Early Hints) come before the real one
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(p)
}

func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	w.written = true
	return io.Copy(w.ResponseWriter, src)
}

func (w *responseWriter) Flush() {
	w.written = true
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.written = true
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recorder keeps what ServeMux's own 404, 405 and redirect handlers write.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}
