package rawws

import "github.com/websocket-workbook/workbook/internal/exercise"

// A Message is one data message for WriteMessages.
type Message struct {
	Op   Opcode // OpText or OpBinary
	Data []byte
}

// WriteMessages sends msgs in order, each as one message in a single frame,
// as that many WriteMessage calls would, and with no other message between
// them. A server's frames go out together, in one write or writev
// (net.Buffers): one system call for the lot instead of one per message. A
// client masks each frame and writes them one by one.
//
// An opcode other than OpText or OpBinary is an error, and then nothing is
// sent. It is safe to call from many goroutines at once.
func (c *Conn) WriteMessages(msgs []Message) error {
	return exercise.TODO("2.10")
}
