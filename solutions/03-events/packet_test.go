package events

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 3.2: Socket.IO packets.
//
// socket.io-protocol v5, "Format":
//
//	<packet type>[<# of binary attachments>-][<namespace>,][<acknowledgment id>][JSON-stringified payload without binary]
//	+ binary attachments extracted
//
// The namespace is written only when it is not the main namespace "/"; the
// ack id only when the sender wants an acknowledgement. In a binary packet
// every []byte is replaced by {"_placeholder":true,"num":N} and travels as
// the N-th binary frame after the text.

// sioExamples are the examples of socket.io-protocol v5, "Exchange protocol"
// and "Sample session", with the packet each stands for.
var sioExamples = []struct {
	name        string
	text        string
	attachments int
	packet      Packet
}{
	{"CONNECT to the main namespace", "0", 0,
		Packet{Type: PacketConnect, Namespace: "/", ID: -1}},
	{"CONNECT with auth", `0{"token":"123"}`, 0,
		Packet{Type: PacketConnect, Namespace: "/", ID: -1, Data: json.RawMessage(`{"token":"123"}`)}},
	{"CONNECT to /admin", "0/admin,", 0,
		Packet{Type: PacketConnect, Namespace: "/admin", ID: -1}},
	{"CONNECT to /admin with auth", `0/admin,{"token":"123"}`, 0,
		Packet{Type: PacketConnect, Namespace: "/admin", ID: -1, Data: json.RawMessage(`{"token":"123"}`)}},
	{"the server's CONNECT with the sid", `0/admin,{"sid":"oSO0OpakmTY8rGYQAAAB"}`, 0,
		Packet{Type: PacketConnect, Namespace: "/admin", ID: -1, Data: json.RawMessage(`{"sid":"oSO0OpakmTY8rGYQAAAB"}`)}},
	{"DISCONNECT", "1", 0,
		Packet{Type: PacketDisconnect, Namespace: "/", ID: -1}},
	{"DISCONNECT from /admin", "1/admin,", 0,
		Packet{Type: PacketDisconnect, Namespace: "/admin", ID: -1}},
	{"EVENT", `2["hello",1]`, 0,
		Packet{Type: PacketEvent, Namespace: "/", ID: -1, Data: json.RawMessage(`["hello",1]`)}},
	{"EVENT with an ack id", `212["hello",1]`, 0,
		Packet{Type: PacketEvent, Namespace: "/", ID: 12, Data: json.RawMessage(`["hello",1]`)}},
	{"EVENT with namespace and ack id", `2/admin,456["project:delete",123]`, 0,
		Packet{Type: PacketEvent, Namespace: "/admin", ID: 456, Data: json.RawMessage(`["project:delete",123]`)}},
	{"EVENT with ack id 0", `20["hello"]`, 0,
		Packet{Type: PacketEvent, Namespace: "/", ID: 0, Data: json.RawMessage(`["hello"]`)}},
	{"ACK", `3/admin,456[]`, 0,
		Packet{Type: PacketAck, Namespace: "/admin", ID: 456, Data: json.RawMessage(`[]`)}},
	{"ACK with arguments", `312["ok",{"n":2}]`, 0,
		Packet{Type: PacketAck, Namespace: "/", ID: 12, Data: json.RawMessage(`["ok",{"n":2}]`)}},
	{"CONNECT_ERROR", `4{"message":"Not authorized"}`, 0,
		Packet{Type: PacketConnectError, Namespace: "/", ID: -1, Data: json.RawMessage(`{"message":"Not authorized"}`)}},
	{"CONNECT_ERROR from /admin with data", `4/admin,{"message":"Not authorized","data":{"reason":"no token"}}`, 0,
		Packet{Type: PacketConnectError, Namespace: "/admin", ID: -1, Data: json.RawMessage(`{"message":"Not authorized","data":{"reason":"no token"}}`)}},
	{"BINARY_EVENT", `51-["hello",{"_placeholder":true,"num":0}]`, 1,
		Packet{Type: PacketBinaryEvent, Namespace: "/", ID: -1, Data: json.RawMessage(`["hello",{"_placeholder":true,"num":0}]`)}},
	{"BINARY_EVENT with namespace and ack id", `51-/admin,456["project:delete",{"_placeholder":true,"num":0}]`, 1,
		Packet{Type: PacketBinaryEvent, Namespace: "/admin", ID: 456, Data: json.RawMessage(`["project:delete",{"_placeholder":true,"num":0}]`)}},
	{"BINARY_EVENT with two attachments", `52-["files",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, 2,
		Packet{Type: PacketBinaryEvent, Namespace: "/", ID: -1, Data: json.RawMessage(`["files",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}},
	{"BINARY_ACK", `61-/admin,456[{"_placeholder":true,"num":0}]`, 1,
		Packet{Type: PacketBinaryAck, Namespace: "/admin", ID: 456, Data: json.RawMessage(`[{"_placeholder":true,"num":0}]`)}},
}

