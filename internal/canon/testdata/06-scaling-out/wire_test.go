package scaling

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/websocket-workbook/workbook/internal/exercise"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// Exercise 6.1: The adapter's wire format.
//
// What the Node adapter publishes for a broadcast is one MessagePack value,
// [uid, packet, opts]. These tests hold the Go encoder and decoder to what
// notepack.io, the Node adapter's MessagePack library, writes and reads;
// the tests of 6.2 then send the same bytes through Redis to a real Node
// server.

// ttFromNotepack is the Node adapter's broadcast of
//
//	["abc123",
//	 {type: 2, data: ["news", 1, -2, 1.5, "x<y", {a: null, b: undefined, c: [true, false]},
//	                  Buffer.from([1, 2, 3]), new Date(0)], nsp: "/"},
//	 {rooms: ["r1"], except: ["e1", 7], flags: {}}]
//
// as notepack.io 3.0.1 encodes it: made with
//
//	node -e 'console.log(require("notepack.io").encode([...]).toString("hex"))'
//
// at the module root after `npm ci`. An undefined map value is left out; a
// Buffer is a bin value; a Date is the timestamp extension (type -1); 7 is
// a room JavaScript allows (any value can be a room).
const ttFromNotepack = "93a661626331323383a47479706502a46461746198a46e65777301fecb3ff8000000000000a3783c7982a161c0a16392c3c2c403010203d6ff00000000a36e7370a12f83a5726f6f6d7391a27231a665786365707492a2653107a5666c61677380"

func TestDecodeWhatTheNodeAdapterPublishes(t *testing.T) {
	exercise.Start(t, "6.1")
	raw, err := hex.DecodeString(ttFromNotepack)
	require.NoError(t, err)
	b, err := DecodeBroadcast(raw)
	require.NoError(t, err)
	assert.Equal(t, "abc123", b.UID)
	assert.False(t, b.Local)
	p := b.Message.Packet
	assert.Equal(t, events.PacketEvent, p.Type)
	assert.Equal(t, "/", p.Namespace)
	assert.Equal(t, int64(-1), p.ID, "a broadcast has no ack id")
	assert.JSONEq(t, `["news",1,-2,1.5,"x<y",{"a":null,"c":[true,false]},{"_placeholder":true,"num":0},"1970-01-01T00:00:00.000Z"]`, string(p.Data),
		"the bin value must become attachment 0 and a placeholder; the Date the string Date.toJSON gives")
	assert.NotContains(t, string(p.Data), `\u003c`, "write < as JSON.stringify does, not escaped")
	assert.Equal(t, [][]byte{{1, 2, 3}}, p.Attachments)
	assert.Equal(t, []string{"r1"}, b.Message.Rooms)
	assert.Equal(t, []string{"e1", "7"}, b.Message.Except, "a room that is a number is named as JavaScript prints it")
}

func TestEncodeWhatTheNodeAdapterReads(t *testing.T) {
	exercise.Start(t, "6.1")
	m := events.BroadcastMessage{
		Packet: events.Packet{Type: events.PacketEvent, Namespace: "/", ID: -1,
			Data:        json.RawMessage(`["news",1,2.5,"x",{"k":[null,true]},{"_placeholder":true,"num":0}]`),
			Attachments: [][]byte{{9, 8, 7}}},
		Rooms:  []string{"red"},
		Except: []string{"sid1"},
	}
	out, err := EncodeBroadcast("go1234", m)
	require.NoError(t, err)
	// Read it back with the MessagePack library itself, not with
	// DecodeBroadcast: the shape is what the Node adapter expects.
	var v []any
	require.NoError(t, msgpack.Unmarshal(out, &v))
	require.Len(t, v, 3, "[uid, packet, opts]")
	assert.Equal(t, "go1234", v[0])
	packet, ok := v[1].(map[string]any)
	require.True(t, ok, "the packet is a map: %#v", v[1])
	assert.EqualValues(t, 2, packet["type"], "socket.io's EVENT, binary or not")
	assert.Equal(t, "/", packet["nsp"])
	data, ok := packet["data"].([]any)
	require.True(t, ok, "data is an array: %#v", packet["data"])
	require.Len(t, data, 6)
	assert.Equal(t, "news", data[0])
	assert.EqualValues(t, 1, data[1])
	assert.Equal(t, 2.5, data[2])
	assert.Equal(t, map[string]any{"k": []any{nil, true}}, data[4])
	assert.Equal(t, []byte{9, 8, 7}, data[5], "an attachment travels as a bin value in its place, not as a placeholder")
	opts, ok := v[2].(map[string]any)
	require.True(t, ok, "opts is a map: %#v", v[2])
	assert.Equal(t, []any{"red"}, opts["rooms"])
	assert.Equal(t, []any{"sid1"}, opts["except"])
	assert.Equal(t, map[string]any{}, opts["flags"])

	again, err := EncodeBroadcast("go1234", m)
	require.NoError(t, err)
	assert.Equal(t, out, again, "the same broadcast must encode to the same bytes")
}

