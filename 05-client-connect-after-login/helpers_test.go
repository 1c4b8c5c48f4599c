package login

// Helpers shared by the tests of lesson 05.
//
// The tests are in package login, so that the very same files test the
// lesson's code and the solution's (solutions/05-client-connect-after-login),
// but they use the exported API, as any user of the package would. The
// helpers here start with "lt" so that they do not clash with yours; if one
// does, rename yours.
//
// Nothing is mocked where a real part exists: the database is SQLite (in
// memory, or a file in t.TempDir()), passwords are hashed with bcrypt (at
// its lowest cost, to stay fast), the Socket.IO clients are the npm
// socket.io-client running in Node (internal/nodepeer) and lesson 03's Go
// client, the browser is headless Chromium, and everything listens on
// 127.0.0.1.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/websocket-workbook/workbook/internal/nodepeer"
	"github.com/websocket-workbook/workbook/internal/peer"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
	server "github.com/websocket-workbook/workbook/solutions/04-express-style-server"
)

// ltTimeout bounds every wait, so that a broken implementation fails a test
// quickly instead of hanging it. It is generous: Node starts in a few
// hundred milliseconds, but the race detector on two busy cores slows
// everything.
const ltTimeout = 10 * time.Second

// ltQuiet is how long a test watches for something that must NOT happen
// (a connection before Connect) after everything that could cause it has
// had its chance.
const ltQuiet = 300 * time.Millisecond

// ltKey is the token signing key of the tests: 32 bytes, as MinKeySize asks.
var ltKey = []byte("lesson-05-test-key-0123456789abcdef")

// ltPassword is the password of every test user.
const ltPassword = "correct horse battery"

// ltNoLeaks checks, once the test and all its cleanups are done (servers
// shut down, clients gone), that every goroutine the test started has ended.
// Call it first, so that its cleanup runs last. npm names the npm packages
// the test drives through Node: they are checked before anything else, so
// that a test whose peer is missing skips (or fails, with CI=true) before it
// has started a server it would leave behind.
func ltNoLeaks(t *testing.T, npm ...string) {
	t.Helper()
	if len(npm) > 0 && peer.NodePackages(t, npm...) == "" {
		return
	}
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// ltLogger is a logger that drops everything: the code under test logs
// refusals that the tests cause on purpose.
func ltLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// ---------------------------------------------------------------------------
// The whole Server.

// ltNewServer makes a Server with cfg — an in-memory database, the test
// key, bcrypt.MinCost and a quiet logger unless cfg says otherwise — which
// is shut down when the test ends.
func ltNewServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.DB == "" {
		cfg.DB = ":memory:"
	}
	if cfg.Logger == nil {
		cfg.Logger = ltLogger()
	}
	if cfg.Key == nil {
		cfg.Key = ltKey
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.MinCost
	}
	s, err := New(cfg)
	require.NoError(t, err, "New(Config{DB: %q, ...})", cfg.DB)
	require.NotNil(t, s, "New returned a nil *Server")
	t.Cleanup(func() { ltShutdown(s) })
	return s
}

// ltShutdown shuts s down, within ltTimeout. Shutdown may be called again.
func ltShutdown(s *Server) {
	ctx, cancel := context.WithTimeout(context.Background(), ltTimeout)
	defer cancel()
	_ = s.Shutdown(ctx)
}

// ltStartServer makes a Server as ltNewServer does and serves its Handler
// on an httptest server on 127.0.0.1, closed when the test ends.
func ltStartServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s := ltNewServer(t, cfg)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		// The Server first: it ends the long polls that hs.Close would
		// wait for.
		ltShutdown(s)
		hs.Close()
	})
	return s, hs
}

// ltStartCounting is ltStartServer with the Engine.IO handshakes counted.
func ltStartCounting(t *testing.T, cfg Config) (*Server, *httptest.Server, *ltHandshakes) {
	t.Helper()
	s := ltNewServer(t, cfg)
	count, h := ltCountHandshakes(s.Handler())
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		ltShutdown(s)
		hs.Close()
	})
	return s, hs, count
}

