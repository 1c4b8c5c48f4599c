package events

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 3.3: The Engine.IO session.
//
// engine.io-protocol v4, "Handshake": a client opens
// /socket.io/?EIO=4&transport=websocket; the server's first packet is OPEN
// with the session id, the transports it may upgrade to (none: this is
// already WebSocket), the heartbeat settings in milliseconds and the largest
// packet it accepts.
//
// engine.io-protocol v4, "Heartbeat": the server sends PING every
// pingInterval; the client answers PONG; a client that has not answered
// within pingTimeout is gone, and the server closes the connection.

func TestOpenPacketAnnouncesTheSession(t *testing.T) {
	exercise.Start(t, "3.3")
	ttNoLeaks(t)
	for _, tc := range []struct {
		name string
		opts Options
		want ttOpen
	}{
		{"default options", Options{}, ttOpen{PingInterval: 25000, PingTimeout: 20000, MaxPayload: 1000000}},
		{"options of the test", Options{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, MaxPayload: 12345},
			ttOpen{PingInterval: 300, PingTimeout: 200, MaxPayload: 12345}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startTTServer(t, tc.opts, nil)
			c := dialTTRaw(t, srv, "client", nil)

			var fields map[string]json.RawMessage
			require.NoError(t, json.Unmarshal([]byte(c.OpenRaw[1:]), &fields))
			for _, k := range []string{"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"} {
				assert.Contains(t, fields, k, "the open packet %q has no %q (engine.io-protocol v4, Handshake)", c.OpenRaw, k)
			}
			assert.NotEmpty(t, c.Open.Sid, "sid: the session id")
			assert.NotNil(t, c.Open.Upgrades, "upgrades: an array, here empty (WebSocket is the best transport there is), got %s", fields["upgrades"])
			assert.Empty(t, c.Open.Upgrades, "upgrades: nothing to upgrade to from WebSocket")
			assert.Equal(t, tc.want.PingInterval, c.Open.PingInterval, "pingInterval in ms (Options.PingInterval)")
			assert.Equal(t, tc.want.PingTimeout, c.Open.PingTimeout, "pingTimeout in ms (Options.PingTimeout)")
			assert.Equal(t, tc.want.MaxPayload, c.Open.MaxPayload, "maxPayload in bytes (Options.MaxPayload)")
		})
	}
}

func TestEverySessionHasItsOwnSid(t *testing.T) {
	exercise.Start(t, "3.3")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	seen := map[string]bool{}
	for i := range 10 {
		c := dialTTRaw(t, srv, "client", nil)
		require.False(t, seen[c.Open.Sid], "connection %d got sid %q, which an earlier connection had", i, c.Open.Sid)
		seen[c.Open.Sid] = true
	}
}

// ttHandshakeStatus tries to open the Engine.IO connection with query and
// returns the HTTP status and body of the refusal.
func ttHandshakeStatus(t *testing.T, srv *ttServer, query string) (int, string) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: ttTimeout}
	ws, resp, err := d.Dial(srv.wsURL(query), nil)
	if err == nil {
		ws.Close()
		t.Fatalf("GET /socket.io/?%s was upgraded to WebSocket; expected 400 Bad Request (engine.io-protocol v4, Handshake)", query)
	}
	require.NotNil(t, resp, "GET /socket.io/?%s: expected an HTTP answer, got %v", query, err)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(body)
}

