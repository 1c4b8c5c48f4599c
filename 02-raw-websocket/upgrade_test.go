package rawws

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// The tests of the server handshake speak HTTP by hand over TCP: they write
// the request bytes themselves and read the answer with http.ReadResponse,
// so they see exactly what goes on the wire.

// An upgradeResult is what one call of Upgrade returned.
type upgradeResult struct {
	err         error
	conn        bool
	subprotocol string
}

// newUpgradeServer serves "/ws" with u.Upgrade (adding responseHeader) and
// reports each result; a Conn is closed at once, since these tests look at
// the handshake only. "/next" answers a plain 200, to show that a refused
// connection still speaks HTTP.
func newUpgradeServer(t *testing.T, u *Upgrader, responseHeader http.Header) (*testServer, <-chan upgradeResult) {
	t.Helper()
	results := make(chan upgradeResult, 16)
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, responseHeader)
		res := upgradeResult{err: err, conn: c != nil}
		if c != nil {
			res.subprotocol = c.Subprotocol()
			_ = c.CloseNow()
		}
		results <- res
	})
	mux.HandleFunc("/next", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "still HTTP")
	})
	return newServer(t, mux), results
}

// A headerList is the header of a request in the order it is written.
type headerList [][2]string

// clientHandshakeHeaders is a valid opening handshake (RFC 6455 §4.1), with the
// key of the §1.3 example.
func clientHandshakeHeaders(host string) headerList {
	return headerList{
		{"Host", host},
		{"Upgrade", "websocket"},
		{"Connection", "Upgrade"},
		{"Sec-WebSocket-Key", sampleKey},
		{"Sec-WebSocket-Version", "13"},
	}
}

// with returns the list with the named header's value replaced (or added);
// an empty value removes it.
func (h headerList) with(name, value string) headerList {
	var out headerList
	found := false
	for _, kv := range h {
		if strings.EqualFold(kv[0], name) {
			if !found && value != "" {
				out = append(out, [2]string{kv[0], value})
			}
			found = true
			continue
		}
		out = append(out, kv)
	}
	if !found && value != "" {
		out = append(out, [2]string{name, value})
	}
	return out
}

// plus returns the list with one more header line, even if the name is
// already there.
func (h headerList) plus(name, value string) headerList {
	return append(slices.Clone(h), [2]string{name, value})
}

func requestBytes(method, target, proto string, h headerList) []byte {
	var b strings.Builder
	b.WriteString(method + " " + target + " " + proto + "\r\n")
	for _, kv := range h {
		b.WriteString(kv[0] + ": " + kv[1] + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// An httpConn is a raw client connection to a test server.
type httpConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialHTTP(t *testing.T, s *testServer) *httpConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Listener.Addr().String(), ioTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	require.NoError(t, nc.SetDeadline(time.Now().Add(ioTimeout)))
	return &httpConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// roundTrip writes a request and reads the answer and its body (none for
// 101: what follows it is the WebSocket).
func (c *httpConn) roundTrip(method string, req []byte) (*http.Response, string) {
	c.t.Helper()
	_, err := c.nc.Write(req)
	require.NoError(c.t, err)
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	require.NoError(c.t, err, "reading the answer to:\n%s", req)
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, ""
	}
	body, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err, "reading the body of the %s answer", resp.Status)
	return resp, string(body)
}

// headerHasToken reports whether the comma-separated lists of values contain the
// token, case-insensitively.
func headerHasToken(values []string, token string) bool {
	for _, v := range values {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), token) {
				return true
			}
		}
	}
	return false
}

