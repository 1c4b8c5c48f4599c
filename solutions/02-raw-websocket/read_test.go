package rawws

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xws "golang.org/x/net/websocket"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// A close frame may carry 1000–1003, 1007–1014 (the codes of §7.4.1 and the
// IANA registry) and 3000–4999 (for libraries and applications, §7.4.2).
// 1004 is reserved, 1005, 1006 and 1015 must never be sent, 1016–2999 are
// unassigned, and the rest are out of range.
func TestValidCloseCodeFollowsSection74(t *testing.T) {
	exercise.Start(t, "2.7")
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4001, 4999} {
		assert.True(t, ValidCloseCode(code), "ValidCloseCode(%d) must be true (RFC 6455 §7.4)", code)
	}
	for _, code := range []int{-1, 0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535, 1 << 20} {
		assert.False(t, ValidCloseCode(code), "ValidCloseCode(%d) must be false (RFC 6455 §7.4)", code)
	}
}

// maskedRFCFrame returns the frame masked with the key of the §5.7 examples, as a
// client would send it.
func maskedRFCFrame(ex rfcFrame) []byte {
	f := wireFrame{Fin: ex.header.Fin, Op: byte(ex.header.Opcode), Masked: true, Key: rfcKey, Payload: ex.payload}
	return f.encode()
}

func rfcFrameNamed(t *testing.T, name string) rfcFrame {
	for _, ex := range rfcFrames {
		if ex.name == name {
			return ex
		}
	}
	t.Fatalf("no RFC example %q", name)
	return rfcFrame{}
}

// A server Conn reading the masked frames of RFC 6455 §5.7 off the wire
// delivers the messages they carry, answers the ping with a pong carrying
// the same payload, and passes the pong to the pong handler.
func TestServerReadsRFC6455Section57Frames(t *testing.T) {
	exercise.Start(t, "2.7")
	noLeaks(t)
	c, p := serverConnWithRawClient(t)
	var pongs [][]byte
	c.SetPongHandler(func(b []byte) { pongs = append(pongs, bytes.Clone(b)) })

	var stream []byte
	stream = append(stream, rfcFrameNamed(t, "a single-frame masked text message").wire...) // exactly as printed
	stream = append(stream, maskedRFCFrame(rfcFrameNamed(t, "the first frame of a fragmented unmasked text message"))...)
	stream = append(stream, maskedRFCFrame(rfcFrameNamed(t, "the second frame of a fragmented unmasked text message"))...)
	stream = append(stream, maskedRFCFrame(rfcFrameNamed(t, "an unmasked ping"))...)
	stream = append(stream, rfcFrameNamed(t, "a masked pong").wire...) // exactly as printed
	stream = append(stream, maskedRFCFrame(rfcFrameNamed(t, "256 bytes of binary in a single unmasked frame"))...)
	stream = append(stream, maskedRFCFrame(rfcFrameNamed(t, "64 KiB of binary in a single unmasked frame"))...)
	written := p.writeAsync(stream)

	for _, want := range []testMessage{
		{OpText, []byte("Hello")},
		{OpText, []byte("Hello")},
		{OpBinary, payload256},
		{OpBinary, payload64K},
	} {
		op, got, err := c.ReadMessage()
		require.NoError(t, err, "ReadMessage of the RFC 6455 §5.7 examples: expected a %v", want)
		require.Equal(t, want.op, op)
		requireSameBytes(t, want.p, got, want.String()+" (RFC 6455 §5.7)")
	}
	require.NoError(t, waitFor(t, written, "the raw client's write"))
	assert.Equal(t, [][]byte{[]byte("Hello")}, pongs, "the pong handler gets the masked pong's payload (RFC 6455 §5.7)")

	// The answer to the ping: an unmasked pong with the ping's payload.
	require.NoError(t, p.nc.SetReadDeadline(time.Now().Add(ioTimeout)))
	got := make([]byte, 7)
	_, err := io.ReadFull(p.br, got)
	require.NoError(t, err, "the server's pong")
	assert.Equal(t, []byte{0x8a, 0x05, 'H', 'e', 'l', 'l', 'o'}, got, "the answer to the ping of RFC 6455 §5.7 is a pong with the same payload (§5.5.3)")
}

