package server

// Tests of the long-polling transport (exercise 4.4), over real HTTP on
// 127.0.0.1: an Engine in front of a real events.Server, and a client that
// writes the requests by hand, straight from engine.io-protocol v4 ("HTTP
// long-polling", "Packet encoding") and socket.io-protocol v5, and parses
// the answers with its own code. The helpers start with "pt".

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/websocket-workbook/workbook/internal/exercise"
	"github.com/websocket-workbook/workbook/internal/nodepeer"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// ptTimeout bounds every wait.
const ptTimeout = 5 * time.Second

// ptNoLeaks checks, after the test and its cleanups, that the goroutines
// the test started have ended. Call it first, so that its cleanup runs last.
func ptNoLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// ptWait receives one value from ch within ptTimeout.
func ptWait[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(ptTimeout):
		t.Fatalf("waiting for %s: nothing within %v", what, ptTimeout)
	}
	var zero T
	return zero
}

// A ptLeft is one call of a socket's OnDisconnect.
type ptLeft struct{ ID, Reason string }

// A ptServer is an Engine over an events.Server, mounted at /socket.io/ on
// an httptest server, with the sockets of "/" reported as they come and go.
type ptServer struct {
	srv     *events.Server
	eng     *Engine
	hs      *httptest.Server
	url     string // http://127.0.0.1:port/socket.io/
	sockets chan *events.Socket
	left    chan ptLeft
}

// startPTServer starts the server; onConnection (may be nil) runs for each
// socket of "/" before it is reported. Everything is closed when the test ends.
func startPTServer(t *testing.T, opts events.Options, eopts EngineOptions, onConnection func(*events.Socket)) *ptServer {
	t.Helper()
	s := &ptServer{srv: events.NewServer(opts), sockets: make(chan *events.Socket, 64), left: make(chan ptLeft, 64)}
	s.srv.OnConnection(func(sock *events.Socket) {
		id := sock.ID()
		sock.OnDisconnect(func(reason string) { s.left <- ptLeft{id, reason} })
		if onConnection != nil {
			onConnection(sock)
		}
		s.sockets <- sock
	})
	s.eng = NewEngine(s.srv, eopts)
	require.NotNil(t, s.eng, "NewEngine returned nil")
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", s.eng)
	s.hs = httptest.NewServer(mux)
	s.url = s.hs.URL + "/socket.io/"
	t.Cleanup(func() {
		closed := make(chan struct{})
		go func() { _ = s.srv.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(2 * ptTimeout):
			t.Errorf("events.Server.Close did not return within %v", 2*ptTimeout)
		}
		s.hs.Close()
	})
	return s
}

// nextSocket is the next socket whose OnConnection ran.
func (s *ptServer) nextSocket(t *testing.T, what string) *events.Socket {
	t.Helper()
	return ptWait(t, s.sockets, "OnConnection for "+what)
}

// reasonFor waits for the OnDisconnect of the socket id and returns its reason.
func (s *ptServer) reasonFor(t *testing.T, id, what string) string {
	t.Helper()
	deadline := time.After(ptTimeout)
	for {
		select {
		case l := <-s.left:
			if l.ID == id {
				return l.Reason
			}
		case <-deadline:
			t.Fatalf("waiting for %s: OnDisconnect of %s not called within %v", what, id, ptTimeout)
			return ""
		}
	}
}

// ptQuery is an Engine.IO URL's query: EIO=4, the transport, the sid if any.
func ptQuery(transport, sid string) string {
	q := url.Values{"EIO": {"4"}, "transport": {transport}}
	if sid != "" {
		q.Set("sid", sid)
	}
	return q.Encode()
}

// A ptAnswer is an HTTP answer, read whole.
type ptAnswer struct {
	Status int
	Type   string // Content-Type
	Body   string
}

// ptDo sends one request to rawURL with body (none if "") and reads the answer.
func ptDo(t testing.TB, c *http.Client, method, rawURL, body string) ptAnswer {
	t.Helper()
	a, err := ptTry(c, method, rawURL, body)
	require.NoError(t, err, "%s %s", method, rawURL)
	return a
}

// ptTry is ptDo that returns the error, for another goroutine.
func ptTry(c *http.Client, method, rawURL, body string) (ptAnswer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ptTimeout)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return ptAnswer{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8") // as engine.io-client sends it
	}
	resp, err := c.Do(req)
	if err != nil {
		return ptAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return ptAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}, err
}

