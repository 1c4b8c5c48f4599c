package rawws

// The conformance suite: a raw client opens a WebSocket to a rawws echo
// server with a handshake written byte by byte, then sends hand-built frames,
// masked as a client must, that break one rule each. The server must fail the
// connection (RFC 6455 §7.1.7): send a close frame whose status code names
// the problem, read off the wire here (unmasked, opcode 8, the first two
// bytes big-endian), then close the TCP connection.

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// A violation is one conformance case: what the client sends (built by
// frames, given the raw client), the code the server must close with, and
// the rule.
type violation struct {
	name       string
	wireFrames func(p *rawPeer) []byte
	code       int
	rule       string
}

// runViolations runs each case against a fresh echo server.
func runViolations(t *testing.T, u *Upgrader, cases []violation) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			s := newEchoServer(t, u, nil)
			p := rawClientOf(t, s.testServer, "/")
			p.write(tc.wireFrames(p))
			p.expectFailure(tc.code, fmt.Sprintf("after %s (%s)", tc.name, tc.rule))
			err := waitFor(t, s.ended, "the server's read loop to end")
			requireCloseError(t, err, tc.code, "ReadMessage on the server after "+tc.name)
		})
	}
}

// wireFrames builds the wire bytes of frames as the raw client sends them.
func wireFrames(fs ...func(p *rawPeer) wireFrame) func(p *rawPeer) []byte {
	return func(p *rawPeer) []byte {
		var b []byte
		for _, f := range fs {
			b = append(b, f(p).encode()...)
		}
		return b
	}
}

// clientFrame is a frame as the raw client would send it, masked.
func clientFrame(op byte, fin bool, payload string) func(p *rawPeer) wireFrame {
	return func(p *rawPeer) wireFrame { return p.frame(op, fin, []byte(payload)) }
}

// withReservedBits sets reserved bits on a frame.
func withReservedBits(rsv byte, f func(p *rawPeer) wireFrame) func(p *rawPeer) wireFrame {
	return func(p *rawPeer) wireFrame { w := f(p); w.Rsv = rsv; return w }
}

// unmaskedFrame is a frame sent without a mask, which a client must never do.
func unmaskedFrame(op byte, fin bool, payload string) func(p *rawPeer) wireFrame {
	return func(*rawPeer) wireFrame { return wireFrame{Fin: fin, Op: op, Payload: []byte(payload)} }
}

// closeFrameOf is a close frame with the given payload.
func closeFrameOf(payload []byte) func(p *rawPeer) wireFrame {
	return func(p *rawPeer) wireFrame { return p.frame(wireClose, true, payload) }
}

// Every frame the protocol forbids fails the connection with 1002
// (protocol error).
func TestServerFailsProtocolErrorsWith1002(t *testing.T) {
	exercise.Start(t, "2.7")
	cases := []violation{
		{"a text frame with RSV1 set", wireFrames(withReservedBits(4, clientFrame(wireText, true, "Hello"))), 1002, "RFC 6455 §5.2: RSV1–3 MUST be 0 unless an extension defines them"},
		{"a text frame with RSV2 set", wireFrames(withReservedBits(2, clientFrame(wireText, true, "Hello"))), 1002, "RFC 6455 §5.2"},
		{"a text frame with RSV3 set", wireFrames(withReservedBits(1, clientFrame(wireText, true, "Hello"))), 1002, "RFC 6455 §5.2"},
		{"a ping with RSV1 set", wireFrames(withReservedBits(4, clientFrame(wirePing, true, "p"))), 1002, "RFC 6455 §5.2"},
		{"a continuation with RSV2 set", wireFrames(clientFrame(wireText, false, "He"), withReservedBits(2, clientFrame(wireCont, true, "llo"))), 1002, "RFC 6455 §5.2"},
	}
	for _, op := range []byte{0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		cases = append(cases, violation{fmt.Sprintf("a frame with the reserved opcode %#x", op), wireFrames(clientFrame(op, true, "x")), 1002,
			"RFC 6455 §5.2: reserved opcodes MUST NOT be used without an extension"})
	}
	cases = append(cases,
		violation{"a ping with a 126-byte payload", wireFrames(clientFrame(wirePing, true, string(testBytes(126, 1)))), 1002, "RFC 6455 §5.5: control frames carry at most 125 bytes"},
		violation{"a close with a 126-byte payload", wireFrames(closeFrameOf(wireClosePayload(1000, string(testText(124, 1))))), 1002, "RFC 6455 §5.5"},
		violation{"a ping with FIN clear", wireFrames(clientFrame(wirePing, false, "x"), clientFrame(wireCont, true, "y")), 1002, "RFC 6455 §5.5: control frames MUST NOT be fragmented"},
		violation{"a pong with FIN clear", wireFrames(clientFrame(wirePong, false, "x")), 1002, "RFC 6455 §5.5"},
		violation{"a continuation with nothing to continue", wireFrames(clientFrame(wireCont, true, "orphan")), 1002, "RFC 6455 §5.4"},
		violation{"a non-final continuation with nothing to continue", wireFrames(clientFrame(wireCont, false, "orphan")), 1002, "RFC 6455 §5.4"},
		violation{"a text frame inside a fragmented message", wireFrames(clientFrame(wireText, false, "first "), clientFrame(wireText, true, "second")), 1002, "RFC 6455 §5.4: fragments of one message are not interleaved with another"},
		violation{"a binary frame inside a fragmented text message", wireFrames(clientFrame(wireText, false, "first "), clientFrame(wireBinary, true, "second")), 1002, "RFC 6455 §5.4"},
		violation{"an unmasked text frame to the server", wireFrames(unmaskedFrame(wireText, true, "Hello")), 1002, "RFC 6455 §5.1: the server MUST close the connection upon receiving an unmasked frame"},
		violation{"an unmasked ping to the server", wireFrames(unmaskedFrame(wirePing, true, "p")), 1002, "RFC 6455 §5.1"},
		violation{"a close frame with a 1-byte payload", wireFrames(closeFrameOf([]byte{0x03})), 1002, "RFC 6455 §5.5.1: a close body starts with a 2-byte status code"},
		violation{"a close reason that is not UTF-8", wireFrames(closeFrameOf(wireClosePayload(1000, "bye \xff\xfe"))), 1002, "RFC 6455 §5.5.1: the reason is UTF-8"},
	)
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cases = append(cases, violation{fmt.Sprintf("a close frame with the invalid code %d", code), wireFrames(closeFrameOf(wireClosePayload(code, "bad code"))), 1002,
			"RFC 6455 §7.4: 1004–1006 and 1015 are reserved, 1016–2999 unassigned, 5000 and above out of range"})
	}
	runViolations(t, &Upgrader{}, cases)
}

