package rawws

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xws "golang.org/x/net/websocket"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// A closeOutcome is what a server handler saw when it closed: Close's
// result, how long it took, and what a read returned afterwards.
type closeOutcome struct {
	err       error
	took      time.Duration
	readAfter error
}

// newClosingServer is a rawws server that waits for a text message
// "close with CODE" and then calls Close(CODE, "reason for CODE"). setup, if
// not nil, runs on the Conn first.
func newClosingServer(t *testing.T, setup func(*Conn)) (*testServer, <-chan closeOutcome) {
	t.Helper()
	out := make(chan closeOutcome, 16)
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
		c, err := (&Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			out <- closeOutcome{err: err}
			return
		}
		defer c.CloseNow()
		if setup != nil {
			setup(c)
		}
		_, p, err := c.ReadMessage()
		if err != nil {
			out <- closeOutcome{err: fmt.Errorf("reading the request to close: %w", err)}
			return
		}
		var code int
		if _, err := fmt.Sscanf(string(p), "close with %d", &code); err != nil {
			out <- closeOutcome{err: fmt.Errorf("unexpected message %q", p)}
			return
		}
		start := time.Now()
		err = c.Close(code, fmt.Sprintf("reason for %d", code))
		took := time.Since(start)
		_, _, readAfter := c.ReadMessage()
		out <- closeOutcome{err, took, readAfter}
	})
	return s, out
}

// Close(1000, "bye") runs the closing handshake (RFC 6455 §5.5.1, §7.1.2):
// the peer gets a close frame with the code and reason, echoes it, and the
// server then closes the TCP connection itself, first (§7.1.1), without
// waiting for the client to. Later reads return a *CloseError.
func TestCloseSendsCodeAndReasonThenServerClosesTCPFirst(t *testing.T) {
	exercise.Start(t, "2.9")
	noLeaks(t)
	s, outcomes := newClosingServer(t, nil)
	p := rawClientOf(t, s, "/")
	p.send(p.frame(wireText, true, []byte("close with 1000")))
	code, reason := p.closeFrame("the server's close frame")
	assert.Equal(t, 1000, code, "the close frame carries the code given to Close (RFC 6455 §5.5.1)")
	assert.Equal(t, "reason for 1000", reason, "the close frame carries the reason given to Close (RFC 6455 §5.5.1)")

	p.send(p.frame(wireClose, true, wireClosePayload(1000, "")))
	p.expectTCPClosed("after the client echoed the close frame, the server closes the TCP connection first (RFC 6455 §7.1.1)")
	o := waitFor(t, outcomes, "Close to return")
	require.NoError(t, o.err, "Close after the peer echoed the close frame")
	requireCloseError(t, o.readAfter, 1000, "ReadMessage after the closing handshake")
}

// The client side of the closing handshake: Close sends a masked close
// frame, and returns once the server has echoed it and closed the TCP
// connection.
func TestClientCloseSendsMaskedCloseFrame(t *testing.T) {
	exercise.Start(t, "2.9")
	noLeaks(t)
	c, p := clientConnWithRawServer(t)
	closed := make(chan error, 1)
	go func() { closed <- c.Close(1001, "client going away") }()
	code, reason := p.closeFrame("the client's close frame") // p.next checks the mask
	assert.Equal(t, 1001, code)
	assert.Equal(t, "client going away", reason)
	p.send(p.frame(wireClose, true, wireClosePayload(1001, "")))
	p.nc.Close() // the server closes TCP first (RFC 6455 §7.1.1)
	require.NoError(t, waitFor(t, closed, "the client's Close to return"), "Close after the server echoed and closed")
}