// ptEngineError checks an Engine.IO error answer: status, and the JSON
// body {"code":code,"message":message}.
func ptEngineError(t *testing.T, a ptAnswer, status, code int, message, what string) {
	t.Helper()
	assert.Equal(t, status, a.Status, "%s: status (body %q)", what, a.Body)
	assert.Contains(t, a.Type, "application/json", "%s: Content-Type", what)
	assert.JSONEq(t, fmt.Sprintf(`{"code":%d,"message":%q}`, code, message), a.Body, "%s: body", what)
}

// ptOpen is the open packet's JSON (engine.io-protocol v4, "Handshake").
type ptOpen struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// A ptClient is one long-polling session driven by hand.
type ptClient struct {
	t       *testing.T
	s       *ptServer
	c       *http.Client
	sid     string
	open    ptOpen
	pending []string // packets polled and not yet taken by next
}

// ptHandshake opens a session: GET without sid, answered with the open packet.
func (s *ptServer) ptHandshake(t *testing.T) *ptClient {
	t.Helper()
	a := ptDo(t, s.hs.Client(), http.MethodGet, s.url+"?"+ptQuery("polling", ""), "")
	require.Equal(t, http.StatusOK, a.Status, "handshake: status (body %q)", a.Body)
	require.True(t, strings.HasPrefix(a.Body, "0"), "handshake: the answer is the open packet \"0{...}\", got %q", a.Body)
	c := &ptClient{t: t, s: s, c: s.hs.Client()}
	require.NoError(t, json.Unmarshal([]byte(a.Body[1:]), &c.open), "the open packet's JSON: %q", a.Body)
	require.NotEmpty(t, c.open.SID, "the open packet's sid")
	c.sid = c.open.SID
	return c
}

// ptConnect opens a session and joins "/": POST "40", then the CONNECT
// answer "40{"sid":...}" by GET. It returns the client and the server's
// socket.
func (s *ptServer) ptConnect(t *testing.T) (*ptClient, *events.Socket) {
	t.Helper()
	c := s.ptHandshake(t)
	c.post("40")
	got := c.next()
	require.True(t, strings.HasPrefix(got, `40{"sid":`), "the answer to CONNECT is 40{\"sid\":...}, got %q", got)
	sock := s.nextSocket(t, "a long-polling client")
	var ok struct{ SID string }
	require.NoError(t, json.Unmarshal([]byte(got[2:]), &ok))
	require.Equal(t, sock.ID(), ok.SID, "the CONNECT answer carries the socket's ID")
	return c, sock
}

func (c *ptClient) url() string { return c.s.url + "?" + ptQuery("polling", c.sid) }

// get sends one GET poll and returns the answer as it is.
func (c *ptClient) get() ptAnswer {
	c.t.Helper()
	return ptDo(c.t, c.c, http.MethodGet, c.url(), "")
}

// poll sends a GET, requires 200, and splits the payload into its packets
// (a binary one stays "b<base64>").
func (c *ptClient) poll() []string {
	c.t.Helper()
	a := c.get()
	require.Equal(c.t, http.StatusOK, a.Status, "GET poll: status (body %q)", a.Body)
	assert.Equal(c.t, "text/plain; charset=UTF-8", a.Type, "GET poll: Content-Type")
	return strings.Split(a.Body, "\x1e")
}

// next returns the next packet from the server, polling when none is left
// from the last answer, and answers pings ("2" → POST "3") on the way.
func (c *ptClient) next() string {
	c.t.Helper()
	for {
		if len(c.pending) == 0 {
			c.pending = c.poll()
		}
		p := c.pending[0]
		c.pending = c.pending[1:]
		if p != "2" {
			return p
		}
		c.post("3")
	}
}

// pollAsync starts a GET in another goroutine; its answer comes on the channel.
func (c *ptClient) pollAsync() <-chan ptAnswer {
	ch := make(chan ptAnswer, 1)
	go func() {
		a, err := ptTry(c.c, http.MethodGet, c.url(), "")
		if err != nil {
			a = ptAnswer{Status: -1, Body: err.Error()}
		}
		ch <- a
	}()
	return ch
}

// post sends packets joined by "\x1e" and requires "ok".
func (c *ptClient) post(packets ...string) {
	c.t.Helper()
	a := c.postRaw(strings.Join(packets, "\x1e"))
	require.Equal(c.t, http.StatusOK, a.Status, "POST %q: status (body %q)", packets, a.Body)
	assert.Equal(c.t, "ok", a.Body, "POST: the answer is \"ok\"")
	assert.Contains(c.t, a.Type, "text/html", "POST: Content-Type as engine.io's")
}