// A client Conn reading the unmasked frames of RFC 6455 §5.7, exactly as the
// RFC prints them, delivers their messages and answers the ping with a
// masked pong carrying the same payload.
func TestClientReadsRFC6455Section57Frames(t *testing.T) {
	exercise.Start(t, "2.7")
	noLeaks(t)
	c, p := clientConnWithRawServer(t)
	var stream []byte
	for _, name := range []string{
		"a single-frame unmasked text message",
		"the first frame of a fragmented unmasked text message",
		"the second frame of a fragmented unmasked text message",
		"an unmasked ping",
		"256 bytes of binary in a single unmasked frame",
		"64 KiB of binary in a single unmasked frame",
	} {
		stream = append(stream, rfcFrameNamed(t, name).wire...)
	}
	written := p.writeAsync(stream)
	for _, want := range []testMessage{
		{OpText, []byte("Hello")},
		{OpText, []byte("Hello")},
		{OpBinary, payload256},
		{OpBinary, payload64K},
	} {
		op, got, err := c.ReadMessage()
		require.NoError(t, err, "ReadMessage of the RFC 6455 §5.7 examples: expected a %v", want)
		require.Equal(t, want.op, op)
		requireSameBytes(t, want.p, got, want.String()+" (RFC 6455 §5.7)")
	}
	require.NoError(t, waitFor(t, written, "the raw server's write"))
	f := p.next("the client's answer to the ping") // checks that it is masked
	assert.Equal(t, wirePong, f.Op, "a ping is answered with a pong (RFC 6455 §5.5.2)")
	assert.True(t, f.Fin)
	assert.Equal(t, "Hello", string(f.Payload), "the pong carries the ping's payload (RFC 6455 §5.5.3)")
}

// Every ping gets a pong with the same "Application data" (RFC 6455 §5.5.2,
// §5.5.3), whatever its length up to 125 bytes, before the reader moves on.
func TestServerAnswersPingWithPongCarryingSamePayload(t *testing.T) {
	exercise.Start(t, "2.7")
	noLeaks(t)
	c, p := serverConnWithRawClient(t)
	payloads := [][]byte{{}, []byte("x"), []byte("ping 1"), testBytes(125, 5)}
	var wireFrames []wireFrame
	for _, pl := range payloads {
		wireFrames = append(wireFrames, p.frame(wirePing, true, pl))
	}
	p.send(append(wireFrames, p.frame(wireText, true, []byte("done")))...)
	op, msg, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, OpText, op)
	assert.Equal(t, "done", string(msg))
	for i, pl := range payloads {
		f := p.next(fmt.Sprintf("the pong to ping %d", i+1))
		require.Equal(t, wirePong, f.Op, "ping %d must be answered with a pong (RFC 6455 §5.5.2)", i+1)
		require.Equal(t, pl, f.Payload, "the pong to ping %d must carry its payload (RFC 6455 §5.5.3)", i+1)
	}
}

// Control frames may come between the fragments of a message (RFC 6455
// §5.4). A ping there is answered at once, before the message is complete,
// and the message still arrives whole.
func TestPingBetweenFragmentsIsAnsweredAndMessageStillArrives(t *testing.T) {
	exercise.Start(t, "2.7")
	noLeaks(t)
	c, p := serverConnWithRawClient(t)
	reads := readInBackground(t, c)
	p.send(p.frame(wireText, false, []byte("Hel")), p.frame(wirePing, true, []byte("mid-message")))
	f := p.next("the pong to a ping between fragments, while the message is still incomplete")
	require.Equal(t, wirePong, f.Op, "a ping between fragments is answered (RFC 6455 §5.4, §5.5.2)")
	require.Equal(t, "mid-message", string(f.Payload))

	p.send(p.frame(wireCont, false, []byte("l")), p.frame(wirePong, true, []byte("unsolicited")), p.frame(wireCont, true, []byte("o")))
	r := nextRead(t, reads, "the fragmented message")
	require.NoError(t, r.err)
	assert.Equal(t, OpText, r.op)
	assert.Equal(t, "Hello", string(r.p), "the fragments around the control frames make one message (RFC 6455 §5.4)")
}

