package scaling

import (
	"github.com/websocket-workbook/workbook/internal/exercise"
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
func BroadcastChannel(prefix, nsp string) string {
	_ = exercise.TODO("6.1")
	return ""
}

// RoomChannel is the channel of a broadcast to room alone.
func RoomChannel(prefix, nsp, room string) string {
	_ = exercise.TODO("6.1")
	return ""
}

// RequestChannel is where servers ask each other.
func RequestChannel(prefix, nsp string) string {
	_ = exercise.TODO("6.1")
	return ""
}

// ResponseChannel is where they answer.
func ResponseChannel(prefix, nsp string) string {
	_ = exercise.TODO("6.1")
	return ""
}

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
// it: each placeholder becomes its attachment, a MessagePack bin value, in
// its place.
func EncodeBroadcast(uid string, m events.BroadcastMessage) ([]byte, error) {
	return nil, exercise.TODO("6.1")
}

// DecodeBroadcast decodes what EncodeBroadcast (or a Node server's adapter)
// published. Anything else, including a message another program wrote on
// the channel, is an error and nothing else: the caller logs and drops it.
// A message longer than MaxMessage, or nested deeper than maxDepth, is
// refused before it is decoded.
func DecodeBroadcast(b []byte) (Broadcast, error) {
	return Broadcast{}, exercise.TODO("6.1")
}
