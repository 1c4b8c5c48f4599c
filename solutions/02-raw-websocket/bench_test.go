package rawws

// Benchmarks of lesson 02, side by side with github.com/gorilla/websocket in
// the same run:
//
//	go test -run '^$' -bench . -benchmem ./02-raw-websocket/
//
// Every benchmark name ends in /rawws or /gorilla (or /bytewise, the
// learner's first masking loop), so each pair sits on adjacent lines. For
// figures worth comparing, run several times and take medians:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./solutions/02-raw-websocket/ > bench.txt
//	benchstat bench.txt
//
// Writing and reading run on an in-memory connection (benchConn): writes go
// nowhere, reads replay a prepared stream of frames, so what is measured is
// the WebSocket code, not the kernel. "client" means the client side (it
// masks what it writes), "server" the server side (it unmasks what it
// reads). Both libraries get there through their real opening handshakes.
// The echo benchmarks then add the kernel back: a client and a server of
// the same library over loopback TCP.
//
// The file is in package rawws, like the tests, so that the same file
// benchmarks the lesson's code and the solution's. A benchmark of an
// exercise that is not done yet is skipped. Every helper's name starts with
// "bench", to stay clear of the tests' helpers.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// benchSizes are the message sizes the benchmarks use: a chat message and
// a large message of several write buffers.
var benchSizes = []struct {
	name string
	n    int
}{
	{"1KiB", 1 << 10},
	{"64KiB", 64 << 10},
}

// benchSides are the two ends of a connection.
var benchSides = []string{"client", "server"}

// benchPayload is n bytes of ASCII text, so the same bytes serve as a text
// or a binary message.
func benchPayload(n int) []byte {
	return bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
}

// ---------------------------------------------------------------------------
// Masking (§5.3).

// benchMaskBytewise is the loop a learner writes first: one byte at a time.
func benchMaskBytewise(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

func BenchmarkMask(b *testing.B) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	buf := benchPayload(16 << 10)
	for _, impl := range []struct {
		name string
		mask func([4]byte, int, []byte) int
	}{
		{"rawws", Mask},
		{"bytewise", benchMaskBytewise},
	} {
		b.Run("16KiB/"+impl.name, func(b *testing.B) {
			if probe := []byte{0}; impl.mask(key, 0, probe) == 0 && probe[0] == 0 {
				b.Skip("exercise 2.3 (masking) is not done yet")
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			pos := 0
			for b.Loop() {
				// Start one byte in, so the key does not line up with the
				// buffer: the position bookkeeping is part of the cost.
				pos = impl.mask(key, pos+1, buf[1:])
			}
		})
	}
}

// ---------------------------------------------------------------------------
// An in-memory connection.

// A benchConn is a net.Conn that throws away what is written and, when read,
// first returns pending (the server's handshake answer, say) and then stream,
// over and over. Given a client's handshake request, it answers 101 itself.
type benchConn struct {
	pending []byte
	stream  []byte
	off     int

	answer  bool   // answer a client's handshake request with 101
	request []byte // the request so far, while answer is set
}

func (c *benchConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if len(c.stream) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.stream[c.off:])
	c.off += n
	if c.off == len(c.stream) {
		c.off = 0
	}
	return n, nil
}

func (c *benchConn) Write(p []byte) (int, error) {
	if c.answer {
		c.request = append(c.request, p...)
		if end := bytes.Index(c.request, []byte("\r\n\r\n")); end >= 0 {
			c.answer = false
			c.pending = benchAnswer(string(c.request[:end]))
		}
	}
	return len(p), nil
}

func (c *benchConn) Close() error                     { return nil }
func (c *benchConn) LocalAddr() net.Addr              { return benchAddr{} }
func (c *benchConn) RemoteAddr() net.Addr             { return benchAddr{} }
func (c *benchConn) SetDeadline(time.Time) error      { return nil }
func (c *benchConn) SetReadDeadline(time.Time) error  { return nil }
func (c *benchConn) SetWriteDeadline(time.Time) error { return nil }

type benchAddr struct{}

func (benchAddr) Network() string { return "bench" }
func (benchAddr) String() string  { return "bench" }

// benchAnswer is a server's 101 answer to a handshake request (§4.2.2).
func benchAnswer(request string) []byte {
	var key string
	for line := range strings.SplitSeq(request, "\r\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.EqualFold(name, "Sec-WebSocket-Key") {
			key = strings.TrimSpace(value)
		}
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
}

// A benchHijacker is the http.ResponseWriter a server's Upgrade hijacks
// benchConn from.
type benchHijacker struct {
	conn   *benchConn
	header http.Header
}

func (h *benchHijacker) Header() http.Header         { return h.header }
func (h *benchHijacker) Write(p []byte) (int, error) { return len(p), nil }
func (h *benchHijacker) WriteHeader(int)             {}
func (h *benchHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.conn, bufio.NewReadWriter(bufio.NewReaderSize(h.conn, 4096), bufio.NewWriterSize(h.conn, 4096)), nil
}

