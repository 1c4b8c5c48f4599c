package rawws

import (
	"errors"
	"fmt"
	"io"
	"net"
)

// errCloseSent is returned by writes after this side's close frame: §5.5.1
// forbids sending data after it. It wraps net.ErrClosed, so
// errors.Is(err, net.ErrClosed) is true.
var errCloseSent = fmt.Errorf("rawws: close frame already sent: %w", net.ErrClosed)

// errWriterClosed is returned by a message writer used after its Close.
var errWriterClosed = errors.New("rawws: write to a closed message writer")

// NextWriter starts a data message of type op (OpText or OpBinary) and
// returns a writer for its payload. Every Write sends one frame of the
// message (the first with op, the rest as continuations); Close sends the
// final frame, with FIN set, and releases the Conn for the next message.
// A client masks every frame with a fresh key from crypto/rand (§5.3).
//
// Only one message is written at a time: a second NextWriter, or a
// WriteMessage, waits until the first writer is closed. Control frames
// (WriteControl, Ping, Close, and the pongs the reader sends) may go out
// between the frames of a message, never inside one.
//
// NextWriter does not check that text is UTF-8; sending valid text is the
// caller's job.
//
// The writer is the Conn's own, reused for every message so that streaming
// allocates nothing: do not use it after its Close.
func (c *Conn) NextWriter(op Opcode) (io.WriteCloser, error) {
	if err := checkDataOpcode(op); err != nil {
		return nil, err
	}
	if err := c.beginMessage(); err != nil {
		return nil, err
	}
	c.mw.op = op
	c.mw.open = true
	return &c.mw, nil
}

// WriteMessage sends p as one message of type op in a single frame. It is
// safe to call from many goroutines at once.
func (c *Conn) WriteMessage(op Opcode, p []byte) error {
	if err := checkDataOpcode(op); err != nil {
		return err
	}
	if err := c.beginMessage(); err != nil {
		return err
	}
	c.wmu.Lock()
	err := c.writeFrame(true, op, p)
	c.wmu.Unlock()
	<-c.msgSem
	return err
}

// WriteControl sends a control frame (OpPing or OpPong) with a payload of at
// most 125 bytes (§5.5); a longer payload or another opcode is an error and
// nothing is sent. Use Close for close frames. It is safe to call from many
// goroutines at once, and while a message is being streamed.
func (c *Conn) WriteControl(op Opcode, payload []byte) error {
	if op != OpPing && op != OpPong {
		return fmt.Errorf("rawws: WriteControl with opcode %v: only ping and pong (use Close for close)", op)
	}
	if len(payload) > 125 {
		return fmt.Errorf("rawws: control frame payload of %d bytes: at most 125 are allowed (§5.5)", len(payload))
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeFrame(true, op, payload)
}

// Ping sends a ping with the given payload; the peer's pong reaches the pong
// handler. It is WriteControl(OpPing, payload).
func (c *Conn) Ping(payload []byte) error { return c.WriteControl(OpPing, payload) }

func checkDataOpcode(op Opcode) error {
	if op != OpText && op != OpBinary {
		return fmt.Errorf("rawws: a message must be text or binary, not %v", op)
	}
	return nil
}

// beginMessage takes the message lock, or gives up once the connection is
// closed (a writer that never calls Close must not block the others
// forever).
func (c *Conn) beginMessage() error {
	if c.closeSent.Load() {
		return errCloseSent
	}
	select {
	case c.msgSem <- struct{}{}:
		return nil
	default:
	}
	select {
	case c.msgSem <- struct{}{}:
		return nil
	case <-c.tcpClosed:
		return net.ErrClosed
	}
}

// A messageWriter streams one message, a frame per Write.
type messageWriter struct {
	c    *Conn
	op   Opcode // the opcode of the next frame: the message's, then continuation
	open bool   // between NextWriter and Close
}

// Write sends p as the next frame of the message. An empty p sends nothing.
func (w *messageWriter) Write(p []byte) (int, error) {
	if !w.open {
		return 0, errWriterClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	c := w.c
	c.wmu.Lock()
	err := c.writeFrame(false, w.op, p)
	c.wmu.Unlock()
	if err != nil {
		return 0, err
	}
	w.op = OpContinuation
	return len(p), nil
}

// Close sends the final frame (empty, FIN set) and lets the next message go.
func (w *messageWriter) Close() error {
	if !w.open {
		return errWriterClosed
	}
	c := w.c
	c.wmu.Lock()
	err := c.writeFrame(true, w.op, nil)
	c.wmu.Unlock()
	w.open = false
	<-c.msgSem
	return err
}

// writeFrame writes one frame, header and payload, to the connection; c.wmu
// must be held. Nothing is kept in a buffer between two calls: when
// writeFrame returns, the frame has been handed to the kernel.
//
// A small frame goes out in one write: header and payload copied into
// c.wbuf. A server's large payload is not copied at all: header and payload
// go out together in one writev (net.Buffers). A client must mask, and so
// must copy: it copies and masks in one pass into c.wbuf, a buffer at a
// time.
func (c *Conn) writeFrame(fin bool, op Opcode, p []byte) error {
	if c.writeErr != nil {
		return c.writeErr
	}
	if c.closeSent.Load() {
		return errCloseSent
	}
	if op == OpClose {
		c.closeSent.Store(true)
	}
	h := Header{Fin: fin, Opcode: op, Length: int64(len(p)), Masked: !c.isServer}
	if h.Masked {
		h.Key = c.keys.next()
	}
	buf := AppendHeader(c.wbuf[:0], h)

	var err error
	switch {
	case h.Masked:
		pos := 0
		for {
			room := buf[len(buf):cap(buf)]
			n := min(len(room), len(p))
			pos = maskCopy(room, p[:n], h.Key, pos)
			p = p[n:]
			if _, err = c.nc.Write(buf[:len(buf)+n]); err != nil || len(p) == 0 {
				break
			}
			buf = buf[:0]
		}
	case len(buf)+len(p) <= cap(buf):
		buf = append(buf, p...)
		_, err = c.nc.Write(buf)
	default:
		// WriteTo consumes the slice it is given, so rebuild it from a
		// fixed array each time instead of appending to what is left.
		c.iovArr = [2][]byte{buf, p}
		c.iov = c.iovArr[:]
		_, err = c.iov.WriteTo(c.nc)
		c.iovArr[1] = nil // do not keep the caller's payload alive
	}
	if err != nil {
		// A write that failed may have sent part of a frame: the stream
		// cannot be trusted any more.
		c.writeErr = err
	}
	return err
}
