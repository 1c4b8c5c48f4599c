package rawws

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// A rawServer is a TCP listener on 127.0.0.1 where the test plays the server
// by hand, to see exactly what a client sends and to answer what it likes.
type rawServer struct {
	ln       net.Listener
	accepted chan net.Conn
}

func newRawServer(t *testing.T) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &rawServer{ln: ln, accepted: make(chan net.Conn, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1 << 20 { // until the listener closes
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case s.accepted <- nc:
			default:
				nc.Close()
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(s.accepted)
		for nc := range s.accepted {
			nc.Close()
		}
	})
	return s
}

func (s *rawServer) url(path string) string { return "ws://" + s.ln.Addr().String() + path }

// A dialResult is what one Dial returned.
type dialResult struct {
	conn *Conn
	resp *http.Response
	err  error
	took time.Duration
}

// dialAsync runs d.Dial in a goroutine, bounded by timeout, so that the test
// can play the server meanwhile. A Conn it returns is closed when the test
// ends.
func dialAsync(t *testing.T, d *Dialer, url string, timeout time.Duration) <-chan dialResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	out := make(chan dialResult, 1)
	start := time.Now()
	go func() {
		defer cancel()
		c, resp, err := d.Dial(ctx, url)
		out <- dialResult{c, resp, err, time.Since(start)}
	}()
	return out
}

// acceptDuringDial waits for the client's TCP connection. If Dial returns
// first, it cannot have connected: the test fails right away.
func (s *rawServer) acceptDuringDial(t *testing.T, dialed <-chan dialResult) *rawPeer {
	t.Helper()
	select {
	case nc := <-s.accepted:
		t.Cleanup(func() { nc.Close() })
		require.NoError(t, nc.SetDeadline(time.Now().Add(ioTimeout)))
		return newRawPeer(t, nc, nil, false)
	case r := <-dialed:
		if r.conn != nil {
			_ = r.conn.CloseNow()
		}
		t.Fatalf("Dial returned (%v) before the server saw a connection", r.err)
	case <-time.After(ioTimeout):
		t.Fatalf("no connection reached the server within %v", ioTimeout)
	}
	return nil
}

// readRequest reads the client's opening handshake.
func (p *rawPeer) readRequest() *http.Request {
	p.t.Helper()
	req, err := http.ReadRequest(p.br)
	require.NoError(p.t, err, "reading the client's opening handshake")
	return req
}

// answer101 is a valid answer to key, with extra header lines.
func answer101(key string, extra ...string) string {
	s := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptFor(key) + "\r\n"
	for _, h := range extra {
		s += h + "\r\n"
	}
	return s + "\r\n"
}

// The client's opening handshake is a GET of the URL's path and query over
// HTTP/1.1 with Host, Upgrade: websocket, Connection: Upgrade,
// Sec-WebSocket-Version: 13, a Sec-WebSocket-Key of 16 random bytes in base64,
// the subprotocols offered in order and the Dialer's own headers (RFC 6455
// §4.1). The subprotocol the server picks is the Conn's.
func TestDialSendsOpeningHandshake(t *testing.T) {
	exercise.Start(t, "2.5")
	noLeaks(t)
	srv := newRawServer(t)
	d := &Dialer{
		Subprotocols: []string{"chat", "superchat"},
		Header:       http.Header{"Origin": {"http://app.example"}, "Cookie": {"session=abc"}},
	}
	dialed := dialAsync(t, d, srv.url("/chat?room=1"), ioTimeout)
	p := srv.acceptDuringDial(t, dialed)
	req := p.readRequest()

	assert.Equal(t, "GET", req.Method, "the opening handshake is a GET (RFC 6455 §4.1 item 2)")
	assert.Equal(t, "/chat?room=1", req.RequestURI, "the request target is the URL's path and query (RFC 6455 §4.1 item 1)")
	assert.True(t, req.ProtoAtLeast(1, 1), "HTTP/1.1 or later (RFC 6455 §4.1 item 2), got %s", req.Proto)
	assert.Equal(t, srv.ln.Addr().String(), req.Host, "Host (RFC 6455 §4.1 item 4)")
	assert.True(t, headerHasToken(req.Header.Values("Upgrade"), "websocket"), "Upgrade: websocket (RFC 6455 §4.1 item 5), got %q", req.Header.Values("Upgrade"))
	assert.True(t, headerHasToken(req.Header.Values("Connection"), "upgrade"), "Connection: Upgrade (RFC 6455 §4.1 item 6), got %q", req.Header.Values("Connection"))
	assert.Equal(t, "13", req.Header.Get("Sec-WebSocket-Version"), "Sec-WebSocket-Version (RFC 6455 §4.1 item 9)")
	key := req.Header.Get("Sec-WebSocket-Key")
	raw, err := base64.StdEncoding.DecodeString(key)
	assert.NoError(t, err, "Sec-WebSocket-Key %q must be base64 (RFC 6455 §4.1 item 7)", key)
	assert.Len(t, raw, 16, "Sec-WebSocket-Key %q must encode 16 bytes (RFC 6455 §4.1 item 7)", key)
	var offered []string
	for _, v := range req.Header.Values("Sec-WebSocket-Protocol") {
		for _, tok := range strings.Split(v, ",") {
			offered = append(offered, strings.TrimSpace(tok))
		}
	}
	assert.Equal(t, []string{"chat", "superchat"}, offered, "Sec-WebSocket-Protocol lists Dialer.Subprotocols in order (RFC 6455 §4.1 item 10)")
	assert.Equal(t, "http://app.example", req.Header.Get("Origin"), "Dialer.Header is sent")
	assert.Equal(t, "session=abc", req.Header.Get("Cookie"), "Dialer.Header is sent")

	p.write([]byte(answer101(key, "Sec-WebSocket-Protocol: superchat")))
	r := waitFor(t, dialed, "Dial to return")
	require.NoError(t, r.err, "Dial after a valid 101 answer")
	require.NotNil(t, r.conn)
	defer r.conn.CloseNow()
	assert.Equal(t, "superchat", r.conn.Subprotocol(), "the subprotocol the server chose")
	require.NotNil(t, r.resp, "Dial returns the server's answer")
	assert.Equal(t, http.StatusSwitchingProtocols, r.resp.StatusCode)
	assert.Equal(t, acceptFor(key), r.resp.Header.Get("Sec-WebSocket-Accept"))
}

