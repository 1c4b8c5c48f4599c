package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
	server "github.com/websocket-workbook/workbook/solutions/04-express-style-server"
)

// The event that tells a client its login is over, and its reasons.
const (
	// SessionEnded is the event a socket gets, as {"reason": ...}, just
	// before the server disconnects it because its token stopped being
	// valid.
	SessionEnded = "session-ended"
	// ReasonTokenExpired: the token reached its expiry while the socket
	// was connected.
	ReasonTokenExpired = "token expired"
	// ReasonLoggedOut: the token was revoked, by POST /api/logout.
	ReasonLoggedOut = "logged out"
)

// saveTimeout bounds one save, so that a stuck database cannot hold a
// socket's handler (and Drain) forever.
const saveTimeout = 5 * time.Second

// ChatOptions configures a Chat.
type ChatOptions struct {
	Logger *slog.Logger // nil: slog.Default()
}

// Chat is lesson 04's chat with logged-in users: "send-message" {"text"}
// → save → "message-saved" to everyone, where the author is the user the
// socket connected as, and a socket lives no longer than its login.
//
// # The author is the socket's user
//
// In lesson 04 the client said who it was in every message,
// {"author":"ana","text":"hi"}, and anyone could write "ana". Here a socket
// is only let in with a valid token (Authenticate), and the name in that
// token, checked once at connect, is the author of everything the socket
// sends. The payload is {"text":"hi"}; an "author" field in it, which an
// old client or a forger may still send, is ignored:
//
//	→ 42["send-message",{"text":"hi","author":"bob"}]       from ana's socket
//	← 42["message-saved",{"success":true,"message":{"id":7,"author":"ana","text":"hi","time":"…"}}]
//
// Everything else is lesson 04's: the text must be valid UTF-8, not blank,
// at most server.MaxTextLen characters; the message is saved before it is
// broadcast; a refusal or a failed save goes to the sender alone, as
// message-saved {"success":false,"error":"…"}, and the ack (when asked for)
// carries the same object as message-saved.
//
// # A socket lives no longer than its token
//
// A token is checked when a socket connects, but a socket can stay
// connected for hours: longer than the token is valid, and after its user
// logged out. So the Chat keeps, for every socket, the token it connected
// with, and ends the socket when the token ends:
//
//   - at the token's expiry, by a timer of the socket's own, stopped when
//     the socket disconnects first;
//   - at logout: Tokens.OnRevoke tells the Chat, which ends every socket
//     that connected with that token — a user's other logins, with other
//     tokens, stay.
//
// Ending a socket is two packets, in this order, so that the client knows
// why it was disconnected and does not try to reconnect:
//
//	← 42["session-ended",{"reason":"logged out"}]    or "token expired"
//	← 41                                             DISCONNECT: socket.io-client does not reconnect
//
// A message that arrives from a socket whose token has just ended, before
// the socket is ended, is refused.
type Chat struct {
	io     *events.Server
	store  server.Store
	tokens *Tokens
	log    *slog.Logger

	mu      sync.Mutex
	sockets map[string]map[*chatSocket]struct{} // token ID (jti) → its connected sockets
	revoked map[string]time.Time                // token IDs revoked while this Chat runs → their expiry

	saves server.InFlight // the saves under way, for Drain
}

// chatSocket is a connected socket and the user it connected as.
type chatSocket struct {
	s    *events.Socket
	user Claims
	once sync.Once // ends the session once, whether the timer or a logout comes first
}

// chatInput is an incoming "send-message" payload. Only the text is read:
// an "author" field is not even decoded, so its type does not matter.
type chatInput struct {
	Text *string `json:"text"`
}

// chatResult is the payload of "message-saved" and of the ack of
// "send-message": {"success":true,"message":{...}} or
// {"success":false,"error":"..."}.
type chatResult struct {
	Success bool            `json:"success"`
	Message *server.Message `json:"message,omitempty"`
	Error   string          `json:"error,omitempty"`
}

// sessionEnd is the payload of SessionEnded.
type sessionEnd struct {
	Reason string `json:"reason"`
}

