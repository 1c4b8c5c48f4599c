package rawws

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// A server Conn writes the unmasked frames of the RFC 6455 §5.7 examples
// byte for byte: one message is one frame, with the length in its minimal
// encoding.
func TestServerWritesRFC6455Section57Frames(t *testing.T) {
	exercise.Start(t, "2.6")
	noLeaks(t)
	c, p := serverConnWithRawClient(t)
	byName := map[string][]byte{}
	for _, ex := range rfcFrames {
		byName[ex.name] = ex.wire
	}
	steps := []struct {
		name  string
		write func() error
		wire  []byte
	}{
		{`WriteMessage(OpText, "Hello")`, func() error { return c.WriteMessage(OpText, []byte("Hello")) }, byName["a single-frame unmasked text message"]},
		{`WriteControl(OpPing, "Hello")`, func() error { return c.WriteControl(OpPing, []byte("Hello")) }, byName["an unmasked ping"]},
		{`WriteControl(OpPong, "Hello")`, func() error { return c.WriteControl(OpPong, []byte("Hello")) }, []byte{0x8a, 0x05, 'H', 'e', 'l', 'l', 'o'}},
		{`WriteMessage(OpBinary, 256 bytes)`, func() error { return c.WriteMessage(OpBinary, payload256) }, byName["256 bytes of binary in a single unmasked frame"]},
		{`WriteMessage(OpBinary, 64 KiB)`, func() error { return c.WriteMessage(OpBinary, payload64K) }, byName["64 KiB of binary in a single unmasked frame"]},
	}
	for _, step := range steps {
		// A large frame fills the socket buffer until it is read, so the
		// write runs in its own goroutine.
		written := make(chan error, 1)
		go func() { written <- step.write() }()
		got := p.readExactly(len(step.wire), written)
		require.NotNil(t, got, "%s from a server: expected the %d bytes of RFC 6455 §5.7", step.name, len(step.wire))
		if !bytes.Equal(step.wire, got) {
			n := min(len(got), 16)
			t.Fatalf("%s from a server: expected % x..., got % x... (RFC 6455 §5.7)", step.name, step.wire[:n], got[:n])
		}
	}
}

// A client masks every frame with a fresh key (RFC 6455 §5.3: "a fresh
// masking key MUST be selected ... from the set of allowed 32-bit values",
// unpredictable); unmasked, the payloads are what was written.
func TestClientMasksEveryFrameWithFreshKeys(t *testing.T) {
	exercise.Start(t, "2.6")
	noLeaks(t)
	c, p := clientConnWithRawServer(t)
	keys := map[[4]byte]int{}
	for i := range 20 {
		payload := testBytes(1+i*7, i)
		require.NoError(t, c.WriteMessage(OpBinary, payload))
		f := p.next(fmt.Sprintf("message %d from the client", i)) // checks the MASK bit
		assert.Equal(t, wireBinary, f.Op)
		assert.True(t, f.Fin)
		require.Equal(t, payload, f.Payload, "message %d, unmasked with the key in its header (RFC 6455 §5.3)", i)
		keys[f.Key]++
	}
	require.NoError(t, c.WriteMessage(OpText, []byte("Hello")))
	f := p.next(`WriteMessage(OpText, "Hello") from a client`)
	assert.Equal(t, wireText, f.Op)
	assert.Equal(t, "Hello", string(f.Payload), "the masked text example of RFC 6455 §5.7, unmasked")
	keys[f.Key]++
	require.NoError(t, c.WriteControl(OpPong, []byte("Hello")))
	f = p.next(`WriteControl(OpPong, "Hello") from a client`)
	assert.Equal(t, wirePong, f.Op)
	assert.Equal(t, "Hello", string(f.Payload), "the masked pong example of RFC 6455 §5.7, unmasked")
	keys[f.Key]++

	assert.Len(t, keys, 22, "22 frames should have 22 different random masking keys (RFC 6455 §5.3), got %v", keys)
}

// NextWriter streams a message: each Write sends a frame, the first with the
// message's opcode and the rest as continuations, and Close sends the final
// frame with FIN set (RFC 6455 §5.4). A message with no Write is one empty
// frame.
func TestNextWriterSendsOneFramePerWrite(t *testing.T) {
	exercise.Start(t, "2.6")
	noLeaks(t)
	c, p := serverConnWithRawClient(t)
	w, err := c.NextWriter(OpText)
	require.NoError(t, err)
	for _, part := range []string{"Hel", "lo"} {
		n, err := w.Write([]byte(part))
		require.NoError(t, err)
		require.Equal(t, len(part), n)
	}
	require.NoError(t, w.Close())

	want := []wireFrame{
		{Fin: false, Op: wireText, Payload: []byte("Hel")},
		{Fin: false, Op: wireCont, Payload: []byte("lo")},
		{Fin: true, Op: wireCont, Payload: []byte{}},
	}
	for i, wf := range want {
		f := p.next(fmt.Sprintf("frame %d of the streamed message", i+1))
		assert.Equal(t, wf, f, "frame %d of NextWriter(OpText), Write(\"Hel\"), Write(\"lo\"), Close() (RFC 6455 §5.4)", i+1)
	}

	w, err = c.NextWriter(OpBinary)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, wireFrame{Fin: true, Op: wireBinary, Payload: []byte{}}, p.next("an empty streamed message"),
		"NextWriter(OpBinary) closed at once sends one empty final frame")
}