// postRaw sends body as it is and returns the answer.
func (c *ptClient) postRaw(body string) ptAnswer {
	c.t.Helper()
	return ptDo(c.t, c.c, http.MethodPost, c.url(), body)
}

// A ptGot is an event as a server handler saw it.
type ptGot struct {
	Name string
	Args []string
	Bin  map[int][]byte
}

// ptRecord returns a handler that reports events on ch, with their binary
// arguments resolved.
func ptRecord(ch chan<- ptGot) events.Handler {
	return func(e *events.Event) {
		g := ptGot{Name: e.Name, Bin: map[int][]byte{}}
		for i, a := range e.Args {
			g.Args = append(g.Args, string(a))
			if b, ok := e.Bytes(i); ok {
				g.Bin[i] = b
			}
		}
		ch <- g
	}
}

// ptNoEvent checks that no event is waiting on ch.
func ptNoEvent(t *testing.T, ch <-chan ptGot, what string) {
	t.Helper()
	select {
	case g := <-ch:
		t.Errorf("%s: the server got %+v", what, g)
	default:
	}
}

// ptStillServed checks that a session is served as before: an event each
// way. The server's socket must record "send-message" on got.
func ptStillServed(t *testing.T, c *ptClient, sock *events.Socket, got <-chan ptGot) {
	t.Helper()
	c.post(`42["send-message","still here"]`)
	g := ptWait(t, got, "an event from the other session")
	assert.Equal(t, []string{`"still here"`}, g.Args)
	require.NoError(t, sock.Emit("still", "served"))
	assert.Equal(t, `42["still","served"]`, c.next())
}

func TestPollHandshake(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	s := startPTServer(t, events.Options{PingInterval: 3 * time.Second, PingTimeout: 2 * time.Second, MaxPayload: 5000}, EngineOptions{}, nil)
	a := ptDo(t, s.hs.Client(), http.MethodGet, s.url+"?"+ptQuery("polling", "")+"&t=Nx3f", "")
	require.Equal(t, http.StatusOK, a.Status, "body %q", a.Body)
	assert.Equal(t, "text/plain; charset=UTF-8", a.Type)
	require.True(t, strings.HasPrefix(a.Body, "0"), "the handshake is answered with the open packet: %q", a.Body)
	assert.NotContains(t, a.Body, "\x1e", "the handshake is answered with the open packet alone")
	var open ptOpen
	require.NoError(t, json.Unmarshal([]byte(a.Body[1:]), &open), "%q", a.Body)
	assert.NotEmpty(t, open.SID)
	assert.Equal(t, []string{"websocket"}, open.Upgrades, "a long-polling session may upgrade to websocket")
	assert.Equal(t, 3000, open.PingInterval)
	assert.Equal(t, 2000, open.PingTimeout)
	assert.Equal(t, 5000, open.MaxPayload)

	b := ptDo(t, s.hs.Client(), http.MethodGet, s.url+"?"+ptQuery("polling", ""), "")
	var other ptOpen
	require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(b.Body, "0")), &other), "%q", b.Body)
	assert.NotEqual(t, open.SID, other.SID, "every handshake opens a new session")
}

