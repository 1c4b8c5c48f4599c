package events

// Helpers shared by the tests of lesson 03.
//
// The tests are in package events, so that the very same files test the
// lesson's code and the solution's (solutions/03-events), but they use only
// the exported API, as any user of the package would. Their helpers start
// with "tt" (or have names as unlikely), so they do not clash with yours; if
// one does, rename yours.
//
// The tests never trust the code under test to check itself. The raw client
// below is a gorilla/websocket connection that writes Engine.IO and Socket.IO
// packets as literal strings, straight from the protocol documents, and reads
// the server's packets with its own small parser:
//
//   - engine.io-protocol v4, "Protocol": a WebSocket text frame is
//     "<packet type digit><data>"; a binary frame is a MESSAGE whose data is
//     the raw bytes.
//   - socket.io-protocol v5, "Format":
//     <type>[<#attachments>-][<namespace>,][<ack id>][JSON data]
//
// So what a test sends and expects is exactly what is on the wire, and a
// learner can read the protocol off the tests.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// ttTimeout bounds every wait, so that a broken implementation fails a test
// quickly instead of hanging it.
const ttTimeout = 5 * time.Second

// ttNoLeaks checks, once the test and all its cleanups are done (the server
// closed, the clients gone), that every goroutine the test started has ended.
// Call it first, so that its cleanup runs last.
func ttNoLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// ttWait receives one value from ch within ttTimeout.
func ttWait[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(ttTimeout):
		t.Fatalf("waiting for %s: nothing within %v", what, ttTimeout)
	}
	var zero T
	return zero
}

// ttShortHeartbeat are Options with a fast heartbeat, for the tests of
// engine.io-protocol v4 "Heartbeat": the server pings every 50ms and gives the
// client 250ms to answer.
func ttShortHeartbeat() Options {
	// Pings come fast; the wait for each pong is wider, so that a test
	// that expects a client to stay connected does not fail because the
	// race detector on a busy machine delayed one pong by a few tens of
	// milliseconds.
	return Options{PingInterval: 50 * time.Millisecond, PingTimeout: 250 * time.Millisecond}
}

// ---------------------------------------------------------------------------
// The server under test.

// A ttLeft is one call of a socket's OnDisconnect.
type ttLeft struct {
	ID     string
	Reason string
}

// ttWatcher reports the sockets of one namespace as they connect and leave.
type ttWatcher struct {
	connected chan *Socket
	left      chan ttLeft

	mu    sync.Mutex
	early map[string]string // departures reasonFor read while waiting for another socket
}

// ttWatch registers, with register (a namespace's OnConnection), a connection
// handler that calls onConnection (which may be nil) and then reports the
// socket, and reports its OnDisconnect reason.
func ttWatch(register func(func(*Socket)), onConnection func(*Socket)) *ttWatcher {
	w := &ttWatcher{connected: make(chan *Socket, 256), left: make(chan ttLeft, 256)}
	register(func(s *Socket) {
		id := s.ID()
		s.OnDisconnect(func(reason string) {
			select {
			case w.left <- ttLeft{id, reason}:
			default:
			}
		})
		if onConnection != nil {
			onConnection(s)
		}
		select {
		case w.connected <- s:
		default:
		}
	})
	return w
}

// nextSocket is the next socket whose OnConnection ran.
func (w *ttWatcher) nextSocket(t testing.TB, what string) *Socket {
	t.Helper()
	s := ttWait(t, w.connected, "OnConnection for "+what)
	require.NotNil(t, s, "OnConnection for %s ran with a nil *Socket", what)
	return s
}

// reasonFor waits until the socket with id has left and returns the reason
// its OnDisconnect got. Other sockets' departures are kept for later calls.
func (w *ttWatcher) reasonFor(t testing.TB, id, what string) string {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.early == nil {
		w.early = map[string]string{}
	}
	if r, ok := w.early[id]; ok {
		delete(w.early, id)
		return r
	}
	deadline := time.After(ttTimeout)
	for {
		select {
		case l := <-w.left:
			if l.ID == id {
				return l.Reason
			}
			w.early[l.ID] = l.Reason
		case <-deadline:
			t.Fatalf("waiting for %s: OnDisconnect of socket %q was not called within %v", what, id, ttTimeout)
			return ""
		}
	}
}

// A ttServer is the Server under test, mounted at /socket.io/ on an httptest
// server on 127.0.0.1, together with a watcher of the main namespace "/".
type ttServer struct {
	*Server
	HTTP *httptest.Server
	*ttWatcher
}

