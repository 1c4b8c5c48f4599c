package login

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// What a refused client reads: the Message of the *events.ConnectError
// that Authenticate returns, which socket.io-client hands to its
// "connect_error" listener as err.message.
const (
	// MsgNoToken: the CONNECT packet carried no token (auth missing, no
	// "token" field, or an empty one). Log in, then connect.
	MsgNoToken = "authentication required"
	// MsgBadToken: a token this server did not issue, or not as it is
	// now: malformed, signed with another key or algorithm, another
	// issuer, or not a string at all.
	MsgBadToken = "invalid token"
	// MsgExpired: a token of this server, past its expiry. Log in again.
	MsgExpired = "token expired"
	// MsgRevoked: a token of this server whose user logged out with it.
	MsgRevoked = "token revoked"
)

// msgServerError is the refusal when the token could not be checked at all
// (the database did not answer): not the client's fault, so it says so.
const msgServerError = "the server could not check the token; try again"

// verifyTimeout bounds the one database lookup of a check (the revocation
// list), so that a stuck database cannot hold a connection open forever.
const verifyTimeout = 5 * time.Second

// connectAuth is the CONNECT packet's payload as Authenticate reads it:
// socket.io-client's `auth` option, io(url, {auth: {token}}).
type connectAuth struct {
	Token json.RawMessage `json:"token"`
}

// Authenticate returns an events.Middleware that reads {"token": "..."} from the handshake's auth
// payload, verifies it, and stores the Claims in Handshake.Data. Refusals are *events.ConnectError
// whose Message is one of the constants above (what socket.io-client shows as err.message).
//
// It is the Go for the middleware a socket.io server in Node puts in front
// of its connections:
//
//	io.use(async (socket, next) => {
//	  try {
//	    socket.data.user = await verify(socket.handshake.auth.token);
//	    next();
//	  } catch (err) {
//	    next(new Error("invalid token"));
//	  }
//	});
//
// and it is used the same way, once, before any socket connects:
//
//	io := events.NewServer(events.Options{})
//	io.Use(login.Authenticate(tokens))
//	io.OnConnection(func(s *events.Socket) {
//		user, _ := login.UserOf(s) // always there: Authenticate let s in
//		...
//	})
//
// # Why the token travels in the CONNECT packet
//
// A browser's WebSocket cannot set an Authorization header, and a token in
// the URL's query ends up in access logs, proxies and the browser history.
// Socket.IO v5 has a place made for it instead: the CONNECT packet's
// payload (socket.io-protocol v5, "Connection to a namespace"), which
// socket.io-client fills from its `auth` option:
//
//	→ 40{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…"}
//	← 40{"sid":"…"}                                   accepted
//	← 44{"message":"token expired"}                   or refused
//
// It is sent after the Engine.IO session is open, over whichever transport
// the session uses, long-polling or WebSocket; a session whose CONNECT is
// refused gets no socket and hears nothing else. The answer to a refusal
// is CONNECT_ERROR with one of the Msg constants, so that a client can
// tell "log in again" (MsgExpired, MsgRevoked) from "you never logged in"
// (MsgNoToken) from "this is not our token" (MsgBadToken). The
// verification's own error, which may say why a signature failed, goes
// nowhere near the client.
//
// A database that fails while the revocation list is read refuses the
// connection too, with a message that says the server is at fault, and is
// logged to slog.Default(): a token that cannot be checked is not let in.
func Authenticate(tokens *Tokens) events.Middleware {
	return func(h *events.Handshake) error {
		var auth connectAuth
		if len(h.Auth) > 0 {
			if err := json.Unmarshal(h.Auth, &auth); err != nil {
				// The event layer lets only an object through as the
				// CONNECT payload; anything else is no auth we know.
				return &events.ConnectError{Message: MsgNoToken}
			}
		}
		var token string
		switch {
		case len(auth.Token) == 0 || string(auth.Token) == "null":
			return &events.ConnectError{Message: MsgNoToken}
		case json.Unmarshal(auth.Token, &token) != nil:
			return &events.ConnectError{Message: MsgBadToken} // a number, an object...
		}

		ctx, cancel := context.WithTimeout(context.Background(), verifyTimeout)
		defer cancel()
		claims, err := tokens.Verify(ctx, token)
		switch {
		case err == nil:
			h.Data = claims
			return nil
		case errors.Is(err, ErrTokenMissing):
			return &events.ConnectError{Message: MsgNoToken}
		case errors.Is(err, ErrTokenExpired):
			return &events.ConnectError{Message: MsgExpired}
		case errors.Is(err, ErrTokenRevoked):
			return &events.ConnectError{Message: MsgRevoked}
		case errors.Is(err, ErrTokenMalformed), errors.Is(err, ErrTokenInvalid):
			return &events.ConnectError{Message: MsgBadToken}
		default:
			slog.Default().Error("login: checking a token at connect", "remote", h.RemoteAddr, "err", err)
			return &events.ConnectError{Message: msgServerError}
		}
	}
}

// UserOf returns the claims a socket was accepted with.
//
// Authenticate stores them in the socket's Handshake.Data, where they stay
// for the socket's life: the user is decided once, at connect, and every
// event the socket sends afterwards is that user's. This is what makes a
// message's author trustworthy: the server takes it from here, never from
// what the client writes in the message.
//
// ok is false for a socket that did not pass through Authenticate.
func UserOf(s *events.Socket) (Claims, bool) {
	if s == nil || s.Handshake() == nil {
		return Claims{}, false
	}
	c, ok := s.Handshake().Data.(Claims)
	return c, ok
}
