package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/websocket-workbook/workbook/internal/exercise"
	server "github.com/websocket-workbook/workbook/solutions/04-express-style-server"
)

// Exercise 5.5, the Server: everything of this lesson on one handler.

// The course's flow, whole, over HTTP and socket.io-client: ana and bob
// register and log in; their clients are created with autoConnect: false;
// the server hears nothing from a client until it connects with its token.
// They chat, each message stamped with its sender's name whatever the
// payload claims. Ana logs out: her socket is told why and disconnected,
// and her token can no longer connect or read the history. Bob chats on.
func TestServerLoginThenConnect(t *testing.T) {
	exercise.Start(t, "5.5")
	_, hs, handshakes := ltStartCounting(t, Config{})

	anaLogin := ltSignUp(t, hs.URL, "ana")
	bobLogin := ltSignUp(t, hs.URL, "bob")
	require.Equal(t, "ana", anaLogin.User.Name, "POST /api/login: the user")
	ana := ltSIO(t, hs.URL, anaLogin.Token, nil)
	bob := ltSIO(t, hs.URL, bobLogin.Token, nil)
	ltConnected(t, bob, "bob")
	handshakes.RequireNoMore(t, 1, "ana's client (autoConnect: false) has not called connect(): only bob's may have reached /socket.io/")
	ltConnected(t, ana, "ana")
	require.Empty(t, ltGetHistory(t, hs.URL, anaLogin.Token).Messages, "a new chat has no history")

	seq := ana.EmitWithAck("send-message", map[string]any{"text": "hello bob", "author": "bob"})
	event, _ := ltSavedAndAck(t, ana, "ana", seq)
	require.True(t, event.Success, "ana's message: %s", event.Raw)
	require.Equal(t, "ana", event.Message.Author, "the author is the socket's user, not the payload's \"author\": %s", event.Raw)
	require.Equal(t, event.Message, ltNextSaved(t, bob, "bob").Message, "bob sees ana's message")
	seq = bob.EmitWithAck("send-message", map[string]any{"text": "hi ana"})
	event, _ = ltSavedAndAck(t, bob, "bob", seq)
	require.Equal(t, "bob", event.Message.Author, "bob's message: %s", event.Raw)
	require.Equal(t, "bob", ltNextSaved(t, ana, "ana").Message.Author, "ana sees bob's message as bob's")

	h1 := ltGetHistory(t, hs.URL, bobLogin.Token)
	require.Len(t, h1.Messages, 2, "GET /api/messages")
	require.Equal(t, []string{"ana", "bob"}, []string{h1.Messages[0].Author, h1.Messages[1].Author}, "the history's authors")
	resp, body := ltDo(t, http.MethodGet, hs.URL+"/api/messages", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "GET /api/messages without a token: %s", body)

	// Ana logs out.
	ltLogOut(t, hs.URL, anaLogin.Token)
	ltSessionEnded(t, ana, "ana", ReasonLoggedOut)
	r := ltRefused(t, ana, "ana, connecting again after her logout")
	require.Equal(t, MsgRevoked, r.Message, "connect_error after the logout")
	resp, body = ltDo(t, http.MethodGet, hs.URL+"/api/messages", nil, "Authorization: Bearer "+anaLogin.Token)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "GET /api/messages with ana's revoked token: %s", body)

	// Bob is still there.
	seq = bob.EmitWithAck("send-message", map[string]any{"text": "bye ana"})
	event, _ = ltSavedAndAck(t, bob, "bob", seq)
	require.True(t, event.Success, "bob, after ana's logout: %s", event.Raw)

	// And ana can log in again, with a new token.
	again := ltLogIn(t, hs.URL, "ana")
	require.NotEqual(t, anaLogin.Token, again.Token, "a new login is a new token")
	g := ltMustDialGo(t, hs.URL, "ana, logged in again", again.Token)
	res := g.Send(t, map[string]any{"text": "back"})
	require.Equal(t, "ana", res.Message.Author)
}

