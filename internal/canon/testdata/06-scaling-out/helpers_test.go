package scaling

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/websocket-workbook/workbook/internal/nodepeer"
	"github.com/websocket-workbook/workbook/internal/redisserver"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// ttTimeout bounds every wait of these tests.
const ttTimeout = 5 * time.Second

// go-redis logs to stderr each time it cannot reach Redis, as it cannot
// while a test has stopped the server on purpose. In a failing test those
// lines would come before the test's own message, which is the one to
// read; the tests read the Cluster's Stats and log for the same facts.
func init() { redis.SetLogger(ttQuietRedis{}) }

// ttQuietRedis is a go-redis logger that drops every line.
type ttQuietRedis struct{}

func (ttQuietRedis) Printf(context.Context, string, ...any) {}

// ttNoLeaks fails the test if it leaves goroutines behind: a Cluster that
// is closed must stop its publisher and receiver, and go-redis its pools.
func ttNoLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
}

// A ttLog is a logger whose lines a test can read.
type ttLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *ttLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *ttLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// A ttNode is one Go server of a test's cluster: lesson 03's event server
// with the Cluster as its adapter, on 127.0.0.1. Its clients may emit
// what the Node server's clients may (internal/nodepeer/js/sioredis.js):
// "join" (room), "toRoom" (room, args...), "broadcast" (args...) and
// "everyone" (args...); a client's auth.name is its Handshake().Data.
type ttNode struct {
	name string
	cl   *Cluster
	srv  *events.Server
	hs   *httptest.Server
	log  *ttLog
}

func startTTNode(t *testing.T, name, redisURL string) *ttNode {
	t.Helper()
	n := &ttNode{name: name, log: &ttLog{}}
	logger := slog.New(slog.NewTextHandler(n.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), ttTimeout)
	defer cancel()
	cl, err := Connect(ctx, Options{URL: redisURL, Logger: logger, RequestsTimeout: 2 * time.Second})
	require.NoError(t, err, "Connect to %s", redisURL)
	require.NotNil(t, cl)
	n.cl = cl
	n.srv = events.NewServer(events.Options{Adapter: cl.Adapter})
	n.srv.Use(func(h *events.Handshake) error {
		var auth struct {
			Name string `json:"name"`
		}
		if len(h.Auth) > 0 && json.Unmarshal(h.Auth, &auth) == nil && auth.Name != "" {
			h.Data = map[string]any{"name": auth.Name}
		}
		return nil
	})
	n.srv.OnConnection(func(s *events.Socket) {
		s.On("join", func(e *events.Event) {
			var room string
			if e.Decode(0, &room) == nil {
				s.Join(room)
			}
		})
		s.On("toRoom", func(e *events.Event) {
			var room string
			if e.Decode(0, &room) == nil {
				_ = n.srv.To(room).Emit("room", ttRaws(e.Args[1:])...)
			}
		})
		s.On("broadcast", func(e *events.Event) { _ = s.Broadcast().Emit("broadcast", ttRaws(e.Args)...) })
		s.On("everyone", func(e *events.Event) { _ = n.srv.Emit("everyone", ttRaws(e.Args)...) })
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", n.srv)
	n.hs = httptest.NewServer(mux)
	t.Cleanup(func() {
		_ = n.srv.Close()
		n.hs.Close()
		_ = n.cl.Close()
	})
	return n
}

func ttRaws(args []json.RawMessage) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a
	}
	return out
}

func (n *ttNode) url() string { return n.hs.URL }

// ns is the cluster side of "/".
func (n *ttNode) ns(t *testing.T) *Namespace {
	t.Helper()
	ns := n.cl.Of("/")
	require.NotNil(t, ns, "Cluster.Of(\"/\") after events.NewServer made \"/\"")
	return ns
}

// ttWaitServers waits until the namespace "/" counts want servers: every
// server of the test has subscribed.
func ttWaitServers(t *testing.T, n *ttNode, want int) {
	t.Helper()
	deadline := time.Now().Add(ttTimeout)
	got, err := 0, error(nil)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		got, err = n.ns(t).ServerCount(ctx)
		cancel()
		if err == nil && got == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the cluster has %d servers (err %v), want %d", got, err, want)
}

// ttGot is one event a client received.
type ttGot struct {
	Event string
	Args  string // the arguments as a JSON array
}

// A ttClient is lesson 03's Go client, recording every event it gets.
type ttClient struct {
	t    *testing.T
	name string
	c    *events.Client
	got  chan ttGot
}

// ttEvents are the events the test clients listen for.
var ttEvents = []string{"room", "broadcast", "everyone", "news", "sentinel", "here"}

