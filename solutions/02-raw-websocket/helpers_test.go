package rawws

// Helpers shared by the tests of lesson 02.
//
// The tests are in package rawws, so that the very same files test the
// lesson's code and the solution's (solutions/02-raw-websocket), but they use
// only the exported API, as any user of the package would. Their helpers
// have names an implementation is unlikely to use; if yours clashes with
// one, rename yours.
//
// The tests never trust the code under test to check itself: frames are built
// and parsed here, straight from RFC 6455 §5.2, and handshakes are written and
// read as raw HTTP bytes. What a test sends is exactly what is on the wire.

import (
	"bufio"
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
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// ioTimeout bounds every wait on the network, so that a broken implementation
// fails the test quickly instead of hanging it.
const ioTimeout = 5 * time.Second

// deadlineFor is the deadline for moving a message of n bytes: ioTimeout,
// plus a second per 256 KiB. That is generous on purpose: some peers (x/net)
// mask a byte at a time, and the race detector on a busy machine slows that
// tenfold.
func deadlineFor(n int) time.Time {
	return time.Now().Add(ioTimeout + time.Duration(n>>18)*time.Second)
}

// sampleKey and sampleAccept are the example of RFC 6455 §1.3 and §4.2.2.
const (
	sampleKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// noLeaks checks, once the test and all its cleanups are done, that every
// goroutine the test started has ended.
func noLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// acceptFor is the Sec-WebSocket-Accept a server must answer to key (§4.2.2
// step 5.4), computed here so that tests of the handshake do not depend on
// the AcceptKey under test.
func acceptFor(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// ---------------------------------------------------------------------------
// Frames, built and parsed independently of the code under test (§5.2).

// A wireFrame is one frame as it goes over the wire. Payload is always the
// unmasked payload; Masked and Key say how it travels.
type wireFrame struct {
	Fin     bool
	Rsv     byte // RSV1 = 4, RSV2 = 2, RSV3 = 1
	Op      byte
	Masked  bool
	Key     [4]byte
	Payload []byte
}

// encode returns the frame's bytes, with the length in its minimal encoding.
func (f wireFrame) encode() []byte {
	b0 := f.Rsv<<4 | f.Op&0x0F
	if f.Fin {
		b0 |= 0x80
	}
	var mask byte
	if f.Masked {
		mask = 0x80
	}
	b := []byte{b0}
	switch n := len(f.Payload); {
	case n <= 125:
		b = append(b, mask|byte(n))
	case n <= 0xFFFF:
		b = append(b, mask|126, byte(n>>8), byte(n))
	default:
		b = append(b, mask|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if !f.Masked {
		return append(b, f.Payload...)
	}
	b = append(b, f.Key[:]...)
	for i, c := range f.Payload {
		b = append(b, c^f.Key[i%4])
	}
	return b
}

// headerOnly returns the header of a frame that announces n payload bytes,
// for tests that must show a Conn acts on the header alone.
func headerOnly(fin bool, op byte, maskedRFCFrame bool, n uint64) []byte {
	b0 := op & 0x0F
	if fin {
		b0 |= 0x80
	}
	var m byte
	if maskedRFCFrame {
		m = 0x80
	}
	b := []byte{b0}
	switch {
	case n <= 125:
		b = append(b, m|byte(n))
	case n <= 0xFFFF:
		b = append(b, m|126, byte(n>>8), byte(n))
	default:
		b = append(b, m|127)
		b = binary.BigEndian.AppendUint64(b, n)
	}
	if maskedRFCFrame {
		b = append(b, 0x11, 0x22, 0x33, 0x44)
	}
	return b
}

// maxTestPayload keeps readFrame from allocating whatever a broken header
// announces.
const maxTestPayload = 64 << 20

// readWireFrame reads one whole frame and unmasks its payload.
func readWireFrame(r io.Reader) (wireFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return wireFrame{}, err
	}
	f := wireFrame{
		Fin:    h[0]&0x80 != 0,
		Rsv:    h[0] >> 4 & 0x7,
		Op:     h[0] & 0x0F,
		Masked: h[1]&0x80 != 0,
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return f, eofIsUnexpected(err)
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return f, eofIsUnexpected(err)
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if n > maxTestPayload {
		return f, fmt.Errorf("frame announces %d bytes, more than any test sends", n)
	}
	if f.Masked {
		if _, err := io.ReadFull(r, f.Key[:]); err != nil {
			return f, eofIsUnexpected(err)
		}
	}
	f.Payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		return f, eofIsUnexpected(err)
	}
	if f.Masked {
		for i := range f.Payload {
			f.Payload[i] ^= f.Key[i%4]
		}
	}
	return f, nil
}

// eofIsUnexpected turns io.EOF inside a frame into io.ErrUnexpectedEOF.
func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// wireClosePayload is the body of a close frame: a 2-byte code in network byte
// order, then the reason (§5.5.1).
func wireClosePayload(code int, reason string) []byte {
	return append([]byte{byte(code >> 8), byte(code)}, reason...)
}

// Opcodes as bytes, for building frames by hand.
const (
	wireCont   byte = 0x0
	wireText   byte = 0x1
	wireBinary byte = 0x2
	wireClose  byte = 0x8
	wirePing   byte = 0x9
	wirePong   byte = 0xA
)

// testKeys are the masking keys the raw client uses, in turn; the first is the
// key of the RFC 6455 §5.7 examples.
var testKeys = [][4]byte{{0x37, 0xfa, 0x21, 0x3d}, {0xa1, 0x02, 0xfe, 0x5c}, {0x00, 0x7f, 0x80, 0xff}}

// ---------------------------------------------------------------------------
// A raw peer: one end of a TCP connection that speaks frames by hand.

// A rawPeer is the test's side of a connection whose other side is a Conn
// under test. A client peer masks what it sends, as §5.3 requires, and
// expects unmasked frames; a server peer the reverse.
type rawPeer struct {
	t      *testing.T
	nc     net.Conn
	br     *bufio.Reader
	client bool
	keys   int
}

func newRawPeer(t *testing.T, nc net.Conn, br *bufio.Reader, client bool) *rawPeer {
	if br == nil {
		br = bufio.NewReader(nc)
	}
	return &rawPeer{t: t, nc: nc, br: br, client: client}
}

// frame makes a data or control frame the way this peer must send it: masked
// from a client, unmasked from a server.
func (p *rawPeer) frame(op byte, fin bool, payload []byte) wireFrame {
	f := wireFrame{Fin: fin, Op: op, Payload: payload, Masked: p.client}
	if p.client {
		f.Key = testKeys[p.keys%len(testKeys)]
		p.keys++
	}
	return f
}

// send writes the frames in one write.
func (p *rawPeer) send(wireFrames ...wireFrame) {
	p.t.Helper()
	var b []byte
	for _, f := range wireFrames {
		b = append(b, f.encode()...)
	}
	p.write(b)
}

// write writes raw bytes.
func (p *rawPeer) write(b []byte) {
	p.t.Helper()
	require.NoError(p.t, p.nc.SetWriteDeadline(time.Now().Add(ioTimeout)))
	_, err := p.nc.Write(b)
	require.NoError(p.t, err, "writing %d bytes to the Conn under test", len(b))
}

// writeAsync writes b from another goroutine, for writes large enough to
// block until the Conn under test reads them. The returned channel reports
// the result.
func (p *rawPeer) writeAsync(b []byte) <-chan error {
	done := make(chan error, 1)
	_ = p.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	go func() {
		_, err := p.nc.Write(b)
		done <- err
	}()
	return done
}

// readExactly reads n raw bytes while a write of the Conn under test runs;
// it fails the test at once if that write fails.
func (p *rawPeer) readExactly(n int, written <-chan error) []byte {
	p.t.Helper()
	require.NoError(p.t, p.nc.SetReadDeadline(time.Now().Add(ioTimeout)))
	type result struct {
		b   []byte
		err error
	}
	read := make(chan result, 1)
	go func() {
		b := make([]byte, n)
		_, err := io.ReadFull(p.br, b)
		read <- result{b, err}
	}()
	var r result
	select {
	case err := <-written:
		require.NoError(p.t, err, "the write failed")
		r = <-read
	case r = <-read:
		require.NoError(p.t, waitFor(p.t, written, "the write to return"), "the write failed")
	}
	require.NoError(p.t, r.err, "reading %d bytes", n)
	return r.b
}

// next reads the next frame, failing the test on an error or timeout, and
// checks that it is masked exactly when it comes from a client (§5.1).
func (p *rawPeer) next(what string) wireFrame {
	p.t.Helper()
	require.NoError(p.t, p.nc.SetReadDeadline(time.Now().Add(ioTimeout)))
	f, err := readWireFrame(p.br)
	require.NoError(p.t, err, "waiting for %s: no frame came", what)
	if p.client {
		require.False(p.t, f.Masked, "%s: a frame from a server must not be masked (RFC 6455 §5.1)", what)
	} else {
		require.True(p.t, f.Masked, "%s: a frame from a client must be masked (RFC 6455 §5.1, §5.3)", what)
	}
	return f
}

// nextData reads the next frame that is not a ping or pong.
func (p *rawPeer) nextData(what string) wireFrame {
	p.t.Helper()
	for range 1000 {
		f := p.next(what)
		if f.Op != wirePing && f.Op != wirePong {
			return f
		}
	}
	p.t.Fatalf("%s: only pings and pongs came", what)
	return wireFrame{}
}

// readMessage reads frames until a whole data message has come, checking the
// fragmentation rules of §5.4 on the way, and returns its opcode and payload.
func (p *rawPeer) readMessage(what string) (byte, []byte) {
	p.t.Helper()
	first := p.nextData(what)
	require.Contains(p.t, []byte{wireText, wireBinary}, first.Op, "%s: expected a text or binary frame, got opcode %#x (RFC 6455 §5.4)", what, first.Op)
	payload := first.Payload
	for fin := first.Fin; !fin; {
		f := p.nextData(what)
		require.Equal(p.t, wireCont, f.Op, "%s: a fragmented message goes on with continuation frames (RFC 6455 §5.4)", what)
		payload = append(payload, f.Payload...)
		fin = f.Fin
	}
	return first.Op, payload
}

// closeFrame reads frames until a close frame comes, skipping the data
// frames, pings and pongs before it, and returns its code (1005 when it has
// none) and reason.
func (p *rawPeer) closeFrame(what string) (code int, reason string) {
	p.t.Helper()
	for range 1000 {
		f := p.next(what)
		if f.Op != wireClose {
			continue
		}
		require.True(p.t, f.Fin, "%s: a close frame must have FIN set (RFC 6455 §5.5)", what)
		require.Zero(p.t, f.Rsv, "%s: the close frame has reserved bits set (RFC 6455 §5.2)", what)
		if len(f.Payload) == 0 {
			return CloseNoStatus, ""
		}
		require.GreaterOrEqual(p.t, len(f.Payload), 2, "%s: a close payload is empty or starts with a 2-byte code (RFC 6455 §5.5.1), got % x", what, f.Payload)
		return int(binary.BigEndian.Uint16(f.Payload)), string(f.Payload[2:])
	}
	p.t.Fatalf("%s: no close frame among 1000 frames", what)
	return 0, ""
}

// expectFailure checks that the Conn under test failed the connection with
// code (RFC 6455 §7.1.7): a close frame carrying it, then the end of the TCP
// connection.
func (p *rawPeer) expectFailure(code int, why string) {
	p.t.Helper()
	got, reason := p.closeFrame("the close frame that fails the connection")
	require.Equal(p.t, code, got, "%s: expected a close frame with status %d, got %d (reason %q)", why, code, got, reason)
	require.True(p.t, utf8.ValidString(reason), "the close reason must be UTF-8 (RFC 6455 §5.5.1)")
	p.expectTCPClosed(why)
}

// expectTCPClosed checks that the other side closes the TCP connection
// within ioTimeout: the next read returns EOF (or, when the other side closed
// with unread data, a reset). Frames still in flight are skipped.
func (p *rawPeer) expectTCPClosed(why string) {
	p.t.Helper()
	require.NoError(p.t, p.nc.SetReadDeadline(time.Now().Add(ioTimeout)))
	n, err := io.Copy(io.Discard, p.br)
	if err == nil || errors.Is(err, syscall.ECONNRESET) {
		return // io.Copy returns nil at EOF
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		p.t.Fatalf("%s: the TCP connection was still open %v later (%d more bytes came); it should be closed (RFC 6455 §7.1.1, §7.1.7)", why, ioTimeout, n)
	}
	p.t.Fatalf("%s: waiting for the TCP connection to close: %v", why, err)
}

// ---------------------------------------------------------------------------
// Connections.

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server = <-accepted
	require.NotNil(t, server)
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// serverConnWithRawClient returns a server Conn over loopback TCP and the raw client at
// the other end.
func serverConnWithRawClient(t *testing.T) (*Conn, *rawPeer) {
	t.Helper()
	cl, sv := tcpPair(t)
	return NewConn(sv, nil, true), newRawPeer(t, cl, nil, true)
}

// clientConnWithRawServer returns a client Conn over loopback TCP and the raw server at
// the other end.
func clientConnWithRawServer(t *testing.T) (*Conn, *rawPeer) {
	t.Helper()
	cl, sv := tcpPair(t)
	return NewConn(cl, nil, false), newRawPeer(t, sv, nil, false)
}

// A readResult is what one ReadMessage returned.
type readResult struct {
	op  Opcode
	p   []byte
	err error
}

// readInBackground calls c.ReadMessage in a goroutine until it fails, and delivers
// every result. The goroutine ends with the test.
func readInBackground(t *testing.T, c *Conn) <-chan readResult {
	out := make(chan readResult, 64)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100000 {
			op, p, err := c.ReadMessage()
			select {
			case out <- readResult{op, p, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		_ = c.CloseNow()
		select {
		case <-done:
		case <-time.After(ioTimeout):
			t.Errorf("ReadMessage did not return within %v of CloseNow", ioTimeout)
		}
	})
	return out
}

// nextRead waits for the next read result.
func nextRead(t *testing.T, ch <-chan readResult, what string) readResult {
	t.Helper()
	select {
	case r, ok := <-ch:
		require.True(t, ok, "waiting for %s: the reader had already stopped", what)
		return r
	case <-time.After(ioTimeout):
		t.Fatalf("waiting for %s: ReadMessage did not return within %v", what, ioTimeout)
	}
	return readResult{}
}

// requireCloseError checks that err is a *CloseError with code (and
// returns it).
func requireCloseError(t *testing.T, err error, code int, why string) *CloseError {
	t.Helper()
	var ce *CloseError
	require.ErrorAs(t, err, &ce, "%s: expected a *CloseError with code %d", why, code)
	require.Equal(t, code, ce.Code, "%s: expected close code %d, got %d (%q)", why, code, ce.Code, ce.Reason)
	return ce
}

// waitFor receives one value from ch within ioTimeout.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(ioTimeout):
		t.Fatalf("waiting for %s: nothing within %v", what, ioTimeout)
	}
	var zero T
	return zero
}

// ---------------------------------------------------------------------------
// HTTP servers.

// A testServer is an httptest server on 127.0.0.1 whose handlers are all
// waited for when the test ends. Handlers that hold a Conn wait on done
// before letting go of it, so the test sees the Conn exactly as the code
// under test left it.
type testServer struct {
	*httptest.Server
	done chan struct{}
}

func newServer(t *testing.T, h http.Handler) *testServer {
	t.Helper()
	return newConnServer(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) { h.ServeHTTP(w, r) })
}

// newConnServer is newServer for a handler that keeps a Conn: it gets the
// done channel to wait on before letting go of it.
func newConnServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request, done <-chan struct{})) *testServer {
	t.Helper()
	var wg sync.WaitGroup
	done := make(chan struct{})
	s := &testServer{done: done}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		h(w, r, done)
	}))
	t.Cleanup(func() {
		close(done)
		s.Close()
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(2 * ioTimeout):
			t.Errorf("a handler was still running %v after the test ended", 2*ioTimeout)
		}
	})
	return s
}

