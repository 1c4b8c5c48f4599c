package events

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 3.1: Engine.IO packets.
//
// engine.io-protocol v4, "Protocol" / "Packet encoding": over WebSocket each
// packet is one frame. A text frame is the packet type as one ASCII digit,
// followed by the data; a binary frame is a MESSAGE packet whose data is the
// frame's bytes, with no type prefix at all.

// eioExamples are packets and their frames, from the protocol's packet table.
var eioExamples = []struct {
	name   string
	packet EIOPacket
	frame  string
	binary bool
}{
	{"open (the handshake)", EIOPacket{Type: EIOOpen, Data: []byte(`{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)},
		`0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`, false},
	{"close", EIOPacket{Type: EIOClose}, "1", false},
	{"ping", EIOPacket{Type: EIOPing}, "2", false},
	{"ping probe (upgrade)", EIOPacket{Type: EIOPing, Data: []byte("probe")}, "2probe", false},
	{"pong", EIOPacket{Type: EIOPong}, "3", false},
	{"pong probe", EIOPacket{Type: EIOPong, Data: []byte("probe")}, "3probe", false},
	{"text message", EIOPacket{Type: EIOMessage, Data: []byte("hello")}, "4hello", false},
	{"message carrying a Socket.IO EVENT", EIOPacket{Type: EIOMessage, Data: []byte(`2["chat","héllo ☃"]`)}, `42["chat","héllo ☃"]`, false},
	{"empty text message", EIOPacket{Type: EIOMessage}, "4", false},
	{"upgrade", EIOPacket{Type: EIOUpgrade}, "5", false},
	{"noop", EIOPacket{Type: EIONoop}, "6", false},
	{"binary message", EIOPacket{Type: EIOMessage, Data: []byte{0x01, 0x02, 0x03, 0x04}, Binary: true}, "\x01\x02\x03\x04", true},
	{"binary message that looks like text", EIOPacket{Type: EIOMessage, Data: []byte("4abc"), Binary: true}, "4abc", true},
}

func TestEncodeEIOWritesTheTypeDigitThenTheData(t *testing.T) {
	exercise.Start(t, "3.1")
	for _, ex := range eioExamples {
		t.Run(ex.name, func(t *testing.T) {
			frame, binary := EncodeEIO(ex.packet)
			assert.Equal(t, ex.binary, binary, "EncodeEIO(%+v): binary frame? (engine.io-protocol v4: only a binary MESSAGE is a binary frame)", ex.packet)
			assert.Equal(t, ex.frame, string(frame), "EncodeEIO(%+v): expected frame %q, got %q", ex.packet, ex.frame, frame)
		})
	}
}

func TestDecodeEIOReadsTheTypeDigitThenTheData(t *testing.T) {
	exercise.Start(t, "3.1")
	for _, ex := range eioExamples {
		t.Run(ex.name, func(t *testing.T) {
			p, err := DecodeEIO([]byte(ex.frame), ex.binary)
			require.NoError(t, err, "DecodeEIO(%q, binary=%v)", ex.frame, ex.binary)
			assert.Equal(t, ex.packet.Type, p.Type, "DecodeEIO(%q): expected type %q, got %q", ex.frame, ex.packet.Type, p.Type)
			assert.Equal(t, string(ex.packet.Data), string(p.Data), "DecodeEIO(%q): data", ex.frame)
			assert.Equal(t, ex.binary, p.Binary, "DecodeEIO(%q): Binary is true exactly for a binary frame", ex.frame)
		})
	}
}

func TestEIOPacketsRoundTrip(t *testing.T) {
	exercise.Start(t, "3.1")
	for _, ex := range eioExamples {
		t.Run(ex.name, func(t *testing.T) {
			frame, binary := EncodeEIO(ex.packet)
			p, err := DecodeEIO(frame, binary)
			require.NoError(t, err, "DecodeEIO(EncodeEIO(%+v)) = DecodeEIO(%q)", ex.packet, frame)
			assert.Equal(t, ex.packet.Type, p.Type)
			assert.Equal(t, string(ex.packet.Data), string(p.Data))
			assert.Equal(t, ex.packet.Binary, p.Binary)
		})
	}
}

func TestDecodeEIORejectsWhatIsNoPacket(t *testing.T) {
	exercise.Start(t, "3.1")
	for _, tc := range []struct{ name, frame string }{
		{"an empty text frame has no type", ""},
		{"type 7 does not exist", "7"},
		{"type 9 does not exist", "9hello"},
		{"a letter is no type", "a"},
		{"a JSON array is no type", `["hello"]`},
		{"a space before the type", " 4hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeEIO([]byte(tc.frame), false)
			require.ErrorIs(t, err, ErrBadPacket, "DecodeEIO(%q): a text frame must start with a type digit 0-6 (engine.io-protocol v4, Packet types); expected an error wrapping ErrBadPacket", tc.frame)
		})
	}
}