// svDialWS opens a WebSocket to the Engine.IO endpoint with this Origin and
// returns the handshake's status: 101 when it was accepted.
func svDialWS(t *testing.T, base, origin string) int {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := websocket.Dialer{HandshakeTimeout: ltTimeout}
	ws, resp, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/socket.io/?EIO=4&transport=websocket", h)
	if err == nil {
		_ = ws.Close()
	}
	require.NotNil(t, resp, "WebSocket handshake from Origin %q: %v", origin, err)
	resp.Body.Close()
	return resp.StatusCode
}

// The Server's handler serves the page, the auth routes, the history and
// Socket.IO over both transports, behind lesson 04's origin allowlist;
// Socket.IO's CONNECT is behind Authenticate.
func TestServerRoutes(t *testing.T) {
	exercise.Start(t, "5.5")
	const app, evil = "http://app.example", "http://evil.example"
	_, hs := ltStartServer(t, Config{Origins: server.Origins{app}})

	for _, c := range []struct {
		path, contentType, contains string
	}{
		{"/", "text/html", `app.js`},
		{"/app.js", "javascript", `autoConnect`},
		{"/style.css", "text/css", `.messages`},
	} {
		resp, body := ltDo(t, http.MethodGet, hs.URL+c.path, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s serves the page's file (web/, embedded)", c.path)
		require.Contains(t, resp.Header.Get("Content-Type"), c.contentType, "GET %s: Content-Type", c.path)
		require.Contains(t, string(body), c.contains, "GET %s: the body", c.path)
	}

	// Auth's routes are mounted.
	resp, body := ltDo(t, http.MethodPost, hs.URL+"/api/register", map[string]string{"name": "A!", "password": ltPassword})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "POST /api/register with a bad name: %s", body)
	login := ltSignUp(t, hs.URL, "ana")
	resp, body = ltDo(t, http.MethodPost, hs.URL+"/api/login", map[string]string{"name": "ana", "password": "wrong password"})
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "POST /api/login with a wrong password: %s", body)

	// Lesson 04's Engine: a long-polling handshake offers the upgrade.
	resp, body = ltDo(t, http.MethodGet, hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /socket.io/?EIO=4&transport=polling: %s", body)
	require.True(t, strings.HasPrefix(string(body), "0{"), "the polling handshake answers with the open packet 0{...}, got %q", body)
	var open struct {
		Upgrades []string `json:"upgrades"`
	}
	require.NoError(t, json.Unmarshal(body[1:], &open), "the open packet %q", body)
	require.Equal(t, []string{"websocket"}, open.Upgrades, "the open packet of a polling session offers the websocket upgrade")

	// Behind Authenticate.
	ltRefusedGo(t, hs.URL, nil, MsgNoToken, "no token, on the Server")
	ltRefusedGo(t, hs.URL, map[string]any{"token": "x.y.z"}, MsgBadToken, "a token that is not one, on the Server")
	ltMustDialGo(t, hs.URL, "ana", login.Token)
	sio := ltSIO(t, hs.URL, "", map[string]any{"transports": []string{"polling"}})
	require.Equal(t, MsgNoToken, ltRefused(t, sio, "socket.io-client without a token, over long-polling").Message)

	// One allowlist for HTTP and the WebSocket handshake.
	resp, body = ltDo(t, http.MethodPost, hs.URL+"/api/login", map[string]string{"name": "ana", "password": ltPassword}, "Origin: "+evil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "POST /api/login from %s, not in Config.Origins: %s", evil, body)
	resp, body = ltDo(t, http.MethodPost, hs.URL+"/api/login", map[string]string{"name": "ana", "password": ltPassword}, "Origin: "+app)
	require.Equal(t, http.StatusOK, resp.StatusCode, "POST /api/login from %s: %s", app, body)
	require.Equal(t, app, resp.Header.Get("Access-Control-Allow-Origin"), "a CORS answer names the allowed origin")
	require.Equal(t, http.StatusForbidden, svDialWS(t, hs.URL, evil), "a WebSocket handshake from %s must be refused", evil)
	require.Equal(t, http.StatusSwitchingProtocols, svDialWS(t, hs.URL, app), "a WebSocket handshake from %s is accepted", app)
	require.Equal(t, http.StatusSwitchingProtocols, svDialWS(t, hs.URL, hs.URL), "the server's own page")
}

