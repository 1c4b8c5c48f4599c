package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// MaxTextLen is the longest message text the chat accepts, in runes
// (characters, not bytes: "é" counts once).
const MaxTextLen = 1000

// maxAuthorLen is the longest author name, in runes.
const maxAuthorLen = 50

// History's page sizes.
const (
	defaultHistoryLimit = 50
	maxHistoryLimit     = 200
)

// saveTimeout bounds one save, so that a stuck database cannot hold a
// socket's handler (and Drain) for ever.
const saveTimeout = 5 * time.Second

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
	saves InFlight // the saves under way, for Drain
}

// An incoming "send-message" payload.
type chatInput struct {
	Author string `json:"author"`
	Text   string `json:"text"`
}

// chatResult is the payload of "message-saved" and of the ack of
// "send-message": {"success":true,"message":{...}} or
// {"success":false,"error":"..."}.
type chatResult struct {
	Success bool     `json:"success"`
	Message *Message `json:"message,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// Errors the sender of a refused message reads.
const (
	errShuttingDown = "server is shutting down"
	errNotSaved     = "the message could not be saved"
)

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
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Chat{io: io, store: store, log: opts.Logger}
	io.OnConnection(func(s *events.Socket) {
		s.On("send-message", func(e *events.Event) { c.sendMessage(s, e) })
	})
	return c
}

// sendMessage handles one "send-message".
func (c *Chat) sendMessage(s *events.Socket, e *events.Event) {
	in, err := decodeChatInput(e.Args)
	if err != nil {
		c.refuse(s, e, err.Error())
		return
	}
	if !c.saves.Begin() {
		c.refuse(s, e, errShuttingDown)
		return
	}
	defer c.saves.End()
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	m, err := c.store.Save(ctx, Message{Author: in.Author, Text: in.Text})
	if err != nil {
		c.log.Error("chat: saving a message", "socket", s.ID(), "err", err)
		c.refuse(s, e, errNotSaved)
		return
	}
	res := chatResult{Success: true, Message: &m}
	// io.emit: every socket of "/", the sender included.
	if err := c.io.Emit("message-saved", res); err != nil {
		c.log.Error("chat: broadcasting a message", "id", m.ID, "err", err)
	}
	if e.HasAck() {
		_ = e.Ack(res) // fails only when the sender is gone already
	}
}

// refuse tells the sender alone why its message was not taken.
func (c *Chat) refuse(s *events.Socket, e *events.Event, why string) {
	res := chatResult{Success: false, Error: why}
	_ = s.Emit("message-saved", res)
	if e.HasAck() {
		_ = e.Ack(res)
	}
}

// decodeChatInput checks a "send-message" payload; the error's text is what
// the sender is told.
func decodeChatInput(args []json.RawMessage) (chatInput, error) {
	var in chatInput
	if len(args) == 0 {
		return in, errors.New("the message is missing: send {author, text}")
	}
	raw := args[0]
	if !utf8.Valid(raw) {
		// encoding/json would quietly turn the bad bytes into U+FFFD.
		return in, errors.New("the message is not valid UTF-8")
	}
	if t := strings.TrimLeft(string(raw), " \t\r\n"); !strings.HasPrefix(t, "{") {
		return in, errors.New("the message must be an object {author, text}")
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return in, errors.New("author and text must be strings")
	}
	in.Author = strings.TrimSpace(in.Author)
	switch n := utf8.RuneCountInString(in.Author); {
	case in.Author == "":
		return in, errors.New("author is required")
	case n > maxAuthorLen:
		return in, fmt.Errorf("author is longer than %d characters", maxAuthorLen)
	}
	switch n := utf8.RuneCountInString(in.Text); {
	case strings.TrimSpace(in.Text) == "":
		return in, errors.New("text is empty")
	case n > MaxTextLen:
		return in, fmt.Errorf("text is longer than %d characters", MaxTextLen)
	}
	return in, nil
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
	q := r.URL.Query()
	var before int64
	if q.Has("before") {
		n, err := strconv.ParseInt(q.Get("before"), 10, 64)
		if err != nil || n < 1 {
			return Errorf(http.StatusBadRequest, "before must be a message id (a positive integer), got %q", q.Get("before"))
		}
		before = n
	}
	limit := defaultHistoryLimit
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > maxHistoryLimit {
			return Errorf(http.StatusBadRequest, "limit must be an integer from 1 to %d, got %q", maxHistoryLimit, q.Get("limit"))
		}
		limit = n
	}
	// One more than asked tells whether there is more.
	page, err := store.Before(r.Context(), before, limit+1)
	if err != nil {
		return fmt.Errorf("reading the history: %w", err)
	}
	more := len(page) > limit
	if more {
		page = page[len(page)-limit:] // drop the oldest: it belongs to the next page
	}
	if page == nil {
		page = []Message{}
	}
	w.Header().Set("Cache-Control", "no-store") // a view of now: no cache may keep it
	return WriteJSON(w, http.StatusOK, struct {
		Messages []Message `json:"messages"`
		More     bool      `json:"more"`
	}{page, more})
}

// Drain stops taking new messages (they are answered with success:false, "server is shutting down")
// and waits for the saves in flight (or ctx).
//
// It is the first step of a graceful shutdown: after Drain returns nil,
// every message a client was told is saved is in the store, and no other
// will be, so the store can be closed.
func (c *Chat) Drain(ctx context.Context) error { return c.saves.Drain(ctx) }
