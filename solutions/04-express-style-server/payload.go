package server

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"unicode/utf8"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// A Frame is one Engine.IO packet as a Transport sees it: what would be one
// WebSocket message. A text frame is the packet's type digit followed by its
// data ("4hello", "2", "3probe"); a binary frame is the raw bytes of a binary
// MESSAGE, with no type digit (engine.io-protocol v4, "Packet encoding").
type Frame struct {
	Data   []byte
	Binary bool
}

// recordSeparator joins the packets of an HTTP long-polling payload: the
// ASCII control character RS, which never appears in the text of an
// Engine.IO packet (JSON escapes every control character).
const recordSeparator = 0x1e

// binaryPrefix starts a binary packet in a payload: "b" and the packet's
// bytes in standard base64.
const binaryPrefix = 'b'

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
	n := 0
	for _, p := range packets {
		if p.Binary {
			n += 2 + base64.StdEncoding.EncodedLen(len(p.Data))
		} else {
			n += 1 + len(p.Data)
		}
	}
	out := make([]byte, 0, n)
	for i, p := range packets {
		if i > 0 {
			out = append(out, recordSeparator)
		}
		if p.Binary {
			out = append(out, binaryPrefix)
			out = base64.StdEncoding.AppendEncode(out, p.Data)
		} else {
			out = append(out, p.Data...)
		}
	}
	return out
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
	if len(body) == 0 {
		return nil, badPayload("empty payload")
	}
	frames := make([]Frame, 0, bytes.Count(body, []byte{recordSeparator})+1)
	for i, rec := range bytes.Split(body, []byte{recordSeparator}) {
		f, err := decodeRecord(rec)
		if err != nil {
			return nil, fmt.Errorf("%w (packet %d of the payload)", err, i+1)
		}
		frames = append(frames, f)
	}
	return frames, nil
}

// decodeRecord decodes one packet of a payload.
func decodeRecord(rec []byte) (Frame, error) {
	switch {
	case len(rec) == 0:
		return Frame{}, badPayload("empty packet")
	case rec[0] == binaryPrefix:
		data := make([]byte, base64.StdEncoding.DecodedLen(len(rec)-1))
		n, err := base64.StdEncoding.Strict().Decode(data, rec[1:])
		if err != nil {
			return Frame{}, badPayload("binary packet: %v", err)
		}
		return Frame{Data: data[:n], Binary: true}, nil
	case rec[0] < byte(events.EIOOpen) || rec[0] > byte(events.EIONoop):
		return Frame{}, badPayload("unknown packet type %q", rec[0])
	case !utf8.Valid(rec):
		return Frame{}, badPayload("text packet is not valid UTF-8")
	}
	return Frame{Data: rec}, nil
}

// badPayload returns an error wrapping events.ErrBadPacket, which the event
// layer treats as a protocol violation (ReasonTransportError).
func badPayload(format string, args ...any) error {
	return fmt.Errorf("%w: payload: "+format, append([]any{events.ErrBadPacket}, args...)...)
}
