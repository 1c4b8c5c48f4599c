package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/websocket-workbook/workbook/internal/exercise"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// Exercise 4.3: The origin allowlist (lessons/04-express-style-server.md).

func TestOriginParseOrigins(t *testing.T) {
	exercise.Start(t, "4.3")
	// ParseOrigins reads the -origin flag: a comma-separated list, each
	// item trimmed, checked and lower-cased, in the form browsers send.
	for _, c := range []struct {
		in   string
		want Origins
	}{
		{"http://localhost:5173", Origins{"http://localhost:5173"}},
		{" HTTPS://Chat.Example.COM , http://127.0.0.1:8000 ", Origins{"https://chat.example.com", "http://127.0.0.1:8000"}},
		{"http://[::1]:5173", Origins{"http://[::1]:5173"}},
		{"http://localhost:80,https://chat.example.com:443", Origins{"http://localhost", "https://chat.example.com"}},
		{"", Origins{}},
	} {
		got, err := ParseOrigins(c.in)
		if assert.NoError(t, err, "ParseOrigins(%q)", c.in) {
			assert.ElementsMatch(t, c.want, got, "ParseOrigins(%q): browsers send an origin in lower case, without a default port", c.in)
		}
	}

	// An origin is scheme://host[:port] and nothing else; anything the
	// browser would never send, or that would allow more than one site, is
	// an error that names the bad item.
	for _, c := range []struct{ in, bad string }{
		{"localhost:5173", "localhost:5173"},
		{"http://localhost:5173/", "http://localhost:5173/"},
		{"http://localhost:5173/chat", "http://localhost:5173/chat"},
		{"http://localhost:5173?room=1", "http://localhost:5173?room=1"},
		{"http://localhost:5173#top", "http://localhost:5173#top"},
		{"http://ana@localhost:5173", "http://ana@localhost:5173"},
		{"*", "*"},
		{"https://*.example.com", "https://*.example.com"},
		{"null", "null"},
		{"ftp://files.example.com", "ftp://files.example.com"},
		{"http://", "http://"},
		{"http://localhost:99999", "http://localhost:99999"},
		{"http://localhost:port", "http://localhost:port"},
		{"http://localhost:5173, not an origin", "not an origin"},
		{"http://localhost:5173,,http://chat.example.com", ""},
	} {
		got, err := ParseOrigins(c.in)
		if assert.Error(t, err, "ParseOrigins(%q) should refuse it, got %q", c.in, got) && c.bad != "" {
			assert.Contains(t, err.Error(), c.bad, "ParseOrigins(%q): the error should name the bad origin", c.in)
		}
	}
}

func TestOriginAllowed(t *testing.T) {
	exercise.Start(t, "4.3")
	// Allowed is gorilla/websocket's CheckOrigin: no Origin (not a
	// browser), the server's own origin, or a listed one.
	o := Origins{"http://localhost:5173", "https://chat.example.com"}
	const absent = "\x00absent"
	for _, c := range []struct {
		name, host, origin string
		want               bool
	}{
		{"no Origin header: not a browser page", "api.example.com", absent, true},
		{"the server's own page", "chat.internal:8000", "http://chat.internal:8000", true},
		{"the server's own page, host in another case", "chat.internal:8000", "http://CHAT.Internal:8000", true},
		{"a listed origin", "api.example.com", "http://localhost:5173", true},
		{"a listed origin in another case", "api.example.com", "HTTP://LocalHost:5173", true},
		{"another listed origin", "api.example.com", "https://chat.example.com", true},
		{"a site not listed", "api.example.com", "http://evil.example", false},
		{"a listed host on another port", "api.example.com", "http://localhost:5174", false},
		{"a listed host with another scheme", "api.example.com", "https://localhost:5173", false},
		{"a listed origin as a prefix of another host", "api.example.com", "http://localhost:5173.evil.example", false},
		{"a listed origin as a prefix of another host name", "api.example.com", "https://chat.example.com.evil.example", false},
		{"a listed origin as a prefix of another port", "api.example.com", "http://localhost:51730", false},
		{"a listed origin as a prefix of another port, in another case", "api.example.com", "HTTP://LocalHost:51730", false},
		{"the server's host on another port", "chat.internal:8000", "http://chat.internal:9000", false},
		{`"null", from a sandboxed frame or a file`, "api.example.com", "null", false},
		{"an empty Origin", "api.example.com", "", false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=websocket", nil)
		r.Host = c.host
		if c.origin != absent {
			r.Header.Set("Origin", c.origin)
		}
		assert.Equal(t, c.want, o.Allowed(r), "%s: Allowed with Host %q and Origin %q", c.name, c.host, c.origin)
	}
}

// originTestApp is a handler behind CORS that records whether a request
// got through.
func originTestApp(o Origins, reached *bool) http.Handler {
	return o.CORS()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*reached = true
		_, _ = w.Write([]byte("ok"))
	}))
}

