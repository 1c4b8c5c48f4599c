package scaling

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// The channels of @socket.io/redis-adapter 8.x, for a key prefix ("socket.io"
// by default) and a namespace ("/"). Every server PSUBSCRIBEs to
// BroadcastChannel+"*" and SUBSCRIBEs to the request channel, the response
// channel and its own response channel; a broadcast to exactly one room is
// published on that room's channel, any other broadcast on the
// namespace's.
//
//	socket.io#/#               a broadcast to every room, or to several
//	socket.io#/#room1#         a broadcast to room1 alone
//	socket.io-request#/#       requests: fetchSockets, socketsJoin, serverSideEmit, ...
//	socket.io-response#/#      the answers
//	socket.io-response#/#UID#  answers for the server UID alone (an option of the Node adapter)
func BroadcastChannel(prefix, nsp string) string { return prefix + "#" + nsp + "#" }

// RoomChannel is the channel of a broadcast to room alone.
func RoomChannel(prefix, nsp, room string) string { return BroadcastChannel(prefix, nsp) + room + "#" }

// RequestChannel is where servers ask each other.
func RequestChannel(prefix, nsp string) string { return prefix + "-request#" + nsp + "#" }

// ResponseChannel is where they answer.
func ResponseChannel(prefix, nsp string) string { return prefix + "-response#" + nsp + "#" }

// A Broadcast is what one server publishes for the others when it
// broadcasts: the MessagePack array [uid, packet, opts] of
// @socket.io/redis-adapter, where uid names the server that sent it (so that
// it can ignore its own), packet is socket.io's packet object
// {"type": 2, "data": ["event", args...], "nsp": "/"} with binary
// arguments as MessagePack bin values, and opts is {"rooms": [...],
// "except": [...], "flags": {...}}.
type Broadcast struct {
	UID     string
	Message events.BroadcastMessage
	Local   bool // flags.local: the sender meant it for itself alone
}

// MaxMessage bounds a message read from Redis. Anything longer is dropped
// unread as malformed; socket.io's default maxHttpBufferSize, the most one
// client may send, is 1 MB, and a broadcast carries one event.
const MaxMessage = 4 << 20

// maxDepth bounds how deep arrays and maps may nest in a message, so that a
// hostile one cannot make the decoder recurse a million levels.
const maxDepth = 64

// EncodeBroadcast encodes m, sent by the server uid, as @socket.io/redis-adapter
// does. m.Packet.Data must be the JSON array of the event, with a
// {"_placeholder":true,"num":N} for each attachment, as Broadcast.Emit makes
// it.
func EncodeBroadcast(uid string, m events.BroadcastMessage) ([]byte, error) {
	data, err := fromJSON(m.Packet.Data, m.Packet.Attachments)
	if err != nil {
		return nil, err
	}
	if _, ok := data.([]any); !ok {
		return nil, errors.New("scaling: the packet's data is not a JSON array")
	}
	nsp := m.Packet.Namespace
	if nsp == "" {
		nsp = "/"
	}
	packet := map[string]any{"type": int(events.PacketEvent), "data": data, "nsp": nsp}
	opts := map[string]any{"rooms": stringsOrEmpty(m.Rooms), "except": stringsOrEmpty(m.Except), "flags": map[string]any{}}
	return encode([]any{uid, packet, opts})
}

// DecodeBroadcast decodes what EncodeBroadcast (or a Node server's adapter)
// published. Anything else, including a message another program wrote on
// the channel, is an error and nothing else: the caller logs and drops it.
func DecodeBroadcast(b []byte) (Broadcast, error) {
	v, err := decode(b)
	if err != nil {
		return Broadcast{}, err
	}
	top, ok := v.([]any)
	if !ok || len(top) < 3 {
		return Broadcast{}, errors.New("scaling: a broadcast is an array [uid, packet, opts]")
	}
	var out Broadcast
	if out.UID, ok = top[0].(string); !ok {
		return Broadcast{}, errors.New("scaling: the broadcast's uid is not a string")
	}
	packet, ok := top[1].(map[string]any)
	if !ok {
		return Broadcast{}, errors.New("scaling: the broadcast's packet is not a map")
	}
	opts, ok := top[2].(map[string]any)
	if !ok {
		return Broadcast{}, errors.New("scaling: the broadcast's opts is not a map")
	}
	if t, _ := toInt(packet["type"]); t != int64(events.PacketEvent) && t != int64(events.PacketBinaryEvent) {
		return Broadcast{}, fmt.Errorf("scaling: a broadcast of packet type %v", packet["type"])
	}
	nsp := "/"
	if s, ok := packet["nsp"].(string); ok {
		nsp = s
	}
	data, ok := packet["data"].([]any)
	if !ok || len(data) == 0 {
		return Broadcast{}, errors.New("scaling: the packet's data is not a non-empty array")
	}
	if _, ok := data[0].(string); !ok {
		return Broadcast{}, errors.New("scaling: the packet's event name is not a string")
	}
	js, atts, err := toJSON(data)
	if err != nil {
		return Broadcast{}, err
	}
	out.Message.Packet = events.Packet{Type: events.PacketEvent, Namespace: nsp, ID: -1, Data: js, Attachments: atts}
	if out.Message.Rooms, err = rooms(opts["rooms"]); err != nil {
		return Broadcast{}, err
	}
	if out.Message.Except, err = rooms(opts["except"]); err != nil {
		return Broadcast{}, err
	}
	if flags, ok := opts["flags"].(map[string]any); ok {
		out.Local, _ = flags["local"].(bool)
	}
	return out, nil
}