// require101 checks a successful answer to the opening handshake (§4.2.2).
func require101(t *testing.T, resp *http.Response, key string) {
	t.Helper()
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode, "a valid opening handshake is answered 101 Switching Protocols (RFC 6455 §4.2.2), got %s", resp.Status)
	assert.True(t, headerHasToken(resp.Header.Values("Upgrade"), "websocket"), "the 101 answer needs Upgrade: websocket (RFC 6455 §4.2.2), got %q", resp.Header.Values("Upgrade"))
	assert.True(t, headerHasToken(resp.Header.Values("Connection"), "upgrade"), "the 101 answer needs Connection: Upgrade (RFC 6455 §4.2.2), got %q", resp.Header.Values("Connection"))
	assert.Equal(t, acceptFor(key), resp.Header.Get("Sec-WebSocket-Accept"), "Sec-WebSocket-Accept for the key %q (RFC 6455 §4.2.2 step 5.4)", key)
}

// A valid opening handshake is answered 101 Switching Protocols with
// Upgrade, Connection and the accept key (RFC 6455 §4.2.2), and the server
// has the connection from then on: the Conn's handler closes it, and the
// client sees the TCP connection end.
func TestUpgradeAnswers101WithAcceptKey(t *testing.T) {
	exercise.Start(t, "2.4")
	noLeaks(t)
	s, results := newUpgradeServer(t, &Upgrader{}, nil)
	for _, key := range []string{sampleKey, "x3JJHMbDL1EzLkh9GBhXDw==", "AQIDBAUGBwgJCgsMDQ4PEA=="} {
		c := dialHTTP(t, s)
		h := clientHandshakeHeaders(s.Listener.Addr().String()).with("Sec-WebSocket-Key", key)
		resp, _ := c.roundTrip("GET", requestBytes("GET", "/ws", "HTTP/1.1", h))
		require101(t, resp, key)
		assert.Empty(t, resp.Header.Values("Sec-WebSocket-Protocol"), "no subprotocol was offered, so none may be chosen (RFC 6455 §4.2.2)")

		res := waitFor(t, results, "Upgrade to return")
		require.NoError(t, res.err, "Upgrade of a valid handshake")
		require.True(t, res.conn, "Upgrade returned no Conn")
		assert.Empty(t, res.subprotocol, "Conn.Subprotocol() with no subprotocol negotiated")

		// The handler closed the Conn: nothing follows the 101 answer.
		rest, err := io.ReadAll(c.br)
		require.NoError(t, err, "after the 101 answer the connection belongs to the Conn, which the handler closed")
		assert.Empty(t, rest, "nothing may follow the 101 answer before the first frame")
	}
}

// Upgrade and Connection are comma-separated token lists compared without
// regard to case (RFC 6455 §4.2.1 items 3 and 4, RFC 9110 §7.6.1, §7.8), and
// a header may come in several lines: browsers send
// "Connection: keep-alive, Upgrade", and some clients "Upgrade: WebSocket".
func TestUpgradeAcceptsTokenListsInAnyCase(t *testing.T) {
	exercise.Start(t, "2.4")
	noLeaks(t)
	s, results := newUpgradeServer(t, &Upgrader{}, nil)
	host := s.Listener.Addr().String()
	valid := clientHandshakeHeaders(host)
	for name, h := range map[string]headerList{
		"Connection: keep-alive, Upgrade":              valid.with("Connection", "keep-alive, Upgrade"),
		"Connection: Upgrade,keep-alive":               valid.with("Connection", "Upgrade,keep-alive"),
		"connection: upgrade":                          valid.with("Connection", "").plus("connection", "upgrade"),
		"Connection: UPGRADE":                          valid.with("Connection", "UPGRADE"),
		"upgrade: WebSocket":                           valid.with("Upgrade", "").plus("upgrade", "WebSocket"),
		"Upgrade: foo/2, WEBSOCKET":                    valid.with("Upgrade", "foo/2, WEBSOCKET"),
		"Connection in two lines":                      valid.with("Connection", "keep-alive").plus("Connection", "Upgrade"),
		"Sec-WebSocket-Version: 13 in lower case name": valid.with("Sec-WebSocket-Version", "").plus("sec-websocket-version", "13"),
	} {
		c := dialHTTP(t, s)
		resp, body := c.roundTrip("GET", requestBytes("GET", "/ws", "HTTP/1.1", h))
		require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode, "handshake with %s: expected 101 (RFC 6455 §4.2.1), got %s %q", name, resp.Status, body)
		require101(t, resp, sampleKey)
		res := waitFor(t, results, "Upgrade to return")
		require.NoError(t, res.err, "Upgrade of a handshake with %s", name)
	}
}