func dialTT(t *testing.T, url, name string) *ttClient {
	t.Helper()
	c, err := events.NewClient(url, events.ClientOptions{Auth: map[string]any{"name": name}})
	require.NoError(t, err)
	tc := &ttClient{t: t, name: name, c: c, got: make(chan ttGot, 256)}
	for _, ev := range ttEvents {
		c.On(ev, func(e *events.Event) {
			b, _ := json.Marshal(e.Args)
			tc.got <- ttGot{Event: e.Name, Args: string(b)}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), ttTimeout)
	defer cancel()
	require.NoError(t, c.Connect(ctx), "%s connects to %s", name, url)
	t.Cleanup(func() { _ = c.Close() })
	return tc
}

// next returns the next event, failing the test after ttTimeout.
func (c *ttClient) next(what string) ttGot {
	c.t.Helper()
	select {
	case g := <-c.got:
		return g
	case <-time.After(ttTimeout):
		c.t.Fatalf("%s: no event within %v, waiting for %s", c.name, ttTimeout, what)
		return ttGot{}
	}
}

// expect checks that the next event is event with args (JSON).
func (c *ttClient) expect(event, args string) {
	c.t.Helper()
	g := c.next(event + " " + args)
	require.Equal(c.t, event, g.Event, "%s: the next event (args %s)", c.name, g.Args)
	require.JSONEq(c.t, args, g.Args, "%s: the arguments of %s", c.name, event)
}

// until returns the events before the sentinel with arg tag.
func (c *ttClient) until(tag string) []string {
	c.t.Helper()
	var got []string
	for range 100 {
		g := c.next("the sentinel " + tag)
		if g.Event == "sentinel" && strings.Contains(g.Args, tag) {
			return got
		}
		got = append(got, g.Event+" "+g.Args)
	}
	c.t.Fatalf("%s: no sentinel %s among 100 events", c.name, tag)
	return nil
}

// ttSentinel is a broadcast from n to every client of the cluster, after
// the one under test from the same server: Redis keeps one publisher's
// messages in order, and each server its own broadcasts, so what a client
// got before the sentinel is all it got of the broadcast under test.
func ttSentinel(t *testing.T, n *ttNode, tag string) {
	t.Helper()
	require.NoError(t, n.srv.Emit("sentinel", tag))
}

// ttExpectOnly checks that the named clients got exactly want before the
// sentinel tag, and the others nothing.
func ttExpectOnly(t *testing.T, tag string, clients []*ttClient, want string, who ...string) {
	t.Helper()
	for _, c := range clients {
		got := c.until(tag)
		var expected []string
		for _, w := range who {
			if w == c.name {
				expected = []string{want}
			}
		}
		if expected == nil {
			require.Empty(t, got, "%s must get nothing before sentinel %s", c.name, tag)
			continue
		}
		require.Len(t, got, 1, "%s must get %s exactly once before sentinel %s; got %v", c.name, want, tag, got)
		ev, args, _ := strings.Cut(want, " ")
		gev, gargs, _ := strings.Cut(got[0], " ")
		require.Equal(t, ev, gev, c.name)
		require.JSONEq(t, args, gargs, c.name)
	}
}

// startTTRedis starts a redis-server for the test, or skips it (fails it
// with CI=true) when there is none. Call it first, before anything the
// test starts.
func startTTRedis(t *testing.T) *redisserver.Server {
	t.Helper()
	rs := redisserver.Start(t)
	if rs == nil {
		t.FailNow() // Start skipped or failed the test already
	}
	return rs
}

// startTTNodeServer starts the Node server with @socket.io/redis-adapter
// on rs and waits until it has subscribed.
func startTTNodeServer(t *testing.T, rs *redisserver.Server) *nodepeer.RedisNode {
	t.Helper()
	n := nodepeer.StartRedisNode(t, rs.URL(), nil)
	if n == nil {
		t.FailNow()
	}
	return n
}

// ttNodeClient is an npm socket.io-client on the Node server, over
// WebSocket, with auth.name set.
func ttNodeClient(t *testing.T, url, name string) *nodepeer.SIOClient {
	t.Helper()
	c := nodepeer.StartSIOClient(t, url, map[string]any{"transports": []string{"websocket"}, "auth": map[string]any{"name": name}})
	if c == nil {
		t.FailNow()
	}
	c.WaitFor("connect", "", ttTimeout)
	return c
}

// ttArgs is a Report's arguments as one JSON array.
func ttArgs(r nodepeer.Report) string {
	b, _ := json.Marshal(r.Args)
	return string(b)
}
