package rawws

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// A Dialer opens WebSocket connections (the client side, RFC 6455 §4.1). The
// zero Dialer is ready to use.
type Dialer struct {
	// Subprotocols are offered to the server in Sec-WebSocket-Protocol, most
	// preferred first. The server may pick one of them, or none.
	Subprotocols []string

	// Header is added to the handshake request: Origin, Cookie,
	// Authorization. It must not set the handshake's own headers.
	Header http.Header

	// NetDialContext dials the TCP connection; nil means a net.Dialer.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// TLSConfig is used for wss:// URLs; nil means the defaults.
	TLSConfig *tls.Config

	// ReadLimit is the largest message the Conn accepts; 0 means
	// DefaultReadLimit.
	ReadLimit int64
}

// Dial connects to a ws:// or wss:// URL and performs the opening handshake.
// ctx bounds the whole of it: the dial, the request and the answer; once Dial
// returns, ctx no longer matters.
//
// The request is a GET with Host, Upgrade: websocket, Connection: Upgrade,
// Sec-WebSocket-Version: 13, a Sec-WebSocket-Key of 16 bytes from
// crypto/rand in base64, and Sec-WebSocket-Protocol when Subprotocols is set.
// The answer must be 101, with Upgrade: websocket and Connection: Upgrade
// (tokens, case-insensitive), the right Sec-WebSocket-Accept, and either no
// subprotocol or one that was offered (§4.1, "the client MUST Fail the
// WebSocket Connection" otherwise).
//
// On success Dial returns the Conn (the client side: it masks every frame)
// and the server's answer, whose body must not be read. On failure it closes
// the TCP connection and returns an error; when the server answered, the
// *http.Response is returned too (with up to 1 KiB of its body readable) and
// the error is a *HandshakeError with the server's status.
func (d *Dialer) Dial(ctx context.Context, url string) (*Conn, *http.Response, error) {
	return nil, nil, exercise.TODO("2.5")
}