// ltHandshakes counts the Engine.IO handshakes that reach a handler: the
// requests to /socket.io/ without a sid, the first request of every
// connection a client opens (a long-polling GET or a WebSocket upgrade).
type ltHandshakes struct {
	n      atomic.Int64
	notify chan struct{}
}

// ltCountHandshakes wraps h so that its Engine.IO handshakes are counted.
func ltCountHandshakes(h http.Handler) (*ltHandshakes, http.Handler) {
	c := &ltHandshakes{notify: make(chan struct{}, 1)}
	return c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/socket.io/") && !r.URL.Query().Has("sid") {
			c.n.Add(1)
			select {
			case c.notify <- struct{}{}:
			default:
			}
		}
		h.ServeHTTP(w, r)
	})
}

// Count returns the handshakes so far.
func (c *ltHandshakes) Count() int64 { return c.n.Load() }

// RequireNoMore requires that no handshake beyond want comes within
// ltQuiet.
func (c *ltHandshakes) RequireNoMore(t *testing.T, want int64, why string) {
	t.Helper()
	timer := time.NewTimer(ltQuiet)
	defer timer.Stop()
	for {
		require.Equal(t, want, c.Count(), "Engine.IO handshakes at /socket.io/: %s", why)
		select {
		case <-c.notify:
		case <-timer.C:
			require.Equal(t, want, c.Count(), "Engine.IO handshakes at /socket.io/: %s", why)
			return
		}
	}
}

// ---------------------------------------------------------------------------
// HTTP: register, log in, log out.

// ltDo sends a request with a JSON body (nil: none) and headers
// ("Name: value"), and returns the status and the body.
func ltDo(t *testing.T, method, url string, body any, headers ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		require.True(t, ok, "header %q is not Name: value", h)
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	client := &http.Client{Timeout: ltTimeout}
	resp, err := client.Do(req)
	require.NoError(t, err, "%s %s", method, url)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "%s %s: reading the body", method, url)
	return resp, b
}

// ltLogin is the body of a successful POST /api/login.
type ltLogin struct {
	Token   string    `json:"token"`
	User    User      `json:"user"`
	Expires time.Time `json:"expires"`
}

// ltRegister registers name with ltPassword over HTTP and requires a 201.
func ltRegister(t *testing.T, base, name string) User {
	t.Helper()
	resp, body := ltDo(t, http.MethodPost, base+"/api/register", map[string]string{"name": name, "password": ltPassword})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "POST /api/register %q: %s", name, body)
	var out struct {
		User User `json:"user"`
	}
	require.NoError(t, json.Unmarshal(body, &out), "POST /api/register: %s", body)
	return out.User
}

// ltLogIn logs name in with ltPassword over HTTP and requires a 200 with a
// token.
func ltLogIn(t *testing.T, base, name string) ltLogin {
	t.Helper()
	resp, body := ltDo(t, http.MethodPost, base+"/api/login", map[string]string{"name": name, "password": ltPassword})
	require.Equal(t, http.StatusOK, resp.StatusCode, "POST /api/login %q: %s", name, body)
	var out ltLogin
	require.NoError(t, json.Unmarshal(body, &out), "POST /api/login: %s", body)
	require.NotEmpty(t, out.Token, "POST /api/login: no token in %s", body)
	return out
}

// ltSignUp registers name and logs it in: the way to a token.
func ltSignUp(t *testing.T, base, name string) ltLogin {
	t.Helper()
	ltRegister(t, base, name)
	return ltLogIn(t, base, name)
}

// ltLogOut posts /api/logout with token and requires a 204.
func ltLogOut(t *testing.T, base, token string) {
	t.Helper()
	resp, body := ltDo(t, http.MethodPost, base+"/api/logout", nil, "Authorization: Bearer "+token)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "POST /api/logout: %s", body)
}