// Every handshake has a fresh key from a good random source (RFC 6455 §4.1
// item 7: "randomly selected"; §10.3).
func TestDialUsesFreshRandomKeys(t *testing.T) {
	exercise.Start(t, "2.5")
	noLeaks(t)
	srv := newRawServer(t)
	seen := map[string]bool{}
	for range 5 {
		dialed := dialAsync(t, &Dialer{}, srv.url("/"), ioTimeout)
		p := srv.acceptDuringDial(t, dialed)
		key := p.readRequest().Header.Get("Sec-WebSocket-Key")
		raw, err := base64.StdEncoding.DecodeString(key)
		require.NoError(t, err)
		require.Len(t, raw, 16)
		require.False(t, seen[key], "Sec-WebSocket-Key %q was used twice; every handshake needs a fresh random key (RFC 6455 §4.1 item 7)", key)
		seen[key] = true
		p.write([]byte(answer101(key)))
		r := waitFor(t, dialed, "Dial to return")
		require.NoError(t, r.err)
		_ = r.conn.CloseNow()
	}
}

// Dial completes the handshake with gorilla/websocket's server, which picks a
// subprotocol from those offered.
func TestDialConnectsToGorillaServer(t *testing.T) {
	exercise.Start(t, "2.5")
	noLeaks(t)
	chosen := make(chan string, 1)
	s := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := gws.Upgrader{Subprotocols: []string{"superchat", "chat"}}
		c, err := u.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		chosen <- c.Subprotocol()
		for range 1 << 20 { // until the connection ends
			if _, _, err := c.NextReader(); err != nil {
				return // the client went away
			}
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	c, resp, err := (&Dialer{Subprotocols: []string{"chat"}}).Dial(ctx, s.wsURL("/"))
	require.NoError(t, err, "Dial to a gorilla/websocket server")
	require.NotNil(t, c)
	defer c.CloseNow()
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, "chat", c.Subprotocol())
	assert.Equal(t, "chat", waitFor(t, chosen, "the gorilla server's handshake"))
}

// Dial completes the handshake with the server of exercise 2.4.
func TestDialConnectsToRawwsServer(t *testing.T) {
	exercise.Start(t, "2.5")
	noLeaks(t)
	s, results := newUpgradeServer(t, &Upgrader{Subprotocols: []string{"superchat", "chat"}}, http.Header{"X-Served-By": {"rawws"}})
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	c, resp, err := (&Dialer{Subprotocols: []string{"chat", "superchat"}}).Dial(ctx, s.wsURL("/ws"))
	require.NoError(t, err, "Dial to a rawws server")
	require.NotNil(t, c)
	defer c.CloseNow()
	assert.Equal(t, "superchat", c.Subprotocol())
	assert.Equal(t, "rawws", resp.Header.Get("X-Served-By"))
	res := waitFor(t, results, "the server's Upgrade")
	require.NoError(t, res.err)
	assert.Equal(t, "superchat", res.subprotocol)
}

