package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
	"github.com/websocket-workbook/workbook/internal/nodepeer"
)

// The Server puts everything on one handler: the chat page at /, the
// history at /api/messages, Socket.IO at /socket.io/.
func TestServerRoutes(t *testing.T) {
	exercise.Start(t, "4.8")
	_, hs := ttStartServer(t, Config{})

	for _, c := range []struct {
		path, contentType, contains string
	}{
		{"/", "text/html", `chat.js`},
		{"/chat.js", "javascript", `send-message`},
		{"/chat.css", "text/css", `.messages`},
	} {
		resp, body := ttGet(t, hs.URL+c.path)
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s serves the chat page's file (web/, embedded)", c.path)
		require.Contains(t, resp.Header.Get("Content-Type"), c.contentType, "GET %s: Content-Type", c.path)
		require.Contains(t, string(body), c.contains, "GET %s: the body", c.path)
	}

	h := ttGetHistory(t, hs.URL, "")
	require.Empty(t, h.Messages, "GET /api/messages on a new database")
	resp, body := ttGet(t, hs.URL+"/api/messages?limit=0")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "GET /api/messages?limit=0 goes through the App's error handler: %s", body)

	// The Engine is mounted: a long-polling handshake gets the open packet,
	// which offers the upgrade to a WebSocket (engine.io-protocol v4,
	// "Handshake").
	resp, body = ttGet(t, hs.URL+"/socket.io/?EIO=4&transport=polling")
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /socket.io/?EIO=4&transport=polling: %s", body)
	require.True(t, strings.HasPrefix(string(body), "0{"), "the polling handshake answers with the open packet 0{...}, got %q", body)
	var open struct {
		Sid      string   `json:"sid"`
		Upgrades []string `json:"upgrades"`
	}
	require.NoError(t, json.Unmarshal(body[1:], &open), "the open packet %q", body)
	require.Equal(t, []string{"websocket"}, open.Upgrades, "the open packet of a polling session offers the websocket upgrade")

	resp, body = ttGet(t, hs.URL+"/no/such/page")
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "GET /no/such/page: %s", body)
}

// ttDialWS opens a WebSocket to the Engine.IO endpoint with this Origin
// header and returns the handshake's status: 101 when it was accepted.
func ttDialWS(t *testing.T, base, origin string) int {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := websocket.Dialer{HandshakeTimeout: ttTimeout}
	ws, resp, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/socket.io/?EIO=4&transport=websocket", h)
	if err == nil {
		defer ws.Close()
		require.NoError(t, ws.SetReadDeadline(time.Now().Add(ttTimeout)))
		_, p, err := ws.ReadMessage()
		require.NoError(t, err, "the open packet after an accepted WebSocket handshake from %q", origin)
		require.True(t, strings.HasPrefix(string(p), "0{"), "the first packet is the open packet, got %q", p)
	}
	require.NotNil(t, resp, "WebSocket handshake from Origin %q: %v", origin, err)
	resp.Body.Close()
	return resp.StatusCode
}

// One allowlist guards everything a browser can reach: HTTP requests get
// CORS headers or a 403, and so does the WebSocket handshake, which CORS
// does not cover (a browser lets any page open a WebSocket anywhere; only
// the server's Origin check stops it). The server's own page is always
// allowed.
func TestServerOrigins(t *testing.T) {
	exercise.Start(t, "4.8")
	const app, evil = "http://app.example", "http://evil.example"
	_, hs := ttStartServer(t, Config{Origins: Origins{app}})

	resp, body := ttGet(t, hs.URL+"/api/messages", "Origin: "+app)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /api/messages from the allowed origin %s: %s", app, body)
	require.Equal(t, app, resp.Header.Get("Access-Control-Allow-Origin"), "a CORS answer to the allowed origin names it")

	for _, origin := range []string{evil, DefaultOrigin} {
		resp, body = ttGet(t, hs.URL+"/api/messages", "Origin: "+origin)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "GET /api/messages from %s, not in Config.Origins: %s", origin, body)
		require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "no CORS header for a refused origin")
	}
	resp, body = ttGet(t, hs.URL+"/socket.io/?EIO=4&transport=polling", "Origin: "+evil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a long-polling handshake from %s: %s", evil, body)

	require.Equal(t, http.StatusForbidden, ttDialWS(t, hs.URL, evil),
		"a WebSocket handshake from %s must be refused with 403 (the Upgrader's CheckOrigin is Origins.Allowed)", evil)
	require.Equal(t, http.StatusSwitchingProtocols, ttDialWS(t, hs.URL, app), "a WebSocket handshake from %s is accepted", app)
	require.Equal(t, http.StatusSwitchingProtocols, ttDialWS(t, hs.URL, hs.URL), "the page the server serves has the server's own origin, %s", hs.URL)
	require.Equal(t, http.StatusSwitchingProtocols, ttDialWS(t, hs.URL, ""), "a client that is no browser sends no Origin, and is not refused")

	// Without Config.Origins, the default is the course's Vite dev server.
	_, def := ttStartServer(t, Config{})
	resp, body = ttGet(t, def.URL+"/api/messages", "Origin: "+DefaultOrigin)
	require.Equal(t, http.StatusOK, resp.StatusCode, "with no Config.Origins, %s is allowed: %s", DefaultOrigin, body)
	require.Equal(t, DefaultOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, http.StatusForbidden, ttDialWS(t, def.URL, evil), "with no Config.Origins, %s is refused", evil)
}

// ttShutdownRun is what one client saw while the server shut down.
type ttShutdownRun struct {
	acked   map[int64]string // ID → text of the messages acknowledged as stored
	refused int              // acks with success:false
	reason  string           // the disconnect reason
}