// The pong handler gets the payload of every pong, on the reading goroutine,
// before the next message is returned (RFC 6455 §5.5.3: a pong may also be
// unsolicited, a heartbeat).
func TestPongHandlerReceivesPayload(t *testing.T) {
	exercise.Start(t, "2.7")
	noLeaks(t)
	c, p := serverConnWithRawClient(t)
	var got []string
	c.SetPongHandler(func(b []byte) { got = append(got, string(b)) })
	p.send(p.frame(wirePong, true, []byte("heartbeat 1")), p.frame(wirePong, true, nil), p.frame(wirePong, true, []byte("heartbeat 2")),
		p.frame(wireBinary, true, []byte{1, 2, 3}))
	op, msg, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, OpBinary, op)
	assert.Equal(t, []byte{1, 2, 3}, msg)
	assert.Equal(t, []string{"heartbeat 1", "", "heartbeat 2"}, got, "the pong handler gets each pong's payload, in order")
}

// NextReader returns as soon as a message starts, and its reader streams the
// payload as the fragments arrive. A reader left unread is discarded by the
// next NextReader.
func TestNextReaderStreamsAcrossFragments(t *testing.T) {
	exercise.Start(t, "2.7")
	noLeaks(t)
	c, p := serverConnWithRawClient(t)
	type next struct {
		op  Opcode
		r   io.Reader
		err error
	}
	nextReader := func() next {
		ch := make(chan next, 1)
		go func() {
			op, r, err := c.NextReader()
			ch <- next{op, r, err}
		}()
		return waitFor(t, ch, "NextReader to return")
	}
	readN := func(r io.Reader, n int) string {
		ch := make(chan string, 1)
		go func() {
			b := make([]byte, n)
			_, err := io.ReadFull(r, b)
			if err != nil {
				ch <- "error: " + err.Error()
				return
			}
			ch <- string(b)
		}()
		return waitFor(t, ch, fmt.Sprintf("%d bytes of the message", n))
	}

	p.send(p.frame(wireBinary, false, []byte("abc")))
	n := nextReader()
	require.NoError(t, n.err)
	require.Equal(t, OpBinary, n.op)
	assert.Equal(t, "abc", readN(n.r, 3), "the first fragment can be read before the rest of the message is sent")

	p.send(p.frame(wireCont, false, []byte("def")))
	assert.Equal(t, "def", readN(n.r, 3), "the second fragment as it comes")
	p.send(p.frame(wireCont, true, []byte("ghi")))
	rest, err := io.ReadAll(n.r)
	require.NoError(t, err)
	assert.Equal(t, "ghi", string(rest), "the last fragment, then io.EOF")

	// A message left unread is skipped by the next NextReader.
	p.send(p.frame(wireText, false, []byte("never")), p.frame(wireCont, true, []byte(" read")), p.frame(wireText, true, []byte("next")))
	n = nextReader()
	require.NoError(t, n.err)
	n = nextReader()
	require.NoError(t, n.err)
	assert.Equal(t, OpText, n.op)
	rest, err = io.ReadAll(n.r)
	require.NoError(t, err)
	assert.Equal(t, "next", string(rest), "NextReader discards what was left of the previous message")
}

// Bytes that follow the opening handshake in the same TCP segment belong to
// the WebSocket: the Conn must read them from the buffer the handshake was
// read with (http.Hijacker's bufio.Reader).
func TestServerReadsFrameSentWithHandshake(t *testing.T) {
	exercise.Start(t, "2.7")
	noLeaks(t)
	s := newEchoServer(t, &Upgrader{}, nil)
	nc, err := net.DialTimeout("tcp", s.Listener.Addr().String(), ioTimeout)
	require.NoError(t, err)
	defer nc.Close()
	p := newRawPeer(t, nc, nil, true)
	req := requestBytes("GET", "/", "HTTP/1.1", clientHandshakeHeaders(s.Listener.Addr().String()))
	p.write(append(req, p.frame(wireText, true, []byte("sent with the handshake")).encode()...))
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(ioTimeout)))
	resp, err := http.ReadResponse(p.br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	op, msg := p.readMessage("the echo of the frame sent right after the handshake")
	assert.Equal(t, wireText, op)
	assert.Equal(t, "sent with the handshake", string(msg))
}

