package login

// Helpers of the Client's tests (client_test.go). They start with "cl", so
// they do not clash with yours; if one does, rename yours. They build on
// the lesson's shared helpers (helpers_test.go, "lt").
//
// The Client is tested against the lesson's real Server — SQLite in a file
// of t.TempDir(), tokens, the chat — listening on 127.0.0.1, with a short
// heartbeat so that a lost connection is noticed fast. The server can be
// stopped and started again on the same address and database file, which
// is what a restart of the real one looks like to its clients.

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// clQuiet is how long a test watches for something that should NOT happen
// (a dial, a reconnection attempt, a status) before it concludes that it
// does not.
const clQuiet = 400 * time.Millisecond

// The test users; their password is ltPassword.
const (
	clName  = "ana"
	clOther = "bob"
)

// clServer is the lesson's Server on a fixed address of 127.0.0.1. It
// counts the Engine.IO handshakes (ltCountHandshakes) and notes the tokens
// of the logouts, across restarts.
type clServer struct {
	t          *testing.T
	cfg        Config
	addr       string // 127.0.0.1:port, the same across restarts
	URL        string // http://127.0.0.1:port
	Handshakes *ltHandshakes
	handler    http.Handler // the counting handler, in front of the current Server

	mu      sync.Mutex
	current http.Handler // the Handler of the running Server
	logouts []string     // the tokens POST /api/logout was called with

	srv    *Server
	hs     *http.Server
	ln     net.Listener
	served chan struct{}
}

// clStartServer starts the Server with a fresh database file, the tests'
// key (the same after a restart, so tokens stay valid), the given token
// lifetime, bcrypt at its lowest cost, no login rate limit, and a
// heartbeat of 200 ms + 200 ms; then each of tune may change that Config.
// It is stopped when the test ends.
func clStartServer(t *testing.T, ttl time.Duration, tune ...func(*Config)) *clServer {
	t.Helper()
	s := &clServer{t: t}
	s.cfg = Config{
		DB:         filepath.Join(t.TempDir(), "chat.db"),
		Logger:     ltLogger(),
		Events:     events.Options{PingInterval: 200 * time.Millisecond, PingTimeout: 200 * time.Millisecond},
		Key:        ltKey,
		TokenTTL:   ttl,
		LoginLimit: -1,
		BcryptCost: bcrypt.MinCost,
	}
	for _, f := range tune {
		f(&s.cfg)
	}
	s.Handshakes, s.handler = ltCountHandshakes(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		h := s.current
		if r.URL.Path == "/api/logout" {
			s.logouts = append(s.logouts, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	s.start("127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

// start makes a new Server on the same database file and serves it on
// addr.
func (s *clServer) start(addr string) {
	s.t.Helper()
	srv, err := New(s.cfg)
	require.NoError(s.t, err, "New(Config{DB: %q, ...})", s.cfg.DB)
	require.NotNil(s.t, srv, "New returned a nil *Server")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		s.t.Fatalf("listening on %s: %v", addr, err)
	}
	s.mu.Lock()
	s.current = srv.Handler()
	s.mu.Unlock()
	s.addr = ln.Addr().String()
	s.URL = "http://" + s.addr
	s.srv, s.ln = srv, ln
	s.hs = &http.Server{Handler: s.handler, ReadHeaderTimeout: ltTimeout}
	s.served = make(chan struct{})
	go func(hs *http.Server, done chan struct{}) {
		defer close(done)
		_ = hs.Serve(ln)
	}(s.hs, s.served)
}

// stop shuts the server down as for a restart: no new connections, then
// Server.Shutdown, which closes every socket ("transport close" for the
// Go client). It may be called more than once.
func (s *clServer) stop() {
	if s.srv == nil {
		return
	}
	_ = s.ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), ltTimeout)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.t.Errorf("Server.Shutdown: %v", err)
	}
	_ = s.hs.Shutdown(ctx)
	<-s.served
	s.srv = nil
}

// Opens is how many Engine.IO handshakes reached the server so far.
func (s *clServer) Opens() int { return int(s.Handshakes.Count()) }

// Logouts returns the tokens POST /api/logout was called with.
func (s *clServer) Logouts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.logouts...)
}

// clStatus is a Status and when it came.
type clStatus struct {
	Status
	At time.Time
}

// clWatch registers an OnStatus function that queues every Status.
func clWatch(c *Client) chan clStatus {
	ch := make(chan clStatus, 256)
	c.OnStatus(func(s Status) { ch <- clStatus{Status: s, At: time.Now()} })
	return ch
}

// clNext returns the next Status; it fails the test when none comes.
func clNext(t *testing.T, ch <-chan clStatus) clStatus {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(ltTimeout):
		t.Fatalf("OnStatus: no status within %v", ltTimeout)
		return clStatus{}
	}
}

// clAwait returns the next Status of this state, skipping others; it fails
// the test when none comes.
func clAwait(t *testing.T, ch <-chan clStatus, state State) clStatus {
	t.Helper()
	deadline := time.After(ltTimeout)
	var seen []string
	for {
		select {
		case s := <-ch:
			if s.State == state {
				return s
			}
			seen = append(seen, s.String())
		case <-deadline:
			t.Fatalf("OnStatus: no %q within %v; saw %q", state, ltTimeout, seen)
			return clStatus{}
		}
	}
}

// clNone checks that no Status comes for clQuiet.
func clNone(t *testing.T, ch <-chan clStatus, why string) {
	t.Helper()
	select {
	case s := <-ch:
		t.Fatalf("%s, but OnStatus got %q", why, s.String())
	case <-time.After(clQuiet):
	}
}

// clMessages registers a "message-saved" handler on c that queues what it
// gets.
func clMessages(t *testing.T, c *Client) chan json.RawMessage {
	ch := make(chan json.RawMessage, 64)
	c.On("message-saved", func(e *events.Event) {
		if len(e.Args) == 0 {
			t.Errorf("message-saved came without a payload")
			return
		}
		ch <- e.Args[0]
	})
	return ch
}

// clAwaitMessage waits for a successful message-saved with this text.
func clAwaitMessage(t *testing.T, ch <-chan json.RawMessage, text string) ltResult {
	t.Helper()
	deadline := time.After(ltTimeout)
	for {
		select {
		case raw := <-ch:
			if r := ltDecodeResult(t, "message-saved", raw); r.Success && r.Message.Text == text {
				return r
			}
		case <-deadline:
			t.Fatalf("no message-saved with text %q within %v", text, ltTimeout)
			return ltResult{}
		}
	}
}

// clSend emits "send-message" {"text"} with an ack and checks the server
// saved it.
func clSend(t *testing.T, c *Client, text string) {
	t.Helper()
	reply, err := c.EmitWithAck(clCtx(t), "send-message", map[string]string{"text": text})
	require.NoError(t, err, "EmitWithAck(send-message %q)", text)
	require.Len(t, reply, 1, "the ack of send-message carries one argument")
	r := ltDecodeResult(t, "the ack of send-message", reply[0])
	require.True(t, r.Success, "send-message %q was refused: %s", text, r.Raw)
}

// clCtx is a context bounded by ltTimeout.
func clCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), ltTimeout)
	t.Cleanup(cancel)
	return ctx
}

// clConnectError returns err as a *events.ConnectError, failing the test
// when it is not one.
func clConnectError(t *testing.T, err error) *events.ConnectError {
	t.Helper()
	ce, ok := errors.AsType[*events.ConnectError](err)
	require.True(t, ok, "want a *events.ConnectError (the server's CONNECT_ERROR), got %T: %v", err, err)
	return ce
}