// originTestVaryHas reports whether the Vary headers of h name field.
func originTestVaryHas(h http.Header, field string) bool {
	for _, v := range h.Values("Vary") {
		for _, f := range appTestList(v) {
			if strings.EqualFold(f, field) {
				return true
			}
		}
	}
	return false
}

func TestCORSLetsAllowedOriginsReadTheAnswer(t *testing.T) {
	exercise.Start(t, "4.3")
	// An allowed request goes through, and its answer carries
	// Access-Control-Allow-Origin (the origin itself: with credentials a
	// "*" is not allowed) and Access-Control-Allow-Credentials: true. Every
	// answer says Vary: Origin, since it depends on it.
	o := Origins{"http://localhost:5173"}
	for _, c := range []struct {
		name, method, origin string
		wantACAO             string
	}{
		{"GET from a listed origin", "GET", "http://localhost:5173", "http://localhost:5173"},
		{"POST from a listed origin", "POST", "http://localhost:5173", "http://localhost:5173"},
		{"GET with no Origin", "GET", "", ""},
	} {
		var reached bool
		r := httptest.NewRequest(c.method, "/api/messages", strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/json")
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		w := httptest.NewRecorder()
		originTestApp(o, &reached).ServeHTTP(w, r)
		assert.True(t, reached, "%s: the request goes through to the handler", c.name)
		assert.Equal(t, http.StatusOK, w.Code, "%s: the handler's status", c.name)
		assert.Equal(t, c.wantACAO, w.Header().Get("Access-Control-Allow-Origin"), "%s: Access-Control-Allow-Origin", c.name)
		if c.wantACAO != "" {
			assert.Equal(t, "true", w.Header().Get("Access-Control-Allow-Credentials"), "%s: Access-Control-Allow-Credentials", c.name)
		}
		assert.True(t, originTestVaryHas(w.Header(), "Origin"), "%s: the answer should say Vary: Origin, got %q", c.name, w.Header().Values("Vary"))
	}

	// The page the server served itself is allowed without being listed.
	var reached bool
	r := httptest.NewRequest("POST", "http://chat.internal:8000/api/messages", nil)
	r.Header.Set("Origin", "http://chat.internal:8000")
	w := httptest.NewRecorder()
	originTestApp(o, &reached).ServeHTTP(w, r)
	assert.True(t, reached, "a POST from the server's own page goes through")
}

func TestCORSAnswersPreflights(t *testing.T) {
	exercise.Start(t, "4.3")
	// Before a request a form could not make (a JSON body, a custom
	// header), the browser asks: OPTIONS with Access-Control-Request-Method.
	// An allowed origin gets 204 and the permissions; the request goes no
	// further. Another origin gets 403.
	o := Origins{"http://localhost:5173"}
	preflight := func(origin, headers string) (*httptest.ResponseRecorder, bool) {
		var reached bool
		r := httptest.NewRequest(http.MethodOptions, "/api/messages", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		if headers != "" {
			r.Header.Set("Access-Control-Request-Headers", headers)
		}
		w := httptest.NewRecorder()
		originTestApp(o, &reached).ServeHTTP(w, r)
		return w, reached
	}

	w, reached := preflight("http://localhost:5173", "content-type,x-request-id")
	assert.Equal(t, http.StatusNoContent, w.Code, "an allowed preflight: the status")
	assert.False(t, reached, "an allowed preflight is answered by CORS; the handler never sees it")
	assert.Equal(t, "http://localhost:5173", w.Header().Get("Access-Control-Allow-Origin"), "an allowed preflight: Access-Control-Allow-Origin")
	assert.Equal(t, "true", w.Header().Get("Access-Control-Allow-Credentials"), "an allowed preflight: Access-Control-Allow-Credentials")
	assert.Subset(t, appTestList(w.Header().Get("Access-Control-Allow-Methods")), []string{"GET", "POST"},
		"an allowed preflight: Access-Control-Allow-Methods")
	assert.ElementsMatch(t, []string{"content-type", "x-request-id"},
		appTestList(strings.ToLower(w.Header().Get("Access-Control-Allow-Headers"))),
		"an allowed preflight: Access-Control-Allow-Headers echoes the headers asked for")
	assert.Equal(t, "600", w.Header().Get("Access-Control-Max-Age"), "an allowed preflight: Access-Control-Max-Age")
	assert.True(t, originTestVaryHas(w.Header(), "Origin"), "an allowed preflight: Vary: Origin")

	w, _ = preflight("http://localhost:5173", "")
	assert.Equal(t, http.StatusNoContent, w.Code, "a preflight asking for no headers: the status")
	assert.Equal(t, "content-type", strings.ToLower(w.Header().Get("Access-Control-Allow-Headers")),
		"a preflight asking for no headers: Access-Control-Allow-Headers is Content-Type")

	w, reached = preflight("http://evil.example", "content-type")
	assert.Equal(t, http.StatusForbidden, w.Code, "a preflight from another origin: the status")
	assert.False(t, reached, "a preflight from another origin never reaches the handler")
	assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"), "a preflight from another origin: no Access-Control-Allow-Origin")
	appTestRequireJSONError(t, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes(), "origin not allowed", "a preflight from another origin")

	// OPTIONS without Access-Control-Request-Method is no preflight: an
	// ordinary request, for the routes to answer.
	reached = false
	r := httptest.NewRequest(http.MethodOptions, "/api/messages", nil)
	r.Header.Set("Origin", "http://localhost:5173")
	originTestApp(o, &reached).ServeHTTP(httptest.NewRecorder(), r)
	assert.True(t, reached, "OPTIONS without Access-Control-Request-Method goes through to the handler")
}

func TestCORSRefusesOtherOrigins(t *testing.T) {
	exercise.Start(t, "4.3")
	// A simple cross-site request (a form's POST) is sent without a
	// preflight, and the browser hides only the answer, not the request's
	// effects. So CORS refuses it before it reaches a handler: 403
	// {"error":"origin not allowed"}.
	o := Origins{"http://localhost:5173"}
	for _, c := range []struct{ method, origin, contentType, body string }{
		{"POST", "http://evil.example", "text/plain", `{"author":"mallory","text":"spam"}`},
		{"POST", "http://evil.example", "application/x-www-form-urlencoded", "author=mallory&text=spam"},
		{"GET", "http://evil.example", "", ""},
		{"POST", "null", "text/plain", "spam"},
		{"GET", "http://localhost:5174", "", ""},
		// Origins that merely begin with the listed one are other sites.
		{"GET", "http://localhost:51730", "", ""},
		{"POST", "http://localhost:5173.evil.com", "text/plain", "spam"},
	} {
		what := c.method + " from " + c.origin
		var reached bool
		r := httptest.NewRequest(c.method, "/api/messages", strings.NewReader(c.body))
		r.Header.Set("Origin", c.origin)
		if c.contentType != "" {
			r.Header.Set("Content-Type", c.contentType)
		}
		w := httptest.NewRecorder()
		originTestApp(o, &reached).ServeHTTP(w, r)
		assert.False(t, reached, "%s: the handler must not run", what)
		assert.Equal(t, http.StatusForbidden, w.Code, "%s: the status", what)
		assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"), "%s: no Access-Control-Allow-Origin", what)
		appTestRequireJSONError(t, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes(), "origin not allowed", what)
	}
}

// originTestCountingUpgrader counts the handshakes its inner Upgrader
// accepted: each is a session.
type originTestCountingUpgrader struct {
	inner    events.Upgrader
	accepted *atomic.Int32
}

func (u originTestCountingUpgrader) Upgrade(w http.ResponseWriter, r *http.Request) (events.Transport, error) {
	t, err := u.inner.Upgrade(w, r)
	if err == nil {
		u.accepted.Add(1)
	}
	return t, err
}

func TestOriginRefusesWebSocketHandshakesFromOtherSites(t *testing.T) {
	exercise.Start(t, "4.3")
	// A WebSocket has no CORS: the browser opens it to any server that
	// accepts (RFC 6455, section 10.2). The event server's upgrader asks
	// Allowed, and gorilla/websocket answers a refused origin with 403, so
	// no session ever starts.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })

	origins := Origins{"http://localhost:5173"}
	var accepted atomic.Int32
	srv := events.NewServer(events.Options{Upgrader: originTestCountingUpgrader{
		inner:    events.GorillaUpgrader{CheckOrigin: origins.Allowed},
		accepted: &accepted,
	}})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/socket.io/?EIO=4&transport=websocket"

	dial := func(origin string) (*websocket.Conn, int) {
		t.Helper()
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		d := websocket.Dialer{HandshakeTimeout: appTestTimeout}
		c, resp, err := d.Dial(url, h)
		require.NotNil(t, resp, "Origin %q: the server should answer the handshake (dial error: %v)", origin, err)
		resp.Body.Close()
		if err != nil {
			return nil, resp.StatusCode
		}
		t.Cleanup(func() { c.Close() })
		return c, resp.StatusCode
	}

	c, status := dial("http://evil.example")
	assert.Nil(t, c, "Origin http://evil.example: no WebSocket")
	assert.Equal(t, http.StatusForbidden, status, "Origin http://evil.example: the handshake's status")
	assert.Equal(t, int32(0), accepted.Load(), "Origin http://evil.example: no session starts")

	for _, origin := range []string{"http://localhost:5173", ts.URL, ""} {
		before := accepted.Load()
		c, status := dial(origin)
		require.Equal(t, http.StatusSwitchingProtocols, status, "Origin %q: the handshake's status", origin)
		require.NotNil(t, c, "Origin %q: a WebSocket", origin)
		_ = c.SetReadDeadline(time.Now().Add(appTestTimeout))
		_, p, err := c.ReadMessage()
		require.NoError(t, err, "Origin %q: reading the open packet", origin)
		assert.True(t, strings.HasPrefix(string(p), `0{"sid":`), "Origin %q: the session opens (engine.io-protocol v4, \"Handshake\"), got %q", origin, p)
		assert.Equal(t, before+1, accepted.Load(), "Origin %q: one session", origin)
	}
}