// A request that is not a valid opening handshake is refused with the status
// that names the problem and a reason in the body (RFC 6455 §4.2.1, §4.2.2),
// and the connection stays with net/http: never hijacked, it answers the next
// request on the same keep-alive connection. Upgrade returns a
// *HandshakeError with the status it sent.
func TestUpgradeRefusesInvalidHandshakes(t *testing.T) {
	exercise.Start(t, "2.4")
	noLeaks(t)
	s, results := newUpgradeServer(t, &Upgrader{}, nil)
	host := s.Listener.Addr().String()
	valid := clientHandshakeHeaders(host)
	for _, tc := range []struct {
		name    string
		method  string
		proto   string
		headers headerList
		status  int
		header  [2]string // a header the answer must carry
		rfc     string
	}{
		{"method POST", "POST", "HTTP/1.1", valid.plus("Content-Length", "0"), 405, [2]string{"Allow", "GET"}, "RFC 6455 §4.1 (the method MUST be GET), RFC 9110 §15.5.6"},
		{"method PUT", "PUT", "HTTP/1.1", valid.plus("Content-Length", "0"), 405, [2]string{"Allow", "GET"}, "RFC 6455 §4.1, RFC 9110 §15.5.6"},
		{"HTTP/1.0", "GET", "HTTP/1.0", valid, 400, [2]string{}, "RFC 6455 §4.1 (HTTP/1.1 or higher)"},
		{"no Upgrade header", "GET", "HTTP/1.1", valid.with("Upgrade", ""), 400, [2]string{}, "RFC 6455 §4.2.1 item 3"},
		{"Upgrade: h2c", "GET", "HTTP/1.1", valid.with("Upgrade", "h2c"), 400, [2]string{}, "RFC 6455 §4.2.1 item 3"},
		{"Upgrade: websocketx", "GET", "HTTP/1.1", valid.with("Upgrade", "websocketx"), 400, [2]string{}, "RFC 6455 §4.2.1 item 3"},
		{"no Connection header", "GET", "HTTP/1.1", valid.with("Connection", ""), 400, [2]string{}, "RFC 6455 §4.2.1 item 4"},
		{"Connection: keep-alive", "GET", "HTTP/1.1", valid.with("Connection", "keep-alive"), 400, [2]string{}, "RFC 6455 §4.2.1 item 4"},
		{"Sec-WebSocket-Version: 8", "GET", "HTTP/1.1", valid.with("Sec-WebSocket-Version", "8"), 426, [2]string{"Sec-WebSocket-Version", "13"}, "RFC 6455 §4.2.2 item 4 (426 with the versions the server speaks)"},
		{"no Sec-WebSocket-Version", "GET", "HTTP/1.1", valid.with("Sec-WebSocket-Version", ""), 426, [2]string{"Sec-WebSocket-Version", "13"}, "RFC 6455 §4.2.1 item 6, §4.2.2 item 4"},
		{"no Sec-WebSocket-Key", "GET", "HTTP/1.1", valid.with("Sec-WebSocket-Key", ""), 400, [2]string{}, "RFC 6455 §4.2.1 item 5"},
		{"a key that is not base64", "GET", "HTTP/1.1", valid.with("Sec-WebSocket-Key", "not base64 at all!!"), 400, [2]string{}, "RFC 6455 §4.2.1 item 5"},
		{"a key of 15 bytes", "GET", "HTTP/1.1", valid.with("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4P"), 400, [2]string{}, "RFC 6455 §4.2.1 item 5 (16 bytes)"},
		{"a key of 17 bytes", "GET", "HTTP/1.1", valid.with("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEBE="), 400, [2]string{}, "RFC 6455 §4.2.1 item 5 (16 bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialHTTP(t, s)
			resp, body := c.roundTrip(tc.method, requestBytes(tc.method, "/ws", tc.proto, tc.headers))
			require.Equal(t, tc.status, resp.StatusCode, "a handshake with %s: expected %d %s (%s), got %s %q",
				tc.name, tc.status, http.StatusText(tc.status), tc.rfc, resp.Status, body)
			if tc.header[0] != "" {
				assert.True(t, headerHasToken(resp.Header.Values(tc.header[0]), tc.header[1]), "the %d answer needs %s: %s (%s), got %q",
					tc.status, tc.header[0], tc.header[1], tc.rfc, resp.Header.Values(tc.header[0]))
			}
			assert.NotEmpty(t, strings.TrimSpace(body), "a refusal says why in its body")
			assert.Empty(t, resp.Header.Get("Sec-WebSocket-Accept"), "a refusal must not carry Sec-WebSocket-Accept")

			res := waitFor(t, results, "Upgrade to return")
			require.False(t, res.conn, "Upgrade returned a Conn for a refused handshake")
			var he *HandshakeError
			require.ErrorAs(t, res.err, &he, "Upgrade must return a *HandshakeError for a refused handshake")
			assert.Equal(t, tc.status, he.Status, "HandshakeError.Status must be the status sent")
			assert.NotEmpty(t, he.Reason, "HandshakeError.Reason")

			if resp.Close {
				return // HTTP/1.0 without keep-alive: net/http closes after the answer
			}
			// Not hijacked: the connection still speaks HTTP.
			resp, body = c.roundTrip("GET", requestBytes("GET", "/next", "HTTP/1.1", headerList{{"Host", host}}))
			assert.Equal(t, http.StatusOK, resp.StatusCode, "after a refused handshake the connection must still serve HTTP (never hijacked)")
			assert.Equal(t, "still HTTP", body)
		})
	}
}

