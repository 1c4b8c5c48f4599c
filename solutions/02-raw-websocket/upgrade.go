package rawws

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
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
	if status, reason := u.check(r); status != 0 {
		return nil, refuse(w, status, reason)
	}
	if name := handshakeHeaderIn(responseHeader); name != "" {
		return nil, refuse(w, http.StatusInternalServerError, "the application's response header sets "+name+", which the handshake owns")
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	protocol := u.chooseSubprotocol(r)

	// Everything is checked: take the connection from net/http. From here
	// on an error can no longer be an HTTP answer.
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, refuse(w, http.StatusInternalServerError, "cannot take over the connection: "+err.Error())
	}
	// net/http may have set deadlines for reading the request.
	_ = nc.SetDeadline(time.Time{})

	var b bytes.Buffer
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	b.WriteString(AcceptKey(key))
	if protocol != "" {
		b.WriteString("\r\nSec-WebSocket-Protocol: ")
		b.WriteString(protocol)
	}
	b.WriteString("\r\n")
	_ = responseHeader.Write(&b) // sanitizes values: no header injection
	b.WriteString("\r\n")
	if _, err := nc.Write(b.Bytes()); err != nil {
		nc.Close()
		return nil, err
	}

	// brw.Reader may already hold frames the client sent right behind its
	// request, so it becomes the Conn's reader. net/http's writer for the
	// connection is of no more use, but its buffer is: the Conn writes
	// through it.
	var br *bufio.Reader
	var wbuf []byte
	if brw != nil {
		br, wbuf = brw.Reader, brw.Writer.AvailableBuffer()
	}
	c := newConn(nc, br, true, wbuf)
	c.subprotocol = protocol
	if u.ReadLimit > 0 {
		c.readLimit = u.ReadLimit
	}
	return c, nil
}

// check returns the status and reason that refuse r, or 0.
func (u *Upgrader) check(r *http.Request) (int, string) {
	switch {
	case r.Method != http.MethodGet:
		return http.StatusMethodNotAllowed, "a WebSocket handshake is a GET request (RFC 6455 §4.2.1)"
	case !r.ProtoAtLeast(1, 1):
		return http.StatusBadRequest, "a WebSocket handshake needs HTTP/1.1 or later (RFC 6455 §4.2.1)"
	case !hasToken(r.Header, "Upgrade", "websocket"):
		return http.StatusBadRequest, `the Upgrade header must include "websocket" (RFC 6455 §4.2.1)`
	case !hasToken(r.Header, "Connection", "upgrade"):
		return http.StatusBadRequest, `the Connection header must include "Upgrade" (RFC 6455 §4.2.1)`
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return http.StatusUpgradeRequired, "unsupported Sec-WebSocket-Version: this server speaks version 13 (RFC 6455 §4.2.2)"
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return http.StatusBadRequest, "the request must carry exactly one Sec-WebSocket-Key (RFC 6455 §4.2.1)"
	}
	if k, err := base64.StdEncoding.DecodeString(keys[0]); err != nil || len(k) != 16 || len(keys[0]) != 24 {
		return http.StatusBadRequest, "Sec-WebSocket-Key must be 16 bytes in base64 (RFC 6455 §4.2.1)"
	}
	if !u.originAllowed(r) {
		return http.StatusForbidden, "origin not allowed"
	}
	return 0, ""
}

// originAllowed applies CheckOrigin, the Origins allowlist, or the
// same-origin rule (RFC 6455 §10.2: the Origin header is how a server
// protects browsers' users from other sites' scripts).
func (u *Upgrader) originAllowed(r *http.Request) bool {
	if u.CheckOrigin != nil {
		return u.CheckOrigin(r)
	}
	origins := r.Header.Values("Origin")
	if len(origins) == 0 {
		return true // not a browser
	}
	if len(origins) > 1 {
		return false
	}
	origin := origins[0]
	if len(u.Origins) > 0 {
		return slices.ContainsFunc(u.Origins, func(o string) bool { return strings.EqualFold(o, origin) })
	}
	o, err := url.Parse(origin)
	return err == nil && o.Host != "" && strings.EqualFold(o.Host, r.Host)
}

// chooseSubprotocol returns the first of u.Subprotocols that r offers.
func (u *Upgrader) chooseSubprotocol(r *http.Request) string {
	if len(u.Subprotocols) == 0 {
		return ""
	}
	offered := tokens(r.Header, "Sec-WebSocket-Protocol")
	for _, p := range u.Subprotocols {
		if slices.Contains(offered, p) {
			return p
		}
	}
	return ""
}

// refuse answers a refused handshake with status and a plain-text reason,
// adding the headers the RFC asks for, and returns the *HandshakeError.
func refuse(w http.ResponseWriter, status int, reason string) error {
	switch status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", http.MethodGet)
	case http.StatusUpgradeRequired:
		w.Header().Set("Sec-WebSocket-Version", "13") // §4.2.2: the versions we speak
	}
	http.Error(w, reason, status)
	return &HandshakeError{Status: status, Reason: reason}
}