// ctx bounds the whole handshake: a server that accepts the connection and
// never answers cannot hold Dial past the deadline, and Dial closes the TCP
// connection it opened.
func TestDialGivesUpWhenServerNeverAnswers(t *testing.T) {
	exercise.Start(t, "2.5")
	noLeaks(t)
	srv := newRawServer(t)
	const timeout = 300 * time.Millisecond
	dialed := dialAsync(t, &Dialer{}, srv.url("/"), timeout)
	p := srv.acceptDuringDial(t, dialed)
	p.readRequest() // and never answer

	r := waitFor(t, dialed, "Dial to give up")
	require.Error(t, r.err, "Dial to a server that never answers")
	assert.Nil(t, r.conn)
	assert.Less(t, r.took, timeout+3*time.Second, "Dial with a %v context took %v", timeout, r.took)
	p.expectTCPClosed("Dial gave up on the handshake")
}

// The client fails the connection, closing TCP, when the answer is not a
// valid acceptance (RFC 6455 §4.1: "the client MUST _Fail the WebSocket
// Connection_"): a status other than 101, a missing or wrong
// Sec-WebSocket-Accept, Upgrade or Connection, or a subprotocol that was not
// offered. A server that answered with a status is reported as a
// *HandshakeError, with the answer (and a little of its body) returned.
func TestDialRejectsInvalidAnswers(t *testing.T) {
	exercise.Start(t, "2.5")
	noLeaks(t)
	for _, tc := range []struct {
		name    string
		offered []string
		answer  func(key string) string
		status  int // for a non-101 answer
		body    string
		rfc     string
	}{
		{"a wrong Sec-WebSocket-Accept", nil, func(string) string { return answer101("x3JJHMbDL1EzLkh9GBhXDw==") }, 0, "", "§4.1 item 4 of the answer"},
		{"no Sec-WebSocket-Accept", nil, func(string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		}, 0, "", "§4.1 item 4 of the answer"},
		{"no Upgrade", nil, func(key string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptFor(key) + "\r\n\r\n"
		}, 0, "", "§4.1 item 2 of the answer"},
		{"Upgrade: h2c", nil, func(key string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptFor(key) + "\r\n\r\n"
		}, 0, "", "§4.1 item 2 of the answer"},
		{"no Connection", nil, func(key string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + acceptFor(key) + "\r\n\r\n"
		}, 0, "", "§4.1 item 3 of the answer"},
		{"a subprotocol that was not offered", []string{"chat"}, func(key string) string {
			return answer101(key, "Sec-WebSocket-Protocol: superchat")
		}, 0, "", "§4.1 item 6 of the answer"},
		{"a subprotocol when none was offered", nil, func(key string) string {
			return answer101(key, "Sec-WebSocket-Protocol: chat")
		}, 0, "", "§4.1 item 6 of the answer"},
		{"403 Forbidden", nil, func(string) string {
			return "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\ngo away\n"
		}, 403, "go away\n", "§4.1 item 1 of the answer"},
		{"200 OK", nil, func(string) string {
			return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		}, 200, "ok", "§4.1 item 1 of the answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRawServer(t)
			dialed := dialAsync(t, &Dialer{Subprotocols: tc.offered}, srv.url("/"), ioTimeout)
			p := srv.acceptDuringDial(t, dialed)
			key := p.readRequest().Header.Get("Sec-WebSocket-Key")
			p.write([]byte(tc.answer(key)))

			r := waitFor(t, dialed, "Dial to return")
			require.Error(t, r.err, "Dial must fail on an answer with %s (RFC 6455 %s)", tc.name, tc.rfc)
			if r.conn != nil {
				_ = r.conn.CloseNow()
				t.Fatalf("Dial returned a Conn as well as an error")
			}
			if tc.status != 0 {
				var he *HandshakeError
				require.ErrorAs(t, r.err, &he, "an answer of %d is a *HandshakeError", tc.status)
				assert.Equal(t, tc.status, he.Status, "HandshakeError.Status is the server's status")
				require.NotNil(t, r.resp, "Dial returns the server's answer with the error")
				assert.Equal(t, tc.status, r.resp.StatusCode)
				body, _ := io.ReadAll(r.resp.Body)
				assert.Equal(t, tc.body, string(body), "the answer's body stays readable")
			}
			p.expectTCPClosed(fmt.Sprintf("Dial refused an answer with %s", tc.name))
		})
	}
}