// A peer that never answers the close frame cannot hold Close for longer
// than the close timeout; the TCP connection is closed anyway.
func TestCloseGivesUpOnSilentPeerAfterCloseTimeout(t *testing.T) {
	exercise.Start(t, "2.9")
	noLeaks(t)
	const timeout = 200 * time.Millisecond
	s, outcomes := newClosingServer(t, func(c *Conn) { c.SetCloseTimeout(timeout) })
	p := rawClientOf(t, s, "/")
	p.send(p.frame(wireText, true, []byte("close with 1001")))
	code, _ := p.closeFrame("the server's close frame")
	require.Equal(t, 1001, code)
	// ... and say nothing.
	p.expectTCPClosed("the peer never answered the close frame; after the close timeout the server must close TCP anyway")
	o := waitFor(t, outcomes, "Close to return")
	assert.GreaterOrEqual(t, o.took, timeout-10*time.Millisecond, "Close returned after %v, before the close timeout of %v: it must wait for the peer's close frame (RFC 6455 §7.1.2)", o.took, timeout)
	assert.Less(t, o.took, timeout+3*time.Second, "Close took %v with a close timeout of %v", o.took, timeout)
}

// When the peer closes first, ReadMessage returns a *CloseError with the
// peer's code and reason, the server echoes the code (RFC 6455 §5.5.1: "the
// endpoint typically echos the status code it received") and closes the TCP
// connection first (§7.1.1).
func TestPeerCloseIsEchoedAndReadReturnsCloseError(t *testing.T) {
	exercise.Start(t, "2.9")
	noLeaks(t)
	s := newEchoServer(t, &Upgrader{}, nil)
	p := rawClientOf(t, s.testServer, "/")
	p.send(p.frame(wireClose, true, wireClosePayload(1001, "going away")))
	code, _ := p.closeFrame("the server's echo of the close frame")
	assert.Equal(t, 1001, code, "the echoed close frame carries the peer's code (RFC 6455 §5.5.1)")
	p.expectTCPClosed("after echoing the client's close, the server closes TCP first (RFC 6455 §7.1.1)")
	ce := requireCloseError(t, waitFor(t, s.ended, "the server's read loop to end"), 1001, "ReadMessage after the peer's close frame")
	assert.Equal(t, "going away", ce.Reason, "CloseError.Reason is the peer's reason")
}

// A close frame with no body means "no status code": ReadMessage reports
// 1005 (RFC 6455 §7.1.5), and the echo is an empty close frame too (1005 is
// never sent on the wire, §7.4.1).
func TestPeerCloseWithoutCodeReads1005AndIsEchoedEmpty(t *testing.T) {
	exercise.Start(t, "2.9")
	noLeaks(t)
	s := newEchoServer(t, &Upgrader{}, nil)
	p := rawClientOf(t, s.testServer, "/")
	p.send(p.frame(wireClose, true, nil))
	var echo wireFrame
	for range 100 {
		if echo = p.next("the server's echo of an empty close frame"); echo.Op == wireClose {
			break
		}
	}
	require.Equal(t, wireClose, echo.Op)
	assert.Empty(t, echo.Payload, "the echo of a close frame without a code has no code either (RFC 6455 §7.4.1: 1005 is never sent)")
	p.expectTCPClosed("after echoing the client's close")
	ce := requireCloseError(t, waitFor(t, s.ended, "the server's read loop to end"), CloseNoStatus, "ReadMessage after a close frame without a code")
	assert.Empty(t, ce.Reason)
}

// The close handler gets the peer's code and reason before the Conn answers.
func TestCloseHandlerGetsPeerCodeAndReason(t *testing.T) {
	exercise.Start(t, "2.9")
	noLeaks(t)
	c, p := serverConnWithRawClient(t)
	type call struct {
		code   int
		reason string
	}
	var calls []call
	c.SetCloseHandler(func(code int, reason string) { calls = append(calls, call{code, reason}) })
	p.send(p.frame(wireClose, true, wireClosePayload(4001, "custom reason")))
	_, _, err := c.ReadMessage()
	ce := requireCloseError(t, err, 4001, "ReadMessage after the peer's close")
	assert.Equal(t, "custom reason", ce.Reason)
	assert.Equal(t, []call{{4001, "custom reason"}}, calls, "the close handler is called once with the peer's code and reason")
	code, _ := p.closeFrame("the echo")
	assert.Equal(t, 4001, code)
	p.expectTCPClosed("after the echo")
}