// By default a server accepts requests without an Origin (not from a
// browser) and same-origin requests, and refuses other origins with 403
// (RFC 6455 §4.2.2 item 4, §10.2): another site's page must not open a
// WebSocket with the user's cookies.
func TestUpgradeAllowsOnlySameOriginByDefault(t *testing.T) {
	exercise.Start(t, "2.4")
	noLeaks(t)
	s, results := newUpgradeServer(t, &Upgrader{}, nil)
	host := s.Listener.Addr().String()
	for _, tc := range []struct {
		origin string
		status int
	}{
		{"", 101},
		{"http://" + host, 101},
		{"http://evil.example", 403},
		{"http://evil.example:" + strings.Split(host, ":")[1], 403},
		{"null", 403},
		// An origin whose address only begins with the server's is another
		// origin: compare the whole host and port, not a prefix.
		{"http://" + host + "0", 403},
		{"http://" + host + ".evil.example", 403},
	} {
		c := dialHTTP(t, s)
		resp, body := c.roundTrip("GET", requestBytes("GET", "/ws", "HTTP/1.1", clientHandshakeHeaders(host).with("Origin", tc.origin)))
		assert.Equal(t, tc.status, resp.StatusCode, "Origin %q to a server at %s: expected %d (RFC 6455 §4.2.2, §10.2), got %s %q", tc.origin, host, tc.status, resp.Status, body)
		res := waitFor(t, results, "Upgrade to return")
		if tc.status == 403 {
			var he *HandshakeError
			if assert.ErrorAs(t, res.err, &he, "Origin %q", tc.origin) {
				assert.Equal(t, 403, he.Status)
			}
		} else {
			assert.NoError(t, res.err, "Origin %q", tc.origin)
		}
	}
}

