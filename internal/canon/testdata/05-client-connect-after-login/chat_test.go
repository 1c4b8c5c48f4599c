package login

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
	server "github.com/websocket-workbook/workbook/solutions/04-express-style-server"
)

// Exercise 5.5, the Chat: messages stamped with the socket's user, and
// sockets that end with their login. These tests use a rig (ltNewRig) with
// a Chat: Authenticate, lesson 04's Engine and an in-memory store.

// chRequireStored requires the store to hold exactly these messages,
// "author: text", oldest first.
func chRequireStored(t *testing.T, s server.Store, what string, want ...string) {
	t.Helper()
	all, err := s.Before(context.Background(), 0, 1000)
	require.NoError(t, err)
	got := make([]string, len(all))
	for i, m := range all {
		got[i] = m.Author + ": " + m.Text
	}
	if want == nil {
		want = []string{}
	}
	require.Equal(t, want, got, "%s: the messages in the store", what)
}

// A message's author is the user whose token let the socket in, never what
// the payload says. Ana, on socket.io-client, sends {"text", "author":"bob"}:
// everyone sees it as ana's. Bob, on the Go client, sends {"text"} alone:
// everyone sees it as bob's. The history agrees, and is only for those who
// show a token.
func TestChatStampsMessagesWithTheSocketsUser(t *testing.T) {
	exercise.Start(t, "5.5")
	rig := ltNewRig(t, time.Hour, true)
	anaToken, _ := rig.Token(t, "ana")
	bobToken, _ := rig.Token(t, "bob")
	ana := ltSIO(t, rig.URL, anaToken, nil)
	ltConnected(t, ana, "ana")
	bob := ltMustDialGo(t, rig.URL, "bob", bobToken)

	seq := ana.EmitWithAck("send-message", map[string]any{"text": "hi, it's bob. really.", "author": "bob"})
	event, ack := ltSavedAndAck(t, ana, "ana", seq)
	require.True(t, event.Success, "ana: a valid message is saved: %s", event.Raw)
	require.Equal(t, "ana", event.Message.Author,
		"the author of ana's message is ana, the user of her token; the \"author\" in the payload must be ignored: %s", event.Raw)
	require.Equal(t, "hi, it's bob. really.", event.Message.Text)
	require.Equal(t, event.Message, ack.Message, "the ack carries the same message as message-saved")
	got := bob.NextSaved(t)
	require.True(t, got.Success, "bob: io.emit reaches every socket: %s", got.Raw)
	require.Equal(t, event.Message, got.Message, "bob sees ana's message as ana sees it")

	res := bob.Send(t, map[string]any{"text": "hi ana"})
	require.True(t, res.Success, "bob: {\"text\"} alone is a valid message: %s", res.Raw)
	require.Equal(t, "bob", res.Message.Author, "bob's message is stamped with his name")
	require.Equal(t, "bob", bob.NextSaved(t).Message.Author, "bob's own message-saved")
	seen := ltNextSaved(t, ana, "ana")
	require.Equal(t, "bob", seen.Message.Author, "ana sees bob's message as bob's")

	// An author of any type is ignored, not an error.
	res = bob.Send(t, map[string]any{"text": "still bob", "author": 7})
	require.True(t, res.Success, "an \"author\" that is not even a string is ignored: %s", res.Raw)
	require.Equal(t, "bob", res.Message.Author)
	require.Equal(t, "bob", bob.NextSaved(t).Message.Author)
	require.Equal(t, "bob", ltNextSaved(t, ana, "ana").Message.Author)

	// What is not a message is refused to its sender alone, as in lesson 04.
	for _, c := range []struct {
		why     string
		payload any
	}{
		{"a string, not an object", "hello"},
		{"no text", map[string]any{"author": "bob"}},
		{"a text that is not a string", map[string]any{"text": 5}},
		{"a blank text", map[string]any{"text": " \n "}},
		{"a text over server.MaxTextLen characters", map[string]any{"text": strings.Repeat("é", server.MaxTextLen+1)}},
	} {
		res := bob.Send(t, c.payload)
		require.False(t, res.Success, "send-message with %s must be refused with success:false, got %s", c.why, res.Raw)
		own := bob.NextSaved(t)
		require.False(t, own.Success, "send-message with %s: the sender's message-saved says success:false, got %s", c.why, own.Raw)
	}
	// The sentinel: had a refusal been broadcast, ana would see it first.
	res = bob.Send(t, map[string]any{"text": strings.Repeat("é", server.MaxTextLen)})
	require.True(t, res.Success, "a text of exactly server.MaxTextLen characters is valid: %s", res.Raw)
	seen = ltNextSaved(t, ana, "ana")
	require.True(t, seen.Success, "ana got a refusal meant for bob alone: %s", seen.Raw)

	chRequireStored(t, rig.Store, "after three messages and the sentinel",
		"ana: hi, it's bob. really.", "bob: hi ana", "bob: still bob", "bob: "+strings.Repeat("é", server.MaxTextLen))

	// The history: the same authors, for a logged-in reader only.
	h := ltGetHistory(t, rig.URL, anaToken)
	require.Len(t, h.Messages, 4, "GET /api/messages with ana's token")
	require.Equal(t, "ana", h.Messages[0].Author)
	require.Equal(t, "bob", h.Messages[1].Author)
	for _, header := range []string{"", "Authorization: Bearer not-a-token", "Authorization: Basic YW5hOnB3"} {
		var headers []string
		if header != "" {
			headers = append(headers, header)
		}
		resp, body := ltDo(t, http.MethodGet, rig.URL+"/api/messages", nil, headers...)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "GET /api/messages with %q: the history is for logged-in users: %s", header, body)
		require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer", "a 401 says which scheme it wants (RFC 6750, section 3)")
	}
}

