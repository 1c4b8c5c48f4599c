package events

import (
	"encoding/json"

	"github.com/websocket-workbook/workbook/internal/exercise"
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
// so, for example:
//
//	40                              CONNECT to "/"
//	40/admin,{"token":"t"}          CONNECT to "/admin" with auth
//	42["chat","hi"]                 EVENT
//	4212["chat","hi"]               EVENT asking for ack 12
//	4312["ok"]                      ACK 12
//	451-["file",{"_placeholder":true,"num":0}]   BINARY_EVENT, 1 attachment
//
// The namespace is written only when it is not "/", the ack id only when it
// is not negative, the data only when it is not empty. (The leading "4" of
// the lines above is Engine.IO's MESSAGE type, added by EncodeEIO.)
func EncodePacket(p Packet) []byte {
	_ = exercise.TODO("3.2")
	return nil
}

// DecodePacket parses the text part. It returns the packet (Attachments nil)
// and how many binary attachments follow (the "<n>-" prefix). Bad type,
// bad namespace, bad ack id, bad JSON, attachment count over 10 → an error
// wrapping ErrBadPacket.
//
// The parts are told apart by their first character: after the type and the
// optional "<n>-", a '/' starts a namespace that runs to the next ','; then
// digits are the ack id; whatever is left is JSON. A packet without
// namespace is in "/"; without ack id its ID is -1.
func DecodePacket(text []byte) (p Packet, attachments int, err error) {
	return Packet{}, 0, exercise.TODO("3.2")
}