// ---------------------------------------------------------------------------
// Interoperation: the same messages, both ways, with gorilla/websocket and
// golang.org/x/net/websocket.

// huge16MiB is a 16 MiB payload, made once.
var huge16MiB = sync.OnceValue(func() []byte { return testBytes(16<<20, 16) })

// interopMessages are testMessages plus a 16 MiB binary message.
func interopMessages() []testMessage {
	return append(testMessages(), testMessage{OpBinary, huge16MiB()})
}

const bigLimit = 32 << 20

// gorillaEchoServer echoes every message with gorilla/websocket, streaming
// it back with NextReader and NextWriter.
func gorillaEchoServer(t *testing.T) *testServer {
	t.Helper()
	return newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&gws.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for range 1 << 20 { // until the connection ends
			op, rd, err := c.NextReader()
			if err != nil {
				return
			}
			wr, err := c.NextWriter(op)
			if err != nil {
				return
			}
			if _, err := io.Copy(wr, rd); err != nil {
				return
			}
			if err := wr.Close(); err != nil {
				return
			}
		}
	}))
}

// xnetEchoServer echoes every frame with golang.org/x/net/websocket, keeping
// its type.
func xnetEchoServer(t *testing.T) *testServer {
	t.Helper()
	return newServer(t, xws.Server{Handler: func(ws *xws.Conn) {
		ws.MaxPayloadBytes = bigLimit
		for range 1 << 20 { // until the connection ends
			var data []byte
			var typ byte
			codec := xws.Codec{Unmarshal: func(d []byte, pt byte, v any) error {
				*(v.(*[]byte)), typ = d, pt
				return nil
			}}
			if err := codec.Receive(ws, &data); err != nil {
				return
			}
			ws.PayloadType = typ
			if _, err := ws.Write(data); err != nil {
				return
			}
		}
	}})
}

// xnetDial connects a golang.org/x/net/websocket client.
func xnetDial(t *testing.T, s *testServer) *xws.Conn {
	t.Helper()
	cfg, err := xws.NewConfig(s.wsURL("/"), s.origin())
	require.NoError(t, err)
	cfg.Dialer = &net.Dialer{Timeout: ioTimeout}
	ws, err := xws.DialConfig(cfg)
	require.NoError(t, err, "golang.org/x/net/websocket dialing the rawws server")
	ws.MaxPayloadBytes = bigLimit
	t.Cleanup(func() { ws.Close() })
	return ws
}

// xnetReceive reads one frame with x/net/websocket and its type.
func xnetReceive(ws *xws.Conn) (testMessage, error) {
	var m testMessage
	codec := xws.Codec{Unmarshal: func(d []byte, pt byte, v any) error {
		m = testMessage{Opcode(pt), d}
		return nil
	}}
	err := codec.Receive(ws, new([]byte))
	return m, err
}

// sendAsync runs a write in its own goroutine: an echo server that streams
// (gorilla/websocket's here) starts sending the echo before the message has
// all arrived, so the test must read while it writes.
func sendAsync(write func() error) <-chan error {
	sent := make(chan error, 1)
	go func() { sent <- write() }()
	return sent
}

// A rawws server echoes, and gorilla/websocket reads back, text and binary
// messages of every length encoding, up to 16 MiB.
func TestGorillaClientExchangesMessagesWithRawwsServer(t *testing.T) {
	exercise.Start(t, "2.7")
	noLeaks(t)
	s := newEchoServer(t, &Upgrader{ReadLimit: bigLimit}, nil)
	g := gorillaDial(t, s.wsURL("/"), nil)
	for _, m := range interopMessages() {
		require.NoError(t, g.SetWriteDeadline(deadlineFor(len(m.p))))
		require.NoError(t, g.SetReadDeadline(deadlineFor(len(m.p))))
		sent := sendAsync(func() error { return g.WriteMessage(int(m.op), m.p) })
		op, p, err := g.ReadMessage()
		require.NoError(t, err, "gorilla/websocket reading the rawws server's echo of a %v", m)
		require.NoError(t, waitFor(t, sent, "the write"), "gorilla/websocket sending a %v", m)
		require.Equal(t, int(m.op), op, "the echo of a %v", m)
		requireSameBytes(t, m.p, p, "the echo of a "+m.String())
	}
}