// startTTServer starts a Server with opts (its transport from
// TransportFromEnv unless opts say otherwise: gorilla/websocket by default,
// lesson 02's Conn with EVENTS_TRANSPORT=rawws). onConnection (may be nil)
// runs for each socket of "/"; setup, before the server serves, configures
// it further (namespaces, middleware). The server is closed when the test
// ends.
func startTTServer(t *testing.T, opts Options, onConnection func(*Socket), setup ...func(*Server)) *ttServer {
	t.Helper()
	if opts.Upgrader == nil {
		opts.Upgrader = TransportFromEnv()
	}
	s := NewServer(opts)
	require.NotNil(t, s, "NewServer returned nil")
	w := ttWatch(s.OnConnection, onConnection)
	for _, f := range setup {
		f(s)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", s)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		closed := make(chan struct{})
		go func() { _ = s.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(2 * ttTimeout):
			t.Errorf("Server.Close did not return within %v", 2*ttTimeout)
		}
		hs.Close()
	})
	return &ttServer{Server: s, HTTP: hs, ttWatcher: w}
}

// ttAttached is what one call of Server.Attach returned.
type ttAttached struct {
	Sid string
	Err error
}

// attachedTTServer serves s through Attach instead of ServeHTTP, as lesson
// 04's engine does: its own httptest server upgrades every request with
// s.Options().Upgrader and hands the transport to s.Attach with upgrades.
// Dialling the returned ttServer reaches that server; each Attach's result
// comes out of the channel.
func attachedTTServer(t *testing.T, s *ttServer, upgrades []string) (*ttServer, <-chan ttAttached) {
	t.Helper()
	results := make(chan ttAttached, 16)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr, err := s.Options().Upgrader.Upgrade(w, r)
		if err != nil {
			return // the Upgrader has answered
		}
		sid, err := s.Attach(tr, r, upgrades)
		if err != nil && !errors.Is(err, ErrServerClosed) {
			_ = tr.Close() // an Attach that is not done yet: do not leave t open
		}
		results <- ttAttached{Sid: sid, Err: err}
	}))
	t.Cleanup(hs.Close)
	return &ttServer{Server: s.Server, HTTP: hs, ttWatcher: s.ttWatcher}, results
}

// addr is the server's host:port.
func (s *ttServer) addr() string { return s.HTTP.Listener.Addr().String() }

// url is the http:// URL the Go client and socket.io-client dial.
func (s *ttServer) url() string { return "http://" + s.addr() }

// wsURL is the Engine.IO endpoint with the given query.
func (s *ttServer) wsURL(query string) string { return "ws://" + s.addr() + "/socket.io/?" + query }

// ---------------------------------------------------------------------------
// A raw Engine.IO / Socket.IO client.

// ttOpen is the data of the Engine.IO open packet (engine.io-protocol v4,
// "Handshake").
type ttOpen struct {
	Sid          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// A ttRawClient is a WebSocket connection to the server under test that
// speaks Engine.IO and Socket.IO by hand. It reads only when a test asks it
// to, so a test can also play a client that never reads.
type ttRawClient struct {
	t    testing.TB
	name string
	ws   *websocket.Conn
	// OpenRaw and Open are the open packet as it came and as parsed.
	OpenRaw string
	Open    ttOpen
	// AnswerPings makes the client answer each PING with a PONG while it
	// reads (true by default); Pings counts the PINGs it has seen.
	AnswerPings bool
	Pings       int
}

// dialTTRaw connects to /socket.io/?EIO=4&transport=websocket and reads the
// open packet, which must be the first frame (engine.io-protocol v4,
// "Handshake"). header (may be nil) goes with the WebSocket handshake.
func dialTTRaw(t testing.TB, s *ttServer, name string, header http.Header) *ttRawClient {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: ttTimeout}
	ws, resp, err := d.Dial(s.wsURL("EIO=4&transport=websocket"), header)
	if err != nil {
		got := err.Error()
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			got = fmt.Sprintf("%s %q", resp.Status, strings.TrimSpace(string(body)))
		}
		t.Fatalf("%s: expected the server to accept the WebSocket connection to /socket.io/?EIO=4&transport=websocket (101 Switching Protocols), got %s", name, got)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ttRawClientOn(t, name, ws)
}

