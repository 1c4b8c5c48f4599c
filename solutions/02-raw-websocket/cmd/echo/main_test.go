package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	rawws "github.com/websocket-workbook/workbook/solutions/02-raw-websocket"
)

func startEcho(t *testing.T, origins ...string) (*server, string) {
	t.Helper()
	s := &server{
		upgrader: rawws.Upgrader{Origins: origins, ReadLimit: 64 << 20},
		conns:    make(map[*rawws.Conn]struct{}),
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, "ws" + strings.TrimPrefix(srv.URL, "http")
}

// The echo server answers text and binary messages of every size up to a
// 16 MiB one, read by an independent client (gorilla/websocket), and on
// shutdown closes each connection with 1001 and its reason.
func TestEchoAnswersA16MiBMessageAndClosesWith1001OnShutdown(t *testing.T) {
	// Registered first, so it runs last: after the server is closed.
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s, url := startEcho(t)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial(url, nil)
	require.NoError(t, err)
	defer c.Close()
	c.SetReadLimit(32 << 20)

	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	for _, m := range []struct {
		op int
		p  []byte
	}{
		{websocket.TextMessage, []byte("hello")},
		{websocket.BinaryMessage, []byte{0, 1, 2, 255}},
		{websocket.TextMessage, nil},
		{websocket.BinaryMessage, big},
	} {
		require.NoError(t, c.SetWriteDeadline(time.Now().Add(30*time.Second)))
		require.NoError(t, c.WriteMessage(m.op, m.p))
		require.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Second)))
		op, p, err := c.ReadMessage()
		require.NoError(t, err, "echo of a %d-byte message", len(m.p))
		require.Equal(t, m.op, op, "the echo keeps the message type")
		require.True(t, bytes.Equal(m.p, p), "the echo of a %d-byte message differs (got %d bytes)", len(m.p), len(p))
	}

	// gorilla answers the close frame from inside ReadMessage, so the read
	// must be running while the server shuts down.
	got := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		got <- err
	}()
	s.closeAll(rawws.CloseGoingAway, "server shutting down")
	var ce *websocket.CloseError
	require.True(t, errors.As(<-got, &ce), "the client should see a close frame")
	require.Equal(t, rawws.CloseGoingAway, ce.Code)
	require.Equal(t, "server shutting down", ce.Text)
}

// With -origin set, a page from another origin is refused with 403 before
// any WebSocket exists.
func TestEchoRefusesAnOriginNotInTheList(t *testing.T) {
	_, url := startEcho(t, "http://localhost:5173")
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	_, resp, err := d.Dial(url, http.Header{"Origin": {"http://evil.example"}})
	require.Error(t, err)
	require.NotNil(t, resp)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	c, _, err := d.Dial(url, http.Header{"Origin": {"http://localhost:5173"}})
	require.NoError(t, err, "an origin in the list is allowed")
	c.Close()
}
