package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 4.1: Routes and one error handler (lessons/04-express-style-server.md).
//
// Most of these tests call App.ServeHTTP directly with an
// httptest.ResponseRecorder: no network, and the answer is complete when
// ServeHTTP returns. The tests of panics and of WebSocket upgrades use a
// real server on the loopback interface, because only a real server shows
// what a client sees when a handler panics or takes the connection over.

// appTestTimeout bounds every wait of these tests.
const appTestTimeout = 5 * time.Second

// appTestLog is a log a test can read: the App logs to it through
// slog.NewTextHandler, from whatever goroutine serves the request.
type appTestLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // a token after every write
}

// appTestNewLog returns a logger for NewApp and the log it writes to.
func appTestNewLog() (*slog.Logger, *appTestLog) {
	l := &appTestLog{changed: make(chan struct{}, 1)}
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})), l
}

func (l *appTestLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return l.buf.Write(p)
}

func (l *appTestLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor waits until the log contains want: a server may log after it has
// answered.
func (l *appTestLog) waitFor(t *testing.T, want, why string) {
	t.Helper()
	deadline := time.NewTimer(appTestTimeout)
	defer deadline.Stop()
	for !strings.Contains(l.String(), want) {
		select {
		case <-l.changed:
		case <-deadline.C:
			t.Fatalf("the log should contain %q: %s.\nThe log:\n%s", want, why, l.String())
		}
	}
}

// appTestDo serves one request with h and returns the answer.
func appTestDo(h http.Handler, method, target string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// appTestRequireJSONError checks that an answer is an error in the App's
// one shape: status, Content-Type: application/json and a body that is
// exactly {"error": message}.
func appTestRequireJSONError(t *testing.T, status int, contentType string, body []byte, message, what string) {
	t.Helper()
	mt, _, _ := mime.ParseMediaType(contentType)
	assert.Equal(t, "application/json", mt, "%s: every error answer has Content-Type: application/json", what)
	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got), "%s: the body should be a JSON object {\"error\": ...}, got %q", what, body)
	assert.Equal(t, map[string]any{"error": message}, got, "%s: the body", what)
}

// appTestSay is a HandlerFunc that answers 200 with text.
func appTestSay(format string, pathValues ...string) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		args := make([]any, len(pathValues))
		for i, name := range pathValues {
			args[i] = r.PathValue(name)
		}
		_, err := fmt.Fprintf(w, format, args...)
		return err
	}
}

func TestAppRoutesByMethodAndPath(t *testing.T) {
	exercise.Start(t, "4.1")
	// Handle takes http.ServeMux patterns: a method, a path, {name} for one
	// segment read with r.PathValue, {name...} for the rest; Mount hands a
	// whole subtree, every method, to a plain http.Handler.
	logger, _ := appTestNewLog()
	app := NewApp(logger)
	app.Handle("GET /api/messages", appTestSay("list"))
	app.Handle("POST /api/messages", appTestSay("create"))
	app.Handle("GET /api/messages/{id}", appTestSay("get %s", "id"))
	app.Handle("DELETE /api/messages/{id}", appTestSay("delete %s", "id"))
	app.Handle("GET /files/{path...}", appTestSay("file %s", "path"))
	app.Mount("/socket.io/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "engine %s %s", r.Method, r.URL.RawQuery)
	}))

	for _, c := range []struct {
		method, target, want string
	}{
		{"GET", "/api/messages", "list"},
		{"POST", "/api/messages", "create"},
		{"GET", "/api/messages/42", "get 42"},
		{"DELETE", "/api/messages/7", "delete 7"},
		{"GET", "/files/img/logo.png", "file img/logo.png"},
		{"GET", "/socket.io/?EIO=4&transport=polling", "engine GET EIO=4&transport=polling"},
		{"POST", "/socket.io/?EIO=4&transport=polling&sid=abc", "engine POST EIO=4&transport=polling&sid=abc"},
	} {
		w := appTestDo(app, c.method, c.target)
		assert.Equal(t, http.StatusOK, w.Code, "%s %s: the status", c.method, c.target)
		assert.Equal(t, c.want, w.Body.String(), "%s %s: should reach the handler registered for it", c.method, c.target)
	}
}

