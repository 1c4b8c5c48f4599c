package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// placeholder is how a binary attachment appears inside the JSON of a
// BINARY_EVENT or BINARY_ACK: {"_placeholder":true,"num":N}, N counting from 0
// in the order the attachments follow the packet.
type placeholder struct {
	Placeholder bool `json:"_placeholder"`
	Num         int  `json:"num"`
}

// EncodeArgs turns an event name and arguments into the JSON array of an EVENT
// packet, replacing every []byte argument (also nested in maps/slices/structs
// is NOT required: top-level []byte and []byte inside map[string]any / []any)
// with a placeholder and returning the attachments. (Nested structs need not be
// searched.) The arguments are encoded with encoding/json.
//
// An argument that encoding/json cannot encode (a channel, a func) is an
// error; so is an empty event name.
func EncodeArgs(event string, args ...any) (data json.RawMessage, attachments [][]byte, err error) {
	if event == "" {
		return nil, nil, errors.New("events: empty event name")
	}
	values := make([]any, 0, 1+len(args))
	values = append(values, event)
	values = append(values, args...)
	data, attachments, err = encodeArray(values)
	if err != nil {
		return nil, nil, fmt.Errorf("events: event %q: %w", event, err)
	}
	return data, attachments, nil
}

// encodeArray encodes values as a JSON array, []byte values (also inside
// map[string]any and []any) as placeholders of attachments.
func encodeArray(values []any) (json.RawMessage, [][]byte, error) {
	var attachments [][]byte
	replaced := make([]any, len(values))
	for i, v := range values {
		replaced[i] = extractBinary(v, &attachments)
	}
	if len(attachments) > maxAttachments {
		return nil, nil, fmt.Errorf("%d binary arguments, at most %d", len(attachments), maxAttachments)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(replaced); err != nil {
		return nil, nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), attachments, nil
}

// extractBinary returns v with its []byte parts replaced by placeholders,
// appending them to attachments. Maps and slices are copied, never changed.
func extractBinary(v any, attachments *[][]byte) any {
	switch x := v.(type) {
	case []byte:
		*attachments = append(*attachments, x)
		return placeholder{Placeholder: true, Num: len(*attachments) - 1}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = extractBinary(e, attachments)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = extractBinary(e, attachments)
		}
		return out
	}
	return v
}

// DecodeArgs splits an EVENT packet's data into the event name and the
// arguments, each as raw JSON. Placeholders stay as they are in the raw JSON;
// Event.Bytes(i) resolves a top-level one against the packet's attachments.
// Data that is not an array, an empty array, or a first element that is not
// a string → an error wrapping ErrBadPacket.
func DecodeArgs(data json.RawMessage) (event string, args []json.RawMessage, err error) {
	if jsonKind(data) != '[' {
		return "", nil, badPacket("event data is not a JSON array")
	}
	var all []json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return "", nil, badPacket("event data: %v", err)
	}
	if len(all) == 0 {
		return "", nil, badPacket("event data is an empty array")
	}
	if jsonKind(all[0]) != '"' {
		return "", nil, badPacket("event name is not a string")
	}
	if err := json.Unmarshal(all[0], &event); err != nil {
		return "", nil, badPacket("event name: %v", err)
	}
	return event, all[1:], nil
}

// resolvePlaceholder reports which attachment raw is a placeholder of.
func resolvePlaceholder(raw json.RawMessage, attachments [][]byte) ([]byte, bool) {
	if jsonKind(raw) != '{' {
		return nil, false
	}
	var ph struct {
		Placeholder *bool `json:"_placeholder"`
		Num         *int  `json:"num"`
	}
	if json.Unmarshal(raw, &ph) != nil || ph.Placeholder == nil || !*ph.Placeholder || ph.Num == nil {
		return nil, false
	}
	if *ph.Num < 0 || *ph.Num >= len(attachments) {
		return nil, false
	}
	return attachments[*ph.Num], true
}
