package rawws

import (
	"errors"
	"io"
	"net"
)

// readState is where the reader is in the stream: the data frame whose
// payload is being read, and the message it belongs to.
type readState struct {
	remaining int64   // payload bytes of the current data frame not read yet
	fin       bool    // the current data frame is the message's last
	key       [4]byte // the current frame's masking key, when masked
	masked    bool
	pos       int // masking position within the current frame

	op         Opcode // the current message's type
	active     bool   // NextReader returned this message and its end has not been read
	pending    bool   // Close read this message's first header and left it for NextReader
	fragmented bool   // a data frame without FIN came, its final frame has not
	size       int64  // payload bytes announced so far by the message's frames
	text       bool
	utf8       UTF8Checker
}

// NextReader waits for the next data message and returns its type (OpText or
// OpBinary) and a reader of its payload, which runs across the message's
// fragments. The reader returns io.EOF at the end of the message; it is
// valid until the next call to NextReader or ReadMessage, which discards what
// was left unread.
//
// Control frames that arrive before or between fragments are handled on the
// way: a ping is answered with a pong carrying the same payload (§5.5.2), a
// pong goes to the pong handler, and a close frame is answered (§5.5.1) and
// ends the connection, after which NextReader returns a *CloseError.
//
// A frame the protocol forbids fails the connection (§7.1.7): NextReader
// sends a close frame with the code that names the problem (1002 for
// protocol errors, 1007 for invalid UTF-8 in text, 1009 for a message over
// the read limit), closes the TCP connection and returns a *CloseError with
// that code. Once a read has failed, every later read fails the same way.
//
// Only one goroutine may read at a time.
//
// The reader is the Conn's own, reused for every message so that streaming
// allocates nothing.
func (c *Conn) NextReader() (Opcode, io.Reader, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	c.readCalls++
	if c.readErr != nil {
		return 0, nil, c.readErr
	}
	if c.rd.pending {
		// Close met this message while waiting for the peer's close
		// frame, and left it here for the application.
		c.rd.pending = false
	} else {
		if c.rd.active {
			if err := c.discardMessage(); err != nil {
				return 0, nil, err
			}
		}
		if err := c.nextDataFrame(); err != nil {
			return 0, nil, err
		}
	}
	c.rd.active = true
	return c.rd.op, &c.mr, nil
}

// ReadMessage reads the next whole data message into a new slice.
//
// When the message is a single frame, its length is known from the header
// and the slice is allocated once, at the right size.
func (c *Conn) ReadMessage() (Opcode, []byte, error) {
	op, r, err := c.NextReader()
	if err != nil {
		return 0, nil, err
	}
	c.readMu.Lock()
	hint := c.rd.remaining // NextReader checked it against the read limit
	c.readMu.Unlock()
	// Trust the header only so far: a peer could announce a long frame and
	// send nothing, and the buffer should grow with what actually arrives.
	hint = max(512, min(hint, maxReadHint))
	p := make([]byte, 0, hint)
	for {
		if len(p) == cap(p) {
			// Full: find out whether the message is over before growing.
			if _, err := r.Read(nil); err != nil {
				if err == io.EOF {
					err = nil
				}
				return op, p, err
			}
			p = append(p, 0)[:len(p)]
		}
		n, err := r.Read(p[len(p):cap(p)])
		p = p[:len(p)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return op, p, err
		}
	}
}

// maxReadHint is the most ReadMessage allocates on a header's word alone.
const maxReadHint = 1 << 20

// A messageReader reads the payload of the current message, frame after
// frame, handling control frames that come between them.
type messageReader struct{ c *Conn }