func TestEmptyRoomsAreEmptyArrays(t *testing.T) {
	exercise.Start(t, "6.1")
	out, err := EncodeBroadcast("u", events.BroadcastMessage{Packet: events.Packet{Type: events.PacketEvent, Namespace: "/", ID: -1, Data: json.RawMessage(`["x"]`)}})
	require.NoError(t, err)
	var v []any
	require.NoError(t, msgpack.Unmarshal(out, &v))
	opts := v[2].(map[string]any)
	// The Node adapter always writes arrays here, even empty ones; so does
	// the Go side, so that every reader finds what it expects.
	assert.Equal(t, []any{}, opts["rooms"])
	assert.Equal(t, []any{}, opts["except"])
}

func TestBroadcastRoundTrip(t *testing.T) {
	exercise.Start(t, "6.1")
	for _, data := range []string{
		`["plain"]`,
		`["args",0,-1,9007199254740993,1e300,0.1,"é ✓ 😀","",[],{}]`,
		`["nested",{"a":{"b":{"c":[1,[2,[3]]]}}}]`,
		`["bin",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]`,
	} {
		var atts [][]byte
		if strings.Contains(data, "_placeholder") {
			atts = [][]byte{{0, 1, 2, 255}, bytes.Repeat([]byte{7}, 70_000)}
		}
		m := events.BroadcastMessage{
			Packet: events.Packet{Type: events.PacketEvent, Namespace: "/admin", ID: -1, Data: json.RawMessage(data), Attachments: atts},
			Rooms:  []string{"a", "b"}, Except: []string{"c"},
		}
		out, err := EncodeBroadcast("me", m)
		require.NoError(t, err, data)
		b, err := DecodeBroadcast(out)
		require.NoError(t, err, data)
		assert.Equal(t, "me", b.UID)
		assert.Equal(t, "/admin", b.Message.Packet.Namespace)
		assert.JSONEq(t, data, string(b.Message.Packet.Data), "the data must come back as it went")
		assert.Equal(t, len(atts), len(b.Message.Packet.Attachments))
		for i := range atts {
			assert.Equal(t, atts[i], b.Message.Packet.Attachments[i], "attachment %d", i)
		}
		assert.Equal(t, m.Rooms, b.Message.Rooms)
		assert.Equal(t, m.Except, b.Message.Except)
	}
}

func TestEncodeRefusesWhatIsNotAnEvent(t *testing.T) {
	exercise.Start(t, "6.1")
	_, err := EncodeBroadcast("u", events.BroadcastMessage{Packet: events.Packet{Type: events.PacketEvent, ID: -1, Data: json.RawMessage(`["x",1]`)}})
	require.NoError(t, err, "an event with a namespace left empty (it is \"/\") encodes")
	for name, p := range map[string]events.Packet{
		"not JSON":                {Type: events.PacketEvent, Data: json.RawMessage(`["x",`)},
		"not an array":            {Type: events.PacketEvent, Data: json.RawMessage(`{"x":1}`)},
		"a placeholder too many":  {Type: events.PacketEvent, Data: json.RawMessage(`["x",{"_placeholder":true,"num":1}]`), Attachments: [][]byte{{1}}},
		"a negative placeholder":  {Type: events.PacketEvent, Data: json.RawMessage(`["x",{"_placeholder":true,"num":-1}]`), Attachments: [][]byte{{1}}},
		"a placeholder, no bytes": {Type: events.PacketEvent, Data: json.RawMessage(`["x",{"_placeholder":true,"num":0}]`)},
	} {
		_, err = EncodeBroadcast("u", events.BroadcastMessage{Packet: p})
		assert.Error(t, err, name)
	}
}

