package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// ttStartChat serves a Chat on store the way the Server does, without the
// rest of it: GET /api/messages and the Engine at /socket.io/ (long-polling
// and WebSocket) on an httptest server on 127.0.0.1. It returns the
// server's URL; everything is closed when the test ends.
func ttStartChat(t *testing.T, store Store) string {
	t.Helper()
	io := events.NewServer(events.Options{})
	chat := NewChat(io, store, ChatOptions{Logger: ttLogger()})
	require.NotNil(t, chat, "NewChat returned nil")
	app := NewApp(ttLogger())
	app.Handle("GET /api/messages", chat.History)
	app.Mount("/socket.io/", NewEngine(io, EngineOptions{}))
	hs := httptest.NewServer(app)
	t.Cleanup(func() {
		_ = io.Close()
		hs.Close()
	})
	return hs.URL
}

// ttRequireStored requires the store to hold exactly these texts, oldest
// first.
func ttRequireStored(t *testing.T, s Store, what string, texts ...string) {
	t.Helper()
	all, err := s.Before(context.Background(), 0, 1000)
	require.NoError(t, err)
	got := make([]string, len(all))
	for i, m := range all {
		got[i] = m.Text
	}
	if texts == nil {
		texts = []string{}
	}
	require.Equal(t, texts, got, "%s: the messages in the store", what)
}

