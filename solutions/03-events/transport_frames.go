package events

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// The server's frames, written by the transport itself.
//
// gorilla frames every message it writes and ends each one with its own
// Write on the connection: one system call per message. Under load that is
// most of a server's CPU time (on loopback the kernel also runs the
// receiving end of TCP inside the sender's call). When several items wait
// in a connection's queue, they could go out in one call instead, and
// gorilla has no way to do that.
//
// A server's data frame is simple to build: FIN, the opcode, the payload
// length in 7, 16 or 64 bits, and the payload, without a mask (RFC 6455
// §5.2; §5.1: a server must not mask). So on the server side a
// gorillaTransport reads with gorilla and writes its frames itself, on the
// net.Conn that gorilla upgraded:
//
//   - a broadcast's text frame is built once, by the first recipient's
//     writer (preparer), and the same bytes are written to every other
//     recipient;
//   - a batch of queued items (batchWriter) is one write, or one writev
//     when a payload is large;
//   - a broadcast's shared writers (writeShared in wire.go) write with
//     tryWrite: one write(2) on the socket, which Go keeps non-blocking,
//     so it takes what the kernel has room for and never waits. When it
//     takes part of a frame, the token stays held until the connection's
//     own writer has written the rest (finishWrite);
//   - a pong (§5.5.3), the answer to a close frame (§5.5.1) and the
//     close frame of Close go the same way, so that gorilla never writes
//     on its own but on the error paths of its reader: a frame that breaks
//     the protocol (close 1002) or a message over the read limit (1009).
//     Those close frames do not wait for the token, but each frame is one
//     Write, and Go's net.Conn never interleaves two Writes (nor a Write
//     and a writev), so a frame is never cut (but for the rest of a frame
//     that tryWrite began: the close frame may come inside it, and the
//     peer, which broke the protocol, gets a broken frame); what the
//     writer still sends before the session ends, the peer drops (a data
//     frame after a close). gorilla also leaves a write deadline of a
//     second on the connection after them: the session is ending then.
//
// Every write on the connection takes the token in frameOut, so a control
// frame never lands inside a batch, and once a close frame is out nothing
// follows it (§5.5.1). On the client side (Client) frames must be masked,
// and gorilla writes them as before.

// maxFrameHeader is the longest header of an unmasked frame: 2 bytes and a
// 64-bit length.
const maxFrameHeader = 10

