package events

import (
	"errors"
	"fmt"
)

// Acknowledgements (socket.io-protocol v5, "Acknowledgement"): an EVENT may
// carry an ack id, "4212[...]", and the receiver answers with an ACK of the
// same id, "4312[...]", whose data is the array of the callback's arguments.
// Either side may ask; each side numbers its own requests from 0.

// HasAck reports whether the peer asked for an acknowledgement.
func (e *Event) HasAck() bool { return e.ackID >= 0 && e.ep != nil }

// Ack answers the peer's ack with args, which its callback receives. It
// may be called once, from any goroutine, also after the handler returned;
// a second call, or a call for an event that asked for no ack, is an error.
// []byte arguments go as binary attachments (BINARY_ACK).
func (e *Event) Ack(args ...any) error {
	if !e.HasAck() {
		return fmt.Errorf("events: event %q asked for no acknowledgement", e.Name)
	}
	if e.acked.Swap(true) {
		return fmt.Errorf("events: event %q is acknowledged already", e.Name)
	}
	if args == nil {
		args = []any{}
	}
	data, atts, err := encodeArray(args)
	if err != nil {
		return fmt.Errorf("events: ack of event %q: %w", e.Name, err)
	}
	if !e.ep.connected() {
		return ErrDisconnected
	}
	return e.ep.w.send(messageItem(Packet{Type: PacketAck, Namespace: e.ep.nsp, ID: e.ackID, Data: data, Attachments: atts}))
}

// ErrDisconnected is returned by Emit and EmitWithAck on a socket (or
// client) that is no longer connected, and by EmitWithAck when the socket
// goes away while it waits.
var ErrDisconnected = errors.New("events: socket disconnected")
