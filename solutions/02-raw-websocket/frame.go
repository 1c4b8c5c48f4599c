package rawws

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// An Opcode is the 4-bit frame type of RFC 6455 §5.2.
type Opcode byte

// The opcodes RFC 6455 §5.2 defines. 0x3–0x7 and 0xB–0xF are reserved.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether op is a control opcode (close, ping, pong and the
// reserved 0xB–0xF): those with the high bit set (§5.5).
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

// IsReserved reports whether op is one of the opcodes RFC 6455 reserves for
// future use; receiving one fails the connection with 1002.
func (op Opcode) IsReserved() bool {
	return (op >= 0x3 && op <= 0x7) || op >= 0xB
}

func (op Opcode) String() string {
	switch op {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "reserved"
}

// A Header is a decoded frame header (RFC 6455 §5.2):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-------+-+-------------+-------------------------------+
//	|F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//	|I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//	|N|V|V|V|       |S|             |   (if payload len==126/127)   |
//	| |1|2|3|       |K|             |                               |
//	+-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//	|     Extended payload length continued, if payload len == 127  |
//	+ - - - - - - - - - - - - - - - +-------------------------------+
//	|                               |Masking-key, if MASK set to 1  |
//	+-------------------------------+-------------------------------+
//	| Masking-key (continued)       |          Payload Data         |
//	+-------------------------------- - - - - - - - - - - - - - - - +
type Header struct {
	Fin    bool
	Rsv    byte // the three reserved bits, RSV1 = 0x4, RSV2 = 0x2, RSV3 = 0x1
	Opcode Opcode
	Masked bool
	Key    [4]byte // the masking key, when Masked
	Length int64   // the payload length, 0 to 1<<63 - 1
}

// MaxHeaderLen is the longest a frame header can be: 2 bytes, 8 of extended
// length and 4 of masking key.
const MaxHeaderLen = 14

// ErrBadHeader is wrapped by ReadHeader's errors for a header that breaks the
// rules of §5.2: a 64-bit length with its most significant bit set, or a
// length not written in the fewest bytes that can hold it.
var ErrBadHeader = errors.New("rawws: malformed frame header")

// The bits of the first two header bytes.
const (
	finBit  = 0x80
	rsvBits = 0x70
	opBits  = 0x0f
	maskBit = 0x80
	lenBits = 0x7f

	len16 = 126 // the 7-bit length field's marker for a 16-bit length
	len64 = 127 // and for a 64-bit length
)

// AppendHeader appends the wire form of h to b and returns the extended
// slice. The length uses the shortest of the three encodings (§5.2: "the
// minimal number of bytes MUST be used"): 0–125 in the 7-bit field, up to
// 65535 as 126 plus 16 bits, and 127 plus 64 bits above that, all in network
// byte order. The masking key follows when h.Masked is set.
//
// AppendHeader never allocates when b has room for MaxHeaderLen more bytes.
func AppendHeader(b []byte, h Header) []byte {
	b0 := h.Rsv<<4&rsvBits | byte(h.Opcode)&opBits
	if h.Fin {
		b0 |= finBit
	}
	var b1 byte
	if h.Masked {
		b1 = maskBit
	}
	switch n := h.Length; {
	case n <= 125:
		b = append(b, b0, b1|byte(n))
	case n <= 0xffff:
		b = append(b, b0, b1|len16)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, b0, b1|len64)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if h.Masked {
		b = append(b, h.Key[:]...)
	}
	return b
}

// ReadHeader reads one frame header from br, and nothing more.
//
// It returns io.EOF when br is at its end before the first byte, and
// io.ErrUnexpectedEOF when the header stops part way. A header that breaks
// §5.2 returns an error wrapping ErrBadHeader. ReadHeader checks only the
// header's own encoding: whether its opcode, reserved bits or mask are
// allowed here is for the Conn to decide.
//
// ReadHeader looks at the header in br's buffer (Peek) and then consumes it
// (Discard), so it copies nothing and allocates nothing.
func ReadHeader(br *bufio.Reader) (Header, error) {
	p, err := br.Peek(2)
	if len(p) < 2 {
		return Header{}, headerReadError(len(p), err)
	}
	// The first two bytes say how long the rest of the header is.
	n := 2
	switch p[1] & lenBits {
	case len16:
		n += 2
	case len64:
		n += 8
	}
	if p[1]&maskBit != 0 {
		n += 4
	}
	if n > 2 {
		if p, err = br.Peek(n); len(p) < n {
			return Header{}, headerReadError(len(p), err)
		}
	}

	h := Header{
		Fin:    p[0]&finBit != 0,
		Rsv:    p[0] & rsvBits >> 4,
		Opcode: Opcode(p[0] & opBits),
		Masked: p[1]&maskBit != 0,
	}
	rest := p[2:n]
	switch l := p[1] & lenBits; l {
	case len16:
		h.Length = int64(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
		if h.Length <= 125 {
			return Header{}, fmt.Errorf("%w: length %d sent in 16 bits (§5.2 asks for the minimal encoding)", ErrBadHeader, h.Length)
		}
	case len64:
		u := binary.BigEndian.Uint64(rest)
		rest = rest[8:]
		if u>>63 != 0 {
			return Header{}, fmt.Errorf("%w: 64-bit length with the most significant bit set (§5.2)", ErrBadHeader)
		}
		h.Length = int64(u)
		if h.Length <= 0xffff {
			return Header{}, fmt.Errorf("%w: length %d sent in 64 bits (§5.2 asks for the minimal encoding)", ErrBadHeader, h.Length)
		}
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		copy(h.Key[:], rest)
	}
	_, _ = br.Discard(n) // cannot fail: the n bytes are buffered
	return h, nil
}

// headerReadError turns the error of a Peek that returned got bytes of a
// header into ReadHeader's: io.EOF only before the first byte.
func headerReadError(got int, err error) error {
	if err == io.EOF && got > 0 {
		return io.ErrUnexpectedEOF
	}
	if err == nil { // cannot happen with a short Peek, but never return nil
		return io.ErrUnexpectedEOF
	}
	return err
}
