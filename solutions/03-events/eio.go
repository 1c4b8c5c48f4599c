package events

import (
	"errors"
	"fmt"
)

// An EIOType is the type of an Engine.IO packet (engine.io-protocol v4,
// "Packet encoding"): one ASCII digit.
type EIOType byte

// The Engine.IO v4 packet types.
const (
	EIOOpen    EIOType = '0' // server → client, first packet: the session's parameters (JSON)
	EIOClose   EIOType = '1' // either side: the session ends
	EIOPing    EIOType = '2' // server → client every pingInterval (v4: the server pings)
	EIOPong    EIOType = '3' // client → server, the answer to a ping
	EIOMessage EIOType = '4' // either side: a message of the layer above (Socket.IO)
	EIOUpgrade EIOType = '5' // client → server, ends a transport upgrade (polling → websocket)
	EIONoop    EIOType = '6' // nothing; used while upgrading
)

// An EIOPacket is one Engine.IO packet.
type EIOPacket struct {
	Type   EIOType
	Data   []byte
	Binary bool // a binary MESSAGE: sent as a binary frame
}

// ErrBadPacket is wrapped by every error that a decoder (DecodeEIO,
// DecodePacket, DecodeArgs) returns for input that breaks the protocol:
// errors.Is(err, ErrBadPacket) tells a malformed packet from other failures.
var ErrBadPacket = errors.New("events: malformed packet")

// badPacket returns an error wrapping ErrBadPacket.
func badPacket(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadPacket}, args...)...)
}

// EncodeEIO returns the WebSocket frame for p: binary reports whether it is a
// binary frame. A binary packet must be EIOMessage; p.Binary on another type
// is ignored and the packet is written as text.
//
// Over WebSocket every Engine.IO packet is one WebSocket message
// (engine.io-protocol v4, "Packet encoding", WebSocket): a text packet is its
// type digit followed by its data, so a MESSAGE "hello" is the text frame
// "4hello" and a ping is "2"; a binary MESSAGE is a binary frame holding the
// raw data, with no type prefix at all.
func EncodeEIO(p EIOPacket) (frame []byte, binary bool) {
	if p.Binary && p.Type == EIOMessage {
		return p.Data, true
	}
	frame = make([]byte, 0, 1+len(p.Data))
	frame = append(frame, byte(p.Type))
	return append(frame, p.Data...), false
}

// DecodeEIO parses one WebSocket frame, the reverse of EncodeEIO. A binary
// frame is always a binary MESSAGE; a text frame starts with a type digit
// '0'–'6'. Empty text or an unknown type → an error wrapping ErrBadPacket.
// The returned Data shares memory with frame.
func DecodeEIO(frame []byte, binary bool) (EIOPacket, error) {
	if binary {
		return EIOPacket{Type: EIOMessage, Data: frame, Binary: true}, nil
	}
	if len(frame) == 0 {
		return EIOPacket{}, badPacket("empty Engine.IO packet")
	}
	t := EIOType(frame[0])
	if t < EIOOpen || t > EIONoop {
		return EIOPacket{}, badPacket("unknown Engine.IO packet type %q", frame[0])
	}
	return EIOPacket{Type: t, Data: frame[1:]}, nil
}