// Exercise 4.7's main road, with the real socket.io-client: ana emits
// send-message with an ack; the message is saved, then everyone — ana and
// bob — gets message-saved {"success":true,"message":{...}}, and ana's ack
// gets the same object. Once over long-polling upgraded to a WebSocket (the
// client's default), once over a WebSocket from the start.
func TestChatSendMessageBroadcasts(t *testing.T) {
	exercise.Start(t, "4.7")
	ttNoLeaks(t)
	for _, tc := range []struct {
		name string
		opts map[string]any
	}{
		{"polling then websocket", nil},
		{"websocket", map[string]any{"transports": []string{"websocket"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := ttMemoryStore(t)
			url := ttStartChat(t, store)
			ana := ttDial(t, url, tc.opts)
			bob := ttDial(t, url, tc.opts)

			before := time.Now().Truncate(time.Millisecond)
			seq := ana.EmitWithAck("send-message", map[string]any{"author": "ana", "text": "hello, bob"})
			event, ack := ttSavedAndAck(t, ana, "ana", seq)
			require.True(t, event.Success, "ana: a valid message is saved and broadcast with success:true, got %s", event.Raw)
			m := *event.Message
			require.Positive(t, m.ID, "the saved message carries the ID the store gave it: %s", event.Raw)
			require.Equal(t, "ana", m.Author, "message-saved: author")
			require.Equal(t, "hello, bob", m.Text, "message-saved: text")
			require.Equal(t, time.UTC, m.Time.Location(), "message-saved: time is UTC (\"...Z\"): %s", event.Raw)
			require.False(t, m.Time.Before(before) || m.Time.After(time.Now()), "message-saved: time %v is the time of the save", m.Time)
			require.True(t, ack.Success, "ana: the ack of send-message says the message is stored, got %s", ack.Raw)
			require.Equal(t, event.Message, ack.Message, "the ack carries the same message as message-saved")

			got := ttNextSaved(t, bob, "bob")
			require.True(t, got.Success, "bob: io.emit reaches every socket, not only the sender; got %s", got.Raw)
			require.Equal(t, event.Message, got.Message, "bob sees the message ana saw")

			// What was broadcast is what the history serves.
			h := ttGetHistory(t, url, "")
			require.Len(t, h.Messages, 1, "GET /api/messages after one message")
			require.Equal(t, m.ID, h.Messages[0].ID)
			require.Equal(t, m.Text, h.Messages[0].Text)
			require.True(t, m.Time.Equal(h.Messages[0].Time), "GET /api/messages: time %v, broadcast %v", h.Messages[0].Time, m.Time)

			// Without an ack, too; the reply goes the other way.
			bob.Emit("send-message", map[string]any{"author": "bob", "text": "hi ana"})
			for _, c := range []struct {
				name string
				r    ttResult
			}{{"ana", ttNextSaved(t, ana, "ana")}, {"bob", ttNextSaved(t, bob, "bob")}} {
				require.True(t, c.r.Success, "%s: bob's message: %s", c.name, c.r.Raw)
				require.Equal(t, "hi ana", c.r.Message.Text, "%s: bob's message", c.name)
				require.Greater(t, c.r.Message.ID, m.ID, "%s: a later message has a larger ID", c.name)
			}
			ttRequireStored(t, store, "after two messages", "hello, bob", "hi ana")
		})
	}
}

// A payload that is not a message is refused to its sender alone, with
// success:false and the reason, in message-saved and in the ack; nothing is
// stored and nobody else hears of it. Lengths count characters (runes), not
// bytes: 1000 "é" is a valid text of 2000 bytes.
func TestChatRefusesInvalidMessages(t *testing.T) {
	exercise.Start(t, "4.7")
	store := ttMemoryStore(t)
	url := ttStartChat(t, store)
	ws := map[string]any{"transports": []string{"websocket"}}
	ana := ttDial(t, url, ws)
	bob := ttDial(t, url, ws)

	cases := []struct {
		why  string
		args []any
	}{
		{"no payload at all", nil},
		{"a string, not an object", []any{"hello"}},
		{"a number", []any{42}},
		{"null", []any{nil}},
		{"an array", []any{[]any{"ana", "hi"}}},
		{"no author", []any{map[string]any{"text": "hi"}}},
		{"an empty author", []any{map[string]any{"author": "", "text": "hi"}}},
		{"an author of 51 characters", []any{map[string]any{"author": strings.Repeat("a", 51), "text": "hi"}}},
		{"an author that is not a string", []any{map[string]any{"author": 7, "text": "hi"}}},
		{"no text", []any{map[string]any{"author": "ana"}}},
		{"an empty text", []any{map[string]any{"author": "ana", "text": ""}}},
		{"a text of white space", []any{map[string]any{"author": "ana", "text": " \n\t "}}},
		{"a text over MaxTextLen", []any{map[string]any{"author": "ana", "text": strings.Repeat("x", MaxTextLen+1)}}},
		{"a text over MaxTextLen characters", []any{map[string]any{"author": "ana", "text": strings.Repeat("é", MaxTextLen+1)}}},
	}
	for _, c := range cases {
		seq := ana.EmitWithAck("send-message", c.args...)
		event, ack := ttSavedAndAck(t, ana, "ana, sending "+c.why, seq)
		require.False(t, event.Success, "send-message with %s must be refused with success:false, got %s", c.why, event.Raw)
		require.False(t, ack.Success, "the ack of send-message with %s must say success:false, got %s", c.why, ack.Raw)
		require.Equal(t, event.Error, ack.Error, "send-message with %s: the ack and message-saved give the same reason", c.why)
	}
	ttRequireStored(t, store, "after only invalid messages")

	// The longest valid message: 50 and 1000 characters, twice as many
	// bytes. It is also the sentinel for bob: message-saved events reach
	// a socket in the order they were emitted, so if any refusal above had
	// been broadcast, bob would see it before this one.
	author, text := strings.Repeat("ñ", 50), strings.Repeat("é", MaxTextLen)
	seq := ana.EmitWithAck("send-message", map[string]any{"author": author, "text": text})
	event, _ := ttSavedAndAck(t, ana, "ana, sending the longest valid message", seq)
	require.True(t, event.Success, "a message of exactly 50 and MaxTextLen characters is valid (count runes, not bytes); got %s", event.Raw)
	got := ttNextSaved(t, bob, "bob")
	require.True(t, got.Success, "bob got a refusal meant for ana alone (only the sender hears why its message was refused): %s", got.Raw)
	require.Equal(t, text, got.Message.Text)
	ttRequireStored(t, store, "after the invalid messages and one valid one", text)
}

// Text that is not UTF-8 is refused too. socket.io-client cannot send it (a
// JavaScript string is always valid), so a raw WebSocket client does:
// encoding/json would quietly turn the bad bytes into U+FFFD, and that is
// not what the sender wrote.
func TestChatRefusesInvalidUTF8(t *testing.T) {
	exercise.Start(t, "4.7")
	store := ttMemoryStore(t)
	url := ttStartChat(t, store)
	d := websocket.Dialer{HandshakeTimeout: ttTimeout}
	ws, resp, err := d.Dial("ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if resp != nil {
		resp.Body.Close()
	}
	require.NoError(t, err, "a WebSocket to /socket.io/?EIO=4&transport=websocket")
	defer ws.Close()
	require.NoError(t, ws.SetReadDeadline(time.Now().Add(ttTimeout)))

	// next reads Engine.IO packets up to the next one that starts with
	// prefix, answering pings (engine.io-protocol v4, "Heartbeat").
	next := func(prefix string) string {
		t.Helper()
		for {
			_, p, err := ws.ReadMessage()
			require.NoError(t, err, "waiting for a packet %q...", prefix)
			if string(p) == "2" {
				require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte("3")))
				continue
			}
			if strings.HasPrefix(string(p), prefix) {
				return string(p)
			}
		}
	}
	next("0{")                                                               // OPEN
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte("40"))) // CONNECT to "/"
	next("40")
	bad := "42[\"send-message\",{\"author\":\"ana\",\"text\":\"caf\xe9\"}]" // Latin-1 é: not UTF-8
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte(bad)))
	p := next(`42["message-saved",`)
	var args []json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(p[2:]), &args), "message-saved packet %q", p)
	r := ttDecodeResult(t, "message-saved for text that is not UTF-8", args[1])
	require.False(t, r.Success, "a text that is not valid UTF-8 must be refused, got %s", r.Raw)
	ttRequireStored(t, store, "after a message that is not UTF-8")
}