// ttAttachmentsFor returns n distinct attachments.
func ttAttachmentsFor(n int) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, ttBytes(3+i, i))
	}
	return out
}

func TestDecodePacketReadsTheProtocolExamples(t *testing.T) {
	exercise.Start(t, "3.2")
	for _, ex := range sioExamples {
		t.Run(ex.name, func(t *testing.T) {
			p, n, err := DecodePacket([]byte(ex.text))
			require.NoError(t, err, "DecodePacket(%q)", ex.text)
			assert.Equal(t, ex.packet.Type, p.Type, "DecodePacket(%q): type", ex.text)
			assert.Equal(t, ex.packet.Namespace, p.Namespace, "DecodePacket(%q): namespace (\"/\" when absent on the wire)", ex.text)
			assert.Equal(t, ex.packet.ID, p.ID, "DecodePacket(%q): ack id (-1 when absent)", ex.text)
			if ex.packet.Data == nil {
				assert.Empty(t, p.Data, "DecodePacket(%q): no data on the wire, so Data is nil", ex.text)
			} else {
				assert.Equal(t, string(ex.packet.Data), string(p.Data), "DecodePacket(%q): Data is the JSON as on the wire", ex.text)
			}
			assert.Equal(t, ex.attachments, n, "DecodePacket(%q): the number of attachments that follow (the \"<n>-\" prefix)", ex.text)
			assert.Nil(t, p.Attachments, "DecodePacket(%q): the attachments are separate frames, not part of the text", ex.text)
		})
	}
}

func TestEncodePacketWritesTheProtocolExamples(t *testing.T) {
	exercise.Start(t, "3.2")
	for _, ex := range sioExamples {
		t.Run(ex.name, func(t *testing.T) {
			p := ex.packet
			p.Attachments = ttAttachmentsFor(ex.attachments)
			assert.Equal(t, ex.text, string(EncodePacket(p)), "EncodePacket(%+v)", ex.packet)
		})
	}
}

