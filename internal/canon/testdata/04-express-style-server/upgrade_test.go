package server

// Tests of the upgrade from long-polling to WebSocket (exercise 4.5): a
// gorilla/websocket client drives the steps of engine.io-protocol v4,
// "Upgrade", by hand, and the npm socket.io-client does it on its own.

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
	"github.com/websocket-workbook/workbook/internal/nodepeer"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// ptWSURL is the WebSocket URL of the Engine, for the session sid ("" for a
// new WebSocket-only session).
func ptWSURL(s *ptServer, sid string) string {
	return "ws" + strings.TrimPrefix(s.url, "http") + "?" + ptQuery("websocket", sid)
}

// ptDialWS opens a WebSocket to the Engine; it is closed when the test ends.
func ptDialWS(t *testing.T, s *ptServer, sid string) *websocket.Conn {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(ptWSURL(s, sid), nil)
	if resp != nil && resp.Body != nil {
		defer resp.Body.Close()
	}
	require.NoError(t, err, "WebSocket to %s", ptWSURL(s, sid))
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

// ptReadWSFrame reads one message within ptTimeout.
func ptReadWSFrame(t *testing.T, ws *websocket.Conn) (typ int, p []byte) {
	t.Helper()
	require.NoError(t, ws.SetReadDeadline(time.Now().Add(ptTimeout)))
	typ, p, err := ws.ReadMessage()
	require.NoError(t, err, "reading from the WebSocket")
	return typ, p
}

// ptReadWS reads one text message within ptTimeout.
func ptReadWS(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	typ, p := ptReadWSFrame(t, ws)
	require.Equal(t, websocket.TextMessage, typ, "a text message, got %q", p)
	return string(p)
}

// ptWriteWS writes one text message.
func ptWriteWS(t *testing.T, ws *websocket.Conn, msg string) {
	t.Helper()
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte(msg)), "writing %q", msg)
}

// ptClosedWS waits (at most ptTimeout) for the server to end ws, and
// returns how long that took.
func ptClosedWS(t *testing.T, ws *websocket.Conn, what string) time.Duration {
	t.Helper()
	start := time.Now()
	require.NoError(t, ws.SetReadDeadline(start.Add(ptTimeout)))
	for {
		typ, p, err := ws.ReadMessage()
		if err == nil {
			t.Errorf("%s: a message while waiting for the close: %d %q", what, typ, p)
			continue
		}
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			t.Errorf("%s: the server did not close the WebSocket within %v", what, ptTimeout)
		}
		return time.Since(start)
	}
}

// ptUpgrade runs the whole upgrade of c's session on a new WebSocket:
// probe, pong, upgrade. It returns the WebSocket, now the session's.
func ptUpgrade(t *testing.T, c *ptClient) *websocket.Conn {
	t.Helper()
	ws := ptDialWS(t, c.s, c.sid)
	ptWriteWS(t, ws, "2probe")
	require.Equal(t, "3probe", ptReadWS(t, ws), "the answer to the probe")
	ptWriteWS(t, ws, "5")
	return ws
}