// Calling Close again, or after the peer has closed, is harmless and
// returns nil.
func TestCloseTwiceIsHarmless(t *testing.T) {
	exercise.Start(t, "2.9")
	noLeaks(t)

	c, p := serverConnWithRawClient(t)
	closed := make(chan error, 1)
	go func() { closed <- c.Close(1000, "") }()
	code, _ := p.closeFrame("the close frame")
	require.Equal(t, 1000, code)
	p.send(p.frame(wireClose, true, wireClosePayload(1000, "")))
	require.NoError(t, waitFor(t, closed, "Close to return"))
	assert.NoError(t, c.Close(1000, ""), "a second Close")
	assert.NoError(t, c.Close(1001, "again"), "a third Close")

	// After the peer closed.
	c2, p2 := serverConnWithRawClient(t)
	p2.send(p2.frame(wireClose, true, wireClosePayload(1000, "")))
	_, _, err := c2.ReadMessage()
	requireCloseError(t, err, 1000, "ReadMessage after the peer's close")
	assert.NoError(t, c2.Close(1000, ""), "Close after the peer closed and the handshake completed")
}

// A TCP connection that ends without a close frame is an abnormal closure:
// reads return a *CloseError with 1006 (RFC 6455 §7.1.5, §7.4.1).
func TestTCPDroppedWithoutCloseReads1006(t *testing.T) {
	exercise.Start(t, "2.9")
	noLeaks(t)
	s := newEchoServer(t, &Upgrader{}, nil)
	p := rawClientOf(t, s.testServer, "/")
	p.send(p.frame(wireText, true, []byte("hello")))
	_, msg := p.readMessage("the echo")
	require.Equal(t, "hello", string(msg))
	p.nc.Close()
	requireCloseError(t, waitFor(t, s.ended, "the server's read loop to end"), CloseAbnormal, "ReadMessage after the TCP connection dropped without a close frame")
}

// Close may be called while another goroutine is blocked reading: the
// reader gets the peer's close frame and returns a *CloseError, and Close
// returns once the handshake is done.
func TestCloseWhileReaderIsBlocked(t *testing.T) {
	exercise.Start(t, "2.9")
	noLeaks(t)
	c, p := serverConnWithRawClient(t)
	reads := readInBackground(t, c)
	p.send(p.frame(wireText, true, []byte("first")))
	r := nextRead(t, reads, "the first message")
	require.NoError(t, r.err)
	require.Equal(t, "first", string(r.p))
	// The reader is now (or soon) blocked in ReadMessage.

	closed := make(chan error, 1)
	go func() { closed <- c.Close(1000, "bye") }()
	code, reason := p.closeFrame("the close frame")
	require.Equal(t, 1000, code)
	require.Equal(t, "bye", reason)
	p.send(p.frame(wireClose, true, wireClosePayload(1000, "ok")))

	r = nextRead(t, reads, "the blocked reader to return")
	requireCloseError(t, r.err, 1000, "the reader blocked while Close ran")
	require.NoError(t, waitFor(t, closed, "Close to return"))
	p.expectTCPClosed("after the closing handshake")
}

// validCodes are close codes a peer may send (RFC 6455 §7.4).
var validCodes = []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}

// gorilla/websocket v1.5.3 predates the registration of 1014 (Bad Gateway)
// and fails a connection that receives it; it can send it, though.
const gorillaUnknownCode = 1014

// Every valid close code, and its reason, reaches gorilla/websocket when a
// rawws server closes, and gorilla's echo completes the handshake.
func TestCloseCodesReachGorillaPeer(t *testing.T) {
	exercise.Start(t, "2.9")
	noLeaks(t)
	s, outcomes := newClosingServer(t, nil)
	for _, code := range validCodes {
		if code == gorillaUnknownCode {
			continue // see TestCloseCodesBetweenRawwsPeers
		}
		g := gorillaDial(t, s.wsURL("/"), nil)
		require.NoError(t, g.WriteMessage(gws.TextMessage, []byte(fmt.Sprintf("close with %d", code))))
		require.NoError(t, g.SetReadDeadline(time.Now().Add(ioTimeout)))
		_, _, err := g.ReadMessage()
		var ce *gws.CloseError
		require.ErrorAs(t, err, &ce, "gorilla/websocket reading after the rawws server's Close(%d)", code)
		assert.Equal(t, code, ce.Code, "the code gorilla/websocket received")
		assert.Equal(t, fmt.Sprintf("reason for %d", code), ce.Text, "the reason gorilla/websocket received")
		o := waitFor(t, outcomes, "the server's Close to return")
		assert.NoError(t, o.err, "Close(%d) after gorilla/websocket echoed", code)
		g.Close()
	}
}

