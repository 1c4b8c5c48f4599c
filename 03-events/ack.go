package events

import "github.com/websocket-workbook/workbook/internal/exercise"

// Acknowledgements (socket.io-protocol v5, "Acknowledgement"): an EVENT may
// carry an ack id, "4212[...]", and the receiver answers with an ACK of the
// same id, "4312[...]", whose data is the array of the callback's arguments.
// Either side may ask; each side numbers its own requests from 0.

// HasAck reports whether the client asked for an acknowledgement:
// socket.emit("name", data, (answer) => …) on the JavaScript side.
func (e *Event) HasAck() bool {
	_ = exercise.TODO("3.6")
	return false
}

// Ack answers the client's ack with args, which its callback receives. It
// may be called once, from any goroutine, also after the handler returned;
// a second call, or a call for an event that asked for no ack, is an error.
func (e *Event) Ack(args ...any) error {
	return exercise.TODO("3.6")
}