// A ltHistory is the body of GET /api/messages.
type ltHistory struct {
	Messages []server.Message `json:"messages"`
	More     bool             `json:"more"`
}

// ltGetHistory reads GET base/api/messages with token and requires a 200.
func ltGetHistory(t *testing.T, base, token string) ltHistory {
	t.Helper()
	resp, body := ltDo(t, http.MethodGet, base+"/api/messages", nil, "Authorization: Bearer "+token)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /api/messages with a valid token: %s", body)
	var h ltHistory
	require.NoError(t, json.Unmarshal(body, &h), "GET /api/messages: %s", body)
	require.NotNil(t, h.Messages, "GET /api/messages: \"messages\" must be an array, [] when empty: %s", body)
	return h
}

// ---------------------------------------------------------------------------
// A rig: the parts of the Server, put together by the test, so that a test
// of Authenticate or Chat needs nothing else.

// ltClock is the rig's clock: the real time, plus an offset a test can move.
type ltClock struct{ offset atomic.Int64 }

func (c *ltClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d.
func (c *ltClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// ltRig is an events.Server behind Authenticate, with lesson 04's Engine
// (long-polling and WebSocket) at /socket.io/, on an httptest server.
type ltRig struct {
	URL        string
	DB         *sql.DB
	Users      *Users
	Tokens     *Tokens
	Clock      *ltClock // Tokens' clock
	IO         *events.Server
	Store      *server.SQLiteStore
	Chat       *Chat // when asked for: on Store, with GET /api/messages
	Handshakes *ltHandshakes

	mu    sync.Mutex
	users map[string]User
}

// ltNewRig starts a rig whose tokens live ttl, with a Chat when chat is
// true, and an event server with opts (at most one; the defaults when
// none). Everything is closed when the test ends.
func ltNewRig(t *testing.T, ttl time.Duration, chat bool, opts ...events.Options) *ltRig {
	t.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	db.SetMaxOpenConns(1) // one connection: each one to ":memory:" is a database of its own
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	t.Cleanup(func() { _ = db.Close() })
	users, err := NewUsers(db)
	require.NoError(t, err, "NewUsers")
	require.NotNil(t, users, "NewUsers")
	users.Cost = bcrypt.MinCost
	tokens, err := NewTokens(db, ltKey, ttl)
	require.NoError(t, err, "NewTokens")
	require.NotNil(t, tokens, "NewTokens")
	clock := &ltClock{}
	tokens.Now = clock.Now

	io := events.NewServer(append(opts, events.Options{})[0])
	io.Use(Authenticate(tokens))
	r := &ltRig{DB: db, Users: users, Tokens: tokens, Clock: clock, IO: io, users: map[string]User{}}
	app := server.NewApp(ltLogger())
	if chat {
		r.Store, err = server.OpenSQLite(":memory:")
		require.NoError(t, err)
		t.Cleanup(func() { _ = r.Store.Close() })
		r.Chat = NewChat(io, r.Store, tokens, ChatOptions{Logger: ltLogger()})
		require.NotNil(t, r.Chat, "NewChat returned nil")
		app.Handle("GET /api/messages", r.Chat.History)
	}
	app.Mount("/socket.io/", server.NewEngine(io, server.EngineOptions{}))
	var h http.Handler
	r.Handshakes, h = ltCountHandshakes(app)
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		_ = io.Close()
		hs.Close()
	})
	r.URL = hs.URL
	return r
}

// Token logs name in without HTTP: it registers the user on first use and
// issues a fresh token, as POST /api/login would.
func (r *ltRig) Token(t *testing.T, name string) (string, Claims) {
	t.Helper()
	r.mu.Lock()
	u, ok := r.users[name]
	r.mu.Unlock()
	if !ok {
		var err error
		u, err = r.Users.Register(context.Background(), name, ltPassword)
		require.NoError(t, err, "Users.Register(%q)", name)
		r.mu.Lock()
		r.users[name] = u
		r.mu.Unlock()
	}
	token, c, err := r.Tokens.Issue(u)
	require.NoError(t, err, "Tokens.Issue(%q)", name)
	require.NotEmpty(t, token, "Tokens.Issue(%q)", name)
	return token, c
}