// ttRawClientOn makes a raw client of a WebSocket connection that the
// server has just accepted, and reads the open packet.
func ttRawClientOn(t testing.TB, name string, ws *websocket.Conn) *ttRawClient {
	t.Helper()
	c := &ttRawClient{t: t, name: name, ws: ws, AnswerPings: true}
	binary, frame, err := c.readFrame(time.Now().Add(ttTimeout))
	require.NoError(t, err, "%s: waiting for the Engine.IO open packet", name)
	require.False(t, binary, "%s: the open packet is a text frame", name)
	c.OpenRaw = string(frame)
	require.True(t, strings.HasPrefix(c.OpenRaw, "0"), "%s: the first packet must be OPEN, `0{...}` (engine.io-protocol v4, Handshake), got %q", name, c.OpenRaw)
	require.NoError(t, json.Unmarshal(frame[1:], &c.Open), "%s: the open packet's data must be a JSON object, got %q", name, c.OpenRaw)
	return c
}

// ttTryDial tries to open an Engine.IO connection, without failing the
// test; it reports whether the server accepted it (and then closes it).
func ttTryDial(s *ttServer) error {
	d := websocket.Dialer{HandshakeTimeout: ttTimeout}
	ws, resp, err := d.Dial(s.wsURL("EIO=4&transport=websocket"), nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("%w (%s)", err, resp.Status)
		}
		return err
	}
	return ws.Close()
}

// readFrame reads one WebSocket message.
func (c *ttRawClient) readFrame(deadline time.Time) (binary bool, frame []byte, err error) {
	if err := c.ws.SetReadDeadline(deadline); err != nil {
		return false, nil, err
	}
	mt, p, err := c.ws.ReadMessage()
	return mt == websocket.BinaryMessage, p, err
}

// send writes one text frame, an Engine.IO packet as it goes on the wire
// (for example "40" or `42["hello","world"]`).
func (c *ttRawClient) send(text string) {
	c.t.Helper()
	require.NoError(c.t, c.ws.SetWriteDeadline(time.Now().Add(ttTimeout)))
	require.NoError(c.t, c.ws.WriteMessage(websocket.TextMessage, []byte(text)), "%s: sending %q", c.name, ttShort(text))
}

// sendBinary writes one binary frame (an attachment, engine.io-protocol v4
// "Protocol": a binary MESSAGE has no type prefix).
func (c *ttRawClient) sendBinary(b []byte) {
	c.t.Helper()
	require.NoError(c.t, c.ws.SetWriteDeadline(time.Now().Add(ttTimeout)))
	require.NoError(c.t, c.ws.WriteMessage(websocket.BinaryMessage, b), "%s: sending a binary frame", c.name)
}

// nextFrame reads the next frame that is not a PING (which it answers
// when AnswerPings), for a client of a plain Engine.IO session
// (Options.Messages), where a message is not a Socket.IO packet.
func (c *ttRawClient) nextFrame(what string) (binary bool, frame []byte) {
	c.t.Helper()
	deadline := time.Now().Add(ttTimeout)
	for range 100000 {
		binary, frame, err := c.readFrame(deadline)
		if err != nil {
			c.t.Fatalf("%s: waiting for %s: the connection ended or nothing came: %v", c.name, what, err)
		}
		if !binary && len(frame) > 0 && frame[0] == '2' {
			c.Pings++
			if c.AnswerPings {
				c.send("3" + string(frame[1:]))
			}
			continue
		}
		return binary, frame
	}
	c.t.Fatalf("%s: waiting for %s: only pings came", c.name, what)
	return false, nil
}

// nextText is nextFrame for a text frame, which it returns as a string.
func (c *ttRawClient) nextText(what string) string {
	c.t.Helper()
	binary, frame := c.nextFrame(what)
	require.False(c.t, binary, "%s: waiting for %s: a text frame, got binary %v", c.name, what, frame)
	return string(frame)
}

