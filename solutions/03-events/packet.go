package events

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// A PacketType is the type of a Socket.IO packet (socket.io-protocol v5,
// "Packet format"): one decimal digit at the start of the packet.
type PacketType byte

// The Socket.IO v5 packet types.
const (
	PacketConnect      PacketType = 0 // client: join a namespace; server: you joined, here is your sid
	PacketDisconnect   PacketType = 1 // either side: leave a namespace
	PacketEvent        PacketType = 2 // either side: ["name", args...]
	PacketAck          PacketType = 3 // either side: the answer to an EVENT that carried an ack id
	PacketConnectError PacketType = 4 // server: the CONNECT was refused
	PacketBinaryEvent  PacketType = 5 // an EVENT with binary attachments
	PacketBinaryAck    PacketType = 6 // an ACK with binary attachments
)

// maxAttachments is the most binary attachments a packet may announce; more
// is treated as malformed, so that a peer cannot make us wait for (and
// buffer) an unbounded number of frames.
const maxAttachments = 10

// maxAckIDDigits bounds the ack id, so that it fits an int64.
const maxAckIDDigits = 18

// A Packet is one Socket.IO packet.
type Packet struct {
	Type        PacketType
	Namespace   string          // "/" when absent on the wire; written only when not "/"
	ID          int64           // the ack id; -1 when there is none
	Data        json.RawMessage // the JSON payload as on the wire (with {"_placeholder":true,"num":N} for binary), nil when absent
	Attachments [][]byte        // binary attachments, in order (BINARY_EVENT / BINARY_ACK)
}

// EncodePacket returns the text part of p; p.Attachments go as separate
// binary frames after it. A packet with attachments is written as
// BINARY_EVENT/BINARY_ACK with the "<n>-" prefix.
//
// The format (socket.io-protocol v5, "Packet format") is
//
//	<type>[<#attachments>-][<namespace>,][<ack id>][JSON data]
//
// The namespace is written only when it is not "/", the ack id only when it
// is not negative, the data only when it is not empty.
func EncodePacket(p Packet) []byte {
	return appendPacket(make([]byte, 0, 16+len(p.Namespace)+len(p.Data)), p)
}

// appendPacket appends the text part of p to dst.
func appendPacket(dst []byte, p Packet) []byte {
	t := p.Type
	if len(p.Attachments) > 0 {
		switch t {
		case PacketEvent:
			t = PacketBinaryEvent
		case PacketAck:
			t = PacketBinaryAck
		}
	}
	dst = append(dst, '0'+byte(t))
	if t == PacketBinaryEvent || t == PacketBinaryAck {
		dst = strconv.AppendInt(dst, int64(len(p.Attachments)), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.ID >= 0 {
		dst = strconv.AppendInt(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}

// DecodePacket parses the text part. It returns the packet (Attachments nil)
// and how many binary attachments follow (the "<n>-" prefix). Bad type,
// bad namespace, bad ack id, bad JSON, attachment count over 10 → an error
// wrapping ErrBadPacket.
//
// As socket.io-parser does, it also checks that the payload fits the type:
// CONNECT carries an object or nothing, DISCONNECT nothing, CONNECT_ERROR an
// object or a string, EVENT a non-empty array starting with the event name,
// ACK an array.
func DecodePacket(text []byte) (p Packet, attachments int, err error) {
	p = Packet{Namespace: "/", ID: -1}
	if len(text) == 0 {
		return Packet{}, 0, badPacket("empty Socket.IO packet")
	}
	if text[0] < '0' || text[0] > '6' {
		return Packet{}, 0, badPacket("unknown Socket.IO packet type %q", text[0])
	}
	p.Type = PacketType(text[0] - '0')
	i := 1

	// <#attachments>-
	if p.Type == PacketBinaryEvent || p.Type == PacketBinaryAck {
		start := i
		for i < len(text) && isDigit(text[i]) {
			i++
		}
		if i == start || i >= len(text) || text[i] != '-' || i-start > 2 {
			return Packet{}, 0, badPacket("binary packet without a valid attachment count")
		}
		n, _ := strconv.Atoi(string(text[start:i]))
		if n > maxAttachments {
			return Packet{}, 0, badPacket("%d attachments, at most %d", n, maxAttachments)
		}
		attachments = n
		i++
	}

	// <namespace>,
	if i < len(text) && text[i] == '/' {
		start := i
		for i < len(text) && text[i] != ',' {
			i++
		}
		nsp := text[start:i]
		if !validNamespace(nsp) {
			return Packet{}, 0, badPacket("bad namespace %q", nsp)
		}
		p.Namespace = string(nsp)
		if i < len(text) {
			i++ // the comma
		}
	}

	// <ack id>
	if start := i; i < len(text) && isDigit(text[i]) {
		for i < len(text) && isDigit(text[i]) {
			i++
		}
		if i-start > maxAckIDDigits {
			return Packet{}, 0, badPacket("ack id %q too long", text[start:i])
		}
		p.ID, _ = strconv.ParseInt(string(text[start:i]), 10, 64)
	}

	// JSON data
	if rest := text[i:]; len(rest) > 0 {
		if !json.Valid(rest) {
			return Packet{}, 0, badPacket("data is not JSON")
		}
		p.Data = json.RawMessage(rest)
	}
	if err := checkPayload(p); err != nil {
		return Packet{}, 0, err
	}
	return p, attachments, nil
}

// checkPayload checks that the data fits the packet's type
// (socket.io-parser's isPayloadValid).
func checkPayload(p Packet) error {
	kind := jsonKind(p.Data)
	switch p.Type {
	case PacketConnect:
		if kind != 0 && kind != '{' {
			return badPacket("CONNECT data must be an object")
		}
	case PacketDisconnect:
		if kind != 0 {
			return badPacket("DISCONNECT carries no data")
		}
	case PacketConnectError:
		if kind != '{' && kind != '"' {
			return badPacket("CONNECT_ERROR data must be an object or a string")
		}
	case PacketEvent, PacketBinaryEvent:
		if _, _, err := DecodeArgs(p.Data); err != nil {
			return err
		}
	case PacketAck, PacketBinaryAck:
		if kind != '[' {
			return badPacket("ACK data must be an array")
		}
	}
	return nil
}

// jsonKind is the first non-space byte of valid JSON, 0 for none.
func jsonKind(data []byte) byte {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return 0
	}
	return data[0]
}

// validNamespace accepts "/" followed by printable UTF-8 that cannot be
// confused with the packet's other parts.
func validNamespace(nsp []byte) bool {
	if len(nsp) == 0 || nsp[0] != '/' || !utf8.Valid(nsp) {
		return false
	}
	for _, c := range nsp {
		if c < 0x20 || c == 0x7f || c == '"' || c == '[' || c == '{' || c == ' ' {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
