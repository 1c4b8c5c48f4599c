package server

// Helpers shared by the tests of lesson 04.
//
// The tests are in package server, so that the very same files test the
// lesson's code and the solution's (solutions/04-express-style-server), but
// they use the exported API, as any user of the package would. Their helpers
// start with "tt", so they do not clash with yours; if one does, rename
// yours.
//
// The tests trust no mock where a real part exists: the database is SQLite
// (in memory, or a file in t.TempDir()), the Socket.IO clients are the npm
// socket.io-client running in Node (internal/nodepeer), the browser is
// headless Chromium, and the servers listen on 127.0.0.1.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/websocket-workbook/workbook/internal/nodepeer"
	"github.com/websocket-workbook/workbook/internal/peer"
)

// ttTimeout bounds every wait, so that a broken implementation fails a test
// quickly instead of hanging it. It is generous: Node starts in a few hundred
// milliseconds, but the race detector on two busy cores slows everything.
const ttTimeout = 10 * time.Second

// ttNoLeaks checks, once the test and all its cleanups are done (servers
// shut down, clients gone), that every goroutine the test started has ended.
// Call it first, so that its cleanup runs last. npm names the npm packages
// the test drives through Node: they are checked before anything else, so
// that a test whose peer is missing skips (or fails, with CI=true) before it
// has started a server it would leave behind.
func ttNoLeaks(t *testing.T, npm ...string) {
	t.Helper()
	if len(npm) > 0 && peer.NodePackages(t, npm...) == "" {
		return
	}
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// ttLogger is a logger that drops everything: the code under test logs
// errors that some tests cause on purpose.
func ttLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// ttMemoryStore opens an SQLite database in memory, closed when the test
// ends.
func ttMemoryStore(t *testing.T) *SQLiteStore {
	t.Helper()
	s, err := OpenSQLite(":memory:")
	require.NoError(t, err, `OpenSQLite(":memory:")`)
	require.NotNil(t, s, `OpenSQLite(":memory:") returned a nil store`)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// ttStartServer makes a Server with cfg (an in-memory database and a quiet
// logger unless cfg says otherwise) and serves its Handler on an httptest
// server on 127.0.0.1. Both are shut down when the test ends.
func ttStartServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.DB == "" {
		cfg.DB = ":memory:"
	}
	if cfg.Logger == nil {
		cfg.Logger = ttLogger()
	}
	s, err := New(cfg)
	require.NoError(t, err, "New(%+v)", cfg)
	require.NotNil(t, s, "New returned a nil *Server")
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ttTimeout)
		defer cancel()
		_ = s.Shutdown(ctx)
		hs.Close()
	})
	return s, hs
}

// ttGet sends GET url with the given headers ("Name: value") and returns
// the response with its body read.
func ttGet(t *testing.T, url string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		require.True(t, ok, "header %q is not Name: value", h)
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	client := &http.Client{Timeout: ttTimeout}
	resp, err := client.Do(req)
	require.NoError(t, err, "GET %s", url)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "GET %s: reading the body", url)
	return resp, body
}

// A ttHistory is the body of GET /api/messages.
type ttHistory struct {
	Messages []Message `json:"messages"`
	More     bool      `json:"more"`
}

// ttGetHistory reads GET base/api/messages?query and requires a 200 with a
// JSON body {"messages":[...],"more":bool} (messages never null).
func ttGetHistory(t *testing.T, base, query string) ttHistory {
	t.Helper()
	url := base + "/api/messages"
	if query != "" {
		url += "?" + query
	}
	resp, body := ttGet(t, url)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: expected 200, got %s %s", url, resp.Status, body)
	require.Contains(t, resp.Header.Get("Content-Type"), "application/json", "GET %s: Content-Type", url)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &raw), "GET %s: the body must be a JSON object, got %s", url, body)
	require.Contains(t, raw, "messages", "GET %s: the body has no \"messages\": %s", url, body)
	require.Contains(t, raw, "more", "GET %s: the body has no \"more\": %s", url, body)
	require.NotEqual(t, "null", string(raw["messages"]), "GET %s: \"messages\" must be an array, [] when empty, not null", url)
	var h ttHistory
	require.NoError(t, json.Unmarshal(body, &h), "GET %s: %s", url, body)
	return h
}