// wsURL is the ws:// URL of path on the server.
func (s *testServer) wsURL(path string) string { return "ws://" + s.Listener.Addr().String() + path }

// origin is the server's own origin, for same-origin requests.
func (s *testServer) origin() string { return "http://" + s.Listener.Addr().String() }

// An echoServer is a rawws server that echoes every message. ended gets the
// error that ended each connection's read loop (or Upgrade's error).
type echoServer struct {
	*testServer
	ended chan error
}

// newEchoServer serves path "/" with u; setup, when not nil, runs on each new
// Conn before the echo loop. The echo loop reads whole messages and writes
// them back; when a read fails it leaves the Conn alone until the test ends.
func newEchoServer(t *testing.T, u *Upgrader, setup func(*Conn)) *echoServer {
	t.Helper()
	ended := make(chan error, 64)
	report := func(err error) {
		select {
		case ended <- err:
		default:
		}
	}
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
		c, err := u.Upgrade(w, r, nil)
		if err != nil {
			report(err)
			return
		}
		if setup != nil {
			setup(c)
		}
		for range 1 << 20 {
			op, p, err := c.ReadMessage()
			if err == nil {
				err = c.WriteMessage(op, p)
			}
			if err != nil {
				report(err)
				break
			}
		}
		<-done
		_ = c.CloseNow()
	})
	return &echoServer{testServer: s, ended: ended}
}