func TestPollConnectAndEvents(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	got := make(chan ptGot, 16)
	s := startPTServer(t, events.Options{}, EngineOptions{}, func(sock *events.Socket) {
		sock.On("send-message", ptRecord(got))
		sock.On("upload", ptRecord(got))
		sock.On("question", func(e *events.Event) { _ = e.Ack("answer", 42) })
	})
	c, sock := s.ptConnect(t)

	// Client → server: two events in one POST arrive in order.
	c.post(`42["send-message",{"text":"hi"}]`, `42["send-message",{"text":"again"}]`)
	e := ptWait(t, got, "the first event")
	assert.Equal(t, "send-message", e.Name)
	assert.Equal(t, []string{`{"text":"hi"}`}, e.Args)
	e = ptWait(t, got, "the second event")
	assert.Equal(t, []string{`{"text":"again"}`}, e.Args)

	// Server → client, in order.
	require.NoError(t, sock.Emit("message-saved", map[string]any{"success": true}))
	require.NoError(t, sock.Emit("message-saved", "second"))
	assert.Equal(t, `42["message-saved",{"success":true}]`, c.next())
	assert.Equal(t, `42["message-saved","second"]`, c.next())

	// An ack asked by the client: EVENT with id 7, answered by ACK 7.
	c.post(`427["question"]`)
	assert.Equal(t, `437["answer",42]`, c.next())

	// An ack asked by the server, answered by the client.
	acked := make(chan []json.RawMessage, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), ptTimeout)
		defer cancel()
		reply, err := sock.EmitWithAck(ctx, "confirm", "please")
		if err != nil {
			reply = []json.RawMessage{json.RawMessage(fmt.Sprintf("%q", err.Error()))}
		}
		acked <- reply
	}()
	ev := c.next()
	open := strings.IndexByte(ev, '[')
	require.True(t, strings.HasPrefix(ev, "42") && open > 2, "an EVENT with an ack id: %q", ev)
	assert.Equal(t, `["confirm","please"]`, ev[open:])
	c.post(`43` + ev[2:open] + `["done"]`)
	reply := ptWait(t, acked, "the client's ack")
	require.Len(t, reply, 1)
	assert.JSONEq(t, `"done"`, string(reply[0]))

	// Binary both ways: a BINARY_EVENT and its attachment, "b" + base64.
	c.post(`451-["upload","photo.jpg",{"_placeholder":true,"num":0}]`, "b"+base64.StdEncoding.EncodeToString([]byte{0, 1, 0x1e, 0xff}))
	e = ptWait(t, got, "the binary event")
	assert.Equal(t, "upload", e.Name)
	assert.Equal(t, `"photo.jpg"`, e.Args[0])
	assert.Equal(t, []byte{0, 1, 0x1e, 0xff}, e.Bin[1], "the attachment, decoded from base64")

	require.NoError(t, sock.Emit("file", []byte{9, 8, 7}))
	assert.Equal(t, `451-["file",{"_placeholder":true,"num":0}]`, c.next())
	assert.Equal(t, "b"+base64.StdEncoding.EncodeToString([]byte{9, 8, 7}), c.next(), "the attachment: b + base64")

	// The client leaves: DISCONNECT.
	c.post("41")
	assert.Equal(t, events.ReasonClientDisconnect, s.reasonFor(t, sock.ID(), "DISCONNECT over polling"))
}

func TestPollWaitsForData(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	s := startPTServer(t, events.Options{}, EngineOptions{}, nil)
	c, sock := s.ptConnect(t)
	waiting := c.pollAsync()
	select {
	case a := <-waiting:
		t.Fatalf("a GET with nothing to send was answered at once: %+v", a)
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, sock.Emit("late", 1))
	a := ptWait(t, waiting, "the waiting GET")
	assert.Equal(t, http.StatusOK, a.Status)
	assert.Equal(t, `42["late",1]`, a.Body, "the waiting GET is answered as soon as there is something")
}

func TestPollHeartbeatAndPingTimeout(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	s := startPTServer(t, events.Options{PingInterval: 100 * time.Millisecond, PingTimeout: 500 * time.Millisecond}, EngineOptions{}, nil)
	c, sock := s.ptConnect(t)
	c.pending = nil // this test answers the pings itself
	for i := range 4 {
		ps := c.poll()
		require.Contains(t, ps, "2", "poll %d: a ping every PingInterval", i)
		c.post("3")
	}
	select {
	case l := <-s.left:
		t.Fatalf("a client that polls and answers pings was disconnected: %+v", l)
	default:
	}
	assert.True(t, sock.Connected())

	// The client stops polling: no pong, so the session ends.
	start := time.Now()
	assert.Equal(t, events.ReasonPingTimeout, s.reasonFor(t, sock.ID(), "a client that stopped polling"))
	assert.Less(t, time.Since(start), 3*time.Second, "ping timeout within PingInterval + PingTimeout or so")

	// A session that timed out is forgotten at once, as engine.io forgets
	// it: the client's next poll gets 400 "Session ID unknown" (only a
	// session the server ended waits for a poll to tell the client).
	ptEngineError(t, c.get(), http.StatusBadRequest, 1, "Session ID unknown", "GET after a ping timeout")
}

