package rawws

import (
	"encoding/binary"
	"io"
	"unicode/utf8"
)

// readControl reads the payload of a control frame whose header is h and
// acts on it (§5.5). Control frames may arrive between the frames of a
// message; they carry at most 125 bytes, read into a buffer of the Conn.
func (c *Conn) readControl(h Header) error {
	p := c.ctrlIn[:h.Length]
	if _, err := io.ReadFull(c.br, p); err != nil {
		return c.readFailed(err)
	}
	if h.Masked {
		Mask(h.Key, 0, p)
	}
	switch h.Opcode {
	case OpPing:
		// §5.5.2: answer with a pong carrying the same payload, unless a
		// close frame has gone out already. A failed write is not the
		// reader's error; the next write or read will report it.
		if !c.closeSent.Load() {
			_ = c.WriteControl(OpPong, p)
		}
	case OpPong:
		if c.pongHandler != nil {
			c.pongHandler(p)
		}
	case OpClose:
		return c.readClose(p)
	}
	return nil
}

// readClose handles the peer's close frame (§5.5.1): it checks the
// payload, tells the close handler, answers with a close frame of its own
// unless one went out already, ends the TCP connection (§7.1.1), and returns
// the *CloseError every later read returns.
func (c *Conn) readClose(p []byte) error {
	code, reason := CloseNoStatus, ""
	switch {
	case len(p) == 1:
		return c.fail(CloseProtocolError, "close frame with a 1-byte payload")
	case len(p) >= 2:
		code = int(binary.BigEndian.Uint16(p))
		if !ValidCloseCode(code) {
			return c.fail(CloseProtocolError, "invalid close code")
		}
		if !utf8.Valid(p[2:]) {
			return c.fail(CloseProtocolError, "close reason is not UTF-8")
		}
		reason = string(p[2:])
	}
	c.closeRecv.Store(true)
	if c.closeHandler != nil {
		c.closeHandler(code, reason)
	}
	// Echo the peer's code (§5.5.1: "typically echoing the status code it
	// received"); an empty close answers an empty close.
	_ = c.sendClose(code, "", c.closeTimeout)
	c.finishClose()
	ce := &CloseError{Code: code, Reason: reason}
	c.setReadErr(ce)
	return ce
}