// WriteControl sends pings and pongs of at most 125 bytes (RFC 6455 §5.5);
// anything else is refused, and nothing goes on the wire.
func TestWriteControlRefusesAnythingButSmallPingsAndPongs(t *testing.T) {
	exercise.Start(t, "2.6")
	noLeaks(t)
	c, p := serverConnWithRawClient(t)
	assert.Error(t, c.WriteControl(OpPing, make([]byte, 126)), "a ping of 126 bytes (RFC 6455 §5.5: at most 125)")
	assert.Error(t, c.WriteControl(OpPong, make([]byte, 200)), "a pong of 200 bytes (RFC 6455 §5.5: at most 125)")
	assert.Error(t, c.WriteControl(OpText, []byte("x")), "WriteControl(OpText)")
	assert.Error(t, c.WriteControl(OpBinary, []byte("x")), "WriteControl(OpBinary)")
	assert.Error(t, c.WriteControl(OpContinuation, []byte("x")), "WriteControl(OpContinuation)")
	assert.Error(t, c.WriteControl(OpClose, []byte{0x03, 0xe8}), "WriteControl(OpClose): use Close")
	assert.Error(t, c.WriteControl(Opcode(0xB), nil), "WriteControl of a reserved opcode")

	max := testBytes(125, 125)
	require.NoError(t, c.WriteControl(OpPing, max), "a ping of 125 bytes is allowed")
	require.NoError(t, c.Ping([]byte("ping!")))
	f := p.next("the first frame on the wire")
	assert.Equal(t, wireFrame{Fin: true, Op: wirePing, Payload: max}, f, "the refused frames must not have been sent; the first frame is the 125-byte ping")
	f = p.next("the second frame on the wire")
	assert.Equal(t, wireFrame{Fin: true, Op: wirePing, Payload: []byte("ping!")}, f, "Ping sends a ping")
}

// Control frames may go out between the frames of a streamed message, never
// inside one (RFC 6455 §5.4: "control frames MAY be injected in the middle of
// a fragmented message"); a ping does not wait for the message to end.
func TestControlFramesGoOutBetweenFragments(t *testing.T) {
	exercise.Start(t, "2.6")
	noLeaks(t)
	c, p := serverConnWithRawClient(t)
	w, err := c.NextWriter(OpBinary)
	require.NoError(t, err)
	defer w.Close()
	_, err = w.Write([]byte("part 1"))
	require.NoError(t, err)

	pinged := make(chan error, 1)
	go func() { pinged <- c.Ping([]byte("between")) }()
	select {
	case err := <-pinged:
		require.NoError(t, err)
	case <-time.After(ioTimeout):
		t.Fatalf("Ping was still blocked %v into a streamed message; control frames may go out between fragments (RFC 6455 §5.4)", ioTimeout)
	}
	_, err = w.Write([]byte("part 2"))
	require.NoError(t, err)
	require.NoError(t, w.Close())

	assert.Equal(t, wireFrame{Op: wireBinary, Payload: []byte("part 1")}, p.next("the first fragment"))
	assert.Equal(t, wireFrame{Fin: true, Op: wirePing, Payload: []byte("between")}, p.next("the ping"))
	assert.Equal(t, wireFrame{Op: wireCont, Payload: []byte("part 2")}, p.next("the second fragment"))
	assert.Equal(t, wireFrame{Fin: true, Op: wireCont, Payload: []byte{}}, p.next("the final fragment"))
}

// edgeSizes are the payload lengths at the edges of the three length encodings
// of §5.2.
var edgeSizes = []int{0, 1, 125, 126, 65535, 65536}

// gorillaDial connects a gorilla/websocket client with no read limit.
func gorillaDial(t *testing.T, url string, header http.Header) *gws.Conn {
	t.Helper()
	d := gws.Dialer{HandshakeTimeout: ioTimeout}
	c, resp, err := d.Dial(url, header)
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("gorilla/websocket could not connect: %s %q: %v", resp.Status, body, err)
	}
	require.NoError(t, err, "gorilla/websocket dialing %s", url)
	t.Cleanup(func() { c.Close() })
	return c
}

