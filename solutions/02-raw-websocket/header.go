package rawws

import (
	"net/http"
	"strings"
)

// HTTP header helpers for the opening handshake.
//
// Upgrade, Connection and Sec-WebSocket-Protocol hold comma-separated lists
// of tokens (RFC 7230 §7), and a list may also be split over several header
// lines: "Connection: keep-alive, Upgrade" is how Firefox asks.

// hasToken reports whether one of the tokens of header name equals token,
// compared case-insensitively.
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// tokens returns the tokens of header name, in order, without empty ones.
func tokens(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// handshakeHeaders are the headers the handshake itself sets; a caller's
// extra headers must not set them.
var handshakeHeaders = []string{
	"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version",
	"Sec-Websocket-Accept", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions",
}

// handshakeHeaderIn returns the first handshake header that h sets, or "".
func handshakeHeaderIn(h http.Header) string {
	for _, name := range handshakeHeaders {
		if _, ok := h[name]; ok {
			return name
		}
	}
	return ""
}