// benchRequest is a client's handshake request, as net/http hands it to a
// handler.
func benchRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://bench/", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	return r
}

// benchRawConn is a rawws Conn on side over nc, made by the real handshake.
func benchRawConn(b *testing.B, side string, nc *benchConn) *Conn {
	b.Helper()
	if side == "server" {
		u := Upgrader{ReadLimit: 1 << 30}
		c, err := u.Upgrade(&benchHijacker{conn: nc, header: http.Header{}}, benchRequest(), nil)
		benchCheck(b, err)
		return c
	}
	nc.answer = true
	d := Dialer{
		ReadLimit:      1 << 30,
		NetDialContext: func(context.Context, string, string) (net.Conn, error) { return nc, nil },
	}
	c, _, err := d.Dial(context.Background(), "ws://bench/")
	benchCheck(b, err)
	return c
}

// benchCheck skips the benchmark when err comes from an exercise not done
// yet, and fails it on any other error.
func benchCheck(b *testing.B, err error) {
	b.Helper()
	if errors.Is(err, exercise.ErrNotDone) {
		b.Skip(err)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// benchGorillaConn is a gorilla Conn on side over nc, made by its real
// handshake, with gorilla's default 4 KiB buffers.
func benchGorillaConn(b *testing.B, side string, nc *benchConn) *websocket.Conn {
	b.Helper()
	if side == "server" {
		u := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}
		c, err := u.Upgrade(&benchHijacker{conn: nc, header: http.Header{}}, benchRequest(), nil)
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(1 << 30)
		return c
	}
	nc.answer = true
	d := websocket.Dialer{
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
		NetDialContext:  func(context.Context, string, string) (net.Conn, error) { return nc, nil },
	}
	c, _, err := d.Dial("ws://bench/", nil)
	if err != nil {
		b.Fatal(err)
	}
	c.SetReadLimit(1 << 30)
	return c
}

// benchStream is about 64 KiB of whole frames that carry binary messages of
// n bytes as the peer of side sends them: masked when the peer is a client.
// The frames are encoded here, straight from §5.2, not by the code under
// test.
func benchStream(side string, n int) []byte {
	payload := benchPayload(n)
	key := [4]byte{1, 2, 3, 4}
	var stream []byte
	for len(stream) < 64<<10 {
		var mask byte
		if side == "server" {
			mask = 0x80
		}
		stream = append(stream, 0x80|0x2) // FIN, binary
		switch {
		case n <= 125:
			stream = append(stream, mask|byte(n))
		case n <= 0xFFFF:
			stream = append(stream, mask|126, byte(n>>8), byte(n))
		default:
			stream = append(stream, mask|127)
			stream = binary.BigEndian.AppendUint64(stream, uint64(n))
		}
		if mask == 0 {
			stream = append(stream, payload...)
			continue
		}
		stream = append(stream, key[:]...)
		for i, c := range payload {
			stream = append(stream, c^key[i%4])
		}
	}
	return stream
}

// benchEachSide runs f for every side and size, for rawws and gorilla.
func benchEachSide(b *testing.B, f func(b *testing.B, impl, side string, n int)) {
	for _, side := range benchSides {
		for _, size := range benchSizes {
			for _, impl := range []string{"rawws", "gorilla"} {
				b.Run(side+"/"+size.name+"/"+impl, func(b *testing.B) {
					b.SetBytes(int64(size.n))
					b.ReportAllocs()
					f(b, impl, side, size.n)
				})
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Writing.

// BenchmarkWriteMessage sends whole messages with WriteMessage.
func BenchmarkWriteMessage(b *testing.B) {
	benchEachSide(b, func(b *testing.B, impl, side string, n int) {
		p := benchPayload(n)
		if impl == "rawws" {
			c := benchRawConn(b, side, &benchConn{})
			for b.Loop() {
				if err := c.WriteMessage(OpBinary, p); err != nil {
					b.Fatal(err)
				}
			}
			return
		}
		c := benchGorillaConn(b, side, &benchConn{})
		for b.Loop() {
			if err := c.WriteMessage(websocket.BinaryMessage, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkNextWriter streams each message: NextWriter, one Write, Close.
func BenchmarkNextWriter(b *testing.B) {
	benchEachSide(b, func(b *testing.B, impl, side string, n int) {
		p := benchPayload(n)
		if impl == "rawws" {
			c := benchRawConn(b, side, &benchConn{})
			for b.Loop() {
				w, err := c.NextWriter(OpBinary)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := w.Write(p); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			return
		}
		c := benchGorillaConn(b, side, &benchConn{})
		for b.Loop() {
			w, err := c.NextWriter(websocket.BinaryMessage)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.Write(p); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// Reading.

// BenchmarkReadMessage reads whole messages into new slices.
func BenchmarkReadMessage(b *testing.B) {
	benchEachSide(b, func(b *testing.B, impl, side string, n int) {
		nc := &benchConn{stream: benchStream(side, n)}
		if impl == "rawws" {
			c := benchRawConn(b, side, nc)
			for b.Loop() {
				if _, p, err := c.ReadMessage(); err != nil || len(p) != n {
					b.Fatal(len(p), err)
				}
			}
			return
		}
		c := benchGorillaConn(b, side, nc)
		for b.Loop() {
			if _, p, err := c.ReadMessage(); err != nil || len(p) != n {
				b.Fatal(len(p), err)
			}
		}
	})
}

// BenchmarkNextReader streams each message into one reused buffer.
func BenchmarkNextReader(b *testing.B) {
	benchEachSide(b, func(b *testing.B, impl, side string, n int) {
		nc := &benchConn{stream: benchStream(side, n)}
		buf := make([]byte, 64<<10)
		if impl == "rawws" {
			c := benchRawConn(b, side, nc)
			for b.Loop() {
				_, r, err := c.NextReader()
				if err != nil {
					b.Fatal(err)
				}
				if got, err := benchDrain(r, buf); err != nil || got != n {
					b.Fatal(got, err)
				}
			}
			return
		}
		c := benchGorillaConn(b, side, nc)
		for b.Loop() {
			_, r, err := c.NextReader()
			if err != nil {
				b.Fatal(err)
			}
			if got, err := benchDrain(r, buf); err != nil || got != n {
				b.Fatal(got, err)
			}
		}
	})
}

// benchDrain reads r to its end into buf, over and over, and returns how
// many bytes it read.
func benchDrain(r io.Reader, buf []byte) (int, error) {
	total := 0
	for {
		n, err := r.Read(buf)
		total += n
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// ---------------------------------------------------------------------------
// Echo over loopback TCP.

// BenchmarkEcho measures round trips: the client sends a message, the server
// (same library, streaming it into a reused buffer) sends it back, and the
// client reads it into a reused buffer.
func BenchmarkEcho(b *testing.B) {
	for _, size := range benchSizes {
		for _, impl := range []string{"rawws", "gorilla"} {
			b.Run(size.name+"/"+impl, func(b *testing.B) {
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				if impl == "rawws" {
					benchEchoRawws(b, size.n)
				} else {
					benchEchoGorilla(b, size.n)
				}
			})
		}
	}
}

// benchServe runs handler on a loopback server until the benchmark ends.
func benchServe(b *testing.B, handler http.HandlerFunc) string {
	srv := httptest.NewServer(handler)
	b.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func benchEchoRawws(b *testing.B, n int) {
	done := make(chan struct{})
	url := benchServe(b, func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		u := Upgrader{ReadLimit: 1 << 30}
		c, err := u.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		buf := make([]byte, n)
		for {
			op, rd, err := c.NextReader()
			if err != nil {
				return
			}
			got, err := io.ReadFull(rd, buf)
			if err != nil {
				return
			}
			if err := c.WriteMessage(op, buf[:got]); err != nil {
				return
			}
		}
	})
	d := Dialer{ReadLimit: 1 << 30}
	c, _, err := d.Dial(context.Background(), url)
	benchCheck(b, err)
	p, buf := benchPayload(n), make([]byte, n)
	for b.Loop() {
		if err := c.WriteMessage(OpBinary, p); err != nil {
			b.Fatal(err)
		}
		_, r, err := c.NextReader()
		if err != nil {
			b.Fatal(err)
		}
		if got, err := benchDrain(r, buf); err != nil || got != n {
			b.Fatal(got, err)
		}
	}
	b.StopTimer()
	if err := c.Close(CloseNormal, ""); err != nil {
		b.Fatal(err)
	}
	<-done
}

func benchEchoGorilla(b *testing.B, n int) {
	done := make(chan struct{})
	url := benchServe(b, func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		u := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}
		c, err := u.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(1 << 30)
		buf := make([]byte, n)
		for {
			op, rd, err := c.NextReader()
			if err != nil {
				return
			}
			got, err := io.ReadFull(rd, buf)
			if err != nil {
				return
			}
			if err := c.WriteMessage(op, buf[:got]); err != nil {
				return
			}
		}
	})
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		b.Fatal(err)
	}
	c.SetReadLimit(1 << 30)
	p, buf := benchPayload(n), make([]byte, n)
	for b.Loop() {
		if err := c.WriteMessage(websocket.BinaryMessage, p); err != nil {
			b.Fatal(err)
		}
		_, r, err := c.NextReader()
		if err != nil {
			b.Fatal(err)
		}
		if got, err := benchDrain(r, buf); err != nil || got != n {
			b.Fatal(got, err)
		}
	}
	b.StopTimer()
	// gorilla has no closing handshake of its own: send the close frame,
	// wait for the server's answer, then close.
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
		b.Fatal(err)
	}
	for {
		if _, _, err := c.NextReader(); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				b.Fatal(fmt.Errorf("waiting for the close frame: %w", err))
			}
			break
		}
	}
	c.Close()
	<-done
}