func TestEncodePacketWithAttachmentsIsABinaryPacket(t *testing.T) {
	exercise.Start(t, "3.2")
	// A packet that carries attachments goes as BINARY_EVENT / BINARY_ACK,
	// whatever type it was given, with the count before a '-'.
	ev := Packet{Type: PacketEvent, Namespace: "/", ID: -1, Data: json.RawMessage(`["up",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2}}}
	assert.Equal(t, `51-["up",{"_placeholder":true,"num":0}]`, string(EncodePacket(ev)), "an EVENT with attachments is written as BINARY_EVENT")
	ack := Packet{Type: PacketAck, Namespace: "/chat", ID: 7, Data: json.RawMessage(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2}}}
	assert.Equal(t, `61-/chat,7[{"_placeholder":true,"num":0}]`, string(EncodePacket(ack)), "an ACK with attachments is written as BINARY_ACK")
}

func TestSocketIOPacketsRoundTrip(t *testing.T) {
	exercise.Start(t, "3.2")
	for _, ex := range sioExamples {
		t.Run(ex.name, func(t *testing.T) {
			p, n, err := DecodePacket([]byte(ex.text))
			require.NoError(t, err, "DecodePacket(%q)", ex.text)
			p.Attachments = ttAttachmentsFor(n)
			assert.Equal(t, ex.text, string(EncodePacket(p)), "EncodePacket(DecodePacket(%q))", ex.text)
		})
	}
}

func TestEncodeArgsMakesTheEventArray(t *testing.T) {
	exercise.Start(t, "3.2")
	data, atts, err := EncodeArgs("send-message", "hello", 42, map[string]any{"room": "general", "urgent": true}, nil)
	require.NoError(t, err)
	assert.JSONEq(t, `["send-message","hello",42,{"room":"general","urgent":true},null]`, string(data),
		"EncodeArgs: the data of an EVENT is [name, ...args] (socket.io-protocol v5, EVENT)")
	assert.Empty(t, atts, "no []byte, no attachments")

	data, atts, err = EncodeArgs("ping")
	require.NoError(t, err)
	assert.JSONEq(t, `["ping"]`, string(data), "an event without arguments")
	assert.Empty(t, atts)

	_, _, err = EncodeArgs("bad", make(chan int))
	assert.Error(t, err, "EncodeArgs of a value encoding/json cannot encode must fail")
}

func TestEncodeArgsReplacesBytesWithPlaceholders(t *testing.T) {
	exercise.Start(t, "3.2")
	file, thumb, extra := ttBytes(100, 1), ttBytes(10, 2), ttBytes(5, 3)
	data, atts, err := EncodeArgs("upload", file, "name.png", map[string]any{"thumb": thumb}, []any{1, extra})
	require.NoError(t, err)
	require.Len(t, atts, 3, "three []byte arguments (one top-level, one in a map, one in a slice) make three attachments")

	var arr []json.RawMessage
	require.NoError(t, json.Unmarshal(data, &arr), "EncodeArgs must return a JSON array, got %s", data)
	require.Len(t, arr, 5, "%s", data)
	assert.JSONEq(t, `"upload"`, string(arr[0]))
	assert.JSONEq(t, `"name.png"`, string(arr[2]))

	// Every placeholder names the attachment that holds its bytes
	// (socket.io-protocol v5, Binary events).
	resolve := func(raw json.RawMessage, what string) []byte {
		num, ok := ttIsPlaceholder(raw)
		require.True(t, ok, "%s: expected {\"_placeholder\":true,\"num\":N}, got %s", what, raw)
		require.Less(t, num, len(atts), "%s: placeholder num %d, but only %d attachments", what, num, len(atts))
		return atts[num]
	}
	assert.Equal(t, file, resolve(arr[1], "the top-level []byte"))
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(arr[3], &m))
	assert.Equal(t, thumb, resolve(m["thumb"], "the []byte in a map[string]any"))
	var s []json.RawMessage
	require.NoError(t, json.Unmarshal(arr[4], &s))
	require.Len(t, s, 2)
	assert.JSONEq(t, `1`, string(s[0]))
	assert.Equal(t, extra, resolve(s[1], "the []byte in a []any"))

	nums := map[int]bool{}
	for _, raw := range []json.RawMessage{arr[1], m["thumb"], s[1]} {
		n, _ := ttIsPlaceholder(raw)
		nums[n] = true
	}
	assert.Len(t, nums, 3, "each attachment has its own num, 0..2")

	// And the whole thing travels as a BINARY_EVENT.
	text := EncodePacket(Packet{Type: PacketEvent, Namespace: "/", ID: -1, Data: data, Attachments: atts})
	assert.True(t, strings.HasPrefix(string(text), "53-["), "an EVENT with 3 attachments starts `53-[`, got %q", text)
}

func TestDecodeArgsSplitsNameAndArguments(t *testing.T) {
	exercise.Start(t, "3.2")
	name, args, err := DecodeArgs(json.RawMessage(`["send-message",{"text":"hi"},3,"x",null,[1,2]]`))
	require.NoError(t, err)
	assert.Equal(t, "send-message", name)
	require.Len(t, args, 5)
	for i, want := range []string{`{"text":"hi"}`, `3`, `"x"`, `null`, `[1,2]`} {
		assert.JSONEq(t, want, string(args[i]), "argument %d", i)
	}

	name, args, err = DecodeArgs(json.RawMessage(`["ping"]`))
	require.NoError(t, err)
	assert.Equal(t, "ping", name)
	assert.Empty(t, args, "an event with no arguments")

	// Placeholders stay in the raw JSON; Event.Bytes resolves them.
	name, args, err = DecodeArgs(json.RawMessage(`["file",{"_placeholder":true,"num":0}]`))
	require.NoError(t, err)
	assert.Equal(t, "file", name)
	require.Len(t, args, 1)
	num, ok := ttIsPlaceholder(args[0])
	assert.True(t, ok && num == 0, "the placeholder is left as it is, got %s", args[0])
}

func TestEncodeArgsAndDecodeArgsRoundTripThroughAPacket(t *testing.T) {
	exercise.Start(t, "3.2")
	blob := ttBytes(64, 7)
	data, atts, err := EncodeArgs("chat", "hi", blob, 2.5)
	require.NoError(t, err)
	text := EncodePacket(Packet{Type: PacketEvent, Namespace: "/chat", ID: 9, Data: data, Attachments: atts})

	p, n, err := DecodePacket(text)
	require.NoError(t, err, "DecodePacket(%q)", text)
	assert.Equal(t, PacketBinaryEvent, p.Type)
	assert.Equal(t, "/chat", p.Namespace)
	assert.Equal(t, int64(9), p.ID)
	require.Equal(t, 1, n, "one attachment follows %q", text)

	name, args, err := DecodeArgs(p.Data)
	require.NoError(t, err)
	assert.Equal(t, "chat", name)
	require.Len(t, args, 3)
	assert.JSONEq(t, `"hi"`, string(args[0]))
	num, ok := ttIsPlaceholder(args[1])
	require.True(t, ok, "the []byte came back as a placeholder, got %s", args[1])
	assert.Equal(t, blob, atts[num])
	assert.JSONEq(t, `2.5`, string(args[2]))
}

// ttDecodeEvent decodes a packet and, if it is an event, its arguments: the
// way a server reads what a client sends. It returns the first error.
func ttDecodeEvent(text string) error {
	p, _, err := DecodePacket([]byte(text))
	if err != nil {
		return err
	}
	if p.Type == PacketEvent || p.Type == PacketBinaryEvent {
		_, _, err = DecodeArgs(p.Data)
	}
	return err
}

func TestMalformedPacketsAreErrBadPacket(t *testing.T) {
	exercise.Start(t, "3.2")
	for _, tc := range []struct{ name, text string }{
		{"empty", ""},
		{"type 7 does not exist", `7["hello"]`},
		{"type 9 does not exist", `9`},
		{"a letter is no type", `x["hello"]`},
		{"data that is not JSON", `2abc`},
		{"unterminated JSON", `2["hello"`},
		{"an EVENT with no data", `2`},
		{"a namespace without its comma", `2/admin["hello"]`},
		{"an ack id that overflows int64", `299999999999999999999999["hello"]`},
		{"EVENT data that is an object, not an array", `2{"hello":1}`},
		{"EVENT data that is a string", `2"hello"`},
		{"an empty EVENT array: no event name", `2[]`},
		{"an event name that is not a string", `2[42,"hello"]`},
		{"an event name that is null", `2[null]`},
		{"BINARY_EVENT without the '-' after the count", `51["hello",{"_placeholder":true,"num":0}]`},
		{"BINARY_EVENT with a count that is no number", `5x-["hello"]`},
		{"more than 10 attachments", `511-["hello"]`},
		{"a huge attachment count", `5999999999999999999999-["hello"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, ttDecodeEvent(tc.text), ErrBadPacket,
				"decoding %q (socket.io-protocol v5, Format): expected an error wrapping ErrBadPacket", tc.text)
		})
	}
}

func TestDecodeArgsRejectsWhatIsNoEvent(t *testing.T) {
	exercise.Start(t, "3.2")
	for _, tc := range []struct{ name, data string }{
		{"no data", ``},
		{"not an array", `{"event":"hello"}`},
		{"a bare string", `"hello"`},
		{"an empty array", `[]`},
		{"a first element that is a number", `[1,2]`},
		{"a first element that is an object", `[{"name":"hello"}]`},
		{"broken JSON", `["hello",`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := DecodeArgs(json.RawMessage(tc.data))
			require.ErrorIs(t, err, ErrBadPacket, "DecodeArgs(%q): the data of an EVENT is an array whose first element is the name, a string (socket.io-protocol v5, EVENT); expected ErrBadPacket", tc.data)
		})
	}
}