// appendFrameHeader appends the header of a final, unmasked frame with
// opcode op and a payload of n bytes (RFC 6455 §5.2).
func appendFrameHeader(b []byte, op byte, n int) []byte {
	b = append(b, 0x80|op)
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return append(b, 126, byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}

// The opcodes of RFC 6455 §5.2 that the server writes.
const (
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPong   = 0xA
)

// controlWait bounds how long a control frame waits for the connection
// (a writer may hold it, blocked on a peer that does not read), and how
// long its own write may take.
const controlWait = time.Second

// errCloseSent is what a write after the close frame returns.
var errCloseSent = errors.New("events: the close frame has been sent")

// frameOut is the server side's way onto the connection.
type frameOut struct {
	nc        net.Conn
	token     chan struct{} // holds one value while somebody writes on nc
	closeSent bool          // with the token: a close frame is out, nothing may follow

	// For tryWrite, with the token: nc's file descriptor (nil when nc has
	// none, or on systems where tryWrite is not built), the function it
	// runs there (made once), and what that function writes and returns.
	raw    syscall.RawConn
	rawFn  func(fd uintptr) bool
	rawBuf []byte
	rawN   int
	rawErr error
}

func newFrameOut(nc net.Conn) *frameOut {
	o := &frameOut{nc: nc, token: make(chan struct{}, 1)}
	o.raw = rawConnOf(nc)
	o.rawFn = o.writeOnce
	return o
}

// tryWrite writes b as far as the connection takes it at once, without
// waiting for the token or for room in the socket's buffer. When it has
// written part of b, it returns with the token still held, and the rest
// must be written with finishWrite: no other frame may come between the
// two parts of one frame (RFC 6455 §5.4: the frames of a connection follow
// each other whole).
func (o *frameOut) tryWrite(b []byte) (int, error) {
	if o.raw == nil {
		return 0, nil
	}
	select {
	case o.token <- struct{}{}:
	default:
		return 0, nil // a control frame is being written
	}
	if o.closeSent {
		<-o.token
		return 0, errCloseSent
	}
	o.rawBuf = b
	err := o.raw.Write(o.rawFn) // runs writeOnce once: it never asks to wait
	n := o.rawN
	if err == nil {
		err = o.rawErr
	}
	o.rawBuf, o.rawN, o.rawErr = nil, 0, nil
	if n == 0 || n == len(b) || err != nil {
		<-o.token
	}
	return n, err
}

// finishWrite writes the rest of a frame that tryWrite began, and what
// follows it, waiting as long as it takes, and gives the token back.
func (o *frameOut) finishWrite(bufs net.Buffers) error {
	defer func() { <-o.token }()
	return o.writeHeld(bufs)
}

// write writes bufs on the connection, as one writev (net.Buffers); it
// waits for the token as long as it takes, as the one writer goroutine
// does.
func (o *frameOut) write(bufs net.Buffers) error {
	o.token <- struct{}{}
	defer func() { <-o.token }()
	if o.closeSent {
		return errCloseSent
	}
	return o.writeHeld(bufs)
}

// writeHeld writes bufs; the caller holds the token.
func (o *frameOut) writeHeld(bufs net.Buffers) error {
	var err error
	if len(bufs) == 1 {
		_, err = o.nc.Write(bufs[0])
	} else {
		_, err = bufs.WriteTo(o.nc)
	}
	return err
}

// control writes one control frame, waiting at most controlWait for the
// token and for the write; a close frame is the last frame written.
func (o *frameOut) control(op byte, payload []byte) error {
	t := time.NewTimer(controlWait)
	defer t.Stop()
	select {
	case o.token <- struct{}{}:
	case <-t.C:
		return errors.New("events: the connection is busy: no control frame")
	}
	defer func() { <-o.token }()
	if o.closeSent {
		return errCloseSent
	}
	if op == opClose {
		o.closeSent = true
	}
	var frame [maxFrameHeader + 125]byte // a control frame's payload is at most 125 bytes (§5.5)
	b := append(appendFrameHeader(frame[:0], op, len(payload)), payload...)
	_ = o.nc.SetWriteDeadline(time.Now().Add(controlWait))
	_, err := o.nc.Write(b)
	_ = o.nc.SetWriteDeadline(time.Time{})
	return err
}

// serverFrames makes t write its own frames (see above): gorilla's
// handlers for ping and close are replaced by ones that answer through
// frameOut.
func (t *gorillaTransport) serverFrames() {
	t.out = newFrameOut(t.c.NetConn())
	t.c.SetPingHandler(func(data string) error {
		if err := t.out.control(opPong, []byte(data)); err != nil && !errors.Is(err, errCloseSent) {
			return err
		}
		return nil
	})
	t.c.SetCloseHandler(func(code int, _ string) error {
		var payload []byte
		if code != websocket.CloseNoStatusReceived {
			payload = websocket.FormatCloseMessage(code, "")
		}
		_ = t.out.control(opClose, payload)
		return nil
	})
}

// A broadcast's prepared frame: header and payload, built once.
type preparedFrame []byte

func (t *gorillaTransport) prepare(text []byte) any {
	if t.out == nil {
		return nil // a client's frames are masked, each with its own key
	}
	return preparedFrame(append(appendFrameHeader(make([]byte, 0, maxFrameHeader+len(text)), opText, len(text)), text...))
}

func (t *gorillaTransport) writePrepared(p any) (bool, error) {
	f, ok := p.(preparedFrame)
	if !ok || t.out == nil {
		return false, nil
	}
	return true, t.out.write(net.Buffers{f})
}

// batchCopyMax is the largest payload a batch copies into its buffer; a
// larger one is written from where it is, by writev.
const batchCopyMax = 4096

// batchBufs lends writeBatch the buffer its headers and small payloads go
// into.
var batchBufs = sync.Pool{New: func() any { return new([]byte) }}

// writeBatch writes the frames of items, in order, in one system call.
func (t *gorillaTransport) writeBatch(items []*outItem) error {
	if t.out == nil {
		// A Client's frames are masked, and gorilla writes them.
		for _, it := range items {
			if err := writeItem(t, it); err != nil {
				return err
			}
		}
		return nil
	}
	bp, iov := frames(items)
	defer batchBufs.Put(bp)
	err := t.out.write(iov)
	clear(iov) // nothing of the payloads stays reachable
	return err
}

// frames builds the frames of items, in order: headers and small payloads
// in one buffer from batchBufs (the caller puts it back when the write is
// done), large payloads where they are. iov is what to write: a single
// slice of that buffer when no payload is large.
func frames(items []*outItem) (bp *[]byte, iov net.Buffers) {
	size, large := 0, 0
	count := func(p []byte) {
		size += maxFrameHeader
		if len(p) <= batchCopyMax {
			size += len(p)
		} else {
			large++
		}
	}
	for _, it := range items {
		if it.text != nil {
			count(it.text)
		}
		for _, b := range it.bins {
			count(b)
		}
	}
	bp = batchBufs.Get().(*[]byte)
	if cap(*bp) < size {
		*bp = make([]byte, 0, size)
	}
	// buf has room for all it will hold, so it never moves, and the
	// iovecs cut from it stay valid.
	buf := (*bp)[:0]
	iov = make(net.Buffers, 0, 2*large+1)
	from := 0 // buf[from:] is not in iov yet
	add := func(op byte, p []byte) {
		buf = appendFrameHeader(buf, op, len(p))
		if len(p) <= batchCopyMax {
			buf = append(buf, p...)
			return
		}
		iov = append(iov, buf[from:], p)
		from = len(buf)
	}
	for _, it := range items {
		if it.text != nil {
			add(opText, it.text)
		}
		for _, b := range it.bins {
			add(opBinary, b)
		}
	}
	if from < len(buf) || len(iov) == 0 {
		iov = append(iov, buf[from:])
	}
	return bp, iov
}

// canTryWrite: on the server side, when the connection has a file
// descriptor (a TCP or Unix socket; a TLS connection has none of its
// own).
func (t *gorillaTransport) canTryWrite() bool { return t.out != nil && t.out.raw != nil }

// tryWrite writes the frames of items in one write that never waits (see
// tryWriter): a broadcast's frame as prepared once for all, or a batch.
// A batch with a large payload, which goes out by writev, is not tried.
// What the connection does not take stays, as it was built, for
// flushPending.
func (t *gorillaTransport) tryWrite(items []*outItem) (bool, error) {
	var iov net.Buffers
	if it := items[0]; len(items) == 1 && it.shared && len(it.bins) == 0 {
		it.prepOnce.Do(func() { it.prep = t.prepare(it.text) })
		if f, ok := it.prep.(preparedFrame); ok {
			iov = net.Buffers{f}
		}
	}
	if iov == nil {
		t.pendingBuf, iov = frames(items)
	}
	n := 0
	if len(iov) == 1 {
		var err error
		if n, err = t.out.tryWrite(iov[0]); err != nil || n == len(iov[0]) {
			t.putPending()
			return err == nil, err
		}
		iov[0] = iov[0][n:]
	}
	t.pending, t.pendingHeld = iov, n > 0
	return false, nil
}

func (t *gorillaTransport) flushPending() error {
	defer t.putPending()
	if t.pendingHeld {
		return t.out.finishWrite(t.pending)
	}
	return t.out.write(t.pending)
}

// putPending lets go of what tryWrite kept, and gives its buffer back.
func (t *gorillaTransport) putPending() {
	clear(t.pending) // nothing of the payloads stays reachable
	t.pending, t.pendingHeld = nil, false
	if t.pendingBuf != nil {
		batchBufs.Put(t.pendingBuf)
		t.pendingBuf = nil
	}
}

// writeFrame writes one data frame on the server side.
func (o *frameOut) writeFrame(op byte, p []byte) error {
	var h [maxFrameHeader]byte
	hdr := appendFrameHeader(h[:0], op, len(p))
	if len(p) <= batchCopyMax {
		bp := batchBufs.Get().(*[]byte)
		defer batchBufs.Put(bp)
		*bp = append(append((*bp)[:0], hdr...), p...)
		return o.write(net.Buffers{*bp})
	}
	return o.write(net.Buffers{hdr, p})
}