// A rawws client sends, and reads back from a gorilla/websocket echo server,
// text and binary messages of every length encoding, up to 16 MiB.
func TestRawwsClientExchangesMessagesWithGorillaServer(t *testing.T) {
	exercise.Start(t, "2.7")
	noLeaks(t)
	s := gorillaEchoServer(t)
	c := dialT(t, &Dialer{ReadLimit: bigLimit}, s.wsURL("/"))
	for _, m := range interopMessages() {
		require.NoError(t, c.SetWriteDeadline(deadlineFor(len(m.p))))
		require.NoError(t, c.SetReadDeadline(deadlineFor(len(m.p))))
		sent := sendAsync(func() error { return c.WriteMessage(m.op, m.p) })
		op, p, err := c.ReadMessage()
		require.NoError(t, waitFor(t, sent, "the write"), "sending a %v", m)
		require.NoError(t, err, "reading gorilla/websocket's echo of a %v", m)
		require.Equal(t, m.op, op, "the echo of a %v", m)
		requireSameBytes(t, m.p, p, "the echo of a "+m.String())
	}
}

// A rawws server echoes, and golang.org/x/net/websocket reads back, text and
// binary messages of every length encoding, up to 16 MiB.
func TestXNetClientExchangesMessagesWithRawwsServer(t *testing.T) {
	exercise.Start(t, "2.7")
	noLeaks(t)
	s := newEchoServer(t, &Upgrader{ReadLimit: bigLimit}, nil)
	ws := xnetDial(t, s.testServer)
	for _, m := range interopMessages() {
		require.NoError(t, ws.SetDeadline(deadlineFor(len(m.p))))
		if m.op == OpText {
			require.NoError(t, xws.Message.Send(ws, string(m.p)), "x/net/websocket sending a %v", m)
		} else {
			require.NoError(t, xws.Message.Send(ws, m.p), "x/net/websocket sending a %v", m)
		}
		got, err := xnetReceive(ws)
		require.NoError(t, err, "x/net/websocket reading the rawws server's echo of a %v", m)
		require.Equal(t, m.op, got.op, "the echo of a %v", m)
		requireSameBytes(t, m.p, got.p, "the echo of a "+m.String())
	}
}

// A rawws client sends, and reads back from a golang.org/x/net/websocket echo
// server, text and binary messages of every length encoding, up to 16 MiB.
func TestRawwsClientExchangesMessagesWithXNetServer(t *testing.T) {
	exercise.Start(t, "2.7")
	noLeaks(t)
	s := xnetEchoServer(t)
	c := dialT(t, &Dialer{ReadLimit: bigLimit, Header: http.Header{"Origin": {s.origin()}}}, s.wsURL("/"))
	for _, m := range interopMessages() {
		require.NoError(t, c.SetWriteDeadline(deadlineFor(len(m.p))))
		require.NoError(t, c.SetReadDeadline(deadlineFor(len(m.p))))
		sent := sendAsync(func() error { return c.WriteMessage(m.op, m.p) })
		op, p, err := c.ReadMessage()
		require.NoError(t, waitFor(t, sent, "the write"), "sending a %v", m)
		require.NoError(t, err, "reading x/net/websocket's echo of a %v", m)
		require.Equal(t, m.op, op, "the echo of a %v", m)
		requireSameBytes(t, m.p, p, "the echo of a "+m.String())
	}
}