func TestPollErrorAnswers(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	got := make(chan ptGot, 4)
	s := startPTServer(t, events.Options{}, EngineOptions{
		AllowRequest: func(r *http.Request) bool { return r.Header.Get("X-Refuse") == "" },
	}, func(sock *events.Socket) { sock.On("send-message", ptRecord(got)) })
	c, sock := s.ptConnect(t)
	hc := s.hs.Client()
	for _, tc := range []struct {
		name, method, query string
		status, code        int
		message             string
	}{
		{"unknown transport", "GET", "EIO=4&transport=carrier-pigeon", 400, 0, "Transport unknown"},
		{"no transport", "GET", "EIO=4", 400, 0, "Transport unknown"},
		{"EIO=3", "GET", "EIO=3&transport=polling", 400, 5, "Unsupported protocol version"},
		{"no EIO", "GET", "transport=polling", 400, 5, "Unsupported protocol version"},
		{"handshake by POST", "POST", "EIO=4&transport=polling", 400, 2, "Bad handshake method"},
		{"handshake by PUT", "PUT", "EIO=4&transport=polling", 400, 2, "Bad handshake method"},
		{"GET, unknown sid", "GET", "EIO=4&transport=polling&sid=nobody", 400, 1, "Session ID unknown"},
		{"POST, unknown sid", "POST", "EIO=4&transport=polling&sid=nobody", 400, 1, "Session ID unknown"},
		{"PUT on a session", "PUT", ptQuery("polling", c.sid), 400, 3, "Bad request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			if tc.method != "GET" {
				body = "40"
			}
			ptEngineError(t, ptDo(t, hc, tc.method, s.url+"?"+tc.query, body), tc.status, tc.code, tc.message, tc.name)
		})
	}
	t.Run("AllowRequest says no", func(t *testing.T) {
		for _, q := range []string{ptQuery("polling", ""), ptQuery("polling", c.sid), ptQuery("websocket", "")} {
			req, err := http.NewRequest(http.MethodGet, s.url+"?"+q, nil)
			require.NoError(t, err)
			req.Header.Set("X-Refuse", "yes")
			resp, err := hc.Do(req)
			require.NoError(t, err)
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			ptEngineError(t, ptAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)},
				http.StatusForbidden, 4, "Forbidden", "a refused request "+q)
		}
	})
	// None of this disturbed the session.
	ptStillServed(t, c, sock, got)
}

func TestPollSecondGETClosesSession(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	got := make(chan ptGot, 4)
	s := startPTServer(t, events.Options{}, EngineOptions{}, func(sock *events.Socket) { sock.On("send-message", ptRecord(got)) })
	other, otherSock := s.ptConnect(t)
	c, sock := s.ptConnect(t)

	first := c.pollAsync()
	time.Sleep(100 * time.Millisecond) // let the first GET get there and wait
	second := c.get()
	a := ptWait(t, first, "the first GET")
	if second.Status == http.StatusOK { // the two crossed on the way: roles swapped
		a, second = second, a
	}
	ptEngineError(t, second, http.StatusBadRequest, 3, "Bad request", "a second GET while one waits")
	assert.Equal(t, http.StatusOK, a.Status, "the waiting GET: body %q", a.Body)
	assert.True(t, strings.HasSuffix(a.Body, "1"), "the waiting GET is answered with the close packet: %q", a.Body)
	assert.Equal(t, events.ReasonTransportError, s.reasonFor(t, sock.ID(), "two GETs at once"))
	ptEngineError(t, c.get(), http.StatusBadRequest, 1, "Session ID unknown", "a GET after the session broke: it is forgotten at once")

	ptStillServed(t, other, otherSock, got)
}