// A graceful shutdown and a restart on the same database file lose nothing
// that was answered: the users (ana logs in with her password), the
// messages acknowledged as stored (with their authors), and the logouts (a
// revoked token stays refused). A token from before the restart is still
// good, because the key is the same; with another key, every token is
// refused — which is why the key must not change between restarts.
func TestServerRestartKeepsUsersMessagesAndLogouts(t *testing.T) {
	exercise.Start(t, "5.5")
	ltNoLeaks(t, "socket.io-client")
	path := filepath.Join(t.TempDir(), "chat.db")
	s, err := New(Config{DB: path, Key: ltKey, BcryptCost: bcrypt.MinCost, Logger: ltLogger()})
	require.NoError(t, err, "New with a database file")
	require.NotNil(t, s, "New returned a nil *Server")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	url := "http://" + l.Addr().String()

	kept := ltSignUp(t, url, "ana")
	dropped := ltLogIn(t, url, "ana")
	ltLogOut(t, url, dropped.Token)
	ana := ltSIO(t, url, kept.Token, map[string]any{"transports": []string{"websocket"}})
	ltConnected(t, ana, "ana")
	const n = 5
	acked := map[int64]string{}
	for i := range n {
		seq := ana.EmitWithAck("send-message", map[string]any{"text": fmt.Sprintf("message %d", i)})
		_, ack := ltSavedAndAck(t, ana, "ana", seq)
		require.True(t, ack.Success, "ana's message %d: %s", i, ack.Raw)
		acked[ack.Message.ID] = ack.Message.Text
	}

	ctx, cancel := context.WithTimeout(context.Background(), ltTimeout)
	defer cancel()
	require.NoError(t, s.Shutdown(ctx), "Shutdown")
	for {
		r := ana.Next(ltTimeout)
		if r.Kind == "disconnect" {
			require.NotEqual(t, "io client disconnect", r.Reason, "the server disconnected ana")
			break
		}
		require.NotEqual(t, "connect_error", r.Kind, "ana, during the shutdown: %s", r)
	}
	select {
	case err := <-served:
		require.True(t, errors.Is(err, http.ErrServerClosed), "Serve returns http.ErrServerClosed after Shutdown, got %v", err)
	case <-time.After(ltTimeout):
		t.Fatal("Serve did not return after Shutdown")
	}

	// The same file and the same key.
	_, hs := ltStartServer(t, Config{DB: path, Key: ltKey})
	ltLogIn(t, hs.URL, "ana") // her password still works
	h := ltGetHistory(t, hs.URL, kept.Token)
	require.Len(t, h.Messages, n, "the acknowledged messages are in the history after the restart")
	for _, m := range h.Messages {
		require.Equal(t, acked[m.ID], m.Text, "message %d after the restart", m.ID)
		require.Equal(t, "ana", m.Author, "message %d keeps its author", m.ID)
	}
	ltMustDialGo(t, hs.URL, "ana, with the token from before the restart", kept.Token)
	ltRefusedGo(t, hs.URL, map[string]any{"token": dropped.Token}, MsgRevoked, "a token revoked before the restart")

	// Another key: no token of the old one is good.
	_, other := ltStartServer(t, Config{DB: path, Key: []byte("a different key, of 32 bytes or more")})
	ltRefusedGo(t, other.URL, map[string]any{"token": kept.Token}, MsgBadToken, "a token signed with the key of before")
}