func TestUpgradeProbeAndSwitch(t *testing.T) {
	exercise.Start(t, "4.5")
	ptNoLeaks(t)
	got := make(chan ptGot, 8)
	s := startPTServer(t, events.Options{}, EngineOptions{}, func(sock *events.Socket) { sock.On("send-message", ptRecord(got)) })
	c, sock := s.ptConnect(t)

	// The client keeps a GET waiting, as socket.io-client does, and opens a
	// WebSocket with its sid.
	waiting := c.pollAsync()
	time.Sleep(50 * time.Millisecond)
	ws := ptDialWS(t, s, c.sid)
	ptWriteWS(t, ws, "2probe")
	assert.Equal(t, "3probe", ptReadWS(t, ws), "ping \"probe\" is answered with pong \"probe\" on the WebSocket")
	a := ptWait(t, waiting, "the waiting GET")
	assert.Equal(t, http.StatusOK, a.Status)
	assert.Equal(t, "6", a.Body, "the waiting GET is answered with a noop, so the client can pause polling")

	// Until "5" the session is still on polling: what the server sends now
	// waits, and goes first over the WebSocket, in order.
	require.NoError(t, sock.Emit("queued", 1))
	require.NoError(t, sock.Emit("queued", 2))
	require.NoError(t, sock.Emit("bin", []byte{1, 2, 0x1e}))
	time.Sleep(50 * time.Millisecond)
	ptWriteWS(t, ws, "5")
	assert.Equal(t, `42["queued",1]`, ptReadWS(t, ws))
	assert.Equal(t, `42["queued",2]`, ptReadWS(t, ws))
	assert.Equal(t, `451-["bin",{"_placeholder":true,"num":0}]`, ptReadWS(t, ws))
	typ, p := ptReadWSFrame(t, ws)
	assert.Equal(t, websocket.BinaryMessage, typ, "an attachment is a binary message on the WebSocket")
	assert.Equal(t, []byte{1, 2, 0x1e}, p)

	// From now on the WebSocket carries the session, both ways.
	require.NoError(t, sock.Emit("after", 3))
	assert.Equal(t, `42["after",3]`, ptReadWS(t, ws))
	ptWriteWS(t, ws, `42["send-message","via ws"]`)
	assert.Equal(t, []string{`"via ws"`}, ptWait(t, got, "an event over the WebSocket").Args)

	// Long-polling is over for this session: 400 code 3, and the session
	// goes on.
	ptEngineError(t, c.get(), http.StatusBadRequest, 3, "Bad request", "GET after the upgrade")
	ptEngineError(t, c.postRaw(`42["send-message","via polling"]`), http.StatusBadRequest, 3, "Bad request", "POST after the upgrade")
	ptNoEvent(t, got, "POST after the upgrade")
	// A second WebSocket for the session is accepted and closed at once,
	// as engine.io does; the first keeps the session.
	ws2, _, err := websocket.DefaultDialer.Dial(ptWSURL(s, c.sid), nil)
	require.NoError(t, err, "a second WebSocket for an upgraded session: the handshake succeeds")
	require.NoError(t, ws2.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, _, err = ws2.ReadMessage()
	assert.True(t, websocket.IsCloseError(err, websocket.CloseNormalClosure), "the second WebSocket is closed by the server, cleanly: %v", err)
	ws2.Close()
	require.NoError(t, sock.Emit("still", 4))
	assert.Equal(t, `42["still",4]`, ptReadWS(t, ws))

	// Closing the WebSocket ends the session.
	require.NoError(t, ws.Close())
	assert.Equal(t, events.ReasonTransportClose, s.reasonFor(t, sock.ID(), "the WebSocket closed after the upgrade"))
}

func TestUpgradeHeartbeatMovesToWebSocket(t *testing.T) {
	exercise.Start(t, "4.5")
	ptNoLeaks(t)
	s := startPTServer(t, events.Options{PingInterval: 200 * time.Millisecond, PingTimeout: 600 * time.Millisecond}, EngineOptions{}, nil)
	c, sock := s.ptConnect(t)
	ws := ptUpgrade(t, c)
	pings := 0
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		if msg := ptReadWS(t, ws); msg == "2" {
			pings++
			ptWriteWS(t, ws, "3")
		}
	}
	assert.GreaterOrEqual(t, pings, 3, "pings every PingInterval over the WebSocket")
	assert.True(t, sock.Connected(), "a client that answers pings on the WebSocket stays")

	// No more pongs: the session's read deadline now applies to the WebSocket.
	assert.Equal(t, events.ReasonPingTimeout, s.reasonFor(t, sock.ID(), "no pong over the WebSocket"))
}

func TestUpgradeFailureStaysOnPolling(t *testing.T) {
	exercise.Start(t, "4.5")
	ptNoLeaks(t)
	got := make(chan ptGot, 8)
	s := startPTServer(t, events.Options{}, EngineOptions{UpgradeTimeout: 300 * time.Millisecond},
		func(sock *events.Socket) { sock.On("send-message", ptRecord(got)) })
	c, sock := s.ptConnect(t)

	// A probe that is not "2probe": the WebSocket is closed.
	ws := ptDialWS(t, s, c.sid)
	ptWriteWS(t, ws, "2hello")
	ptClosedWS(t, ws, "a bad probe")
	ptStillServed(t, c, sock, got)

	// No "5" within UpgradeTimeout: the WebSocket is closed.
	ws = ptDialWS(t, s, c.sid)
	ptWriteWS(t, ws, "2probe")
	assert.Equal(t, "3probe", ptReadWS(t, ws))
	took := ptClosedWS(t, ws, "no upgrade packet")
	assert.Greater(t, took, 200*time.Millisecond, "the server waits UpgradeTimeout for \"5\"")

	// The session goes on over polling, as if nothing had happened…
	ptStillServed(t, c, sock, got)

	// …and can still upgrade.
	ws = ptUpgrade(t, c)
	require.NoError(t, sock.Emit("upgraded", true))
	assert.Equal(t, `42["upgraded",true]`, ptReadWS(t, ws))
	ptEngineError(t, c.get(), http.StatusBadRequest, 3, "Bad request", "GET after the upgrade")
}