// A testMessage is an opcode and a payload.
type testMessage struct {
	op Opcode
	p  []byte
}

func (m testMessage) String() string { return fmt.Sprintf("%v message of %d bytes", m.op, len(m.p)) }

// testMessages are text and binary messages of every size in sizes, plus
// one of 1 MiB.
func testMessages() []testMessage {
	var msgs []testMessage
	for i, n := range edgeSizes {
		msgs = append(msgs, testMessage{OpText, testText(n, i)}, testMessage{OpBinary, testBytes(n, i)})
	}
	msgs = append(msgs, testMessage{OpText, []byte("héllo, wörld ✓ 🚀")}, testMessage{OpBinary, testBytes(1<<20, 99)})
	return msgs
}

// What a rawws server writes, gorilla/websocket reads: text and binary of
// every length encoding.
func TestServerMessagesReachGorillaClient(t *testing.T) {
	exercise.Start(t, "2.6")
	noLeaks(t)
	msgs := testMessages()
	g, wrote := rawwsServerWriting(t, func(c *Conn) error {
		for _, m := range msgs {
			if err := c.WriteMessage(m.op, m.p); err != nil {
				return fmt.Errorf("WriteMessage of a %v: %w", m, err)
			}
		}
		return nil
	})
	for _, m := range msgs {
		require.NoError(t, g.SetReadDeadline(deadlineFor(len(m.p))))
		op, p, err := g.ReadMessage()
		require.NoError(t, err, "gorilla/websocket reading the %v the rawws server wrote", m)
		require.Equal(t, int(m.op), op, "the opcode of the %v", m)
		requireSameBytes(t, m.p, p, m.String())
	}
	require.NoError(t, waitFor(t, wrote, "the server to finish writing"))
}

// rawwsServerWriting serves one WebSocket with a rawws server that runs
// write on its Conn and then, if it succeeded, waits for the test to end,
// and connects to it with gorilla/websocket. The channel gets what write
// returned.
func rawwsServerWriting(t *testing.T, write func(c *Conn) error) (*gws.Conn, <-chan error) {
	t.Helper()
	wrote := make(chan error, 1)
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
		c, err := (&Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			wrote <- err
			return
		}
		defer c.CloseNow()
		err = write(c)
		wrote <- err
		if err == nil {
			<-done // a failed write closes at once, so the reader is not kept waiting
		}
	})
	return gorillaDial(t, s.wsURL("/"), nil), wrote
}

// gorillaSink is a gorilla/websocket server that reads messages and passes
// each one on, until the connection ends.
func gorillaSink(t *testing.T) (*testServer, <-chan testMessage) {
	t.Helper()
	got := make(chan testMessage, 4096)
	s := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&gws.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for range 1 << 20 { // until the connection ends
			op, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			select {
			case got <- testMessage{Opcode(op), p}:
			default:
				return
			}
		}
	}))
	return s, got
}

// A ping sent while another goroutine writes a large message must take the
// write lock too: it goes out before or after the message's frame, never
// inside it, and the message arrives intact (Exercise 2.6, "One reader,
// many writers"). A client masks through its write buffer a few KiB at a
// time, so a ping that skips the lock lands in the middle of the frame.
func TestPingsDuringALargeMessageLeaveItIntact(t *testing.T) {
	exercise.Start(t, "2.6")
	noLeaks(t)
	s, got := gorillaSink(t)
	c := dialT(t, &Dialer{}, s.wsURL("/"))
	const rounds, size, pings = 5, 1 << 20, 50
	for r := range rounds {
		p := testBytes(size, r)
		pinged := make(chan error, 1)
		go func() {
			for range pings {
				if err := c.Ping([]byte("during the message")); err != nil {
					pinged <- err
					return
				}
			}
			pinged <- nil
		}()
		require.NoError(t, c.WriteMessage(OpBinary, p), "WriteMessage of 1 MiB, round %d", r+1)
		require.NoError(t, waitFor(t, pinged, "the pings to be sent"), "Ping while another goroutine writes a message")
		m := waitFor(t, got, fmt.Sprintf("gorilla/websocket to read the 1 MiB message of round %d (a ping inside its frame garbles it)", r+1))
		requireSameBytes(t, p, m.p, fmt.Sprintf("a 1 MiB message written while another goroutine pings (round %d)", r+1))
	}
}

// dialT dials with a Dialer under ioTimeout and closes the Conn at the end.
func dialT(t *testing.T, d *Dialer, url string) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	c, _, err := d.Dial(ctx, url)
	require.NoError(t, err, "Dial %s", url)
	require.NotNil(t, c)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// What a rawws client writes, masked, a gorilla/websocket server reads.