// With Upgrader.Origins set, exactly the listed origins are allowed,
// compared case-insensitively.
func TestUpgradeAllowsListedOrigins(t *testing.T) {
	exercise.Start(t, "2.4")
	noLeaks(t)
	s, results := newUpgradeServer(t, &Upgrader{Origins: []string{"http://localhost:5173", "https://chat.example"}}, nil)
	host := s.Listener.Addr().String()
	for _, tc := range []struct {
		origin string
		status int
	}{
		{"http://localhost:5173", 101},
		{"HTTP://LOCALHOST:5173", 101},
		{"https://chat.example", 101},
		{"http://localhost:5174", 403},
		{"http://chat.example", 403},
		{"https://evil.example", 403},
		// Exactly the listed origins: not every origin that begins with one.
		{"http://localhost:5173.evil.com", 403},
		{"http://localhost:51730", 403},
		{"https://chat.example.evil", 403},
	} {
		c := dialHTTP(t, s)
		resp, body := c.roundTrip("GET", requestBytes("GET", "/ws", "HTTP/1.1", clientHandshakeHeaders(host).with("Origin", tc.origin)))
		assert.Equal(t, tc.status, resp.StatusCode, "Origin %q with Origins %q: expected %d, got %s %q", tc.origin, []string{"http://localhost:5173", "https://chat.example"}, tc.status, resp.Status, body)
		waitFor(t, results, "Upgrade to return")
	}
}

// CheckOrigin, when set, alone decides: Origins is ignored and so is the
// same-origin rule.
func TestUpgradeLetsCheckOriginDecide(t *testing.T) {
	exercise.Start(t, "2.4")
	noLeaks(t)
	u := &Upgrader{
		Origins:     []string{"http://listed.example"},
		CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "http://friend.example" },
	}
	s, results := newUpgradeServer(t, u, nil)
	host := s.Listener.Addr().String()
	for _, tc := range []struct {
		origin string
		status int
	}{
		{"http://friend.example", 101},
		{"http://listed.example", 403},
		{"http://" + host, 403},
	} {
		c := dialHTTP(t, s)
		resp, body := c.roundTrip("GET", requestBytes("GET", "/ws", "HTTP/1.1", clientHandshakeHeaders(host).with("Origin", tc.origin)))
		assert.Equal(t, tc.status, resp.StatusCode, "Origin %q when CheckOrigin allows only http://friend.example: expected %d, got %s %q", tc.origin, tc.status, resp.Status, body)
		waitFor(t, results, "Upgrade to return")
	}
}

// The server picks the first of its own subprotocols, in its order of
// preference, that the client offered, and names it in the answer; with no
// overlap it picks none and sends no Sec-WebSocket-Protocol (RFC 6455 §4.2.2
// item 5.4, §11.3.4).
func TestUpgradeChoosesSubprotocolByServerPreference(t *testing.T) {
	exercise.Start(t, "2.4")
	noLeaks(t)
	s, results := newUpgradeServer(t, &Upgrader{Subprotocols: []string{"superchat", "chat"}}, nil)
	host := s.Listener.Addr().String()
	valid := clientHandshakeHeaders(host)
	for _, tc := range []struct {
		name    string
		headers headerList
		want    string
	}{
		{"offered chat, superchat", valid.with("Sec-WebSocket-Protocol", "chat, superchat"), "superchat"},
		{"offered chat", valid.with("Sec-WebSocket-Protocol", "chat"), "chat"},
		{"offered in two header lines", valid.plus("Sec-WebSocket-Protocol", "chat").plus("Sec-WebSocket-Protocol", "superchat"), "superchat"},
		{"offered mqtt, v2.stomp", valid.with("Sec-WebSocket-Protocol", "mqtt, v2.stomp"), ""},
		{"offered nothing", valid, ""},
	} {
		c := dialHTTP(t, s)
		resp, body := c.roundTrip("GET", requestBytes("GET", "/ws", "HTTP/1.1", tc.headers))
		require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode, "%s: %s %q", tc.name, resp.Status, body)
		res := waitFor(t, results, "Upgrade to return")
		require.NoError(t, res.err)
		if tc.want == "" {
			assert.Empty(t, resp.Header.Values("Sec-WebSocket-Protocol"), "%s to a server speaking superchat, chat: no subprotocol in common, so no Sec-WebSocket-Protocol (RFC 6455 §4.2.2)", tc.name)
		} else {
			assert.Equal(t, []string{tc.want}, resp.Header.Values("Sec-WebSocket-Protocol"), "%s to a server that prefers superchat, then chat (RFC 6455 §4.2.2 item 5.4)", tc.name)
		}
		assert.Equal(t, tc.want, res.subprotocol, "%s: Conn.Subprotocol()", tc.name)
	}
}