func TestHandshakeRefusesWhatItCannotServe(t *testing.T) {
	exercise.Start(t, "3.3")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	// The error codes of the reference server (engine.io's Server.errors):
	// 0 "Transport unknown", 3 "Bad request", 5 "Unsupported protocol version".
	for _, tc := range []struct {
		name, query string
		code        int
		message     string
	}{
		{"Engine.IO v3 (socket.io v2 clients)", "EIO=3&transport=websocket", 5, "Unsupported protocol version"},
		{"no protocol version", "transport=websocket", 5, "Unsupported protocol version"},
		{"HTTP long-polling, which this server does not serve", "EIO=4&transport=polling", 0, "Transport unknown"},
		{"an unknown transport", "EIO=4&transport=carrier-pigeon", 0, "Transport unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := ttHandshakeStatus(t, srv, tc.query)
			assert.Equal(t, http.StatusBadRequest, status, "GET /socket.io/?%s: expected 400, got %d %q", tc.query, status, body)
			var e struct {
				Code    *int   `json:"code"`
				Message string `json:"message"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &e), "the body of the refusal is Engine.IO's JSON error {\"code\":N,\"message\":\"...\"}, got %q", body)
			require.NotNil(t, e.Code, "the error %q has no code", body)
			assert.Equal(t, tc.code, *e.Code, "error code for %s (got %q)", tc.query, body)
			assert.Equal(t, tc.message, e.Message, "error message for %s", tc.query)
		})
	}
	// And the server still serves a proper client.
	c := dialTTRaw(t, srv, "a proper client", nil)
	assert.NotEmpty(t, c.Open.Sid)
}

func TestServerPingsAndAClientThatPongsStaysConnected(t *testing.T) {
	exercise.Start(t, "3.3")
	ttNoLeaks(t)
	opts := ttShortHeartbeat()
	srv := startTTServer(t, opts, nil)
	c := dialTTRaw(t, srv, "a client that answers pings", nil)

	// Read (and answer) 8 pings: far more than pingInterval+pingTimeout.
	start := time.Now()
	deadline := start.Add(ttTimeout)
	for pings := 0; pings < 8; {
		binary, frame, err := c.readFrame(deadline)
		require.NoError(t, err, "after %d pings: a client that answers every PING with PONG must stay connected (engine.io-protocol v4, Heartbeat)", pings)
		require.False(t, binary, "only text frames are expected here")
		require.Equal(t, "2", string(frame), "the server's PING is the packet `2` (engine.io-protocol v4, Heartbeat)")
		pings++
		require.NoError(t, c.ws.WriteMessage(websocket.TextMessage, []byte("3")), "answering PING with PONG `3`")
	}
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, 6*opts.PingInterval,
		"8 pings at a pingInterval of %v came within %v: the server must wait pingInterval between pings", opts.PingInterval, elapsed)
}

func TestClientThatDoesNotPongIsClosed(t *testing.T) {
	exercise.Start(t, "3.3")
	ttNoLeaks(t)
	srv := startTTServer(t, ttShortHeartbeat(), nil)
	c := dialTTRaw(t, srv, "a client that never answers pings", nil)
	seen := c.expectClosed("no PONG within pingTimeout (engine.io-protocol v4, Heartbeat)")
	assert.Contains(t, seen, "2", "the server pings before it gives up on the client")
	for _, f := range seen {
		assert.True(t, f == "2" || f == "1", "between the open packet and the close only PING (and perhaps CLOSE) are expected, got %q", f)
	}

	// The server goes on serving others.
	other := dialTTRaw(t, srv, "another client", nil)
	assert.NotEqual(t, c.Open.Sid, other.Open.Sid)
}

func TestClientThatStopsPongingIsClosed(t *testing.T) {
	exercise.Start(t, "3.3")
	ttNoLeaks(t)
	// engine.io-protocol v4, Heartbeat: every PING starts a wait of
	// pingTimeout for its PONG, not only the first one. This client
	// answers a few pings, as a live client does, and then goes silent (a
	// laptop lid closes): it still reads, but answers nothing. The next
	// ping is due within pingInterval of the last pong, and its pong within
	// pingTimeout after that, so the server must close the session within
	// pingInterval+pingTimeout of the last pong (plus ttTimeout, for a
	// loaded machine).
	opts := ttShortHeartbeat()
	srv := startTTServer(t, opts, nil)
	c := dialTTRaw(t, srv, "a client that answers three pings, then none", nil)
	deadline := time.Now().Add(ttTimeout)
	for pings := 0; pings < 3; pings++ {
		binary, frame, err := c.readFrame(deadline)
		require.NoError(t, err, "after %d pings: a client that answers every PING with PONG must stay connected (engine.io-protocol v4, Heartbeat)", pings)
		require.False(t, binary, "only text frames are expected here")
		require.Equal(t, "2", string(frame), "the server's PING is the packet `2` (engine.io-protocol v4, Heartbeat)")
		c.send("3")
	}

	seen := c.expectClosedWithin(opts.PingInterval+opts.PingTimeout+ttTimeout,
		"no PONG within pingTimeout of a PING, after earlier pings were answered (engine.io-protocol v4, Heartbeat)")
	for _, f := range seen {
		assert.True(t, f == "2" || f == "1", "after the last pong only PING (and perhaps CLOSE) are expected, got %q", f)
	}
}

func TestHandshakeIgnoresOtherQueryParameters(t *testing.T) {
	exercise.Start(t, "3.3")
	ttNoLeaks(t)
	// ServeHTTP serves wherever the caller mounts it; here, at /socket.io/
	// with a query of its own next to EIO and transport.
	srv := startTTServer(t, Options{}, nil)
	d := websocket.Dialer{HandshakeTimeout: ttTimeout}
	ws, resp, err := d.Dial(srv.wsURL("room=lobby&EIO=4&transport=websocket&t=abc"), nil)
	if err != nil {
		status := "no answer"
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("extra query parameters must not stop the handshake, got %v (%s)", err, status)
	}
	defer ws.Close()
	require.NoError(t, ws.SetReadDeadline(time.Now().Add(ttTimeout)))
	_, p, err := ws.ReadMessage()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(p), `0{`), "the first packet is OPEN, got %q", p)
}

// Server.Attach is the door for transports that ServeHTTP does not make:
// lesson 04 hands it a long-polling transport, with upgrades ["websocket"].
// Here the test's own HTTP handler upgrades each request and attaches it.
// The session is the same as ServeHTTP's, and so is the read limit: a
// message over MaxPayload fails the transport's read, and gorilla answers
// it with close 1009, "message too big" (RFC 6455, section 7.4.1).
func TestAttachRunsASessionOnTheTransportItIsGiven(t *testing.T) {
	exercise.Start(t, "3.3")
	ttNoLeaks(t)
	const maxPayload = 1000
	srv := startTTServer(t, Options{MaxPayload: maxPayload}, ttEcho)
	attached, results := attachedTTServer(t, srv, []string{"websocket"})

	d := websocket.Dialer{HandshakeTimeout: ttTimeout}
	ws, _, err := d.Dial(attached.wsURL("EIO=4&transport=websocket"), nil)
	require.NoError(t, err, "the test's handler upgrades before it calls Attach")
	t.Cleanup(func() { _ = ws.Close() })
	got := ttWait(t, results, "Attach to return")
	require.NoError(t, got.Err, "Attach on an open Server")
	c := ttRawClientOn(t, "a client of an attached transport", ws)
	assert.Equal(t, c.Open.Sid, got.Sid, "Attach returns the sid of the open packet it wrote")
	assert.Equal(t, []string{"websocket"}, c.Open.Upgrades, "the open packet lists the upgrades Attach was given")
	assert.Equal(t, maxPayload, c.Open.MaxPayload, "maxPayload in bytes (Options.MaxPayload)")
	c.connect("/", "")
	srv.nextSocket(t, c.name)
	c.stillServed("over an attached transport")

	c.send(`42["echo","` + strings.Repeat("y", 2*maxPayload) + `"]`)
	closeErr := c.expectCloseFrame("a message over MaxPayload: the server closes the WebSocket with a close frame")
	assert.Equal(t, websocket.CloseMessageTooBig, closeErr.Code,
		"a message over MaxPayload: close code 1009, which the Transport sends once Attach has called its SetReadLimit(Options.MaxPayload)")
}

// RFC 6455 §5.5.2 and §5.5.3: a Ping is answered with a Pong that carries
// the same application data. §5.5.1: a Close is answered with a Close, and
// nothing follows it. §5.2: a payload's length takes 7, 16 or 64 bits, as
// it needs.
func TestWebSocketFramesOfEverySizeAndControlFramesAreAnswered(t *testing.T) {
	exercise.Start(t, "3.3")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, ttEcho)
	c := dialTTRaw(t, srv, "a client that sends WebSocket pings", nil)
	c.connect("/", "")
	srv.nextSocket(t, c.name)

	// Five echoes sent at once, so that they may wait together in the
	// server's queue: a 7-bit, a 16-bit and three 64-bit lengths.
	sizes := []int{100, 1000, 70_000, 70_001, 200_000}
	for i, n := range sizes {
		c.send(`42["echo",` + strconv.Itoa(i) + `,"` + strings.Repeat("z", n) + `"]`)
	}
	for i, n := range sizes {
		_, args := c.nextEvent("echoed")
		require.Len(t, args, 2, "echo %d", i)
		assert.JSONEq(t, strconv.Itoa(i), string(args[0]), "the echoes come back in the order they were sent")
		assert.Equal(t, n+2, len(args[1]), "echo %d: the %d-byte text comes back whole", i, n)
	}

	pongs := make(chan string, 1)
	c.ws.SetPongHandler(func(data string) error {
		select {
		case pongs <- data:
		default:
		}
		return nil
	})
	require.NoError(t, c.ws.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(ttTimeout)))
	// The server reads the ping before the echo, so its pong comes first;
	// the client's reads run the pong handler.
	c.stillServed("after a WebSocket ping")
	select {
	case got := <-pongs:
		assert.Equal(t, "are you there", got, "a Pong carries the Ping's application data (RFC 6455 §5.5.3)")
	default:
		t.Fatal("a WebSocket Ping must be answered with a Pong (RFC 6455 §5.5.2)")
	}

	require.NoError(t, c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(ttTimeout)))
	closeErr := c.expectCloseFrame("a Close must be answered with a Close (RFC 6455 §5.5.1)")
	assert.Equal(t, websocket.CloseNormalClosure, closeErr.Code, "the answer to a Close 1000 echoes its code")
}

func TestConnectTimeoutClosesASessionThatJoinsNoNamespace(t *testing.T) {
	exercise.Start(t, "3.3")
	ttNoLeaks(t)
	const timeout = 300 * time.Millisecond
	srv := startTTServer(t, Options{ConnectTimeout: timeout}, ttEcho)
	joined := dialTTRaw(t, srv, "a client that joins /", nil)
	joined.connect("/", "")

	idle := dialTTRaw(t, srv, "a client that never sends CONNECT", nil)
	start := time.Now()
	idle.expectClosed("no CONNECT within Options.ConnectTimeout (socket.io's connectTimeout)")
	took := time.Since(start)
	assert.GreaterOrEqual(t, took, timeout*2/3, "the session is closed after ConnectTimeout, not before")
	assert.Less(t, took, timeout+2*time.Second, "the session is closed about ConnectTimeout after it opened")

	time.Sleep(timeout) // past the joined client's timeout too
	joined.stillServed("a client that joined a namespace within ConnectTimeout")
}

// ttMessages is a MessageHandler that echoes every message and reports what
// it sees; a message "fail" makes Message return an error.
type ttMessages struct {
	opened   chan *EngineSession
	messages chan ttMessage
	closed   chan ttLeft
}

type ttMessage struct {
	Sid    string
	Data   string
	Binary bool
}

func newTTMessages() *ttMessages {
	return &ttMessages{opened: make(chan *EngineSession, 8), messages: make(chan ttMessage, 64), closed: make(chan ttLeft, 8)}
}

func (h *ttMessages) OpenSession(s *EngineSession) { h.opened <- s }

func (h *ttMessages) CloseSession(s *EngineSession, reason string) {
	h.closed <- ttLeft{ID: s.ID(), Reason: reason}
}

func (h *ttMessages) Message(s *EngineSession, p []byte, binary bool) error {
	h.messages <- ttMessage{s.ID(), string(p), binary}
	if string(p) == "fail" {
		return errors.New("the handler refuses this message")
	}
	return s.Send(p, binary)
}

func TestPlainEngineIOSessionCarriesMessages(t *testing.T) {
	exercise.Start(t, "3.3")
	ttNoLeaks(t)
	h := newTTMessages()
	opts := Options{
		Messages:       h,
		PingInterval:   50 * time.Millisecond,
		PingTimeout:    time.Second, // the client reads (and pongs) only when the test asks
		ConnectTimeout: 100 * time.Millisecond,
	}
	srv := startTTServer(t, opts, nil)
	c := dialTTRaw(t, srv, "a plain Engine.IO client", nil)
	sess := ttWait(t, h.opened, "OpenSession")
	assert.Equal(t, c.Open.Sid, sess.ID(), "the EngineSession's ID is the sid of the open packet")
	assert.Equal(t, "EIO=4&transport=websocket", sess.Query().Encode(), "the EngineSession keeps the query of the request that opened it")

	// A message is the layer above's, whatever it looks like: "40" would be
	// a Socket.IO CONNECT, but here it is the message "0".
	for _, msg := range []string{"hello", "0", `2["event"]`, ""} {
		c.send("4" + msg)
		assert.Equal(t, ttMessage{sess.ID(), msg, false}, ttWait(t, h.messages, "Message"), "text packet 4%s", msg)
		assert.Equal(t, "4"+msg, c.nextText("the echo of 4"+msg), "Send(p, false) is the packet \"4\" + p")
	}
	c.sendBinary([]byte{1, 2, 3})
	assert.Equal(t, ttMessage{sess.ID(), "\x01\x02\x03", true}, ttWait(t, h.messages, "Message"), "a binary frame is a binary message")
	binary, frame := c.nextFrame("the echo of a binary message")
	assert.True(t, binary, "Send(p, true) is one binary frame")
	assert.Equal(t, []byte{1, 2, 3}, frame)

	// Send works from any goroutine, outside Message too; the heartbeat
	// goes on (nextText answers pings); and there is no connect timeout
	// (Socket.IO's, which does not apply here).
	time.Sleep(3 * opts.ConnectTimeout)
	require.NoError(t, sess.Send([]byte("from the server"), false))
	assert.Equal(t, "4from the server", c.nextText("a message sent outside Message"))
	select {
	case l := <-h.closed:
		t.Fatalf("a plain session that answers pings was closed: %+v", l)
	default:
	}

	// An error from Message ends that session, and only that one.
	other := dialTTRaw(t, srv, "another plain client", nil)
	otherSess := ttWait(t, h.opened, "OpenSession of the other client")
	other.send("4fail")
	ttWait(t, h.messages, "Message")
	other.expectClosed("Message returned an error")
	assert.Equal(t, ttLeft{otherSess.ID(), ReasonTransportError}, ttWait(t, h.closed, "CloseSession"), "an error from Message is a transport error")
	c.send("4still here")
	ttWait(t, h.messages, "Message")
	assert.Equal(t, "4still here", c.nextText("the first client, after the other failed"))

	// EngineSession.Close ends the session.
	sess.Close()
	c.expectClosed("EngineSession.Close")
	assert.Equal(t, ttLeft{sess.ID(), ReasonServerDisconnect}, ttWait(t, h.closed, "CloseSession"))
	assert.ErrorIs(t, sess.Send([]byte("late"), false), ErrDisconnected, "Send after the end")
	assert.Empty(t, srv.connected, "no Socket.IO socket was ever made")
}