// A message over the read limit fails the connection with 1009 (message too
// big, RFC 6455 §7.4.1) as soon as a frame header shows it is too long:
// these clients send only the header, and the close must come anyway, without
// the server waiting for (or buffering) the payload. The limit counts the
// whole message, across fragments.
func TestServerFailsMessagesOverReadLimitWith1009(t *testing.T) {
	exercise.Start(t, "2.7")
	const limit = 1024
	header := func(fin bool, op byte, n uint64) func(p *rawPeer) []byte {
		return func(*rawPeer) []byte { return headerOnly(fin, op, true, n) }
	}
	then := func(a func(p *rawPeer) []byte, b func(p *rawPeer) []byte) func(p *rawPeer) []byte {
		return func(p *rawPeer) []byte { return append(a(p), b(p)...) }
	}
	runViolations(t, &Upgrader{ReadLimit: limit}, []violation{
		{"the header of a 1025-byte binary frame", header(true, wireBinary, limit+1), 1009, "RFC 6455 §7.4.1, §10.4"},
		{"the header of a 65536-byte text frame", header(true, wireText, 65536), 1009, "RFC 6455 §7.4.1, §10.4"},
		{"the header of a 1 TiB binary frame", header(true, wireBinary, 1<<40), 1009, "RFC 6455 §7.4.1, §10.4"},
		{"a 600-byte first fragment, then the header of a 600-byte continuation", then(wireFrames(clientFrame(wireBinary, false, string(testBytes(600, 1)))), header(true, wireCont, 600)), 1009,
			"RFC 6455 §7.4.1: the limit is on the message, across its fragments"},
		{"fragments of 300 bytes, the fourth one's header crossing the limit", then(wireFrames(clientFrame(wireText, false, string(testText(300, 1))), clientFrame(wireCont, false, string(testText(300, 2))), clientFrame(wireCont, false, string(testText(300, 3)))), header(false, wireCont, 300)), 1009,
			"RFC 6455 §7.4.1"},
	})

	// Conn.SetReadLimit works the same way, and a message of exactly the
	// limit is accepted.
	t.Run("SetReadLimit", func(t *testing.T) {
		noLeaks(t)
		s := newEchoServer(t, &Upgrader{}, func(c *Conn) { c.SetReadLimit(100) })
		p := rawClientOf(t, s.testServer, "/")
		p.send(p.frame(wireBinary, false, testBytes(60, 1)), p.frame(wireCont, true, testBytes(40, 2)))
		op, msg := p.readMessage("the echo of a message of exactly the read limit")
		require.Equal(t, wireBinary, op)
		require.Equal(t, append(testBytes(60, 1), testBytes(40, 2)...), msg)
		p.write(headerOnly(true, wireText, true, 101))
		p.expectFailure(1009, "after the header of a 101-byte message, over a read limit of 100 set with SetReadLimit (RFC 6455 §7.4.1)")
		requireCloseError(t, waitFor(t, s.ended, "the server's read loop to end"), 1009, "ReadMessage on the server")
	})
}