func TestUpgradeRefused(t *testing.T) {
	exercise.Start(t, "4.5")
	ptNoLeaks(t)
	got := make(chan ptGot, 8)
	s := startPTServer(t, events.Options{}, EngineOptions{}, func(sock *events.Socket) { sock.On("send-message", ptRecord(got)) })
	c, sock := s.ptConnect(t)

	_, resp, err := websocket.DefaultDialer.Dial(ptWSURL(s, "nobody"), nil)
	require.Error(t, err, "an upgrade for an unknown sid")
	require.NotNil(t, resp, "an HTTP answer to the upgrade: %v", err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ptEngineError(t, ptAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}, http.StatusBadRequest, 1, "Session ID unknown", "an upgrade for an unknown sid")

	// transport=websocket with the sid, but not a WebSocket handshake.
	a := ptDo(t, s.hs.Client(), http.MethodGet, s.url+"?"+ptQuery("websocket", c.sid), "")
	ptEngineError(t, a, http.StatusBadRequest, 3, "Bad request", "transport=websocket without the WebSocket handshake")
	ptStillServed(t, c, sock, got)
}

func TestUpgradeSessionEndsWhileProbing(t *testing.T) {
	exercise.Start(t, "4.5")
	ptNoLeaks(t)
	s := startPTServer(t, events.Options{}, EngineOptions{}, nil)
	c, sock := s.ptConnect(t)
	ws := ptDialWS(t, s, c.sid)
	ptWriteWS(t, ws, "2probe")
	require.Equal(t, "3probe", ptReadWS(t, ws))
	c.post("1") // the client closes the session over polling
	assert.Equal(t, events.ReasonTransportClose, s.reasonFor(t, sock.ID(), "close packet over polling"))
	took := ptClosedWS(t, ws, "the session ended during the upgrade")
	assert.Less(t, took, 2*time.Second, "the probing WebSocket is closed with the session, not after UpgradeTimeout (10s)")
}

func TestUpgradePollCrossingTheSwitch(t *testing.T) {
	exercise.Start(t, "4.5")
	ptNoLeaks(t)
	s := startPTServer(t, events.Options{}, EngineOptions{}, nil)
	c, sock := s.ptConnect(t)
	ws := ptDialWS(t, s, c.sid)
	ptWriteWS(t, ws, "2probe")
	require.Equal(t, "3probe", ptReadWS(t, ws))

	// A client pauses polling once its probe is answered, so a GET that
	// comes now has most likely crossed the client's "5" on the way. The
	// server holds it a little (up to 100 ms, as engine.io) and, with no
	// "5" meanwhile, ends it with a noop.
	start := time.Now()
	a := c.get()
	assert.Equal(t, http.StatusOK, a.Status, "a GET during the upgrade: body %q", a.Body)
	assert.Equal(t, "6", a.Body, "a GET during the upgrade ends with a noop")
	assert.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond, "a GET that comes after the probe was answered is held for the upgrade")

	// A second WebSocket while this one upgrades is accepted and closed.
	ws2 := ptDialWS(t, s, c.sid)
	ptClosedWS(t, ws2, "a second WebSocket during the upgrade")

	// A GET held when "5" arrives is refused like any poll after the
	// upgrade: the session is on its WebSocket.
	held := c.pollAsync()
	select {
	case a := <-held:
		t.Fatalf("a GET during the upgrade was answered at once: %+v", a)
	case <-time.After(30 * time.Millisecond):
	}
	ptWriteWS(t, ws, "5")
	ptEngineError(t, ptWait(t, held, "the GET held across the switch"), http.StatusBadRequest, 3, "Bad request", "a GET that crossed the upgrade packet")
	require.NoError(t, sock.Emit("upgraded", 1))
	assert.Equal(t, `42["upgraded",1]`, ptReadWS(t, ws), "the session goes on over its WebSocket")
}

// ptGatedUpgrader holds every WebSocket handshake until gate is closed.
type ptGatedUpgrader struct{ gate <-chan struct{} }

func (g ptGatedUpgrader) Upgrade(w http.ResponseWriter, r *http.Request) (events.Transport, error) {
	select {
	case <-g.gate:
	case <-r.Context().Done():
		http.Error(w, "gone", http.StatusServiceUnavailable)
		return nil, r.Context().Err()
	}
	return events.GorillaUpgrader{}.Upgrade(w, r)
}