func (r *messageReader) Read(p []byte) (int, error) {
	c := r.c
	c.readMu.Lock()
	defer c.readMu.Unlock()
	c.readCalls++
	if c.readErr != nil {
		return 0, c.readErr
	}
	if !c.rd.active {
		return 0, io.EOF
	}
	for c.rd.remaining == 0 {
		if c.rd.fin {
			c.rd.active = false
			return 0, io.EOF
		}
		if err := c.nextDataFrame(); err != nil {
			return 0, err
		}
		if err := c.checkMessageEnd(); err != nil {
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > c.rd.remaining {
		p = p[:c.rd.remaining]
	}
	// bufio.Reader.Read copies what it has buffered, or, when the buffer is
	// empty and p is large, reads straight into p: a large message is not
	// copied twice.
	n, err := c.br.Read(p)
	if n == 0 {
		if err == nil {
			err = io.ErrNoProgress
		}
		return 0, c.readFailed(err)
	}
	p = p[:n]
	c.rd.remaining -= int64(n)
	if c.rd.masked {
		c.rd.pos = Mask(c.rd.key, c.rd.pos, p)
	}
	if c.rd.text && !c.rd.utf8.Check(p) {
		return 0, c.fail(CloseInvalidPayload, "invalid UTF-8 in a text message")
	}
	if err := c.checkMessageEnd(); err != nil {
		return 0, err
	}
	return n, nil
}

// checkMessageEnd fails the connection when the final frame of a text
// message has been read and its last character is incomplete.
func (c *Conn) checkMessageEnd() error {
	if c.rd.remaining == 0 && c.rd.fin && c.rd.text && !c.rd.utf8.Complete() {
		return c.fail(CloseInvalidPayload, "text message ends inside a UTF-8 sequence")
	}
	return nil
}

// discardMessage skips what is left of the current message.
func (c *Conn) discardMessage() error {
	for {
		for c.rd.remaining > 0 {
			n, err := c.br.Discard(int(min(c.rd.remaining, 1<<30)))
			c.rd.remaining -= int64(n)
			if err != nil {
				return c.readFailed(err)
			}
		}
		if c.rd.fin {
			c.rd.active = false
			return nil
		}
		if err := c.nextDataFrame(); err != nil {
			return err
		}
	}
}

// nextDataFrame reads frame headers until one of a data frame arrives,
// handling the control frames before it, and checks it against the state of
// the stream: a continuation only inside a fragmented message, a new message
// only outside one (§5.4), and the read limit.
func (c *Conn) nextDataFrame() error {
	for {
		h, err := ReadHeader(c.br)
		if err != nil {
			return c.readFailed(err)
		}
		if err := c.checkHeader(h); err != nil {
			return err
		}
		if h.Opcode.IsControl() {
			if err := c.readControl(h); err != nil {
				return err
			}
			continue
		}
		if h.Opcode == OpContinuation {
			if !c.rd.fragmented {
				return c.fail(CloseProtocolError, "continuation frame with no message to continue")
			}
		} else {
			if c.rd.fragmented {
				return c.fail(CloseProtocolError, "new data frame inside a fragmented message")
			}
			c.rd.op, c.rd.text, c.rd.size = h.Opcode, h.Opcode == OpText, 0
			c.rd.utf8.Reset()
		}
		if h.Length > c.readLimit-c.rd.size {
			return c.fail(CloseMessageTooBig, "message over the read limit")
		}
		c.rd.size += h.Length
		c.rd.remaining = h.Length
		c.rd.fin = h.Fin
		c.rd.fragmented = !h.Fin
		c.rd.masked, c.rd.key, c.rd.pos = h.Masked, h.Key, 0
		return nil
	}
}

// checkHeader applies the rules that depend on this connection: no
// extension was negotiated, so no reserved bit may be set (§5.2); reserved
// opcodes are errors; clients mask, servers do not (§5.1); control frames
// are short and whole (§5.5).
func (c *Conn) checkHeader(h Header) error {
	switch {
	case h.Rsv != 0:
		return c.fail(CloseProtocolError, "reserved bits set without a negotiated extension")
	case h.Opcode.IsReserved():
		return c.fail(CloseProtocolError, "reserved opcode")
	case h.Masked != c.isServer:
		if c.isServer {
			return c.fail(CloseProtocolError, "unmasked frame from a client")
		}
		return c.fail(CloseProtocolError, "masked frame from a server")
	case h.Opcode.IsControl() && h.Length > 125:
		return c.fail(CloseProtocolError, "control frame longer than 125 bytes")
	case h.Opcode.IsControl() && !h.Fin:
		return c.fail(CloseProtocolError, "fragmented control frame")
	}
	return nil
}

// readFailed ends reading after an error of the connection itself.
//
// A malformed header is a protocol error. A deadline that passed is
// returned as it is (it is the application's), and stays: the stream may be
// mid-frame. Anything else (the TCP connection ended, was reset, or was
// closed under us) means the peer went away without a close frame: 1006
// (§7.1.5), and the TCP connection is closed.
func (c *Conn) readFailed(err error) error {
	if errors.Is(err, ErrBadHeader) {
		return c.fail(CloseProtocolError, "malformed frame header")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !c.closeSent.Load() {
		c.setReadErr(err)
		return err
	}
	ce := &CloseError{Code: CloseAbnormal}
	c.setReadErr(ce)
	c.closeTCP()
	return ce
}

// setReadErr ends reading for good; c.readMu must be held.
func (c *Conn) setReadErr(err error) {
	if c.readErr != nil {
		return
	}
	c.readErr = err
	c.rd.active, c.rd.pending = false, false
	close(c.readDone)
}