// Errors the sender of a refused message reads.
const (
	errShuttingDown = "server is shutting down"
	errNotSaved     = "the message could not be saved"
	errNoUser       = "log in first"
)

// NewChat registers the chat on io, whose main namespace "/" must admit
// only logged-in sockets (io.Use(Authenticate(tokens))), and on tokens,
// to hear of logouts. Every socket gets a "send-message" handler, which
// runs on the socket's own goroutine, so one client's messages are saved
// and broadcast in the order it sent them.
//
// The wire, as the npm socket.io-client sees it:
//
//	const socket = io(url, {autoConnect: false, auth: {token}});
//	socket.connect();
//	socket.emit("send-message", {text: "hi"}, (res) => ...)
//	→ 421["send-message",{"text":"hi"}]
//	← 42["message-saved",{"success":true,"message":{"id":7,"author":"ana","text":"hi","time":"2025-01-02T03:04:05.678Z"}}]   to everyone
//	← 431[{"success":true,"message":{...}}]             the ack
func NewChat(io *events.Server, store server.Store, tokens *Tokens, opts ChatOptions) *Chat {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Chat{
		io: io, store: store, tokens: tokens, log: opts.Logger,
		sockets: make(map[string]map[*chatSocket]struct{}),
		revoked: make(map[string]time.Time),
	}
	tokens.OnRevoke(c.revoke)
	io.OnConnection(c.connected)
	return c
}

// connected takes a new socket: it remembers the socket under its token,
// arms the expiry timer and listens for messages.
func (c *Chat) connected(s *events.Socket) {
	user, ok := UserOf(s)
	if !ok {
		// Only possible when the namespace has no Authenticate: a chat
		// of anonymous sockets is not what this one is.
		c.log.Error("chat: a socket without a user; is Authenticate in io.Use?", "socket", s.ID())
		s.Disconnect()
		return
	}
	cs := &chatSocket{s: s, user: user}
	c.mu.Lock()
	if _, gone := c.revoked[user.ID]; gone {
		// Logged out between Authenticate's check and now.
		c.mu.Unlock()
		c.endSession(cs, ReasonLoggedOut)
		return
	}
	set := c.sockets[user.ID]
	if set == nil {
		set = make(map[*chatSocket]struct{})
		c.sockets[user.ID] = set
	}
	set[cs] = struct{}{}
	c.mu.Unlock()

	// A timer, not a goroutine per socket: it costs nothing until it
	// fires, and a token already past its expiry fires it at once.
	expiry := time.AfterFunc(time.Until(user.Expires), func() { c.endSession(cs, ReasonTokenExpired) })
	s.OnDisconnect(func(string) {
		expiry.Stop()
		c.forget(cs)
	})
	s.On("send-message", func(e *events.Event) { c.sendMessage(cs, e) })
}

// forget takes a disconnected socket out of its token's set.
func (c *Chat) forget(cs *chatSocket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	set := c.sockets[cs.user.ID]
	delete(set, cs)
	if len(set) == 0 {
		delete(c.sockets, cs.user.ID)
	}
}

// revoke is the Tokens.OnRevoke function: it ends every socket of the
// revoked token. It runs on the goroutine of POST /api/logout, and only
// queues packets, so the logout answers at once.
func (c *Chat) revoke(token Claims) {
	now := time.Now()
	c.mu.Lock()
	// Remembered until the token expires, for a socket that passed
	// Authenticate just before the logout and is not in c.sockets yet.
	c.revoked[token.ID] = token.Expires
	for id, exp := range c.revoked {
		if !now.Before(exp) {
			delete(c.revoked, id) // expired: Authenticate refuses it anyway
		}
	}
	ended := make([]*chatSocket, 0, len(c.sockets[token.ID]))
	for cs := range c.sockets[token.ID] {
		ended = append(ended, cs)
	}
	c.mu.Unlock()
	for _, cs := range ended {
		c.endSession(cs, ReasonLoggedOut)
	}
}