// rooms reads a list of rooms. socket.io allows any value as a room; the
// JavaScript ones that are numbers arrive as numbers and are named as
// JavaScript would print them.
func rooms(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, errors.New("scaling: rooms are not an array")
	}
	out := make([]string, 0, len(list))
	for _, r := range list {
		switch r := r.(type) {
		case string:
			out = append(out, r)
		default:
			f, ok := toFloat(r)
			if !ok {
				return nil, fmt.Errorf("scaling: a room of type %T", r)
			}
			out = append(out, strconv.FormatFloat(f, 'f', -1, 64))
		}
	}
	return out, nil
}

func stringsOrEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// encode writes v as MessagePack, integers in their shortest form as
// notepack.io (the Node adapter's encoder) writes them.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	enc.SetSortMapKeys(true) // the same broadcast, the same bytes
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decode reads one MessagePack value, after checking that b is well formed,
// no longer than MaxMessage and no deeper than maxDepth. Strings, numbers,
// booleans, nil, arrays and maps with string keys come back as Go values;
// bin values as []byte; the timestamp extension (a JavaScript Date) as
// time.Time.
func decode(b []byte) (any, error) {
	if len(b) > MaxMessage {
		return nil, fmt.Errorf("scaling: a message of %d bytes (at most %d)", len(b), MaxMessage)
	}
	if err := checkShape(b); err != nil {
		return nil, err
	}
	v, err := msgpack.NewDecoder(bytes.NewReader(b)).DecodeInterface()
	if err != nil {
		return nil, fmt.Errorf("scaling: %w", err)
	}
	return v, nil
}

// errShape is the error of checkShape.
var errShape = errors.New("scaling: not well-formed MessagePack")

// checkShape walks b as MessagePack (the format's spec, "Formats"), without
// recursion and without allocating, and reports whether it holds exactly
// one value, nested at most maxDepth deep, whose every length fits in b.
func checkShape(b []byte) error {
	// pending[i] is how many values the container at depth i still holds.
	var pending [maxDepth + 1]int
	depth := 0
	pending[0] = 1
	i := 0
	for depth >= 0 {
		if pending[depth] == 0 {
			depth--
			continue
		}
		pending[depth]--
		if i >= len(b) {
			return errShape
		}
		c := b[i]
		i++
		var skip, items int // bytes to skip; values the container holds
		switch {
		case c <= 0x7f || c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		case c >= 0x80 && c <= 0x8f:
			items = 2 * int(c&0x0f)
		case c >= 0x90 && c <= 0x9f:
			items = int(c & 0x0f)
		case c >= 0xa0 && c <= 0xbf:
			skip = int(c & 0x1f)
		default:
			n, size, ok := lengthOf(c, b[i:])
			if !ok {
				return errShape
			}
			i += size
			switch c {
			case 0xdc, 0xdd:
				items = n
			case 0xde, 0xdf:
				items = 2 * n
			default:
				skip = n
			}
		}
		if skip > len(b)-i || items > len(b)-i { // every value takes a byte at least
			return errShape
		}
		i += skip
		if items > 0 {
			if depth == maxDepth {
				return errShape
			}
			depth++
			pending[depth] = items
		}
	}
	if i != len(b) {
		return errShape
	}
	return nil
}