func TestAppAnswersNotFoundAndMethodNotAllowedInJSON(t *testing.T) {
	exercise.Start(t, "4.1")
	// A path no pattern matches is 404 {"error":"not found"}; a path some
	// pattern matches, with a method none allows, is 405 {"error":"method
	// not allowed"} with an Allow header (RFC 9110, section 15.5.6).
	// ServeMux knows which: ask it, and answer in JSON.
	logger, _ := appTestNewLog()
	app := NewApp(logger)
	app.Handle("GET /api/messages", appTestSay("list"))
	app.Handle("POST /api/messages", appTestSay("create"))
	app.Handle("DELETE /api/messages/{id}", appTestSay("delete"))

	for _, c := range []struct {
		method, target string
		status         int
		message        string
		allow          []string // for a 405
	}{
		{"GET", "/nothing/here", http.StatusNotFound, "not found", nil},
		{"GET", "/api", http.StatusNotFound, "not found", nil},
		{"GET", "/api/messages/1/2", http.StatusNotFound, "not found", nil},
		{"PUT", "/api/messages", http.StatusMethodNotAllowed, "method not allowed", []string{"GET", "HEAD", "POST"}},
		{"DELETE", "/api/messages", http.StatusMethodNotAllowed, "method not allowed", []string{"GET", "HEAD", "POST"}},
		{"GET", "/api/messages/3", http.StatusMethodNotAllowed, "method not allowed", []string{"DELETE"}},
	} {
		what := c.method + " " + c.target
		w := appTestDo(app, c.method, c.target)
		assert.Equal(t, c.status, w.Code, "%s: the status", what)
		appTestRequireJSONError(t, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes(), c.message, what)
		if c.allow != nil {
			assert.ElementsMatch(t, c.allow, appTestList(w.Header().Get("Allow")),
				"%s: a 405's Allow header lists the methods the path does take (GET brings HEAD along)", what)
		}
	}
}

// appTestList splits a comma-separated header value.
func appTestList(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// appTestTrace is middleware that writes where a request went: "name>" on
// the way in, "<name" and the status it saw on the way out.
func appTestTrace(trace *[]string, name string) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			*trace = append(*trace, name+">")
			sw := &appTestStatusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if sw.status == 0 {
				sw.status = http.StatusOK // what net/http sends for a handler that writes nothing
			}
			*trace = append(*trace, fmt.Sprintf("<%s %d", name, sw.status))
		})
	}
}

// appTestStatusWriter records the status that passes through it, as a
// request-logging middleware would.
type appTestStatusWriter struct {
	http.ResponseWriter
	status int
}

func (w *appTestStatusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *appTestStatusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func TestAppMiddlewareRunsOutermostFirstAroundEverything(t *testing.T) {
	exercise.Start(t, "4.1")
	// Use(a, b) then Use(c): a sees the request first and the answer last,
	// then b, then c, as with Express's app.use. Middleware wraps every
	// route, whether registered before or after Use, every mount, and the
	// App's own 404, 405 and 500 answers, so that a request log or CORS
	// headers cover everything.
	var trace []string
	logger, _ := appTestNewLog()
	app := NewApp(logger)
	app.Handle("GET /before", func(w http.ResponseWriter, r *http.Request) error {
		trace = append(trace, "before")
		return nil
	})
	app.Use(appTestTrace(&trace, "a"), appTestTrace(&trace, "b"))
	app.Use(appTestTrace(&trace, "c"))
	app.Handle("GET /after", func(w http.ResponseWriter, r *http.Request) error {
		trace = append(trace, "after")
		return nil
	})
	app.Handle("GET /fails", func(w http.ResponseWriter, r *http.Request) error {
		trace = append(trace, "fails")
		return errors.New("something broke")
	})
	app.Mount("/socket.io/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trace = append(trace, "mounted")
		w.WriteHeader(http.StatusAccepted)
	}))

	for _, c := range []struct {
		method, target string
		want           []string
	}{
		{"GET", "/before", []string{"a>", "b>", "c>", "before", "<c 200", "<b 200", "<a 200"}},
		{"GET", "/after", []string{"a>", "b>", "c>", "after", "<c 200", "<b 200", "<a 200"}},
		{"GET", "/socket.io/?EIO=4", []string{"a>", "b>", "c>", "mounted", "<c 202", "<b 202", "<a 202"}},
		{"GET", "/fails", []string{"a>", "b>", "c>", "fails", "<c 500", "<b 500", "<a 500"}},
		{"GET", "/nowhere", []string{"a>", "b>", "c>", "<c 404", "<b 404", "<a 404"}},
		{"POST", "/after", []string{"a>", "b>", "c>", "<c 405", "<b 405", "<a 405"}},
	} {
		trace = nil
		appTestDo(app, c.method, c.target)
		assert.Equal(t, c.want, trace, "%s %s: the middleware and handlers it went through, in order", c.method, c.target)
	}

	// A middleware may answer by itself; nothing inside it runs.
	blocked := NewApp(logger)
	blocked.Handle("GET /secret", func(w http.ResponseWriter, r *http.Request) error {
		trace = append(trace, "handler")
		return nil
	})
	blocked.Use(appTestTrace(&trace, "a"), func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			trace = append(trace, "gate")
			w.WriteHeader(http.StatusUnauthorized)
		})
	}, appTestTrace(&trace, "c"))
	trace = nil
	w := appTestDo(blocked, "GET", "/secret")
	assert.Equal(t, http.StatusUnauthorized, w.Code, "a middleware that answers by itself decides the status")
	assert.Equal(t, []string{"a>", "gate", "<a 401"}, trace, "a middleware that does not call next stops the request there")
}