// nextPacket reads the next Socket.IO packet: it answers PINGs with PONGs on
// the way (when AnswerPings), skips NOOPs, and reads the binary frames of a
// BINARY_EVENT/BINARY_ACK into Attachments.
func (c *ttRawClient) nextPacket(what string) ttPacket {
	c.t.Helper()
	deadline := time.Now().Add(ttTimeout)
	for range 100000 {
		binary, frame, err := c.readFrame(deadline)
		if err != nil {
			c.t.Fatalf("%s: waiting for %s: the connection ended or nothing came: %v", c.name, what, err)
		}
		if binary {
			c.t.Fatalf("%s: waiting for %s: got a binary frame no BINARY_EVENT/BINARY_ACK announced (socket.io-protocol v5, Binary events)", c.name, what)
		}
		if len(frame) == 0 {
			c.t.Fatalf("%s: waiting for %s: got an empty text frame, which is no Engine.IO packet", c.name, what)
		}
		switch frame[0] {
		case '2': // PING (engine.io-protocol v4, Heartbeat)
			c.Pings++
			if c.AnswerPings {
				c.send("3" + string(frame[1:]))
			}
			continue
		case '6': // NOOP
			continue
		case '4': // MESSAGE: a Socket.IO packet
		default:
			c.t.Fatalf("%s: waiting for %s: expected an Engine.IO MESSAGE `4...` (or PING), got %q", c.name, what, ttShort(string(frame)))
		}
		p := ttParsePacket(c.t, string(frame[1:]))
		for i := range p.Attach {
			binary, b, err := c.readFrame(deadline)
			require.NoError(c.t, err, "%s: waiting for attachment %d of %d of %q", c.name, i+1, p.Attach, ttShort(p.Raw))
			require.True(c.t, binary, "%s: attachment %d of %q must be a binary frame (socket.io-protocol v5, Binary events), got text %q", c.name, i+1, ttShort(p.Raw), ttShort(string(b)))
			p.Attachments = append(p.Attachments, b)
		}
		return p
	}
	c.t.Fatalf("%s: waiting for %s: only pings came", c.name, what)
	return ttPacket{}
}

// connect sends CONNECT for namespace nsp with auth (JSON, may be empty) and
// expects the server's CONNECT with {"sid": ...} (socket.io-protocol v5,
// Connection to a namespace). It returns the sid, the socket's ID.
func (c *ttRawClient) connect(nsp, auth string) string {
	c.t.Helper()
	c.send("4" + ttPrefix(0, nsp) + auth)
	p := c.nextPacket("the answer to CONNECT " + nsp)
	if p.Type == 4 {
		c.t.Fatalf("%s: CONNECT %s was refused with CONNECT_ERROR %s", c.name, nsp, p.Data)
	}
	require.Equal(c.t, 0, p.Type, "%s: expected CONNECT `40%s{\"sid\":...}` to answer CONNECT, got %q", c.name, ttNspPart(nsp), p.Raw)
	require.Equal(c.t, nsp, p.Nsp, "%s: the CONNECT answer names the namespace", c.name)
	var d struct {
		Sid string `json:"sid"`
	}
	require.NoError(c.t, json.Unmarshal(p.Data, &d), "%s: the CONNECT answer carries {\"sid\":...}, got %q", c.name, p.Raw)
	require.NotEmpty(c.t, d.Sid, "%s: the CONNECT answer carries a non-empty sid, got %q", c.name, p.Raw)
	return d.Sid
}

// nextEvent reads the next packet and requires it to be an EVENT (or
// BINARY_EVENT) named event in namespace "/"; it returns the packet and the
// arguments after the name.
func (c *ttRawClient) nextEvent(event string) (ttPacket, []json.RawMessage) {
	c.t.Helper()
	return c.nextEventIn("/", event)
}

// nextEventIn is nextEvent for namespace nsp.
func (c *ttRawClient) nextEventIn(nsp, event string) (ttPacket, []json.RawMessage) {
	c.t.Helper()
	p := c.nextPacket(fmt.Sprintf("event %q", event))
	require.Contains(c.t, []int{2, 5}, p.Type, "%s: expected EVENT %q, got %q", c.name, event, ttShort(p.Raw))
	require.Equal(c.t, nsp, p.Nsp, "%s: namespace of event %q (%q)", c.name, event, ttShort(p.Raw))
	name, args := p.event(c.t)
	require.Equal(c.t, event, name, "%s: expected event %q, got %q", c.name, event, ttShort(p.Raw))
	return p, args
}

// eventsUntil reads events until the one named sentinel and returns the
// names of those before it, each with its first argument (as raw JSON):
// `name` or `name:arg`. A test emits a sentinel to a client after a
// broadcast; since a socket's packets are delivered in order, whatever the
// broadcast sent that client has come before the sentinel.
func (c *ttRawClient) eventsUntil(sentinel string) []string {
	c.t.Helper()
	var got []string
	for range 1000 {
		p := c.nextPacket("the sentinel " + sentinel)
		if p.Type != 2 && p.Type != 5 {
			got = append(got, "packet:"+p.Raw)
			continue
		}
		name, args := p.event(c.t)
		if name == sentinel {
			return got
		}
		if len(args) > 0 {
			name += ":" + string(args[0])
		}
		got = append(got, name)
	}
	c.t.Fatalf("%s: no sentinel %q among 1000 packets", c.name, sentinel)
	return nil
}