func TestPollClientCloseAndCancelledPoll(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	got := make(chan ptGot, 4)
	s := startPTServer(t, events.Options{}, EngineOptions{}, func(sock *events.Socket) { sock.On("send-message", ptRecord(got)) })
	other, otherSock := s.ptConnect(t)

	// The client closes its session ("1") while its GET waits: the GET
	// ends with a noop "6", not with a close packet the client has no use
	// for, and the session is forgotten at once.
	c, sock := s.ptConnect(t)
	waiting := c.pollAsync()
	time.Sleep(50 * time.Millisecond) // let the GET get there and wait
	c.post("1")
	a := ptWait(t, waiting, "the GET waiting when the client closed")
	assert.Equal(t, http.StatusOK, a.Status, "the waiting GET: body %q", a.Body)
	assert.Equal(t, "6", a.Body, "a GET waiting when the client posts close gets a noop")
	assert.Equal(t, events.ReasonTransportClose, s.reasonFor(t, sock.ID(), "the client posted close"))
	ptEngineError(t, c.get(), http.StatusBadRequest, 1, "Session ID unknown", "a GET after the client's close")

	// A GET that the client sent just before its close may get there
	// after it (two requests, two connections): it too ends with a noop,
	// once; the next one gets 400.
	c3, sock3 := s.ptConnect(t)
	c3.post("1")
	assert.Equal(t, events.ReasonTransportClose, s.reasonFor(t, sock3.ID(), "the client posted close"))
	a = c3.get()
	assert.Equal(t, http.StatusOK, a.Status, "a GET right after the client's close: body %q", a.Body)
	assert.Equal(t, "6", a.Body, "a GET right after the client's close gets a noop")
	ptEngineError(t, c3.get(), http.StatusBadRequest, 1, "Session ID unknown", "the GET after that noop")

	// A GET that the client gives up (a cancelled request) ends the
	// session: the client is gone, and its next GET gets 400.
	c2, sock2 := s.ptConnect(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c2.url(), nil)
	require.NoError(t, err)
	gone := make(chan error, 1)
	go func() {
		resp, err := c2.c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		gone <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the GET get there and wait
	cancel()
	require.Error(t, ptWait(t, gone, "the cancelled GET"), "the cancelled GET fails on the client's side")
	assert.Equal(t, events.ReasonTransportClose, s.reasonFor(t, sock2.ID(), "a cancelled poll"))
	ptEngineError(t, c2.get(), http.StatusBadRequest, 1, "Session ID unknown", "a GET after a cancelled poll")

	ptStillServed(t, other, otherSock, got)
}

func TestPollPayloadTooLarge(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	const maxPayload = 1000
	got := make(chan ptGot, 8)
	s := startPTServer(t, events.Options{MaxPayload: maxPayload}, EngineOptions{}, func(sock *events.Socket) {
		sock.On("send-message", ptRecord(got))
		sock.On("big", ptRecord(got))
	})
	other, otherSock := s.ptConnect(t)

	// A body of exactly MaxPayload bytes is taken.
	c, sock := s.ptConnect(t)
	text := strings.Repeat("a", maxPayload-len(`42["big",""]`))
	c.post(`42["big","` + text + `"]`)
	e := ptWait(t, got, "the event of MaxPayload bytes")
	assert.Equal(t, "big", e.Name)

	// One byte more is refused whole, and the session ends.
	a := c.postRaw(`42["big","` + text + `a"]`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, a.Status, "a POST over MaxPayload: body %q", a.Body)
	assert.Equal(t, events.ReasonTransportError, s.reasonFor(t, sock.ID(), "a POST over MaxPayload"))
	ptNoEvent(t, got, "a POST over MaxPayload")

	// The same without a Content-Length (chunked): the limit holds while reading.
	c2, sock2 := s.ptConnect(t)
	body := io.MultiReader(strings.NewReader(`42["big","`+text), strings.NewReader(`aaaaaaaaaa"]`))
	req, err := http.NewRequest(http.MethodPost, c2.url(), body)
	require.NoError(t, err)
	resp, err := s.hs.Client().Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "a chunked POST over MaxPayload")
	assert.Equal(t, events.ReasonTransportError, s.reasonFor(t, sock2.ID(), "a chunked POST over MaxPayload"))
	ptNoEvent(t, got, "a chunked POST over MaxPayload")

	ptStillServed(t, other, otherSock, got)
}

func TestPollMalformedPayload(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	got := make(chan ptGot, 8)
	s := startPTServer(t, events.Options{}, EngineOptions{}, func(sock *events.Socket) { sock.On("send-message", ptRecord(got)) })
	other, otherSock := s.ptConnect(t)
	for _, body := range []string{
		"",                               // nothing at all
		"hello",                          // not a packet type
		`42["send-message",1]` + "\x1e",  // an empty packet at the end
		`42["send-message",2]` + "\x1e9", // an unknown packet type after a good one
		"b!!not-base64",                  // bad base64
		"42[\"send-message\",\"\xff\"]",  // invalid UTF-8
	} {
		t.Run(fmt.Sprintf("%q", body), func(t *testing.T) {
			c, sock := s.ptConnect(t)
			ptEngineError(t, c.postRaw(body), http.StatusBadRequest, 3, "Bad request", "a malformed payload")
			assert.Equal(t, events.ReasonTransportError, s.reasonFor(t, sock.ID(), "a malformed payload"))
			ptEngineError(t, c.get(), http.StatusBadRequest, 1, "Session ID unknown", "a GET after a malformed payload")
			ptNoEvent(t, got, "a malformed payload is refused whole")
		})
	}
	ptStillServed(t, other, otherSock, got)
}

func TestPollBoundedOutbox(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	const maxPayload = 2000
	s := startPTServer(t, events.Options{MaxPayload: maxPayload, SendQueue: 8}, EngineOptions{}, nil)
	c, sock := s.ptConnect(t)
	// The client stops polling while the server keeps sending: what waits
	// for it is bounded, and the session's send queue cuts it off.
	text := strings.Repeat("x", 300)
	for range 200 {
		if sock.Emit("flood", text) != nil {
			break
		}
		time.Sleep(2 * time.Millisecond) // let the writer move it to the transport
	}
	assert.Equal(t, events.ReasonSendQueueFull, s.reasonFor(t, sock.ID(), "a client that does not poll"))
	a := c.get()
	require.Equal(t, http.StatusOK, a.Status)
	ps := strings.Split(a.Body, "\x1e")
	assert.Equal(t, "1", ps[len(ps)-1], "what was queued, then the close packet")
	assert.Contains(t, ps[0], "flood", "what the writer had queued is still delivered")
	assert.LessOrEqual(t, len(a.Body), maxPayload+len(text)+20, "at most about MaxPayload bytes waited for the client")
}