// endSession tells a socket why its session is over, then disconnects it,
// once. Both packets go into the socket's send queue, in this order.
func (c *Chat) endSession(cs *chatSocket, reason string) {
	cs.once.Do(func() {
		if !cs.s.Connected() {
			return
		}
		c.log.Info("chat: session ended", "user", cs.user.Name, "socket", cs.s.ID(), "reason", reason)
		_ = cs.s.Emit(SessionEnded, sessionEnd{Reason: reason})
		cs.s.Disconnect()
	})
}

// sessionOver reports why user's token can no longer be used, "" while it can.
func (c *Chat) sessionOver(user Claims) string {
	if !time.Now().Before(user.Expires) {
		return ReasonTokenExpired
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, gone := c.revoked[user.ID]; gone {
		return ReasonLoggedOut
	}
	return ""
}

// sendMessage handles one "send-message" from cs.
func (c *Chat) sendMessage(cs *chatSocket, e *events.Event) {
	s, user := cs.s, cs.user
	if why := c.sessionOver(user); why != "" {
		// The timer or the logout is about to end s, or just did.
		c.refuse(s, e, "your session has ended: "+why)
		c.endSession(cs, why)
		return
	}
	text, err := decodeChatText(e.Args)
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
	m, err := c.store.Save(ctx, server.Message{Author: user.Name, Text: text})
	if err != nil {
		c.log.Error("chat: saving a message", "user", user.Name, "socket", s.ID(), "err", err)
		c.refuse(s, e, errNotSaved)
		return
	}
	res := chatResult{Success: true, Message: &m}
	if err := c.io.Emit("message-saved", res); err != nil {
		c.log.Error("chat: broadcasting a message", "id", m.ID, "err", err)
	}
	if e.HasAck() {
		_ = e.Ack(res)
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

// decodeChatText checks a "send-message" payload and returns its text; the
// error's text is what the sender is told.
func decodeChatText(args []json.RawMessage) (string, error) {
	if len(args) == 0 {
		return "", errors.New("the message is missing: send {text}")
	}
	raw := args[0]
	if !utf8.Valid(raw) {
		// encoding/json would quietly turn the bad bytes into U+FFFD.
		return "", errors.New("the message is not valid UTF-8")
	}
	if t := strings.TrimLeft(string(raw), " \t\r\n"); !strings.HasPrefix(t, "{") {
		return "", errors.New("the message must be an object {text}")
	}
	var in chatInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return "", errors.New("text must be a string")
	}
	switch {
	case in.Text == nil || strings.TrimSpace(*in.Text) == "":
		return "", errors.New("text is empty")
	case utf8.RuneCountInString(*in.Text) > server.MaxTextLen:
		return "", fmt.Errorf("text is longer than %d characters", server.MaxTextLen)
	}
	return *in.Text, nil
}

// History serves GET /api/messages?before=ID&limit=N to a logged-in user:
// {"messages":[...oldest first...],"more":bool}, lesson 04's
// server.ServeHistory (limit 1..200, default 50; a bad before or limit is
// 400) behind a login check.
//
// Unlike lesson 04's, it asks for the token, in an Authorization: Bearer
// header (RFC 6750), and answers 401 without a valid one: a chat that takes
// only logged-in writers should not show its conversation to anyone who
// asks. The rule is the socket's: whoever may connect may read.
//
//	GET /api/messages?limit=2
//	Authorization: Bearer eyJ…
//	{"messages":[{"id":8,"author":"ana",...},{"id":9,...}],"more":true}
func (c *Chat) History(w http.ResponseWriter, r *http.Request) error {
	if _, err := c.tokens.Verify(r.Context(), bearerToken(r)); err != nil {
		if msg, ok := refusal(err); ok {
			// RFC 6750, section 3: a 401 names the scheme it wants.
			w.Header().Set("WWW-Authenticate", `Bearer realm="chat"`)
			return &server.HTTPError{Status: http.StatusUnauthorized, Message: "log in first: " + msg}
		}
		return err
	}
	return server.ServeHistory(w, r, c.store)
}

// Drain stops taking new messages (they are answered with success:false,
// "server is shutting down") and waits for the saves in flight (or ctx).
// It is the first step of a graceful shutdown, as in lesson 04, and the
// saves are counted as there, with a server.InFlight.
func (c *Chat) Drain(ctx context.Context) error { return c.saves.Drain(ctx) }