// Every valid close code, and its reason, sent by gorilla/websocket, comes
// out of a rawws server's ReadMessage as a *CloseError, and the echo carries
// the same code.
func TestCloseCodesFromGorillaReachRawws(t *testing.T) {
	exercise.Start(t, "2.9")
	noLeaks(t)
	s := newEchoServer(t, &Upgrader{}, nil)
	for _, code := range validCodes {
		g := gorillaDial(t, s.wsURL("/"), nil)
		reason := fmt.Sprintf("gorilla says %d", code)
		require.NoError(t, g.WriteControl(gws.CloseMessage, gws.FormatCloseMessage(code, reason), time.Now().Add(ioTimeout)))
		ce := requireCloseError(t, waitFor(t, s.ended, "the rawws server's read loop to end"), code, "ReadMessage after gorilla/websocket closed")
		assert.Equal(t, reason, ce.Reason)
		if code != gorillaUnknownCode {
			require.NoError(t, g.SetReadDeadline(time.Now().Add(ioTimeout)))
			_, _, err := g.ReadMessage()
			var gce *gws.CloseError
			require.ErrorAs(t, err, &gce, "gorilla/websocket reading the echo of its close frame")
			assert.Equal(t, code, gce.Code, "the echoed close frame carries the same code (RFC 6455 §5.5.1)")
		}
		g.Close()
	}
}

// Every valid close code, and its reason, goes from a rawws server to a
// rawws client.
func TestCloseCodesBetweenRawwsPeers(t *testing.T) {
	exercise.Start(t, "2.9")
	noLeaks(t)
	s, outcomes := newClosingServer(t, nil)
	for _, code := range validCodes {
		c := dialT(t, &Dialer{}, s.wsURL("/"))
		require.NoError(t, c.WriteMessage(OpText, []byte(fmt.Sprintf("close with %d", code))))
		require.NoError(t, c.SetReadDeadline(time.Now().Add(ioTimeout)))
		_, _, err := c.ReadMessage()
		ce := requireCloseError(t, err, code, "ReadMessage on the rawws client")
		assert.Equal(t, fmt.Sprintf("reason for %d", code), ce.Reason)
		o := waitFor(t, outcomes, "the server's Close to return")
		assert.NoError(t, o.err, "the server's Close(%d)", code)
		assert.NoError(t, c.Close(1000, ""), "Close on the client after the handshake is harmless")
	}
}

// Closing works with golang.org/x/net/websocket, which neither reports codes
// nor echoes close frames: its close reaches a rawws server as 1000, and a
// rawws server's Close ends its reads.
func TestCloseWithXNet(t *testing.T) {
	exercise.Start(t, "2.9")
	noLeaks(t)
	s := newEchoServer(t, &Upgrader{}, nil)
	ws := xnetDial(t, s.testServer)
	require.NoError(t, ws.Close())
	requireCloseError(t, waitFor(t, s.ended, "the rawws server's read loop to end"), 1000, "ReadMessage after x/net/websocket's Close")

	cs, outcomes := newClosingServer(t, func(c *Conn) { c.SetCloseTimeout(time.Second) })
	ws = xnetDial(t, cs)
	require.NoError(t, xws.Message.Send(ws, "close with 1000"))
	require.NoError(t, ws.SetDeadline(time.Now().Add(ioTimeout)))
	var got string
	assert.Error(t, xws.Message.Receive(ws, &got), "x/net/websocket reading after the server's close frame")
	ws.Close()
	assert.NoError(t, waitFor(t, outcomes, "the server's Close to return").err)
}