// expectClosed reads (without answering pings) until the server ends the
// connection, which must happen within ttTimeout. Packets on the way are
// returned, so a test can look at them.
func (c *ttRawClient) expectClosed(why string) []string {
	c.t.Helper()
	return c.expectClosedWithin(ttTimeout, why)
}

// expectCloseFrame reads until the server's close frame and returns it;
// what comes before it may only be text frames. It fails the test if the
// connection ends without one, or if nothing ends it within ttTimeout.
func (c *ttRawClient) expectCloseFrame(why string) *websocket.CloseError {
	c.t.Helper()
	deadline := time.Now().Add(ttTimeout)
	for range 100000 {
		binary, _, err := c.readFrame(deadline)
		if err != nil {
			var closeErr *websocket.CloseError
			require.ErrorAs(c.t, err, &closeErr, "%s: %s", c.name, why)
			return closeErr
		}
		require.False(c.t, binary, "%s: only text frames before the close frame", c.name)
	}
	c.t.Fatalf("%s: %s; the server kept sending", c.name, why)
	return nil
}

// expectClosedWithin is expectClosed with limit in place of ttTimeout.
func (c *ttRawClient) expectClosedWithin(limit time.Duration, why string) []string {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	var seen []string
	for range 100000 {
		_, frame, err := c.readFrame(deadline)
		if err == nil {
			seen = append(seen, ttShort(string(frame)))
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatalf("%s: expected the server to close the connection (%s) within %v; it is still open (got %q)", c.name, why, limit, seen)
		}
		return seen
	}
	c.t.Fatalf("%s: expected the server to close the connection (%s); it kept sending", c.name, why)
	return nil
}

// ---------------------------------------------------------------------------
// Socket.IO packets, parsed independently of the code under test.

// A ttPacket is a Socket.IO packet as the raw client read it.
type ttPacket struct {
	Raw         string // the text as on the wire, without the Engine.IO "4"
	Type        int
	Attach      int // the "<n>-" of BINARY_EVENT / BINARY_ACK
	Nsp         string
	ID          int64 // -1 when absent
	Data        json.RawMessage
	Attachments [][]byte
}

// ttParsePacket parses "<type>[<#attachments>-][<namespace>,][<ack id>][JSON data]"
// (socket.io-protocol v5, Format).
func ttParsePacket(t testing.TB, text string) ttPacket {
	t.Helper()
	p := ttPacket{Raw: text, Nsp: "/", ID: -1}
	require.NotEmpty(t, text, "an empty Socket.IO packet")
	require.True(t, text[0] >= '0' && text[0] <= '6', "a Socket.IO packet type is a digit 0-6 (socket.io-protocol v5, Packet types), got %q", ttShort(text))
	p.Type = int(text[0] - '0')
	rest := text[1:]
	if p.Type == 5 || p.Type == 6 {
		dash := strings.IndexByte(rest, '-')
		require.Positive(t, dash, "BINARY_EVENT/BINARY_ACK starts with the number of attachments and '-', got %q", ttShort(text))
		n, err := strconv.Atoi(rest[:dash])
		require.NoError(t, err, "number of attachments in %q", ttShort(text))
		p.Attach, rest = n, rest[dash+1:]
	}
	if strings.HasPrefix(rest, "/") {
		comma := strings.IndexByte(rest, ',')
		if comma < 0 {
			p.Nsp, rest = rest, ""
		} else {
			p.Nsp, rest = rest[:comma], rest[comma+1:]
		}
	}
	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	if digits > 0 {
		id, err := strconv.ParseInt(rest[:digits], 10, 64)
		require.NoError(t, err, "ack id in %q", ttShort(text))
		p.ID, rest = id, rest[digits:]
	}
	if rest != "" {
		require.True(t, json.Valid([]byte(rest)), "the data of a Socket.IO packet is JSON, got %q", ttShort(text))
		p.Data = json.RawMessage(rest)
	}
	return p
}

// event splits an EVENT's data into its name and arguments.
func (p ttPacket) event(t testing.TB) (string, []json.RawMessage) {
	t.Helper()
	var arr []json.RawMessage
	require.NoError(t, json.Unmarshal(p.Data, &arr), "the data of an EVENT is a JSON array (socket.io-protocol v5, EVENT), got %q", ttShort(p.Raw))
	require.NotEmpty(t, arr, "the data of an EVENT starts with the event name, got %q", ttShort(p.Raw))
	var name string
	require.NoError(t, json.Unmarshal(arr[0], &name), "the first element of an EVENT is the name, a string, got %q", ttShort(p.Raw))
	return name, arr[1:]
}