// A logout (Tokens.Revoke, which POST /api/logout calls) ends every socket
// that connected with that token, at once: each is told session-ended
// {"reason":"logged out"} and then disconnected by the server. Ana's other
// login, with another token, and bob are not touched. The revoked token
// cannot connect again.
func TestChatEndsTheSocketsOfARevokedToken(t *testing.T) {
	exercise.Start(t, "5.5")
	ltNoLeaks(t)
	rig := ltNewRig(t, time.Hour, true)
	anaToken, anaClaims := rig.Token(t, "ana")
	laptopToken, _ := rig.Token(t, "ana") // ana, logged in on another device
	bobToken, _ := rig.Token(t, "bob")

	anaNode := ltSIO(t, rig.URL, anaToken, nil)
	ltConnected(t, anaNode, "ana")
	anaGo := ltMustDialGo(t, rig.URL, "ana's second socket, same token", anaToken)
	laptop := ltMustDialGo(t, rig.URL, "ana's laptop", laptopToken)
	bob := ltMustDialGo(t, rig.URL, "bob", bobToken)

	require.NoError(t, rig.Tokens.Revoke(context.Background(), anaClaims), "Tokens.Revoke: ana logs out")
	ltSessionEnded(t, anaNode, "ana (socket.io-client)", ReasonLoggedOut)
	anaGo.SessionEnded(t, ReasonLoggedOut)

	// The others are still connected: the laptop's message reaches bob.
	res := laptop.Send(t, map[string]any{"text": "still here"})
	require.True(t, res.Success, "ana's laptop has another token, which was not revoked: %s", res.Raw)
	require.Equal(t, "ana", res.Message.Author)
	got := bob.NextSaved(t)
	require.Equal(t, "still here", got.Message.Text, "bob is still connected and hears the laptop")
	require.Equal(t, "still here", laptop.NextSaved(t).Message.Text)

	// socket.io-client can call connect() again; the token is refused now.
	r := ltRefused(t, anaNode, "ana, connecting again with the revoked token")
	require.Equal(t, MsgRevoked, r.Message, "connect_error after a logout")
	ltRefusedGo(t, rig.URL, map[string]any{"token": anaToken}, MsgRevoked, "the revoked token")
}

// A token expires while its sockets are connected: each of them gets
// session-ended {"reason":"token expired"} when the token's expiry comes,
// not before, and is disconnected by the server. (Tokens live 4 s here; a
// token's expiry is in whole seconds, so each one lives 3 to 4 s: time
// enough for Node to start and connect.) Until then, it chats as any
// other.
func TestChatEndsSocketsWhenTheirTokenExpires(t *testing.T) {
	exercise.Start(t, "5.5")
	ltNoLeaks(t)
	rig := ltNewRig(t, 4*time.Second, true)
	anaToken, anaClaims := rig.Token(t, "ana")
	bobToken, bobClaims := rig.Token(t, "bob")
	ana := ltSIO(t, rig.URL, anaToken, map[string]any{"transports": []string{"websocket"}})
	ltConnected(t, ana, "ana")
	bob := ltMustDialGo(t, rig.URL, "bob", bobToken)

	res := bob.Send(t, map[string]any{"text": "before the end"})
	require.True(t, res.Success, "bob's token is valid for a few seconds still: %s", res.Raw)

	at := bob.SessionEnded(t, ReasonTokenExpired)
	require.False(t, at.Before(bobClaims.Expires.Add(-50*time.Millisecond)),
		"bob's session ended at %v, before his token's expiry %v", at.Format(time.StampMilli), bobClaims.Expires.Format(time.StampMilli))
	require.True(t, at.Before(bobClaims.Expires.Add(2*time.Second)),
		"bob's session ended at %v, long after his token's expiry %v: end it when the token expires (a timer per socket)", at.Format(time.StampMilli), bobClaims.Expires.Format(time.StampMilli))

	for {
		r := ana.Next(ltTimeout)
		if r.Kind == "event" && r.Event == "message-saved" {
			continue // bob's message
		}
		require.Equal(t, "event", r.Kind, "ana: waiting for session-ended, got %s", r)
		require.Equal(t, SessionEnded, r.Event, "ana: waiting for session-ended, got %s", r)
		var p struct {
			Reason string `json:"reason"`
		}
		require.NoError(t, json.Unmarshal(r.Args[0], &p))
		require.Equal(t, ReasonTokenExpired, p.Reason, "ana: session-ended reason")
		require.False(t, time.Now().Before(anaClaims.Expires.Add(-50*time.Millisecond)), "ana's session ended before her token's expiry %v", anaClaims.Expires)
		break
	}
	r := ana.Next(ltTimeout)
	require.Equal(t, "disconnect", r.Kind, "ana: after session-ended, the server disconnects her; got %s", r)
	require.Equal(t, "io server disconnect", r.Reason, "ana: disconnected by the server")

	r = ltRefused(t, ana, "ana, connecting again with her expired token")
	require.Equal(t, MsgExpired, r.Message, "connect_error with an expired token")
}
