package events

import (
	"errors"

	"github.com/websocket-workbook/workbook/internal/exercise"
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

// EncodeEIO returns the WebSocket frame for p: binary reports whether it is a
// binary frame. A binary packet must be EIOMessage.
//
// Over WebSocket every Engine.IO packet is one WebSocket message
// (engine.io-protocol v4, "Packet encoding", WebSocket): a text packet is its
// type digit followed by its data, so a MESSAGE "hello" is the text frame
// "4hello" and a ping is "2"; a binary MESSAGE is a binary frame holding the
// raw data, with no type prefix at all (the frame's opcode says "binary
// message").
func EncodeEIO(p EIOPacket) (frame []byte, binary bool) {
	_ = exercise.TODO("3.1")
	return nil, false
}

// DecodeEIO parses one WebSocket frame, the reverse of EncodeEIO. A binary
// frame is always a binary MESSAGE; a text frame starts with a type digit
// '0'–'6'. Empty text or an unknown type → an error wrapping ErrBadPacket.
// The returned Data may share memory with frame.
func DecodeEIO(frame []byte, binary bool) (EIOPacket, error) {
	return EIOPacket{}, exercise.TODO("3.1")
}
