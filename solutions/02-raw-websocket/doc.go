// Package rawws is lesson 02 of the WebSocket Workbook: the WebSocket
// protocol of RFC 6455, written from the bytes up with nothing but the
// standard library.
//
// The lesson text is lessons/02-raw-websocket.md. Each stub below names its
// exercise; `go run ./cmd/workbook` from the module root says which is next.
//
// # Overview
//
// A WebSocket starts life as an HTTP/1.1 request that asks to switch
// protocols (RFC 6455 §4). The server answers 101 Switching Protocols with a
// Sec-WebSocket-Accept value computed from the client's Sec-WebSocket-Key
// (AcceptKey, §4.2.2); from then on the TCP connection carries frames, not
// HTTP. Upgrader.Upgrade is the server side of that handshake and Dialer.Dial
// the client side; both return a *Conn.
//
// # Frames and messages
//
// Every frame starts with a header of 2 to 14 bytes (§5.2): the FIN bit, three
// reserved bits, a 4-bit opcode, the MASK bit, a 7-, 16- or 64-bit payload
// length, and a 4-byte masking key when MASK is set. Header, AppendHeader
// and ReadHeader encode and decode it. Every frame from a client to a server
// is masked with a fresh random key (§5.3); Mask applies the XOR.
//
// An application sends messages, not frames. A message is one text or binary
// frame, or a first frame with FIN clear followed by continuation frames, the
// last with FIN set (§5.4). Control frames (close, ping, pong; §5.5) are never
// fragmented, carry at most 125 bytes, and may arrive between the fragments of
// a message.
//
// Conn reads and writes messages. ReadMessage and WriteMessage handle a whole
// message in memory; NextReader and NextWriter stream one:
//
//	for {
//		op, r, err := conn.NextReader()
//		if err != nil {
//			return err // a *CloseError once the peer has closed
//		}
//		w, err := conn.NextWriter(op)
//		if err != nil {
//			return err
//		}
//		if _, err := io.Copy(w, r); err != nil {
//			return err
//		}
//		if err := w.Close(); err != nil { // sends the final frame
//			return err
//		}
//	}
//
// While reading, a Conn answers pings with pongs carrying the same payload,
// passes pongs to the pong handler, and answers a close frame by completing
// the closing handshake.
//
// # Errors and close codes
//
// A Conn that receives something the protocol forbids fails the connection
// (§7.1.7): it sends a close frame with the status code that names the
// problem and closes the TCP connection. Reserved bits, reserved opcodes,
// oversized or fragmented control frames, a continuation with nothing to
// continue, a new message inside a fragmented one, a frame masked the wrong
// way, or a bad close payload get 1002 (protocol error); text that is not
// UTF-8 gets 1007 as soon as the first invalid byte arrives, even in the
// middle of a fragment; a message over the read limit gets 1009.
//
// # Closing
//
// Close(code, reason) runs the closing handshake (§5.5.1, §7.1.2): it sends a
// close frame, waits (at most the close timeout) for the peer's close frame,
// then closes the TCP connection. A Conn that receives a close frame first
// echoes the peer's code, and a server closes the TCP connection first
// (§7.1.1). After the handshake every read returns a *CloseError with the
// peer's code and reason.
//
// # Concurrency
//
// A Conn supports one concurrent reader and any number of concurrent writers:
// WriteMessage, NextWriter, WriteControl, Ping and Close may be called from
// many goroutines at once, and their frames never interleave (a control frame
// may go out between the fragments of a streamed message, as §5.4 allows).
package rawws
