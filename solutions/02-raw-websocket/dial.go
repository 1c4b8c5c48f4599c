package rawws

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
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

// maxErrorBody is how much of a refusal's body Dial keeps for the caller.
const maxErrorBody = 1024

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
	u, err := parseWebSocketURL(url)
	if err != nil {
		return nil, nil, err
	}
	if name := handshakeHeaderIn(d.Header); name != "" {
		return nil, nil, fmt.Errorf("rawws: Dialer.Header sets %s, which the handshake owns", name)
	}
	var keyBytes [16]byte
	_, _ = rand.Read(keyBytes[:])
	key := base64.StdEncoding.EncodeToString(keyBytes[:])

	dial := d.NetDialContext
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}
	nc, err := dial(ctx, "tcp", hostPort(u))
	if err != nil {
		return nil, nil, err
	}

	// From here ctx bounds the handshake through the connection's
	// deadline: its own deadline if it has one, and a deadline in the past
	// the moment it is cancelled (context.AfterFunc, no goroutine of ours).
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	fail := func(resp *http.Response, err error) (*Conn, *http.Response, error) {
		stop()
		nc.Close()
		if ctxErr := ctx.Err(); ctxErr != nil && resp == nil {
			err = fmt.Errorf("rawws: dial %s: %w (%v)", u.Redacted(), ctxErr, err)
		}
		return nil, resp, err
	}

	if u.Scheme == "wss" {
		cfg := d.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		// The handshake is HTTP/1.1; a server that picked h2 by ALPN
		// would not understand it.
		cfg.NextProtos = nil
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(nil, err)
		}
		nc = tc
	}

	if _, err := nc.Write(d.request(u, key)); err != nil {
		return fail(nil, err)
	}
	br := bufio.NewReaderSize(nc, readBufferSize)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet, URL: u})
	if err != nil {
		return fail(nil, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return fail(resp, &HandshakeError{Status: resp.StatusCode, Reason: "the server answered " + resp.Status + ", not 101 Switching Protocols"})
	}
	resp.Body = http.NoBody
	if reason := d.checkResponse(resp, key); reason != "" {
		return fail(resp, &HandshakeError{Status: resp.StatusCode, Reason: reason})
	}
	if !stop() {
		// ctx ended while the answer came: the deadline is in the past.
		return fail(nil, ctx.Err())
	}
	_ = nc.SetDeadline(time.Time{})

	// br may hold the first frames the server sent right behind its
	// answer: it becomes the Conn's reader.
	c := newConn(nc, br, false, nil)
	c.subprotocol = resp.Header.Get("Sec-WebSocket-Protocol")
	if d.ReadLimit > 0 {
		c.readLimit = d.ReadLimit
	}
	return c, resp, nil
}

// parseWebSocketURL parses a ws:// or wss:// URL (RFC 6455 §3).
func parseWebSocketURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("rawws: %w", err)
	}
	switch {
	case u.Scheme != "ws" && u.Scheme != "wss":
		return nil, fmt.Errorf("rawws: %q is not a ws:// or wss:// URL", s)
	case u.Host == "":
		return nil, fmt.Errorf("rawws: %q has no host", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return nil, fmt.Errorf("rawws: %q has a fragment, which a WebSocket URL may not (RFC 6455 §3)", s)
	case u.User != nil:
		return nil, fmt.Errorf("rawws: %q has user information, which a WebSocket URL may not (RFC 6455 §3)", u.Redacted())
	}
	return u, nil
}

// hostPort is the address to dial: the URL's host, with the scheme's
// default port (80 for ws, 443 for wss) when it names none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "wss" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// request is the handshake request (§4.1), in one buffer so that it goes
// out in one write.
func (d *Dialer) request(u *url.URL, key string) []byte {
	var b bytes.Buffer
	host := u.Host
	if h := d.Header.Get("Host"); h != "" {
		host = h
	}
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), host)
	b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ")
	b.WriteString(key)
	b.WriteString("\r\nSec-WebSocket-Version: 13\r\n")
	if len(d.Subprotocols) > 0 {
		b.WriteString("Sec-WebSocket-Protocol: ")
		b.WriteString(strings.Join(d.Subprotocols, ", "))
		b.WriteString("\r\n")
	}
	_ = d.Header.WriteSubset(&b, map[string]bool{"Host": true})
	b.WriteString("\r\n")
	return b.Bytes()
}

// checkResponse checks a 101 answer (§4.1, the client's checks 1–6) and
// returns what is wrong with it, or "".
func (d *Dialer) checkResponse(resp *http.Response, key string) string {
	switch {
	case !hasToken(resp.Header, "Upgrade", "websocket"):
		return `the answer's Upgrade header does not include "websocket"`
	case !hasToken(resp.Header, "Connection", "upgrade"):
		return `the answer's Connection header does not include "Upgrade"`
	case resp.Header.Get("Sec-WebSocket-Accept") != AcceptKey(key):
		return "the answer's Sec-WebSocket-Accept does not match the key"
	case len(resp.Header.Values("Sec-WebSocket-Extensions")) > 0:
		return "the server chose an extension the client did not offer"
	}
	protocols := resp.Header.Values("Sec-WebSocket-Protocol")
	switch {
	case len(protocols) > 1:
		return "the server chose more than one subprotocol"
	case len(protocols) == 1 && !slices.Contains(d.Subprotocols, protocols[0]):
		return fmt.Sprintf("the server chose subprotocol %q, which the client did not offer", protocols[0])
	}
	return ""
}