// lengthOf reads the length that follows code c: for bin, str, ext, array
// and map, the count it announces (bytes, or values); for numbers and
// fixext, their fixed size. size is how many bytes the length itself
// took (and, for ext, the type byte).
func lengthOf(c byte, b []byte) (n, size int, ok bool) {
	uint := func(width int) (int, bool) {
		if len(b) < width {
			return 0, false
		}
		switch width {
		case 1:
			return int(b[0]), true
		case 2:
			return int(binary.BigEndian.Uint16(b)), true
		default:
			return int(binary.BigEndian.Uint32(b)), true
		}
	}
	switch c {
	case 0xcc, 0xd0:
		return 1, 0, true
	case 0xcd, 0xd1:
		return 2, 0, true
	case 0xca, 0xce, 0xd2:
		return 4, 0, true
	case 0xcb, 0xcf, 0xd3:
		return 8, 0, true
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext: a type byte, then 1, 2, 4, 8 or 16 bytes
		return 1 << (c - 0xd4), 1, len(b) >= 1
	case 0xc4, 0xd9: // bin 8, str 8
		n, ok = uint(1)
		return n, 1, ok
	case 0xc5, 0xda, 0xdc, 0xde: // bin 16, str 16, array 16, map 16
		n, ok = uint(2)
		return n, 2, ok
	case 0xc6, 0xdb, 0xdd, 0xdf: // bin 32, str 32, array 32, map 32
		n, ok = uint(4)
		return n, 4, ok
	case 0xc7, 0xc8, 0xc9: // ext 8, 16, 32: the length, then a type byte
		width := 1 << (c - 0xc7)
		n, ok = uint(width)
		return n, width + 1, ok && len(b) > width
	}
	return 0, 0, false // 0xc1 is never used
}

// fromJSON turns a packet's JSON data, with its placeholders, into the Go
// values MessagePack encodes: the placeholder {"_placeholder":true,"num":N}
// becomes attachment N as a []byte, a JSON number an int64 when it is a
// whole number that fits and a float64 otherwise.
func fromJSON(data json.RawMessage, atts [][]byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("scaling: the packet's data: %w", err)
	}
	var walk func(v any) (any, error)
	walk = func(v any) (any, error) {
		switch v := v.(type) {
		case json.Number:
			if n, err := v.Int64(); err == nil {
				return n, nil
			}
			f, err := v.Float64()
			return f, err
		case []any:
			for i := range v {
				w, err := walk(v[i])
				if err != nil {
					return nil, err
				}
				v[i] = w
			}
			return v, nil
		case map[string]any:
			if num, ok := placeholder(v); ok {
				if num < 0 || num >= len(atts) {
					return nil, fmt.Errorf("scaling: placeholder %d of %d attachments", num, len(atts))
				}
				return atts[num], nil
			}
			for k, x := range v {
				w, err := walk(x)
				if err != nil {
					return nil, err
				}
				v[k] = w
			}
			return v, nil
		}
		return v, nil
	}
	return walk(v)
}

// placeholder recognises {"_placeholder":true,"num":N} (socket.io-protocol
// v5, "Packet encoding": binary attachments).
func placeholder(m map[string]any) (int, bool) {
	if len(m) != 2 || m["_placeholder"] != true {
		return 0, false
	}
	n, ok := m["num"].(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	if err != nil || i > math.MaxInt32 {
		return 0, false
	}
	return int(i), true
}

// toJSON is fromJSON's inverse, for values DecodeInterface returned: each
// []byte becomes the next attachment and a placeholder in its place, a
// time.Time the string JavaScript's Date.toJSON gives, NaN and the
// infinities null, as JSON.stringify writes them.
func toJSON(v any) (json.RawMessage, [][]byte, error) {
	var atts [][]byte
	var walk func(v any) (any, error)
	walk = func(v any) (any, error) {
		switch v := v.(type) {
		case []byte:
			atts = append(atts, v)
			return map[string]any{"_placeholder": true, "num": len(atts) - 1}, nil
		case time.Time:
			return v.UTC().Format("2006-01-02T15:04:05.000Z"), nil
		case float32:
			return finite(float64(v)), nil
		case float64:
			return finite(v), nil
		case []any:
			out := make([]any, len(v))
			for i, x := range v {
				w, err := walk(x)
				if err != nil {
					return nil, err
				}
				out[i] = w
			}
			return out, nil
		case map[string]any:
			out := make(map[string]any, len(v))
			for k, x := range v {
				w, err := walk(x)
				if err != nil {
					return nil, err
				}
				out[k] = w
			}
			return out, nil
		case nil, bool, string, int8, int16, int32, int64, uint8, uint16, uint32, uint64:
			return v, nil
		}
		return nil, fmt.Errorf("scaling: a value of type %T has no JSON form", v)
	}
	w, err := walk(v)
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as JSON.stringify: "<" stays "<"
	if err := enc.Encode(w); err != nil {
		return nil, nil, fmt.Errorf("scaling: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), atts, nil
}

// finite maps NaN and ±Inf to nil, as JSON.stringify does.
func finite(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return f
}

// toInt and toFloat read a MessagePack number of any width.
func toInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), true
		}
	case float32:
		return toInt(float64(v))
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case uint64:
		return float64(v), true
	}
	n, ok := toInt(v)
	return float64(n), ok
}