func TestPollServerCloseAnswersWaitingGET(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	s := startPTServer(t, events.Options{}, EngineOptions{}, nil)
	c, sock := s.ptConnect(t)
	waiting := c.pollAsync()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, s.srv.Close())
	a := ptWait(t, waiting, "the waiting GET")
	assert.Equal(t, http.StatusOK, a.Status)
	assert.Equal(t, "1", a.Body, "Close answers the waiting GET with the close packet")
	assert.Equal(t, events.ReasonServerShutdown, s.reasonFor(t, sock.ID(), "events.Server.Close"))
	b := ptDo(t, s.hs.Client(), http.MethodGet, s.url+"?"+ptQuery("polling", ""), "")
	assert.Equal(t, http.StatusServiceUnavailable, b.Status, "no new session after Close")
}

// A client between two polls when the server closes: Close waits for its
// next GET (about a second at most) and answers it with the close packet.
// A server that shuts down closes its listener after events.Server.Close
// returns; if that came first, the client's next poll would find no
// listener, and socket.io-client would report "transport error" where a
// WebSocket client reports the clean "transport close".
func TestPollServerCloseWaitsForTheNextPoll(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	s := startPTServer(t, events.Options{}, EngineOptions{}, nil)
	c, sock := s.ptConnect(t) // its last GET is answered: none is waiting
	closed := make(chan error, 1)
	go func() { closed <- s.srv.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("events.Server.Close returned (%v) before the polling client came for the close packet: Close of the polling transport must wait for the client's next GET", err)
	case <-time.After(100 * time.Millisecond):
	}
	a := c.get()
	assert.Equal(t, http.StatusOK, a.Status, "the next GET after Close (body %q)", a.Body)
	assert.Equal(t, "1", a.Body, "the next GET after Close gets the close packet")
	require.NoError(t, ptWait(t, closed, "events.Server.Close, once the close packet is sent"))
	assert.Equal(t, events.ReasonServerShutdown, s.reasonFor(t, sock.ID(), "events.Server.Close"))
}

// ---------------------------------------------------------------------------
// WebSocket-only sessions through the Engine, and the npm socket.io-client.

func TestEngineWebSocketOnly(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	got := make(chan ptGot, 4)
	s := startPTServer(t, events.Options{}, EngineOptions{}, func(sock *events.Socket) { sock.On("send-message", ptRecord(got)) })
	ws := ptDialWS(t, s, "")
	open := ptReadWS(t, ws)
	require.True(t, strings.HasPrefix(open, "0"), "the open packet: %q", open)
	var o ptOpen
	require.NoError(t, json.Unmarshal([]byte(open[1:]), &o))
	assert.Empty(t, o.Upgrades, "a WebSocket session has nothing to upgrade to")
	ptWriteWS(t, ws, "40")
	assert.True(t, strings.HasPrefix(ptReadWS(t, ws), `40{"sid":`))
	sock := s.nextSocket(t, "a WebSocket client")
	ptWriteWS(t, ws, `42["send-message","over ws"]`)
	assert.Equal(t, []string{`"over ws"`}, ptWait(t, got, "the event").Args)
	require.NoError(t, sock.Emit("hi", 1))
	assert.Equal(t, `42["hi",1]`, ptReadWS(t, ws))
}

// ptNodeHandlers are the server side of ptNodeExchange.
func ptNodeHandlers(got chan<- ptGot) func(*events.Socket) {
	return func(sock *events.Socket) {
		sock.On("send-message", ptRecord(got))
		sock.On("upload", ptRecord(got))
		sock.On("question", func(e *events.Event) {
			var q string
			_ = e.Decode(0, &q)
			_ = e.Ack("answer to " + q)
		})
	}
}