// gorilla/websocket sends a message in many frames when it is larger than
// its write buffer; a rawws server reads it as one message (RFC 6455 §5.4)
// and a message streamed by a rawws client reaches gorilla/websocket whole.
func TestFragmentedMessagesCrossBetweenGorillaAndRawws(t *testing.T) {
	exercise.Start(t, "2.7")
	noLeaks(t)
	s := newEchoServer(t, &Upgrader{}, nil)
	d := gws.Dialer{HandshakeTimeout: ioTimeout, WriteBufferSize: 256} // frames of at most 256 bytes
	g, _, err := d.Dial(s.wsURL("/"), nil)
	require.NoError(t, err)
	defer g.Close()
	require.NoError(t, g.SetWriteDeadline(time.Now().Add(ioTimeout)))
	w, err := g.NextWriter(gws.TextMessage)
	require.NoError(t, err)
	var want []byte
	for i := range 5 {
		part := testText(300+i*100, i)
		want = append(want, part...)
		_, err := w.Write(part)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	require.NoError(t, g.SetReadDeadline(time.Now().Add(ioTimeout)))
	op, p, err := g.ReadMessage()
	require.NoError(t, err, "the echo of a message gorilla/websocket sent in many frames")
	assert.Equal(t, gws.TextMessage, op)
	requireSameBytes(t, want, p, "a text message gorilla/websocket sent in frames of 256 bytes")

	// And the other way: a rawws client streams, gorilla/websocket echoes.
	gs := gorillaEchoServer(t)
	c := dialT(t, &Dialer{}, gs.wsURL("/"))
	cw, err := c.NextWriter(OpBinary)
	require.NoError(t, err)
	want = nil
	for i := range 4 {
		part := testBytes(1000*(i+1), i)
		want = append(want, part...)
		_, err := cw.Write(part)
		require.NoError(t, err)
	}
	require.NoError(t, cw.Close())
	require.NoError(t, c.SetReadDeadline(time.Now().Add(ioTimeout)))
	rop, rp, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, OpBinary, rop)
	requireSameBytes(t, want, rp, "a binary message streamed by a rawws client in 4 frames, echoed by gorilla/websocket")
}

// Pings are answered with pongs carrying their payload in both directions:
// gorilla/websocket pings a rawws server, a rawws client pings
// gorilla/websocket and x/net/websocket servers (RFC 6455 §5.5.2, §5.5.3).
func TestPingPongWithGorillaAndXNet(t *testing.T) {
	exercise.Start(t, "2.7")
	noLeaks(t)

	// gorilla/websocket pings the rawws server.
	s := newEchoServer(t, &Upgrader{}, nil)
	g := gorillaDial(t, s.wsURL("/"), nil)
	gorillaPongs := make(chan string, 4)
	g.SetPongHandler(func(data string) error { gorillaPongs <- data; return nil })
	require.NoError(t, g.WriteControl(gws.PingMessage, []byte("from gorilla"), time.Now().Add(ioTimeout)))
	require.NoError(t, g.WriteMessage(gws.TextMessage, []byte("after the ping")))
	require.NoError(t, g.SetReadDeadline(time.Now().Add(ioTimeout)))
	_, p, err := g.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "after the ping", string(p))
	select {
	case got := <-gorillaPongs:
		assert.Equal(t, "from gorilla", got, "the rawws server's pong must carry the ping's payload (RFC 6455 §5.5.3)")
	default:
		t.Errorf("gorilla/websocket got no pong before the echo of the message sent after its ping (RFC 6455 §5.5.2)")
	}

	// A rawws client pings gorilla/websocket, then x/net/websocket.
	for name, srv := range map[string]*testServer{"gorilla/websocket": gorillaEchoServer(t), "x/net/websocket": xnetEchoServer(t)} {
		c := dialT(t, &Dialer{Header: http.Header{"Origin": {srv.origin()}}}, srv.wsURL("/"))
		var pongs []string
		c.SetPongHandler(func(b []byte) { pongs = append(pongs, string(b)) })
		require.NoError(t, c.Ping([]byte("from rawws")))
		require.NoError(t, c.WriteMessage(OpText, []byte("after the ping")))
		require.NoError(t, c.SetReadDeadline(time.Now().Add(ioTimeout)))
		_, p, err := c.ReadMessage()
		require.NoError(t, err, "reading the echo from %s", name)
		assert.Equal(t, "after the ping", string(p))
		assert.Equal(t, []string{"from rawws"}, pongs, "%s's pong, passed to the pong handler before the echo", name)
	}
}