// ttMalformed are messages another program might write on the channels, or
// a truncated or hostile one: each must be an error, never a panic, a
// hang or a huge allocation.
func ttMalformed(t *testing.T) map[string][]byte {
	t.Helper()
	valid, err := hex.DecodeString(ttFromNotepack)
	require.NoError(t, err)
	enc := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		require.NoError(t, err)
		return b
	}
	// A broadcast whose one argument is [[[[...nil...]]]], 100,000 deep: well
	// formed, and a decoder that recurses would follow it all the way down.
	deep := enc([]any{"u", map[string]any{"type": 2, "nsp": "/", "data": []any{"x", "PLACE"}}, map[string]any{}})
	i := bytes.Index(deep, []byte("\xa5PLACE"))
	require.Positive(t, i)
	deep = append(deep[:i:i], append(append(bytes.Repeat([]byte{0x91}, 100_000), 0xc0), deep[i+6:]...)...)
	return map[string][]byte{
		"empty":                  {},
		"JSON":                   []byte(`{"type":2}`),
		"text":                   []byte("hello"),
		"truncated":              valid[:len(valid)/2],
		"one byte short":         valid[:len(valid)-1],
		"trailing bytes":         append(append([]byte(nil), valid...), 0xc0),
		"the unused code 0xc1":   {0x93, 0xc1, 0xc0, 0xc0},
		"an array of 4 billion":  {0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0},
		"a map of 4 billion":     {0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0},
		"a string of 4 GB":       {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'},
		"bin longer than it is":  {0xc6, 0x00, 0x10, 0x00, 0x00, 1, 2, 3},
		"100,000 levels deep":    deep,
		"an unknown extension":   {0x93, 0xa1, 'u', 0xd4, 0x05, 0x00, 0x80},
		"not an array":           enc(map[string]any{"uid": "x"}),
		"two elements":           enc([]any{"u", map[string]any{"type": 2, "data": []any{"x"}}}),
		"uid not a string":       enc([]any{1, map[string]any{"type": 2, "data": []any{"x"}}, map[string]any{}}),
		"packet not a map":       enc([]any{"u", []any{2}, map[string]any{}}),
		"opts not a map":         enc([]any{"u", map[string]any{"type": 2, "data": []any{"x"}}, "opts"}),
		"a CONNECT packet":       enc([]any{"u", map[string]any{"type": 0, "data": []any{"x"}}, map[string]any{}}),
		"data not an array":      enc([]any{"u", map[string]any{"type": 2, "data": "x"}, map[string]any{}}),
		"empty data":             enc([]any{"u", map[string]any{"type": 2, "data": []any{}}, map[string]any{}}),
		"event name not string":  enc([]any{"u", map[string]any{"type": 2, "data": []any{42}}, map[string]any{}}),
		"rooms not an array":     enc([]any{"u", map[string]any{"type": 2, "data": []any{"x"}}, map[string]any{"rooms": "r"}}),
		"a room that is a map":   enc([]any{"u", map[string]any{"type": 2, "data": []any{"x"}}, map[string]any{"rooms": []any{map[string]any{}}}}),
		"a map with number keys": enc([]any{"u", map[string]any{"type": 2, "data": []any{"x", map[int]any{1: 2}}}, map[string]any{}}),
		"too long":               append([]byte{0xc6, 0x00, 0x50, 0x00, 0x00}, make([]byte, 0x500000)...),
	}
}

func TestMalformedBroadcastsAreErrors(t *testing.T) {
	exercise.Start(t, "6.1")
	valid, err := hex.DecodeString(ttFromNotepack)
	require.NoError(t, err)
	_, err = DecodeBroadcast(valid)
	require.NoError(t, err, "the message the bad ones are made from decodes")
	for name, b := range ttMalformed(t) {
		_, err := DecodeBroadcast(b)
		assert.Error(t, err, "%s must not decode", name)
	}
}

func TestCorruptedBroadcastsNeverPanic(t *testing.T) {
	exercise.Start(t, "6.1")
	valid, err := hex.DecodeString(ttFromNotepack)
	require.NoError(t, err)
	_, err = DecodeBroadcast(valid)
	require.NoError(t, err, "the message the corrupted ones are made from decodes")
	rng := rand.New(rand.NewPCG(6, 1))
	decoded := 0
	for range 20_000 {
		b := append([]byte(nil), valid...)
		for range 1 + rng.IntN(4) {
			switch rng.IntN(3) {
			case 0:
				b[rng.IntN(len(b))] = byte(rng.UintN(256))
			case 1:
				b = b[:rng.IntN(len(b))]
			case 2:
				i := rng.IntN(len(b) + 1)
				b = append(b[:i:i], append([]byte{byte(rng.UintN(256))}, b[i:]...)...)
			}
			if len(b) == 0 {
				break
			}
		}
		if _, err := DecodeBroadcast(b); err == nil {
			decoded++
		}
	}
	// Some corruptions still decode (a changed letter in a string); most
	// must not. The point is that none panicked to get here.
	t.Logf("%d of 20,000 corrupted messages still decoded", decoded)
	assert.Positive(t, decoded, "a changed letter in a string still decodes")
	assert.Less(t, decoded, 10_000, "most corruptions must be caught")
}

func TestChannelNames(t *testing.T) {
	exercise.Start(t, "6.1")
	assert.Equal(t, "socket.io#/#", BroadcastChannel("socket.io", "/"))
	assert.Equal(t, "socket.io#/admin#room1#", RoomChannel("socket.io", "/admin", "room1"))
	assert.Equal(t, "socket.io-request#/#", RequestChannel("socket.io", "/"))
	assert.Equal(t, "chat-response#/#", ResponseChannel("chat", "/"))
}