// The responseHeader given to Upgrade is added to the 101 answer.
func TestUpgradeAddsResponseHeader(t *testing.T) {
	exercise.Start(t, "2.4")
	noLeaks(t)
	extra := http.Header{"Set-Cookie": {"session=abc; HttpOnly"}, "X-Served-By": {"rawws"}}
	s, results := newUpgradeServer(t, &Upgrader{}, extra)
	c := dialHTTP(t, s)
	resp, _ := c.roundTrip("GET", requestBytes("GET", "/ws", "HTTP/1.1", clientHandshakeHeaders(s.Listener.Addr().String())))
	require101(t, resp, sampleKey)
	assert.Equal(t, "session=abc; HttpOnly", resp.Header.Get("Set-Cookie"), "the responseHeader's Set-Cookie")
	assert.Equal(t, "rawws", resp.Header.Get("X-Served-By"), "the responseHeader's X-Served-By")
	require.NoError(t, waitFor(t, results, "Upgrade to return").err)
}

// fuzzMethods are the methods FuzzUpgrade tries; the rest of a request line
// is not what Upgrade decides on.
var fuzzMethods = []string{"GET", "POST", "PUT", "HEAD", "OPTIONS", "DELETE", "PATCH"}

// Whatever the handshake headers say, Upgrade never panics and answers with
// one of the statuses of its contract; a 101 only for a request that really
// is a valid handshake, with the right accept key; a refusal with a
// *HandshakeError carrying the status sent.
func FuzzUpgrade(f *testing.F) {
	exercise.Start(f, "2.4")
	f.Add(uint8(0), "websocket", "Upgrade", "13", sampleKey, "", "")
	f.Add(uint8(0), "WebSocket", "keep-alive, Upgrade", "13", "x3JJHMbDL1EzLkh9GBhXDw==", "", "chat, superchat")
	f.Add(uint8(1), "websocket", "Upgrade", "13", sampleKey, "", "")
	f.Add(uint8(0), "h2c", "Upgrade", "13", sampleKey, "", "")
	f.Add(uint8(0), "websocket", "close", "13", sampleKey, "", "")
	f.Add(uint8(0), "websocket", "Upgrade", "8", sampleKey, "", "")
	f.Add(uint8(0), "websocket", "Upgrade", "", sampleKey, "", "")
	f.Add(uint8(0), "websocket", "Upgrade", "13", "AQIDBAUGBwgJCgsMDQ4P", "", "")
	f.Add(uint8(0), "websocket", "Upgrade", "13", "!!!!", "", "")
	f.Add(uint8(0), "websocket", "Upgrade", "13", sampleKey, "http://evil.example", "")
	f.Add(uint8(0), "websocket", "Upgrade", "13", sampleKey, "null", "mqtt")
	f.Add(uint8(3), "", "", "", "", "", "")

	results := make(chan upgradeResult, 1)
	u := &Upgrader{Subprotocols: []string{"chat", "superchat"}}
	var addr string
	s := newServerF(f, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, nil)
		res := upgradeResult{err: err, conn: c != nil}
		if c != nil {
			res.subprotocol = c.Subprotocol()
			_ = c.CloseNow()
		}
		results <- res
	}))
	addr = s.Listener.Addr().String()

	f.Fuzz(func(t *testing.T, m uint8, upgrade, connection, version, key, origin, protocol string) {
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		h := headerList{{"Host", addr}}
		for _, kv := range [][2]string{
			{"Upgrade", upgrade}, {"Connection", connection}, {"Sec-WebSocket-Version", version},
			{"Sec-WebSocket-Key", key}, {"Origin", origin}, {"Sec-WebSocket-Protocol", protocol},
		} {
			v := strings.Trim(kv[1], " \t")
			if v == "" {
				continue // leave the header out
			}
			if !validHeaderValue(v) {
				t.Skip("not a valid HTTP header value; net/http refuses it before any handler runs")
			}
			h = append(h, [2]string{kv[0], v})
		}
		if method == "POST" || method == "PUT" || method == "PATCH" {
			h = append(h, [2]string{"Content-Length", "0"})
		}

		nc, err := net.DialTimeout("tcp", addr, ioTimeout)
		require.NoError(t, err)
		defer func() {
			if tc, ok := nc.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // no TIME_WAIT: fuzzing opens many connections
			}
			nc.Close()
		}()
		require.NoError(t, nc.SetDeadline(time.Now().Add(ioTimeout)))
		_, err = nc.Write(requestBytes(method, "/", "HTTP/1.1", h))
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(nc), &http.Request{Method: method})
		require.NoError(t, err, "reading the answer")
		resp.Body.Close()

		var res upgradeResult
		select {
		case res = <-results:
		case <-time.After(ioTimeout):
			t.Fatalf("the handler did not finish within %v (answer %s)", ioTimeout, resp.Status)
		}

		status := resp.StatusCode
		require.Contains(t, []int{101, 400, 403, 405, 426}, status, "Upgrade answered %s to %s with %q", resp.Status, method, h)
		if status != 101 {
			var he *HandshakeError
			require.ErrorAs(t, res.err, &he, "a refusal returns a *HandshakeError")
			require.Equal(t, status, he.Status, "HandshakeError.Status is the status sent")
			require.False(t, res.conn)
			switch status {
			case 405:
				require.True(t, headerHasToken(resp.Header.Values("Allow"), "GET"), "405 needs Allow: GET")
			case 426:
				require.True(t, headerHasToken(resp.Header.Values("Sec-WebSocket-Version"), "13"), "426 needs Sec-WebSocket-Version: 13")
			}
			return
		}
		// 101: the request really was a valid handshake.
		require.NoError(t, res.err)
		require.True(t, res.conn)
		require.Equal(t, "GET", method, "101 to a %s", method)
		require.True(t, headerHasToken([]string{upgrade}, "websocket"), "101 without websocket in Upgrade: %q", upgrade)
		require.True(t, headerHasToken([]string{connection}, "upgrade"), "101 without upgrade in Connection: %q", connection)
		require.Equal(t, "13", strings.Trim(version, " \t"), "101 to version %q", version)
		k := strings.Trim(key, " \t")
		raw, err := base64.StdEncoding.DecodeString(k)
		require.True(t, err == nil && len(raw) == 16, "101 to the key %q, which is not base64 of 16 bytes", k)
		require.Equal(t, acceptFor(k), resp.Header.Get("Sec-WebSocket-Accept"))
		if o := strings.Trim(origin, " \t"); o != "" {
			ou, err := url.Parse(o)
			require.True(t, err == nil && strings.EqualFold(ou.Host, addr), "101 to the cross-origin request from %q", o)
		}
		if sp := resp.Header.Get("Sec-WebSocket-Protocol"); sp != "" || res.subprotocol != "" {
			require.Equal(t, sp, res.subprotocol)
			require.True(t, headerHasToken([]string{protocol}, sp), "chose %q, which was not offered in %q", sp, protocol)
			require.Contains(t, u.Subprotocols, sp)
		}
	})
}

// newServerF is newServer for a fuzz target.
func newServerF(f *testing.F, h http.Handler) *testServer {
	s := &testServer{done: make(chan struct{})}
	s.Server = httptest.NewServer(h)
	f.Cleanup(func() {
		close(s.done)
		s.Close()
	})
	return s
}

// validHeaderValue is net/http's rule for a header field value (RFC 9110
// §5.5): no control characters other than horizontal tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}
