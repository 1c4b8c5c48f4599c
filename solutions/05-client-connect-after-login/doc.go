// Package login is lesson 05 of the WebSocket Workbook: the last step of the
// course notes, a client that is created with autoConnect: false and
// connects only once its user has logged in. Around it, the server side
// that makes the login mean something: users with bcrypt password hashes,
// signed tokens that expire, login routes that resist guessing, a
// connection middleware that checks the token, and a chat that stamps
// every message with the user of the socket that sent it.
//
// The lesson text is lessons/05-client-connect-after-login.md. The
// learner's copy, 05-client-connect-after-login, has this API with stubs
// that name their exercises; solutions/05-client-connect-after-login is
// the reference solution, with the same tests. `go run ./cmd/workbook`
// from the module root says which exercise is next. Underneath are the
// solutions of lesson 03 (package events: the Socket.IO server, its
// middleware and its Go client) and lesson 04 (package server: the App, the
// Engine with long-polling, the SQLite message store).
//
// # The flow
//
// In the notes the client makes its socket at start-up and connects it
// later; the notes stop before the login, and the last two lines are how
// socket.io-client is given a token and told to connect:
//
//	const socket = io(BASE_URL, { autoConnect: false }); // nothing dialled
//	// ... the user logs in, the answer has a token ...
//	socket.auth = { token };
//	socket.connect();
//
// The Go Client (exercise 5.6) is that socket, with the login beside it:
//
//	c := login.NewClient("http://localhost:8000", login.ClientOptions{})
//	c.On("message-saved", func(e *events.Event) { ... })
//	if err := c.Login(ctx, "ana", password); err != nil { ... }
//	if err := c.Connect(ctx); err != nil { ... } // a *events.ConnectError if the token is refused
//	c.Emit("send-message", map[string]string{"text": "hi"})
//	c.Logout(ctx)
//
// Four steps, each with its own exercise on the server side:
//
//  1. Register and log in over HTTP (Users, 5.1; Auth's routes, 5.3). The
//     password is checked against a bcrypt hash, and the answer carries a
//     token (Tokens, 5.2).
//  2. Connect: the token travels in the Socket.IO CONNECT packet, and the
//     middleware Authenticate (5.4) admits the socket or refuses it with a
//     CONNECT_ERROR that says why.
//  3. Chat: "send-message" is saved and broadcast with the socket's user as
//     its author, whatever the payload says (Chat, 5.5).
//  4. End: at logout, or when the token expires, the server tells the
//     socket "session-ended" and disconnects it; the Client does not
//     reconnect, and reconnects with backoff after any other loss (5.6).
//
// # Logging in, on the wire
//
// Exactly as the server answered (the token cut short here; it is about
// 240 bytes):
//
//	→ POST /api/login   Content-Type: application/json
//	  {"name":"ana","password":"correct horse"}
//	← 200 OK   Cache-Control: no-store
//	  {"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiYW5hIi….aR2HYHdDRoSanP6sDvrZ6VS0UFwUDZ9fqQtK8RchG_0",
//	   "user":{"id":1,"name":"ana","created":"2026-11-27T02:12:03.619Z"},"expires":"2026-11-27T03:12:03Z"}
//
//	→ POST /api/login   {"name":"ana","password":"wrong horse"}
//	← 401 {"error":"wrong name or password"}          the same for a name nobody has
//
//	after ten failures within five minutes, by one name or from one address:
//	← 429 Too Many Requests   Retry-After: 298
//	  {"error":"too many failed logins; try again in 298 s"}
//
// The token is a JSON Web Token (RFC 7519), three base64url parts joined by
// dots. The first two decode to
//
//	{"alg":"HS256","typ":"JWT"}
//	{"name":"ana","iss":"websocket-workbook","sub":"1","exp":1795749123,"iat":1795745523,"jti":"ZCYONYXR5WPQGNKVWXZ2GDRZTS"}
//
// and the third is an HMAC-SHA256 of the first two under a key only the
// server knows. Anyone can read a token; only the server can make one, and
// changing a single byte of the payload breaks the signature. Tokens.Verify
// accepts HS256 and nothing else, whatever the header claims: "alg": "none"
// and a header that names another algorithm are the two classic ways to
// get a forged token past a verifier that believes the header.
//
// # Connecting, on the wire
//
// The token goes in the CONNECT packet's payload (socket.io-protocol v5,
// "Connection to a namespace"), which socket.io-client fills from its auth
// option, and never in the URL, where access logs, proxies, the browser's
// history and Referer headers would keep it. Over a WebSocket, "→" from the
// client:
//
//	← 0{"sid":"zZEuJU8us_r8q5u1eKOW-A","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
//	→ 40{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiYW5hIi…"}
//	← 40{"sid":"J1b6SPqGJmnTzLl5O2jcyQ"}                                  accepted: the socket is ana's
//	→ 42["send-message",{"text":"hi","author":"bob"}]
//	← 42["message-saved",{"success":true,"message":{"id":1,"author":"ana","text":"hi","time":"…"}}]
//
// The "author" the client wrote is ignored: the server knows who is on the
// other end of the socket, because Authenticate put the token's claims in
// the socket's handshake (UserOf reads them back), and the chat takes the
// author from there.
//
// A CONNECT the middleware refuses gets a CONNECT_ERROR instead, and no
// socket. Its message is one of four, and tells the client what to do:
//
//	→ 40                                    ← 44{"message":"authentication required"}   log in first (MsgNoToken)
//	→ 40{"token":"not-a-jwt"}               ← 44{"message":"invalid token"}             not ours (MsgBadToken)
//	→ 40{"token":"eyJ…"}  (past its expiry) ← 44{"message":"token expired"}             log in again (MsgExpired)
//	→ 40{"token":"eyJ…"}  (logged out)      ← 44{"message":"token revoked"}             log in again (MsgRevoked)
//
// socket.io-client gives that message to its "connect_error" listener as
// err.message, and does not retry; Client.Connect returns it as an
// *events.ConnectError, and the Client does not retry either: the same
// token would be refused again, forever.
//
// # Ending a session
//
// A token is checked once, at connect, but a socket can stay open for
// hours. So the chat remembers each socket's token, and ends the socket
// when the token ends, at its expiry or at logout (POST /api/logout with
// Authorization: Bearer, which revokes it: Tokens.Revoke, then OnRevoke):
//
//	← 42["session-ended",{"reason":"logged out"}]     or "token expired"
//	← 41                                              DISCONNECT
//
// A DISCONNECT from the server means "do not come back", to socket.io-client
// ("io server disconnect") as to the Client: neither reconnects.
//
// # Reconnecting
//
// Any other loss (the server restarted, the network dropped, the pings
// stopped) is worth another attempt, with the same token. The Client waits
// before attempt n a random duration between zero and
// min(MaxBackoff, MinBackoff·2ⁿ), "full jitter": the ceiling doubles so that
// a server that stays down is asked less and less often, and the
// randomness spreads the clients of a restarted server out, instead of
// bringing all of them back at the same instants. OnStatus reports each
// step: StateConnected, StateReconnecting with the attempt and its delay,
// StateDisconnected with the reason, and the refusal that stopped it.
//
// # Passwords
//
// Users (5.1) stores bcrypt hashes: salted, and slow on purpose, at a cost
// that doubles the work with each step. bcrypt reads at most 72 bytes of a
// password, so Register refuses longer ones rather than let the rest be
// silently ignored. Authenticate answers an unknown name and a wrong
// password with the same error after the same bcrypt work, so neither the
// answer nor its timing says which names exist. The Limiter (5.3) allows a
// few failed logins per name and per client address in a window, then
// answers 429 until the window has passed: per name against many machines
// guessing one account, per address against one machine trying a common
// password on every account.
//
// # Specs
//
// RFC 7519 (JSON Web Token), RFC 7518 section 3.2 (HS256), RFC 6750 (Bearer
// tokens), RFC 9110 section 10.2.3 (Retry-After), and
// https://github.com/socketio/socket.io-protocol (v5) for CONNECT and
// CONNECT_ERROR.
package login