// ttDrainUntilDisconnect reads a client's reports until it is disconnected.
func ttDrainUntilDisconnect(t *testing.T, c *nodepeer.SIOClient, who string) ttShutdownRun {
	t.Helper()
	run := ttShutdownRun{acked: map[int64]string{}}
	for range 100000 {
		r := c.Next(ttTimeout)
		switch r.Kind {
		case "ack":
			require.Len(t, r.Args, 1, "%s: an ack of send-message: %s", who, r)
			res := ttDecodeResult(t, who+": an ack during the shutdown", r.Args[0])
			if res.Success {
				run.acked[res.Message.ID] = res.Message.Text
			} else {
				run.refused++
			}
		case "disconnect":
			run.reason = r.Reason
			return run
		case "connect_error", "error":
			t.Fatalf("%s: during the shutdown: %s", who, r)
		}
	}
	t.Fatalf("%s: no disconnect", who)
	return run
}

// A graceful shutdown loses nothing it acknowledged. Three clients — one
// upgraded from long-polling to a WebSocket, one that stays on
// long-polling, one on a WebSocket from the start — send messages as fast
// as they can, and Shutdown begins while they do. Every message whose ack
// said "stored" must be in the database when the server is started again on
// the same file; every client must be disconnected; Serve must return
// http.ErrServerClosed, and no goroutine may be left behind.
func TestServerGracefulShutdown(t *testing.T) {
	exercise.Start(t, "4.8")
	ttNoLeaks(t, "socket.io-client")
	path := filepath.Join(t.TempDir(), "chat.db")
	s, err := New(Config{DB: path, Logger: ttLogger()})
	require.NoError(t, err, "New with a database file")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	url := "http://" + l.Addr().String()

	clients := []struct {
		name string
		opts map[string]any
	}{
		{"upgraded", map[string]any{"reconnection": false}},
		{"polling", map[string]any{"reconnection": false, "transports": []string{"polling"}}},
		{"websocket", map[string]any{"reconnection": false, "transports": []string{"websocket"}}},
	}
	peers := make([]*nodepeer.SIOClient, len(clients))
	for i, c := range clients {
		peers[i] = ttDial(t, url, c.opts)
	}
	const each = 150
	for i, c := range clients {
		for n := range each {
			peers[i].EmitWithAck("send-message", map[string]any{"author": c.name, "text": fmt.Sprintf("%s %d", c.name, n)})
		}
	}

	// Once some messages are through, shut down while the rest are coming.
	ws := peers[2]
	runs := make([]ttShutdownRun, len(clients))
	runs[2] = ttShutdownRun{acked: map[int64]string{}}
	for len(runs[2].acked) < 10 {
		r := ws.Next(ttTimeout)
		require.NotEqual(t, "disconnect", r.Kind, "websocket: disconnected before the shutdown: %s", r)
		if r.Kind == "ack" {
			res := ttDecodeResult(t, "websocket: an ack before the shutdown", r.Args[0])
			require.True(t, res.Success, "websocket: before the shutdown, messages are stored: %s", res.Raw)
			runs[2].acked[res.Message.ID] = res.Message.Text
		}
	}
	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), ttTimeout)
		defer cancel()
		shutdownErr <- s.Shutdown(ctx)
	}()

	for i, c := range clients {
		run := ttDrainUntilDisconnect(t, peers[i], c.name)
		for id, text := range runs[i].acked {
			run.acked[id] = text
		}
		runs[i] = run
		require.NotEmpty(t, run.reason, "%s: the client is disconnected, with a reason", c.name)
		require.NotEqual(t, "io client disconnect", run.reason, "%s: it was the server that disconnected the client", c.name)
	}
	select {
	case err := <-shutdownErr:
		require.NoError(t, err, "Shutdown")
	case <-time.After(2 * ttTimeout):
		t.Fatalf("Shutdown did not return within %v", 2*ttTimeout)
	}
	select {
	case err := <-served:
		require.True(t, errors.Is(err, http.ErrServerClosed), "Serve returns http.ErrServerClosed after Shutdown, got %v", err)
	case <-time.After(ttTimeout):
		t.Fatalf("Serve did not return after Shutdown")
	}
	_, err = net.DialTimeout("tcp", l.Addr().String(), time.Second)
	require.Error(t, err, "after Shutdown the listener is closed")

	// Start again on the same file: everything acknowledged is there.
	_, hs := ttStartServer(t, Config{DB: path})
	stored := map[int64]string{}
	before := ""
	for range 100 {
		h := ttGetHistory(t, hs.URL, "limit=200"+before)
		for _, m := range h.Messages {
			stored[m.ID] = m.Text
		}
		if !h.More || len(h.Messages) == 0 {
			break
		}
		before = "&before=" + strconv.FormatInt(h.Messages[0].ID, 10)
	}
	total := 0
	for i, c := range clients {
		total += len(runs[i].acked)
		for id, text := range runs[i].acked {
			got, ok := stored[id]
			require.True(t, ok, "%s: message %d %q was acknowledged as stored, and is missing after the restart", c.name, id, text)
			require.Equal(t, text, got, "%s: message %d after the restart", c.name, id)
		}
		t.Logf("%s: %d acknowledged, %d refused, disconnected: %q", c.name, len(runs[i].acked), runs[i].refused, runs[i].reason)
	}
	require.GreaterOrEqual(t, total, 10, "some messages were acknowledged")
	t.Logf("%d messages in the database after the restart", len(stored))
}