// ptWaitUpgraded waits until the session sid is on its WebSocket: from then
// on a POST of a noop "6" is refused with 400 code 3 (before, it is "ok"
// and does nothing).
func ptWaitUpgraded(t *testing.T, s *ptServer, sid string) {
	t.Helper()
	for deadline := time.Now().Add(ptTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		req, err := http.NewRequest(http.MethodPost, s.url+"?"+ptQuery("polling", sid), strings.NewReader("6"))
		require.NoError(t, err)
		req.Header.Set("X-Test", "1")
		resp, err := s.hs.Client().Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			continue
		}
		var e struct{ Code int }
		require.NoError(t, json.Unmarshal(b, &e), "%d %q", resp.StatusCode, b)
		require.Equal(t, 3, e.Code, "the session on a WebSocket refuses polling with code 3: %q", b)
		return
	}
	t.Fatalf("session %s did not move to its WebSocket within %v", sid, ptTimeout)
}

func TestUpgradeNodeClientDefaultOptions(t *testing.T) {
	exercise.Start(t, "4.5")
	ptNoLeaks(t)
	got := make(chan ptGot, 8)
	var reqs ptRequests
	gate := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	s := startPTServer(t, events.Options{Upgrader: ptGatedUpgrader{gate}}, EngineOptions{AllowRequest: reqs.allow}, ptNodeHandlers(got))
	t.Cleanup(release)

	// socket.io-client's defaults: long-polling first, then the upgrade.
	node := nodepeer.StartSIOClient(t, s.hs.URL, map[string]any{"reconnection": false})
	node.AnswerAcks("confirm", "yes")
	id := node.WaitFor("connect", "", ptTimeout).ID
	sock := s.nextSocket(t, "the npm client")
	assert.Equal(t, sock.ID(), id)

	// While the WebSocket handshake is held back, everything goes over polling.
	ptNodeExchange(t, node, sock, got, "before the upgrade")
	var sid string
	for deadline := time.Now().Add(ptTimeout); sid == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, ws := reqs.counts(); len(ws) > 0 {
			sid = ws[0]
		}
	}
	require.NotEmpty(t, sid, "the client opens a WebSocket with its polling session's sid")

	release()
	ptWaitUpgraded(t, s, sid)
	polling, websocket := reqs.counts()
	assert.Equal(t, []string{sid}, websocket, "one WebSocket, for the upgrade")

	ptNodeExchange(t, node, sock, got, "after the upgrade")
	again, _ := reqs.counts()
	assert.Equal(t, polling, again, "no long-polling request after the upgrade")
	assert.True(t, sock.Connected(), "the same socket, moved to the WebSocket")

	node.Disconnect()
	assert.Equal(t, events.ReasonClientDisconnect, s.reasonFor(t, sock.ID(), "socket.disconnect() after the upgrade"))
}

// ptEcho is a plain Engine.IO layer (events.Options.Messages) that sends
// every message back as it came, and reports how each session ended.
type ptEcho struct{ closed chan ptLeft }

func (ptEcho) OpenSession(*events.EngineSession) {}
func (e ptEcho) CloseSession(s *events.EngineSession, reason string) {
	e.closed <- ptLeft{s.ID(), reason}
}
func (ptEcho) Message(s *events.EngineSession, p []byte, binary bool) error {
	return s.Send(p, binary)
}

func TestEnginePlainEngineIOOverPollingAndTheUpgrade(t *testing.T) {
	exercise.Start(t, "4.5")
	ptNoLeaks(t)
	echo := ptEcho{closed: make(chan ptLeft, 4)}
	s := startPTServer(t, events.Options{Messages: echo}, EngineOptions{}, nil)

	// Over polling: the messages are Engine.IO's, not Socket.IO packets
	// ("4hello" is no Socket.IO packet at all), and they come back in the
	// order they were posted, binary ones base64-encoded.
	c := s.ptHandshake(t)
	assert.Equal(t, []string{"websocket"}, c.open.Upgrades, "a plain Engine.IO session upgrades as any other")
	c.post("4hello", "bAQIDBA==", "4")
	assert.Equal(t, []string{"4hello", "bAQIDBA==", "4"}, c.poll(), "the echo of a payload with text and binary messages")

	// Across the upgrade: the WebSocket carries the messages on.
	ws := ptUpgrade(t, c)
	ptWriteWS(t, ws, "4after the upgrade")
	assert.Equal(t, "4after the upgrade", ptReadWS(t, ws))
	require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, []byte{5, 6}))
	typ, p := ptReadWSFrame(t, ws)
	assert.Equal(t, websocket.BinaryMessage, typ, "a binary message over the WebSocket is a binary frame")
	assert.Equal(t, []byte{5, 6}, p)

	require.NoError(t, ws.Close())
	assert.Equal(t, ptLeft{c.sid, events.ReasonTransportClose}, ptWait(t, echo.closed, "CloseSession after the WebSocket closed"))
	assert.Empty(t, s.sockets, "no Socket.IO socket on a plain Engine.IO server")
}
