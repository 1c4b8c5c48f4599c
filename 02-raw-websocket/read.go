package rawws

import (
	"io"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

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
func (c *Conn) NextReader() (Opcode, io.Reader, error) {
	return 0, nil, exercise.TODO("2.7")
}

// ReadMessage reads the next whole data message into a new slice.
func (c *Conn) ReadMessage() (Opcode, []byte, error) {
	op, r, err := c.NextReader()
	if err != nil {
		return 0, nil, err
	}
	p, err := io.ReadAll(r)
	return op, p, err
}
