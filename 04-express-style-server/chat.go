package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/websocket-workbook/workbook/internal/exercise"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// MaxTextLen is the longest message text the chat accepts, in runes
// (characters, not bytes: "é" counts once).
const MaxTextLen = 1000

// ChatOptions configures a Chat.
type ChatOptions struct {
	Logger *slog.Logger // nil: slog.Default()
}

// Chat is the seed's chat on an event server: "send-message" → Save → "message-saved" to everyone.
//
// The course's server did this:
//
//	socket.on("send-message", async (payload) => {
//	  let data = { success: true, ... };
//	  io.emit("message-saved", data);
//	});
//
// Chat does the same with a store in between, and in this order: check the
// payload, save it, and only then tell everyone. A message that a client saw
// in "message-saved" is therefore in the database, and one that failed is
// seen by nobody but its sender, who is told why.
type Chat struct {
	io    *events.Server
	store Store
	log   *slog.Logger
	saves InFlight // the saves under way, for Drain (exercise 4.8)
}

// NewChat registers the chat on io: every socket of the main namespace "/"
// gets a "send-message" handler. The handler runs on the socket's own
// goroutine (lesson 03), so one client's messages are saved and broadcast
// in the order it sent them.
//
// The wire, as the npm socket.io-client sees it:
//
//	socket.emit("send-message", {author: "ana", text: "hi"}, (res) => ...)
//	→ 42["send-message",{"author":"ana","text":"hi"}]   (421[...] with an ack)
//	← 42["message-saved",{"success":true,"message":{"id":7,"author":"ana","text":"hi","time":"2025-01-02T03:04:05.678Z"}}]   to everyone
//	← 431[{"success":true,"message":{...}}]             the ack, when asked for
//
// A payload that is not an object {author, text} with a non-empty author of
// at most 50 characters and a text that is not blank and at most MaxTextLen
// characters, all valid UTF-8 — or a save that fails — is answered to the
// sender alone: message-saved {"success":false,"error":"<why>"} (and the ack
// the same). Nothing is saved and nothing is broadcast.
func NewChat(io *events.Server, store Store, opts ChatOptions) *Chat {
	_ = exercise.TODO("4.7")
	return &Chat{io: io, store: store, log: opts.Logger}
}

// History serves GET /api/messages?before=ID&limit=N: {"messages":[...oldest first...],"more":bool};
// limit default 50, 1..200; bad before/limit → 400.
//
// It is how a page loads the conversation so far: without before it gets the
// newest page; to scroll back, it asks again with before set to the ID of the
// oldest message it has. "more" says whether there is anything older than
// this page.
//
//	GET /api/messages?limit=2
//	{"messages":[{"id":8,...},{"id":9,...}],"more":true}
//	GET /api/messages?limit=2&before=8
//	{"messages":[{"id":6,...},{"id":7,...}],"more":true}
func (c *Chat) History(w http.ResponseWriter, r *http.Request) error {
	return ServeHistory(w, r, c.store)
}

// ServeHistory is Chat.History on any store: it reads before and limit
// from r's query and answers with that page of store's messages. Lesson 05
// puts a login check in front of it.
func ServeHistory(w http.ResponseWriter, r *http.Request, store Store) error {
	return exercise.TODO("4.7")
}

// Drain stops taking new messages (they are answered with success:false, "server is shutting down")
// and waits for the saves in flight (or ctx).
//
// It is the first step of a graceful shutdown: after Drain returns nil,
// every message a client was told is saved is in the store, and no other
// will be, so the store can be closed.
func (c *Chat) Drain(ctx context.Context) error { return c.saves.Drain(ctx) }
