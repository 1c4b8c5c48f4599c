package events

import (
	"encoding/json"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// EncodeArgs turns an event name and arguments into the JSON array of an EVENT
// packet, replacing every []byte argument (also nested in maps/slices/structs
// is NOT required: top-level []byte and []byte inside map[string]any / []any)
// with a placeholder and returning the attachments. (Nested structs need not be
// searched.) The arguments are encoded with encoding/json.
//
// Emit("file", "a.png", []byte{1, 2, 3}) becomes the data
//
//	["file","a.png",{"_placeholder":true,"num":0}]
//
// and one attachment, []byte{1, 2, 3}, sent as a binary frame after the
// packet (socket.io-protocol v5, "Sending and receiving data", binary). Without
// the placeholder step encoding/json would turn the bytes into a base64
// string, which socket.io-client would hand to JavaScript as a string, not
// an ArrayBuffer.
//
// An argument that encoding/json cannot encode (a channel, a func) is an
// error; so is an empty event name.
func EncodeArgs(event string, args ...any) (data json.RawMessage, attachments [][]byte, err error) {
	return nil, nil, exercise.TODO("3.2")
}

// DecodeArgs splits an EVENT packet's data into the event name and the
// arguments, each as raw JSON. Placeholders stay as they are in the raw JSON;
// Event.Bytes(i) resolves a top-level one against the packet's attachments.
// Data that is not an array, an empty array, or a first element that is not
// a string → an error wrapping ErrBadPacket.
func DecodeArgs(data json.RawMessage) (event string, args []json.RawMessage, err error) {
	return "", nil, exercise.TODO("3.2")
}

// placeholder is how a binary attachment appears inside the JSON of a
// BINARY_EVENT or BINARY_ACK: {"_placeholder":true,"num":N}, N counting from 0
// in the order the attachments follow the packet.
type placeholder struct {
	Placeholder bool `json:"_placeholder"`
	Num         int  `json:"num"`
}