// ttPrefix is the start of a packet of the given type for namespace nsp: the
// type digit and, for a namespace other than "/", "<nsp>,".
func ttPrefix(typ int, nsp string) string { return strconv.Itoa(typ) + ttNspPart(nsp) }

func ttNspPart(nsp string) string {
	if nsp == "/" || nsp == "" {
		return ""
	}
	return nsp + ","
}

// ttPlaceholder is the JSON that stands for attachment num
// (socket.io-protocol v5, Binary events).
func ttPlaceholder(num int) string { return fmt.Sprintf(`{"_placeholder":true,"num":%d}`, num) }

// ttIsPlaceholder reports whether raw is a placeholder and which attachment
// it names.
func ttIsPlaceholder(raw json.RawMessage) (int, bool) {
	var ph struct {
		Placeholder bool `json:"_placeholder"`
		Num         *int `json:"num"`
	}
	if json.Unmarshal(raw, &ph) != nil || !ph.Placeholder || ph.Num == nil {
		return 0, false
	}
	return *ph.Num, true
}

// ttJSON marshals v for comparisons.
func ttJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// ttShort shortens long packets in failure messages.
func ttShort(s string) string {
	if len(s) > 200 {
		return s[:200] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}

// ttBytes returns n bytes that differ from position to position and from
// seed to seed.
func ttBytes(n, seed int) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// ---------------------------------------------------------------------------
// Recording what handlers see.

// A ttGot is one event as a server or client handler saw it, copied out of
// the handler.
type ttGot struct {
	Name   string
	Args   []string // raw JSON
	HasAck bool
	Bytes  map[int][]byte // Event.Bytes(i) for every argument that is an attachment
	Socket *Socket
}

// ttRecord copies what a test needs out of an Event.
func ttRecord(e *Event) ttGot {
	g := ttGot{Name: e.Name, Socket: e.Socket, Bytes: map[int][]byte{}}
	for i, a := range e.Args {
		g.Args = append(g.Args, string(a))
		if b, ok := e.Bytes(i); ok {
			g.Bytes[i] = append([]byte(nil), b...)
		}
	}
	return g
}

// ttRecorder returns a Handler that sends what it sees to ch without ever
// blocking the server (a full channel fails the test later, by a missing
// event).
func ttRecorder(ch chan ttGot) Handler {
	return func(e *Event) {
		g := ttRecord(e)
		g.HasAck = ttHasAck(e)
		select {
		case ch <- g:
		default:
		}
	}
}

// ttHasAck is e.HasAck(), recovered if an unfinished exercise panics there.
func ttHasAck(e *Event) (has bool) {
	defer func() { _ = recover() }()
	return e.HasAck()
}

// ttEcho registers "echo" on s: every "echo" event is emitted back to its
// sender as "echoed" with the same arguments. Tests use it to show that a
// client is still served.
func ttEcho(s *Socket) {
	s.On("echo", func(e *Event) {
		args := make([]any, len(e.Args))
		for i, a := range e.Args {
			args[i] = a
		}
		_ = e.Socket.Emit("echoed", args...)
	})
}

// stillServed shows that c still gets answers: it sends "echo" and waits
// for "echoed" (the server must use ttEcho).
func (c *ttRawClient) stillServed(why string) {
	c.t.Helper()
	c.send(`42["echo","` + why + `"]`)
	_, args := c.nextEvent("echoed")
	require.Len(c.t, args, 1, "%s: the echo of %q", c.name, why)
	require.JSONEq(c.t, strconv.Quote(why), string(args[0]), "%s: the echo of %q", c.name, why)
}

// ttCtx is a context that ends after ttTimeout (or the test).
func ttCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), ttTimeout)
	t.Cleanup(cancel)
	return ctx
}

// ttGo runs f in a goroutine and returns a channel closed when it returns;
// the test waits for it before it ends.
func ttGo(t testing.TB, f func()) <-chan struct{} {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		defer once.Do(func() { close(done) })
		f()
	}()
	t.Cleanup(func() {
		select {
		case <-done:
		case <-time.After(2 * ttTimeout):
			t.Errorf("a goroutine of the test was still running %v after the test ended", 2*ttTimeout)
		}
	})
	return done
}
