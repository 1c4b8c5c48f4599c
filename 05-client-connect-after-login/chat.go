package login

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/websocket-workbook/workbook/internal/exercise"
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
}

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
	_ = exercise.TODO("5.5")
	return nil
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
	return exercise.TODO("5.5")
}

// Drain stops taking new messages (they are answered with success:false,
// "server is shutting down") and waits for the saves in flight (or ctx).
// It is the first step of a graceful shutdown, as in lesson 04, and the
// saves are counted as there, with a server.InFlight.
func (c *Chat) Drain(ctx context.Context) error {
	return exercise.TODO("5.5")
}