// A client Conn fails the connection with 1002 when a server sends a masked
// frame (RFC 6455 §5.1: "a client MUST close a connection if it detects a
// masked frame"); its close frame is masked, as everything a client sends.
func TestClientFailsMaskedFrameWith1002(t *testing.T) {
	exercise.Start(t, "2.7")
	noLeaks(t)
	c, p := clientConnWithRawServer(t)
	reads := readInBackground(t, c)
	p.send(wireFrame{Fin: true, Op: wireText, Masked: true, Key: rfcKey, Payload: []byte("Hello")})
	p.expectFailure(1002, "after a masked frame from the server (RFC 6455 §5.1)")
	r := nextRead(t, reads, "ReadMessage on the client")
	requireCloseError(t, r.err, 1002, "ReadMessage on a client that received a masked frame")
}

// Text that is not UTF-8 fails the connection with 1007 (RFC 6455 §8.1,
// §7.4.1) as soon as the first invalid byte arrives: none of these clients
// sends the rest of its message, and the close must come anyway.
func TestServerFailsInvalidUTF8With1007(t *testing.T) {
	exercise.Start(t, "2.8")
	runViolations(t, &Upgrader{}, []violation{
		{"a text frame with 0xFF", wireFrames(clientFrame(wireText, true, "hello \xff world")), 1007, "RFC 6455 §8.1"},
		{"a first fragment with an invalid byte, and no more fragments", wireFrames(clientFrame(wireText, false, "hello \xff world")), 1007,
			"RFC 6455 §8.1: fail as soon as the text is known to be invalid"},
		{"an invalid sequence split across two fragments, and no final fragment", wireFrames(clientFrame(wireText, false, "ab\xed"), clientFrame(wireCont, false, "\xa0\x80 and more")), 1007,
			"RFC 6455 §8.1: 0xED 0xA0 0x80 is a surrogate"},
		{"a fragment ending in 0xED 0xA0, and nothing more", wireFrames(clientFrame(wireText, false, "abc\xed\xa0")), 1007,
			"RFC 6455 §8.1: 0xED 0xA0 can only begin a surrogate, already invalid"},
		{"an invalid byte in the middle of a frame whose rest never comes", func(p *rawPeer) []byte {
			payload := append([]byte("ok \xc0\xaf"), testText(1000, 1)...)
			f := p.frame(wireText, true, payload).encode()
			return f[:len(f)-len(payload)+10] // the header and 10 bytes of the payload
		}, 1007, "RFC 6455 §8.1: even in the middle of a frame"},
		{"an overlong encoding of '/'", wireFrames(clientFrame(wireText, true, "\xc0\xaf")), 1007, "RFC 6455 §8.1, RFC 3629 §3"},
		{"a code point above U+10FFFF", wireFrames(clientFrame(wireText, true, "\xf4\x90\x80\x80")), 1007, "RFC 3629 §3"},
		{"a text message ending in the middle of a character", wireFrames(clientFrame(wireText, false, "price: "), clientFrame(wireCont, true, "5 \xe2\x82")), 1007,
			"RFC 6455 §8.1: the whole message must be valid UTF-8"},
		{"a lone continuation byte", wireFrames(clientFrame(wireText, true, "\x80")), 1007, "RFC 3629 §3"},
	})
}

// Only text is UTF-8: a valid character split across fragments is
// delivered whole, and binary messages are never checked.
func TestServerDeliversTextSplitMidCharacter(t *testing.T) {
	exercise.Start(t, "2.8")
	noLeaks(t)
	s := newEchoServer(t, &Upgrader{}, nil)
	p := rawClientOf(t, s.testServer, "/")
	for _, tc := range []struct {
		op    byte
		parts []string
	}{
		{wireText, []string{"price: \xe2", "\x82", "\xac 5"}},          // "€" in three fragments
		{wireText, []string{"rocket \xf0\x9f", "\x9a\x80", " launch"}}, // "🚀" split in two
		{wireText, []string{"", "é", "", "\xc3", "\xa9"}},              // empty fragments too
		{wireBinary, []string{"\xff\xfe", "\xed\xa0\x80", "\xc0"}},     // binary: anything goes
	} {
		var fs []wireFrame
		var want []byte
		for i, part := range tc.parts {
			op := tc.op
			if i > 0 {
				op = wireCont
			}
			fs = append(fs, p.frame(op, i == len(tc.parts)-1, []byte(part)))
			want = append(want, part...)
		}
		p.send(fs...)
		op, msg := p.readMessage(fmt.Sprintf("the echo of %q", want))
		require.Equal(t, tc.op, op)
		require.Equal(t, string(want), string(msg), "a message in fragments %q must be delivered whole (RFC 6455 §5.4, §8.1)", tc.parts)
	}
}