// ptNodeExchange checks events, acks and binary both ways between the npm
// client and the server's socket; tag makes every round's values its own.
// The server runs ptNodeHandlers, and the client was told
// AnswerAcks("confirm", "yes").
func ptNodeExchange(t *testing.T, node *nodepeer.SIOClient, sock *events.Socket, got <-chan ptGot, tag string) {
	t.Helper()
	node.Emit("send-message", map[string]any{"text": tag})
	g := ptWait(t, got, tag+": an event from Node")
	assert.Equal(t, "send-message", g.Name)
	assert.Equal(t, []string{`{"text":"` + tag + `"}`}, g.Args, tag)

	require.NoError(t, sock.Emit("message-saved", tag))
	r := node.WaitFor("event", "message-saved", ptTimeout)
	assert.Equal(t, `"`+tag+`"`, string(r.Args[0]), tag)

	seq := node.EmitWithAck("question", tag)
	r = node.WaitFor("ack", "", ptTimeout)
	assert.Equal(t, seq, r.Seq, tag)
	require.Len(t, r.Args, 1, tag)
	assert.Equal(t, `"answer to `+tag+`"`, string(r.Args[0]), tag)

	ctx, cancel := context.WithTimeout(context.Background(), ptTimeout)
	defer cancel()
	reply, err := sock.EmitWithAck(ctx, "confirm", tag)
	require.NoError(t, err, "%s: the server's EmitWithAck", tag)
	require.Len(t, reply, 1, tag)
	assert.Equal(t, `"yes"`, string(reply[0]), tag)
	node.WaitFor("event", "confirm", ptTimeout)

	file := []byte(tag + "\x00\x1e\xff")
	node.Emit("upload", tag, file)
	g = ptWait(t, got, tag+": a Buffer from Node")
	assert.Equal(t, "upload", g.Name)
	assert.Equal(t, file, g.Bin[1], "%s: a Buffer from Node", tag)
	require.NoError(t, sock.Emit("file", []byte(tag), tag))
	r = node.WaitFor("event", "file", ptTimeout)
	b, ok := nodepeer.Binary(r.Args[0])
	assert.True(t, ok, "%s: a []byte arrives in Node as a Buffer: %s", tag, r.Args[0])
	assert.Equal(t, []byte(tag), b, tag)
}

// ptRequests records the Engine.IO requests that reach the Engine (as its
// AllowRequest), except the test's own, which carry X-Test.
type ptRequests struct {
	mu        sync.Mutex
	polling   int      // requests with transport=polling
	websocket []string // sids of requests with transport=websocket ("" for none)
}

func (p *ptRequests) allow(r *http.Request) bool {
	if r.Header.Get("X-Test") != "" {
		return true
	}
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch q.Get("transport") {
	case "polling":
		p.polling++
	case "websocket":
		p.websocket = append(p.websocket, q.Get("sid"))
	}
	return true
}

func (p *ptRequests) counts() (polling int, websocket []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.polling, append([]string(nil), p.websocket...)
}

func TestPollNodeClientPollingOnly(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	got := make(chan ptGot, 8)
	var reqs ptRequests
	s := startPTServer(t, events.Options{}, EngineOptions{AllowRequest: reqs.allow}, ptNodeHandlers(got))
	node := nodepeer.StartSIOClient(t, s.hs.URL, map[string]any{"transports": []string{"polling"}, "reconnection": false})
	node.AnswerAcks("confirm", "yes")
	id := node.WaitFor("connect", "", ptTimeout).ID
	sock := s.nextSocket(t, "the npm client over polling")
	assert.Equal(t, sock.ID(), id)

	ptNodeExchange(t, node, sock, got, "polling")
	polling, websocket := reqs.counts()
	assert.Greater(t, polling, 3, "the client long-polls")
	assert.Empty(t, websocket, "a polling-only client never opens a WebSocket")

	node.Disconnect()
	assert.Equal(t, events.ReasonClientDisconnect, s.reasonFor(t, sock.ID(), "socket.disconnect() over polling"))
}

func TestEngineNodeClientWebSocketOnly(t *testing.T) {
	exercise.Start(t, "4.4")
	ptNoLeaks(t)
	got := make(chan ptGot, 8)
	var reqs ptRequests
	s := startPTServer(t, events.Options{}, EngineOptions{AllowRequest: reqs.allow}, ptNodeHandlers(got))
	node := nodepeer.StartSIOClient(t, s.hs.URL, map[string]any{"transports": []string{"websocket"}, "reconnection": false})
	node.AnswerAcks("confirm", "yes")
	id := node.WaitFor("connect", "", ptTimeout).ID
	sock := s.nextSocket(t, "the npm client over WebSocket")
	assert.Equal(t, sock.ID(), id)

	ptNodeExchange(t, node, sock, got, "websocket")
	polling, websocket := reqs.counts()
	assert.Zero(t, polling, "a WebSocket-only client never polls")
	assert.Equal(t, []string{""}, websocket, "one WebSocket, opened without a sid")
}