// ttFlakyStore is a Store whose Save fails while fail is set: the database
// being full, locked or gone, as seen from the chat.
type ttFlakyStore struct {
	Store
	fail atomic.Bool
}

var errTTDiskOnFire = errors.New("disk on fire")

func (s *ttFlakyStore) Save(ctx context.Context, m Message) (Message, error) {
	if s.fail.Load() {
		return Message{}, errTTDiskOnFire
	}
	return s.Store.Save(ctx, m)
}

// Save first, then broadcast: a message the store did not take is
// broadcast to nobody. Its sender gets success:false with a reason that is
// the chat's, not the database's internals.
func TestChatStoreFailure(t *testing.T) {
	exercise.Start(t, "4.7")
	store := &ttFlakyStore{Store: ttMemoryStore(t)}
	store.fail.Store(true)
	url := ttStartChat(t, store)
	ws := map[string]any{"transports": []string{"websocket"}}
	ana := ttDial(t, url, ws)
	bob := ttDial(t, url, ws)

	seq := ana.EmitWithAck("send-message", map[string]any{"author": "ana", "text": "lost?"})
	event, ack := ttSavedAndAck(t, ana, "ana, while the store fails", seq)
	require.False(t, event.Success, "a message the store could not save must not be reported as saved: %s", event.Raw)
	require.False(t, ack.Success, "the ack must say success:false when the save failed: %s", ack.Raw)
	require.NotContains(t, event.Error, errTTDiskOnFire.Error(), "the store's own error goes to the log, not to clients")

	store.fail.Store(false)
	seq = ana.EmitWithAck("send-message", map[string]any{"author": "ana", "text": "saved"})
	event, _ = ttSavedAndAck(t, ana, "ana, once the store works", seq)
	require.True(t, event.Success, "once the store works again, messages are saved: %s", event.Raw)
	got := ttNextSaved(t, bob, "bob")
	require.True(t, got.Success, "bob must not hear of a message that was never saved: got %s", got.Raw)
	require.Equal(t, "saved", got.Message.Text)
	ttRequireStored(t, store, "after a failed and a successful save", "saved")
}

// GET /api/messages pages through the history: the newest page by
// default, older pages with before=<the oldest ID you have>, "more" while
// there is anything older; bad parameters are a 400 with a JSON error.
func TestChatHistoryPages(t *testing.T) {
	exercise.Start(t, "4.7")
	store := ttMemoryStore(t)
	url := ttStartChat(t, store)

	h := ttGetHistory(t, url, "")
	require.Empty(t, h.Messages, "an empty chat has no history")
	require.False(t, h.More, "an empty chat has no more history")

	all := ttSaveN(t, store, 55)
	id := func(i int) string { return strconv.FormatInt(all[i-1].ID, 10) } // the ID of message i, 1-based
	for _, c := range []struct {
		query string
		want  []Message
		more  bool
		why   string
	}{
		{"", all[5:], true, "no parameters: the newest 50 (the default limit), oldest first"},
		{"limit=2", all[53:], true, "the newest 2"},
		{"limit=2&before=" + id(54), all[51:53], true, "the 2 before message 54"},
		{"before=" + id(3) + "&limit=5", all[:2], false, "a short first page: nothing more"},
		{"before=" + id(1), nil, false, "nothing before the first message"},
		{"limit=200", all, false, "the largest limit"},
		{"limit=55", all, false, "exactly all: more is false"},
		{"limit=54", all[1:], true, "all but one: more is true"},
	} {
		h := ttGetHistory(t, url, c.query)
		ttRequireSameMessages(t, c.want, h.Messages, "GET /api/messages?"+c.query+": "+c.why)
		require.Equal(t, c.more, h.More, "GET /api/messages?%s: more (%s)", c.query, c.why)
	}

	for _, q := range []string{"before=abc", "before=0", "before=-5", "before=", "before=1.5",
		"limit=0", "limit=201", "limit=-1", "limit=abc", "limit=2.5", "limit="} {
		resp, body := ttGet(t, url+"/api/messages?"+q)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "GET /api/messages?%s must be 400, got %s %s", q, resp.Status, body)
		var e struct {
			Error string `json:"error"`
		}
		require.NoError(t, json.Unmarshal(body, &e), "GET /api/messages?%s: the 400 has a JSON body {\"error\": ...}, got %s", q, body)
		require.NotEmpty(t, e.Error, "GET /api/messages?%s: the error says what is wrong", q)
	}
}