// ---------------------------------------------------------------------------
// socket.io-client, created with autoConnect off.

// ltSIO starts an npm socket.io-client for url as the course's client does
// it — created with autoConnect: false, so it dials nothing yet — with the
// token as its auth and no reconnection (a test wants to see each attempt).
// extra options are added (e.g. "transports").
func ltSIO(t *testing.T, url, token string, extra map[string]any) *nodepeer.SIOClient {
	t.Helper()
	opts := map[string]any{"autoConnect": false, "reconnection": false}
	if token != "" {
		opts["auth"] = map[string]any{"token": token}
	}
	for k, v := range extra {
		opts[k] = v
	}
	return nodepeer.StartSIOClient(t, url, opts)
}

// ltConnected calls Connect and requires the connection to be accepted.
func ltConnected(t *testing.T, c *nodepeer.SIOClient, who string) {
	t.Helper()
	c.Connect()
	for {
		r := c.Next(ltTimeout)
		switch r.Kind {
		case "connect":
			return
		case "connect_error", "disconnect", "error":
			t.Fatalf("%s: socket.connect() with a valid token must connect, got %s", who, r)
		}
	}
}

// ltRefused calls Connect and requires a connect_error, which it returns.
func ltRefused(t *testing.T, c *nodepeer.SIOClient, who string) nodepeer.Report {
	t.Helper()
	c.Connect()
	for {
		r := c.Next(ltTimeout)
		switch r.Kind {
		case "connect_error":
			return r
		case "connect", "disconnect", "error":
			t.Fatalf("%s: socket.connect() must be refused with connect_error, got %s", who, r)
		}
	}
}

// ltSessionEnded requires the client's next reports to be the event
// "session-ended" {"reason": reason} and then a disconnect by the server
// ("io server disconnect", which socket.io-client does not reconnect
// after). Events other than these two in between are skipped.
func ltSessionEnded(t *testing.T, c *nodepeer.SIOClient, who, reason string) {
	t.Helper()
	var ended bool
	for {
		r := c.Next(ltTimeout)
		switch {
		case r.Kind == "event" && r.Event == SessionEnded:
			require.False(t, ended, "%s: session-ended came twice", who)
			require.Len(t, r.Args, 1, "%s: session-ended carries one argument, {\"reason\": ...}: %s", who, r)
			var p struct {
				Reason string `json:"reason"`
			}
			require.NoError(t, json.Unmarshal(r.Args[0], &p), "%s: session-ended payload %s", who, r.Args[0])
			require.Equal(t, reason, p.Reason, "%s: session-ended reason", who)
			ended = true
		case r.Kind == "disconnect":
			require.True(t, ended, "%s: disconnected before it was told why: the server emits session-ended first, then disconnects; got %s", who, r)
			require.Equal(t, "io server disconnect", r.Reason,
				"%s: the server must end the socket itself (Socket.Disconnect sends DISCONNECT), so that socket.io-client does not reconnect", who)
			return
		case r.Kind == "connect_error" || r.Kind == "error" || r.Kind == "connect":
			t.Fatalf("%s: waiting for session-ended and a disconnect, got %s", who, r)
		}
	}
}

// ---------------------------------------------------------------------------
// "message-saved".

// A ltResult is the payload of "message-saved" and of the send-message ack.
type ltResult struct {
	Success bool            `json:"success"`
	Message *server.Message `json:"message"`
	Error   string          `json:"error"`
	Raw     string          `json:"-"`
}

