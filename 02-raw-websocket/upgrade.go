package rawws

import (
	"fmt"
	"net/http"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// An Upgrader turns an HTTP request into a WebSocket (RFC 6455 §4.2). The zero
// Upgrader accepts same-origin requests, speaks no subprotocol and reads
// messages of up to DefaultReadLimit bytes.
type Upgrader struct {
	// Subprotocols lists the subprotocols the server speaks, most preferred
	// first. The server picks the first of these that the client offered in
	// Sec-WebSocket-Protocol; when none match, no subprotocol is chosen.
	Subprotocols []string

	// Origins, when not empty, lists the exact origins allowed
	// ("http://localhost:5173"); compared case-insensitively.
	//
	// A request without an Origin header does not come from a browser page
	// and is allowed, as with the default rule: the origin check protects
	// users' browsers, and any other client can send whatever Origin it
	// likes.
	Origins []string

	// CheckOrigin, when set, alone decides whether a request's origin is
	// allowed, and Origins is ignored. With neither set, a request is allowed
	// when it has no Origin header (not a browser) or when the Origin's host
	// equals the request's Host: the same-origin rule that stops another
	// site's page from opening a WebSocket with the user's cookies.
	CheckOrigin func(r *http.Request) bool

	// ReadLimit is the largest message the Conn accepts; 0 means
	// DefaultReadLimit. See Conn.SetReadLimit.
	ReadLimit int64
}

// A HandshakeError is a refused handshake: the HTTP status that was (or, for
// a client, would have been) sent and why.
type HandshakeError struct {
	Status int    // 400, 403, 405, 426, or the status a server answered
	Reason string // what was wrong, in words
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("websocket handshake refused: %d %s: %s", e.Status, http.StatusText(e.Status), e.Reason)
}

// Upgrade checks the opening handshake of r, and when it is valid answers 101
// Switching Protocols, takes over the connection and returns it as a *Conn
// (the server side). responseHeader, if not nil, is added to the 101 answer
// (Set-Cookie, say); it must not set the handshake's own headers.
//
// The request must be (RFC 6455 §4.2.1):
//   - a GET (otherwise 405, with Allow: GET) over HTTP/1.1 or later (400);
//   - with "websocket" among the tokens of Upgrade and "upgrade" among the
//     tokens of Connection, both comma-separated lists compared
//     case-insensitively (400);
//   - with Sec-WebSocket-Version: 13, otherwise 426 Upgrade Required with
//     Sec-WebSocket-Version: 13 in the answer (§4.2.2);
//   - with a Sec-WebSocket-Key that is base64 for exactly 16 bytes (400);
//   - from an allowed origin (403).
//
// A refused request is answered with that status and a plain-text reason,
// the connection is left to net/http (never hijacked), and Upgrade returns a
// *HandshakeError. The 101 answer carries Upgrade: websocket, Connection:
// Upgrade, Sec-WebSocket-Accept (AcceptKey of the client's key) and, when
// one was chosen, Sec-WebSocket-Protocol.
func (u *Upgrader) Upgrade(w http.ResponseWriter, r *http.Request, responseHeader http.Header) (*Conn, error) {
	return nil, exercise.TODO("2.4")
}