func TestAppAnswersAnHTTPErrorWithItsStatusAndMessage(t *testing.T) {
	exercise.Start(t, "4.1")
	// A HandlerFunc's *HTTPError, found with errors.As (so it may be
	// wrapped), is answered with its Status and {"error": Message}. Its Err
	// is for the log, never for the client.
	for _, c := range []struct {
		name    string
		err     error
		status  int
		message string
	}{
		{"Errorf", Errorf(http.StatusBadRequest, "id must be a number, got %q", "abc"),
			http.StatusBadRequest, `id must be a number, got "abc"`},
		{"an HTTPError literal", &HTTPError{Status: http.StatusConflict, Message: "that name is taken"},
			http.StatusConflict, "that name is taken"},
		{"a wrapped HTTPError", fmt.Errorf("loading message 7: %w", Errorf(http.StatusNotFound, "there is no message 7")),
			http.StatusNotFound, "there is no message 7"},
		{"an HTTPError with a cause", &HTTPError{Status: http.StatusServiceUnavailable, Message: "the database is busy, try again",
			Err: errors.New("sqlite: database is locked (/srv/chat/secret.db)")},
			http.StatusServiceUnavailable, "the database is busy, try again"},
		{"an HTTPError with no message", &HTTPError{Status: http.StatusNotFound},
			http.StatusNotFound, "not found"},
	} {
		logger, _ := appTestNewLog()
		app := NewApp(logger)
		app.Handle("GET /api/thing", func(w http.ResponseWriter, r *http.Request) error { return c.err })
		w := appTestDo(app, "GET", "/api/thing")
		assert.Equal(t, c.status, w.Code, "%s: the status is the HTTPError's", c.name)
		appTestRequireJSONError(t, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes(), c.message, c.name)
		assert.NotContains(t, w.Body.String(), "secret.db", "%s: the cause (Err) is never shown to the client", c.name)
	}
}

func TestAppAnswersAnyOtherError500AndLogsIt(t *testing.T) {
	exercise.Start(t, "4.1")
	// Any error that is not an *HTTPError is the server's: the client gets
	// 500 {"error":"internal server error"}, and what went wrong, which may
	// name a file, a query or a password, goes to the log only.
	logger, log := appTestNewLog()
	app := NewApp(logger)
	app.Handle("GET /api/messages", func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("querying messages: %w", errors.New(`pq: password authentication failed for user "chat"`))
	})
	w := appTestDo(app, "GET", "/api/messages")
	require.Equal(t, http.StatusInternalServerError, w.Code, "a plain error is a 500")
	appTestRequireJSONError(t, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes(), "internal server error", "a plain error")
	assert.NotContains(t, w.Body.String(), "password", "the error's text is never shown to the client")
	log.waitFor(t, "password authentication failed", "a plain error is logged, since the client is not told")
}

func TestAppRecoversFromAPanicAndKeepsServing(t *testing.T) {
	exercise.Start(t, "4.1")
	// A panic in a handler, routed or mounted, is answered like an error,
	// 500, and logged; the server goes on serving. The exception is
	// panic(http.ErrAbortHandler), a handler's way of saying "drop this
	// connection": it must reach net/http, which closes the connection
	// without an answer.
	logger, log := appTestNewLog()
	app := NewApp(logger)
	app.Handle("GET /ok", appTestSay("ok"))
	app.Handle("GET /panics", func(w http.ResponseWriter, r *http.Request) error {
		parts := strings.Split(r.URL.Path, "/")
		_, err := io.WriteString(w, parts[len(parts)+1]) // index out of range
		return err
	})
	app.Mount("/mounted/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("mounted handler exploded")
	}))
	app.Handle("GET /abort", func(w http.ResponseWriter, r *http.Request) error {
		panic(http.ErrAbortHandler)
	})
	srv := httptest.NewServer(app)
	defer srv.Close()
	client := srv.Client()
	client.Timeout = appTestTimeout

	get := func(path string) (*http.Response, []byte, error) {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}
	requireOK := func(why string) {
		t.Helper()
		resp, body, err := get("/ok")
		require.NoError(t, err, "GET /ok %s", why)
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET /ok %s", why)
		assert.Equal(t, "ok", string(body), "GET /ok %s", why)
	}

	requireOK("before any panic")
	for _, c := range []struct{ path, logged string }{
		{"/panics", "index out of range"},
		{"/mounted/x", "mounted handler exploded"},
	} {
		resp, body, err := get(c.path)
		require.NoError(t, err, "GET %s: a panic should be answered, not cut the connection", c.path)
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode, "GET %s: a panic is a 500", c.path)
		appTestRequireJSONError(t, resp.StatusCode, resp.Header.Get("Content-Type"), body, "internal server error", "GET "+c.path)
		log.waitFor(t, c.logged, "a panic is logged")
		requireOK("after a panic: the server keeps serving")
	}

	_, _, err := get("/abort")
	assert.Error(t, err, "GET /abort: panic(http.ErrAbortHandler) must reach net/http, which drops the connection without an answer")
	requireOK("after panic(http.ErrAbortHandler)")
}