// ltDecodeResult checks the shape of a "message-saved" payload: either
// {"success":true,"message":{"id","author","text","time"}} or
// {"success":false,"error":"<non-empty>"}.
func ltDecodeResult(t *testing.T, where string, raw json.RawMessage) ltResult {
	t.Helper()
	var r ltResult
	require.NoError(t, json.Unmarshal(raw, &r), "%s: expected a JSON object {success, ...}, got %s", where, raw)
	r.Raw = string(raw)
	if r.Success {
		require.NotNil(t, r.Message, "%s: success:true carries \"message\": {id, author, text, time}, got %s", where, raw)
		require.Positive(t, r.Message.ID, "%s: the saved message has the store's ID: %s", where, raw)
	} else {
		require.NotEmpty(t, r.Error, "%s: success:false carries a non-empty \"error\" saying why, got %s", where, raw)
	}
	return r
}

// ltNextSaved waits for the client's next "message-saved" event, failing
// on a disconnect.
func ltNextSaved(t *testing.T, c *nodepeer.SIOClient, who string) ltResult {
	t.Helper()
	for {
		r := c.Next(ltTimeout)
		switch {
		case r.Kind == "event" && r.Event == "message-saved":
			require.NotEmpty(t, r.Args, "%s: message-saved came without a payload", who)
			return ltDecodeResult(t, who+": message-saved", r.Args[0])
		case r.Kind == "disconnect" || r.Kind == "connect_error" || r.Kind == "error":
			t.Fatalf("%s: waiting for message-saved, got %s", who, r)
		}
	}
}

// ltSavedAndAck waits until the client has seen both its own
// "message-saved" and the ack of its emit number seq, in either order.
func ltSavedAndAck(t *testing.T, c *nodepeer.SIOClient, who string, seq int) (event, ack ltResult) {
	t.Helper()
	var gotEvent, gotAck bool
	deadline := time.Now().Add(ltTimeout)
	for !gotEvent || !gotAck {
		r := c.Next(time.Until(deadline))
		switch {
		case r.Kind == "event" && r.Event == "message-saved" && !gotEvent:
			require.NotEmpty(t, r.Args, "%s: message-saved came without a payload", who)
			event, gotEvent = ltDecodeResult(t, who+": message-saved", r.Args[0]), true
		case r.Kind == "ack" && r.Seq == seq:
			require.Len(t, r.Args, 1, "%s: the ack of send-message carries one argument, got %s", who, r)
			ack, gotAck = ltDecodeResult(t, who+": the ack of send-message", r.Args[0]), true
		case r.Kind == "disconnect" || r.Kind == "connect_error" || r.Kind == "error":
			t.Fatalf("%s: waiting for message-saved and the ack, got %s", who, r)
		}
	}
	return event, ack
}

// ---------------------------------------------------------------------------
// Lesson 03's Go client.

// ltGoEvent is what a Go client heard: an event, or its disconnection
// (Name "disconnect", with Reason).
type ltGoEvent struct {
	Name   string
	Args   []json.RawMessage
	Reason string
}

// ltGo is a connected events.Client that records "message-saved",
// "session-ended" and its disconnection, in order.
type ltGo struct {
	*events.Client
	who    string
	events chan ltGoEvent
}

// ltDialGo dials url with auth {"token": token} (no auth when token is
// ""). A refusal is returned as the error (an *events.ConnectError); a
// client that connects is closed when the test ends.
func ltDialGo(t *testing.T, url, who, token string) (*ltGo, error) {
	t.Helper()
	opts := events.ClientOptions{}
	if token != "" {
		opts.Auth = map[string]string{"token": token}
	}
	c, err := events.NewClient(url, opts)
	if err != nil {
		return nil, err
	}
	g := &ltGo{Client: c, who: who, events: make(chan ltGoEvent, 256)}
	for _, name := range []string{"message-saved", SessionEnded} {
		c.On(name, func(e *events.Event) { g.events <- ltGoEvent{Name: e.Name, Args: e.Args} })
	}
	c.OnDisconnect(func(reason string) { g.events <- ltGoEvent{Name: "disconnect", Reason: reason} })
	ctx, cancel := context.WithTimeout(context.Background(), ltTimeout)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close() })
	return g, nil
}

