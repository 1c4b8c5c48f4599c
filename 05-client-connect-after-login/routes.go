package login

import (
	"log/slog"

	"github.com/websocket-workbook/workbook/internal/exercise"
	server "github.com/websocket-workbook/workbook/solutions/04-express-style-server"
)

// Auth is the HTTP side of logging in: three JSON routes on a lesson-04
// App, over Users, Tokens and a Limiter.
//
//	POST /api/register  {"name":"ana","password":"…"}
//	    201 {"user":{"id":1,"name":"ana","created":"…"}}
//	    400 a bad name or password (the message says which rule), 409 taken
//	POST /api/login     {"name":"ana","password":"…"}
//	    200 {"token":"eyJ…","user":{…},"expires":"2030-01-02T15:04:05Z"}
//	    401 {"error":"wrong name or password"}, 429 with Retry-After
//	POST /api/logout    Authorization: Bearer eyJ…
//	    204, and the token is revoked; 401 without a valid token
//
// A malformed or oversized body is 400 or 413, as server.DecodeJSON says.
//
// # What the routes never say
//
// The password is read into a variable, hashed or checked, and dropped: it
// is in no log line and no answer, not even in an error about the body
// around it. Nor is what was typed in the name field, unless it is a
// valid name: people type their password there often enough, and most
// passwords are not valid names.
//
// Login answers an unknown name and a wrong password with the same status,
// the same body and (see Users.Authenticate) about the same delay, so the
// form cannot be used to find out who has an account. (Register does tell
// that a name is taken — it has to — which is one reason to rate-limit it
// too, at a proxy in front.)
//
// The token goes to the client in the body of the login answer, marked
// Cache-Control: no-store, and comes back in the Authorization header
// (RFC 6750), never in a URL, where logs and Referer headers would keep it.
type Auth struct {
	Users   *Users
	Tokens  *Tokens
	Limiter *Limiter     // nil: no rate limit
	Logger  *slog.Logger // nil: slog.Default()
}

// Routes adds POST /api/register, /api/login and /api/logout to app.
func (a *Auth) Routes(app *server.App) {
	_ = exercise.TODO("5.3")
}