func TestAppOnlyLogsAnErrorAfterTheResponseBegan(t *testing.T) {
	exercise.Start(t, "4.1")
	// Once a handler has written a header or a byte, or flushed, its status
	// line is on its way: an error it returns then cannot become a 500, and
	// writing one would corrupt the answer. It is logged instead.
	for _, c := range []struct {
		name        string
		handler     HandlerFunc
		status      int
		body        string
		contentType string
		logged      string
	}{
		{"error after writing a body",
			func(w http.ResponseWriter, r *http.Request) error {
				_, _ = io.WriteString(w, "partial")
				return errors.New("disk failed after the first chunk")
			},
			http.StatusOK, "partial", "", "disk failed after the first chunk"},
		{"HTTPError after WriteHeader",
			func(w http.ResponseWriter, r *http.Request) error {
				w.WriteHeader(http.StatusAccepted)
				return Errorf(http.StatusBadRequest, "too late to refuse")
			},
			http.StatusAccepted, "", "", "too late to refuse"},
		{"error after a flush",
			func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Type", "text/event-stream")
				if err := http.NewResponseController(w).Flush(); err != nil {
					return fmt.Errorf("the App's ResponseWriter must still flush: %w", err)
				}
				return errors.New("the event stream broke")
			},
			http.StatusOK, "", "text/event-stream", "the event stream broke"},
	} {
		logger, log := appTestNewLog()
		app := NewApp(logger)
		app.Handle("GET /stream", c.handler)
		w := appTestDo(app, "GET", "/stream")
		require.Equal(t, c.status, w.Code, "%s: the status the handler wrote stands", c.name)
		assert.Equal(t, c.body, w.Body.String(), "%s: nothing is added to what the handler wrote", c.name)
		if c.contentType != "" {
			assert.Equal(t, c.contentType, w.Header().Get("Content-Type"), "%s: the handler's Content-Type stands", c.name)
		}
		log.waitFor(t, c.logged, c.name+": the error is logged")
	}
}

func TestAppMountedHandlersCanTakeTheConnectionOver(t *testing.T) {
	exercise.Start(t, "4.1")
	// The socket.io endpoint is mounted on the App and upgrades to a
	// WebSocket, which takes the TCP connection over (http.Hijacker). An App
	// that wraps the ResponseWriter must let that through, middleware and
	// all.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })

	logger, _ := appTestNewLog()
	app := NewApp(logger)
	var wrapped atomic.Bool
	app.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			wrapped.Store(true)
			next.ServeHTTP(w, r)
		})
	})
	app.Mount("/ws", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // the Upgrader has answered
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(appTestTimeout))
		typ, p, err := c.ReadMessage()
		if err != nil {
			return
		}
		_ = c.WriteMessage(typ, p)
	}))
	srv := httptest.NewServer(app)
	defer srv.Close()

	d := websocket.Dialer{HandshakeTimeout: appTestTimeout}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if resp != nil {
		resp.Body.Close()
	}
	require.NoError(t, err, "a WebSocket handshake through the App should succeed (is http.Hijacker passed through?)")
	defer c.Close()
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode, "the handshake's status")
	_ = c.SetReadDeadline(time.Now().Add(appTestTimeout))
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte("echo me")))
	_, p, err := c.ReadMessage()
	require.NoError(t, err, "reading the echo")
	assert.Equal(t, "echo me", string(p), "the mounted handler echoes over the hijacked connection")
	assert.True(t, wrapped.Load(), "the middleware ran for the upgrade too")
}