// FuzzDecodePacket feeds DecodePacket arbitrary text. It must never panic;
// whatever it rejects wraps ErrBadPacket; whatever it accepts, EncodePacket
// writes so that DecodePacket reads the same packet back.
func FuzzDecodePacket(f *testing.F) {
	exercise.Start(f, "3.2")
	for _, ex := range sioExamples {
		f.Add(ex.text)
		// Before fuzzing, the protocol's own examples must decode: a fuzz
		// target that rejects everything proves nothing.
		_, _, err := DecodePacket([]byte(ex.text))
		require.NoError(f, err, "DecodePacket(%q), an example of socket.io-protocol v5", ex.text)
	}
	for _, seed := range []string{"", "2", "2abc", "2/admin", "2/admin,", "299999999999999999999999[]", "511-[]", "2[", `2[1]`, `0/,`, "2/a,1", "3/x,-1[]", "\x00", "2\"x\"", "21"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, n, err := DecodePacket([]byte(text))
		if err != nil {
			require.ErrorIs(t, err, ErrBadPacket, "DecodePacket(%q) failed with an error that does not wrap ErrBadPacket", text)
			return
		}
		require.GreaterOrEqual(t, n, 0, "DecodePacket(%q): attachment count", text)
		require.LessOrEqual(t, n, 10, "DecodePacket(%q): more than 10 attachments must be refused", text)
		if p.Type == PacketEvent || p.Type == PacketBinaryEvent {
			_, _, _ = DecodeArgs(p.Data) // must not panic
		}
		p.Attachments = ttAttachmentsFor(n)
		again := EncodePacket(p)
		q, m, err := DecodePacket(again)
		require.NoError(t, err, "DecodePacket(%q) accepted the packet, but not its re-encoding %q", text, again)
		assert.Equal(t, p.Type, q.Type, "type after %q -> %q", text, again)
		assert.Equal(t, p.Namespace, q.Namespace, "namespace after %q -> %q", text, again)
		assert.Equal(t, p.ID, q.ID, "ack id after %q -> %q", text, again)
		assert.Equal(t, string(p.Data), string(q.Data), "data after %q -> %q", text, again)
		assert.Equal(t, n, m, "attachments after %q -> %q", text, again)
	})
}
