package rawws

import (
	"io"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

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
func (c *Conn) NextWriter(op Opcode) (io.WriteCloser, error) {
	return nil, exercise.TODO("2.6")
}

// WriteMessage sends p as one message of type op in a single frame. It is
// safe to call from many goroutines at once.
func (c *Conn) WriteMessage(op Opcode, p []byte) error {
	return exercise.TODO("2.6")
}

// WriteControl sends a control frame (OpPing or OpPong) with a payload of at
// most 125 bytes (§5.5); a longer payload or another opcode is an error and
// nothing is sent. Use Close for close frames. It is safe to call from many
// goroutines at once, and while a message is being streamed.
func (c *Conn) WriteControl(op Opcode, payload []byte) error {
	return exercise.TODO("2.6")
}

// Ping sends a ping with the given payload; the peer's pong reaches the pong
// handler. It is WriteControl(OpPing, payload).
func (c *Conn) Ping(payload []byte) error { return c.WriteControl(OpPing, payload) }