func TestClientMessagesReachGorillaServer(t *testing.T) {
	exercise.Start(t, "2.6")
	noLeaks(t)
	s, got := gorillaSink(t)
	c := dialT(t, &Dialer{}, s.wsURL("/"))
	msgs := testMessages()
	written := make(chan error, 1)
	go func() {
		for _, m := range msgs {
			if err := c.WriteMessage(m.op, m.p); err != nil {
				written <- fmt.Errorf("WriteMessage of a %v: %w", m, err)
				return
			}
		}
		written <- nil
	}()
	for _, m := range msgs {
		g := waitFor(t, got, fmt.Sprintf("gorilla/websocket to read the %v", m))
		require.Equal(t, m.op, g.op, "the opcode of the %v", m)
		requireSameBytes(t, m.p, g.p, m.String())
	}
	require.NoError(t, waitFor(t, written, "the client to finish writing"))
}

// A message streamed with several Writes is one message to the peer:
// gorilla/websocket reassembles the fragments (RFC 6455 §5.4).
func TestStreamedMessageReachesGorillaAsOneMessage(t *testing.T) {
	exercise.Start(t, "2.6")
	noLeaks(t)
	s, got := gorillaSink(t)
	c := dialT(t, &Dialer{}, s.wsURL("/"))
	for _, tc := range []struct {
		op    Opcode
		parts []string
	}{
		{OpText, []string{"price: ", "\xe2\x82", "\xac 5"}}, // "€" split across frames
		{OpBinary, []string{string(testBytes(3000, 1)), "", string(testBytes(70000, 2)), "!"}},
	} {
		w, err := c.NextWriter(tc.op)
		require.NoError(t, err)
		var want []byte
		for _, part := range tc.parts {
			_, err := w.Write([]byte(part))
			require.NoError(t, err)
			want = append(want, part...)
		}
		require.NoError(t, w.Close())
		m := waitFor(t, got, "gorilla/websocket to read the streamed message")
		require.Equal(t, tc.op, m.op)
		requireSameBytes(t, want, m.p, fmt.Sprintf("a %v message streamed in %d writes", tc.op, len(tc.parts)))
	}
}

// Many goroutines may write at once; their frames never interleave (RFC
// 6455 §5.4: fragments of one message are not mixed with another's), so
// the peer reads every message intact.
func TestConcurrentWritersNeverInterleaveFrames(t *testing.T) {
	exercise.Start(t, "2.6")
	noLeaks(t)
	const writers, perWriter = 8, 200
	s, got := gorillaSink(t)
	c := dialT(t, &Dialer{}, s.wsURL("/"))

	body := func(g, i int) []byte {
		head := fmt.Sprintf("writer %d message %d|", g, i)
		return append([]byte(head), testBytes((g*7919+i*104729)%3000, g*1000+i)...)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				p := body(g, i)
				var err error
				if i%3 == 0 { // streamed in three frames
					var w io.WriteCloser
					if w, err = c.NextWriter(OpBinary); err == nil {
						third := len(p) / 3
						for _, part := range [][]byte{p[:third], p[third : 2*third], p[2*third:]} {
							if _, err = w.Write(part); err != nil {
								break
							}
						}
						if cerr := w.Close(); err == nil {
							err = cerr
						}
					}
				} else {
					err = c.WriteMessage(OpBinary, p)
				}
				// Pings go out between the messages of other writers: a
				// control frame needs the write lock as much as a message.
				if err == nil && i%4 == 0 {
					err = c.Ping([]byte(fmt.Sprintf("writer %d ping %d", g, i)))
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d, message %d: %w", g, i, err)
					return
				}
			}
		}()
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()

	next := make([]int, writers)
	deadline := time.After(4 * ioTimeout)
	for range writers * perWriter {
		var m testMessage
		select {
		case m = <-got:
		case err := <-errs:
			t.Fatal(err)
		case <-deadline:
			t.Fatalf("gorilla/websocket had read %v messages per writer after %v", next, 4*ioTimeout)
		}
		var g, i int
		_, err := fmt.Sscanf(string(m.p), "writer %d message %d|", &g, &i)
		require.NoError(t, err, "a message that is not one of those written: frames were interleaved? (%q...)", m.p[:min(len(m.p), 32)])
		require.True(t, g >= 0 && g < writers, "writer %d", g)
		require.Equal(t, next[g], i, "messages of writer %d arrived out of order", g)
		requireSameBytes(t, body(g, i), m.p, fmt.Sprintf("message %d of writer %d", i, g))
		next[g]++
	}
	waitFor(t, (<-chan struct{})(writersDone), "the writers to finish")
}