// ltConnectGo makes an events.Client for url and connects it.
func ltConnectGo(ctx context.Context, url string, opts events.ClientOptions) (*events.Client, error) {
	c, err := events.NewClient(url, opts)
	if err != nil {
		return nil, err
	}
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// ltMustDialGo is ltDialGo for a token that must be accepted.
func ltMustDialGo(t *testing.T, url, who, token string) *ltGo {
	t.Helper()
	g, err := ltDialGo(t, url, who, token)
	require.NoError(t, err, "%s: an events.Client with a valid token", who)
	return g
}

// ltRefusedGo requires an events.Client with token (auth as given: nil for none)
// to be refused with a CONNECT_ERROR whose message is want.
func ltRefusedGo(t *testing.T, url string, auth any, want, why string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ltTimeout)
	defer cancel()
	c, err := ltConnectGo(ctx, url, events.ClientOptions{Auth: auth})
	if err == nil {
		_ = c.Close()
		t.Fatalf("connecting with %s must be refused with CONNECT_ERROR %q, but it was accepted", why, want)
	}
	var ce *events.ConnectError
	require.True(t, errors.As(err, &ce), "connecting with %s: expected CONNECT_ERROR (*events.ConnectError), got %v", why, err)
	require.Equal(t, want, ce.Message, "connecting with %s: the CONNECT_ERROR message (err.message in socket.io-client)", why)
}

// Next returns the next thing the client heard.
func (g *ltGo) Next(t *testing.T) ltGoEvent {
	t.Helper()
	select {
	case e := <-g.events:
		return e
	case <-time.After(ltTimeout):
		t.Fatalf("%s (Go client): nothing heard within %v", g.who, ltTimeout)
		return ltGoEvent{}
	}
}

// NextSaved returns the next "message-saved", failing on a disconnect.
func (g *ltGo) NextSaved(t *testing.T) ltResult {
	t.Helper()
	for {
		e := g.Next(t)
		switch e.Name {
		case "message-saved":
			require.NotEmpty(t, e.Args, "%s: message-saved came without a payload", g.who)
			return ltDecodeResult(t, g.who+": message-saved", e.Args[0])
		case "disconnect":
			t.Fatalf("%s (Go client): waiting for message-saved, disconnected: %s", g.who, e.Reason)
		}
	}
}

// SessionEnded requires session-ended {"reason": reason}, then the
// server's DISCONNECT; it returns when session-ended came.
func (g *ltGo) SessionEnded(t *testing.T, reason string) time.Time {
	t.Helper()
	var at time.Time
	for {
		e := g.Next(t)
		switch e.Name {
		case SessionEnded:
			require.True(t, at.IsZero(), "%s: session-ended came twice", g.who)
			at = time.Now()
			require.Len(t, e.Args, 1, "%s: session-ended carries {\"reason\": ...}", g.who)
			var p struct {
				Reason string `json:"reason"`
			}
			require.NoError(t, json.Unmarshal(e.Args[0], &p), "%s: session-ended payload %s", g.who, e.Args[0])
			require.Equal(t, reason, p.Reason, "%s: session-ended reason", g.who)
		case "disconnect":
			require.False(t, at.IsZero(), "%s: disconnected (%s) before it was told why with session-ended", g.who, e.Reason)
			require.Equal(t, "io server disconnect", e.Reason, "%s: the server ends the socket with DISCONNECT", g.who)
			return at
		}
	}
}

// Send emits send-message with payload and waits for the ack.
func (g *ltGo) Send(t *testing.T, payload any) ltResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ltTimeout)
	defer cancel()
	args, err := g.EmitWithAck(ctx, "send-message", payload)
	require.NoError(t, err, "%s: send-message with an ack", g.who)
	require.Len(t, args, 1, "%s: the ack of send-message carries one argument", g.who)
	return ltDecodeResult(t, g.who+": the ack of send-message", args[0])
}