// ---------------------------------------------------------------------------
// Fuzzing.

// Whatever bytes a client sends, a server Conn never panics and never hangs:
// ReadMessage returns whole text or binary messages within the read limit,
// until it returns a *CloseError, and from then on every read returns a
// *CloseError with the same code.
func FuzzConnRead(f *testing.F) {
	exercise.Start(f, "2.7")
	for _, ex := range rfcFrames {
		f.Add(maskedRFCFrame(ex))
	}
	mk := func(wireFrames ...wireFrame) []byte {
		var b []byte
		for _, clientFrame := range wireFrames {
			clientFrame.Masked, clientFrame.Key = true, rfcKey
			b = append(b, clientFrame.encode()...)
		}
		return b
	}
	f.Add(mk(wireFrame{Fin: true, Op: wireText, Payload: []byte("Hello")}, wireFrame{Fin: true, Op: wireClose, Payload: wireClosePayload(1000, "bye")}))
	f.Add(mk(wireFrame{Op: wireText, Payload: []byte("He")}, wireFrame{Fin: true, Op: wirePing, Payload: []byte("p")}, wireFrame{Fin: true, Op: wireCont, Payload: []byte("llo")}))
	f.Add(mk(wireFrame{Fin: true, Rsv: 4, Op: wireText, Payload: []byte("x")}))
	f.Add(mk(wireFrame{Fin: true, Op: 0x3}))
	f.Add(mk(wireFrame{Op: wirePing}))
	f.Add(mk(wireFrame{Fin: true, Op: wireCont, Payload: []byte("x")}))
	f.Add(mk(wireFrame{Fin: true, Op: wireClose, Payload: []byte{3}}))
	f.Add(mk(wireFrame{Fin: true, Op: wireClose, Payload: wireClosePayload(1005, "")}))
	f.Add(mk(wireFrame{Fin: true, Op: wireClose}))
	f.Add(wireFrame{Fin: true, Op: wireText, Payload: []byte("unmasked")}.encode())
	f.Add(headerOnly(true, wireBinary, true, 1<<40))
	f.Add([]byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{})

	const limit = 1 << 16
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(f, err)
	f.Cleanup(func() { ln.Close() })

	f.Fuzz(func(t *testing.T, data []byte) {
		cl, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		sv, err := ln.Accept()
		require.NoError(t, err)
		// Both ends abort (RST) rather than close gracefully, so that the
		// many connections of a fuzzing run leave no sockets in TIME_WAIT.
		// What the server sends is drained and ignored.
		_ = sv.(*net.TCPConn).SetLinger(0)
		wrote := make(chan struct{})
		drained := make(chan struct{})
		defer func() {
			_ = cl.(*net.TCPConn).SetLinger(0)
			cl.Close()
			sv.Close()
			<-wrote
			<-drained
		}()
		require.NoError(t, sv.SetDeadline(time.Now().Add(ioTimeout)))
		go func() {
			defer close(wrote)
			_, _ = cl.Write(data)
			_ = cl.(*net.TCPConn).CloseWrite() // then the server reads EOF
		}()
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, cl) // whatever the server answers
		}()

		c := NewConn(sv, nil, true)
		c.SetReadLimit(limit)
		var ce *CloseError
		for i := 0; ; i++ {
			require.LessOrEqual(t, i, len(data), "more messages than bytes")
			op, p, err := c.ReadMessage()
			if err != nil {
				require.ErrorAs(t, err, &ce, "ReadMessage must end with a *CloseError, got %T %v", err, err)
				break
			}
			require.Contains(t, []Opcode{OpText, OpBinary}, op, "ReadMessage returned a %v message", op)
			require.LessOrEqual(t, len(p), limit, "a message over the read limit was delivered")
		}
		_, _, err = c.ReadMessage()
		var again *CloseError
		require.ErrorAs(t, err, &again, "a read after the connection closed must return a *CloseError")
		require.Equal(t, ce.Code, again.Code, "every read after the connection closed fails the same way")
	})
}