// rawClientOf connects to the server, sends a valid opening handshake for
// path with the extra header lines, and returns the raw client once the
// server has answered 101.
func rawClientOf(t *testing.T, s *testServer, path string, extra ...string) *rawPeer {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Listener.Addr().String(), ioTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	p := newRawPeer(t, nc, nil, true)
	req := "GET " + path + " HTTP/1.1\r\n" +
		"Host: " + s.Listener.Addr().String() + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + sampleKey + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n"
	for _, h := range extra {
		req += h + "\r\n"
	}
	p.write([]byte(req + "\r\n"))
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(ioTimeout)))
	resp, err := http.ReadResponse(p.br, nil)
	require.NoError(t, err, "reading the answer to the opening handshake")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		t.Fatalf("the opening handshake was answered %s (%q), expected 101 Switching Protocols (RFC 6455 §4.2.2)", resp.Status, strings.TrimSpace(string(body)))
	}
	require.Equal(t, sampleAccept, resp.Header.Get("Sec-WebSocket-Accept"), "Sec-WebSocket-Accept (RFC 6455 §4.2.2)")
	return p
}

// ---------------------------------------------------------------------------
// Payloads.

// testBytes returns n bytes that differ from message to message (seed) and
// from position to position, so a lost, repeated or misplaced byte shows.
func testBytes(n, seed int) []byte {
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

// testText returns n bytes of ASCII text.
func testText(n, seed int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789"
	b := testBytes(n, seed)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return b
}

// requireSameBytes compares payloads without printing megabytes on failure.
func requireSameBytes(t *testing.T, want, got []byte, what string) {
	t.Helper()
	if string(want) == string(got) {
		return
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	t.Fatalf("%s: expected %d bytes, got %d; they differ first at byte %d", what, len(want), len(got), i)
}

// limitedBuffer keeps the first 64 KiB written to it, for showing a peer
// program's output when a test fails. It is safe for concurrent use.
type limitedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 64<<10 - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
