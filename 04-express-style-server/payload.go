package server

import "github.com/websocket-workbook/workbook/internal/exercise"

// A Frame is one Engine.IO packet as a Transport sees it: what would be one
// WebSocket message. A text frame is the packet's type digit followed by its
// data ("4hello", "2", "3probe"); a binary frame is the raw bytes of a binary
// MESSAGE, with no type digit (engine.io-protocol v4, "Packet encoding").
type Frame struct {
	Data   []byte
	Binary bool
}

// EncodePayload returns the body of an HTTP long-polling response that
// carries packets (engine.io-protocol v4, "Packet encoding", HTTP
// long-polling): the packets in order, joined by the record separator 0x1e.
// A text frame goes in as it is; a binary frame becomes "b" followed by its
// bytes in standard base64 (with padding), so the whole body is text:
//
//	[{"4hello"} {"2"} {[1 2 3 4], binary}]  →  "4hello\x1e2\x1ebAQIDBA=="
//
// A text frame must not contain 0x1e itself; no packet the event layer
// writes does. No packets → an empty body.
func EncodePayload(packets []Frame) []byte {
	_ = exercise.TODO("4.4")
	return nil
}

// DecodePayload splits the body of an HTTP long-polling request into its
// packets, the reverse of EncodePayload. Every record must be a whole
// Engine.IO packet: "b" followed by valid standard base64 (a binary
// MESSAGE), or a type digit '0'–'6' followed by valid UTF-8. An empty body,
// an empty record (two separators in a row, or one at either end), bad
// base64, an unknown type or invalid UTF-8 make the whole payload malformed:
// the error wraps events.ErrBadPacket and no packets are returned, so a
// request is taken whole or not at all.
//
// Text frames may share memory with body.
func DecodePayload(body []byte) ([]Frame, error) {
	return nil, exercise.TODO("4.4")
}