// ---------------------------------------------------------------------------
// The chat over socket.io-client.

// A ttResult is the payload of "message-saved" and of the send-message ack.
type ttResult struct {
	Success bool     `json:"success"`
	Message *Message `json:"message"`
	Error   string   `json:"error"`
	Raw     string   `json:"-"`
}

// ttDecodeResult checks the shape of a "message-saved" payload: either
// {"success":true,"message":{"id","author","text","time"}} or
// {"success":false,"error":"<non-empty>"}.
func ttDecodeResult(t *testing.T, where string, raw json.RawMessage) ttResult {
	t.Helper()
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &fields), "%s: expected a JSON object {success, ...}, got %s", where, raw)
	require.Contains(t, fields, "success", "%s: expected {\"success\": true|false, ...}, got %s", where, raw)
	var r ttResult
	require.NoError(t, json.Unmarshal(raw, &r), "%s: %s", where, raw)
	r.Raw = string(raw)
	if r.Success {
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(fields["message"], &m), "%s: success:true carries \"message\": {id, author, text, time}, got %s", where, raw)
		for _, k := range []string{"id", "author", "text", "time"} {
			require.Contains(t, m, k, "%s: the message has no %q: %s", where, k, raw)
		}
		require.NotNil(t, r.Message, "%s: %s", where, raw)
	} else {
		require.NotEmpty(t, r.Error, "%s: success:false carries a non-empty \"error\" saying why, got %s", where, raw)
	}
	return r
}

// ttDial starts an npm socket.io-client on url with opts (nil: the default,
// long-polling first, then the upgrade to a WebSocket) and waits until it
// is connected.
func ttDial(t *testing.T, url string, opts map[string]any) *nodepeer.SIOClient {
	t.Helper()
	c := nodepeer.StartSIOClient(t, url, opts)
	c.WaitFor("connect", "", ttTimeout)
	return c
}

// ttNextSaved waits for the client's next "message-saved" event.
func ttNextSaved(t *testing.T, c *nodepeer.SIOClient, who string) ttResult {
	t.Helper()
	r := c.WaitFor("event", "message-saved", ttTimeout)
	require.NotEmpty(t, r.Args, "%s: message-saved came without a payload", who)
	return ttDecodeResult(t, who+": message-saved", r.Args[0])
}

// ttSavedAndAck waits until the client has seen both its own
// "message-saved" event and the ack of its emit number seq, in either
// order, and returns both.
func ttSavedAndAck(t *testing.T, c *nodepeer.SIOClient, who string, seq int) (event, ack ttResult) {
	t.Helper()
	var gotEvent, gotAck bool
	deadline := time.Now().Add(ttTimeout)
	for !gotEvent || !gotAck {
		r := c.Next(time.Until(deadline))
		switch {
		case r.Kind == "event" && r.Event == "message-saved" && !gotEvent:
			require.NotEmpty(t, r.Args, "%s: message-saved came without a payload", who)
			event, gotEvent = ttDecodeResult(t, who+": message-saved", r.Args[0]), true
		case r.Kind == "ack" && r.Seq == seq:
			require.Len(t, r.Args, 1, "%s: the ack of send-message carries one argument, got %s", who, r)
			ack, gotAck = ttDecodeResult(t, who+": the ack of send-message", r.Args[0]), true
		case r.Kind == "disconnect" || r.Kind == "connect_error" || r.Kind == "error":
			t.Fatalf("%s: waiting for message-saved and the ack, got %s", who, r)
		}
	}
	return event, ack
}
