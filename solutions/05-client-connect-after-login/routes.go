package login

import (
	"errors"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

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

// maxCredentialsBody bounds the JSON body of register and login: a name
// and a password of at most 72 bytes fit many times over, even with every
// byte escaped as \u00XX.
const maxCredentialsBody = 4 << 10

// Routes adds POST /api/register, /api/login and /api/logout to app.
func (a *Auth) Routes(app *server.App) {
	app.Handle("POST /api/register", a.register)
	app.Handle("POST /api/login", a.login)
	app.Handle("POST /api/logout", a.logout)
}

// credentials is the body of register and login.
type credentials struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// userAnswer is the body of a registration.
type userAnswer struct {
	User User `json:"user"`
}

// loginAnswer is the body of a successful login.
type loginAnswer struct {
	Token   string    `json:"token"`
	User    User      `json:"user"`
	Expires time.Time `json:"expires"` // RFC 3339
}

func (a *Auth) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

func (a *Auth) register(w http.ResponseWriter, r *http.Request) error {
	var in credentials
	if err := server.DecodeJSON(r, maxCredentialsBody, &in); err != nil {
		return err
	}
	u, err := a.Users.Register(r.Context(), in.Name, in.Password)
	switch {
	case errors.Is(err, ErrBadUsername), errors.Is(err, ErrWeakPassword):
		return &server.HTTPError{Status: http.StatusBadRequest, Message: err.Error()}
	case errors.Is(err, ErrUserExists):
		return &server.HTTPError{Status: http.StatusConflict, Message: err.Error()}
	case err != nil:
		return err
	}
	a.logger().InfoContext(r.Context(), "user registered", "user", u.Name, "id", u.ID)
	return server.WriteJSON(w, http.StatusCreated, userAnswer{User: u})
}

func (a *Auth) login(w http.ResponseWriter, r *http.Request) error {
	var in credentials
	if err := server.DecodeJSON(r, maxCredentialsBody, &in); err != nil {
		return err
	}
	addr := clientAddr(r)
	if a.Limiter != nil {
		if ok, wait := a.Limiter.Allow(in.Name, addr); !ok {
			secs := max(1, int(math.Ceil(wait.Seconds())))
			a.logger().WarnContext(r.Context(), "login rate-limited", "user", logName(in.Name), "addr", addr, "retry_after_s", secs)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			return server.Errorf(http.StatusTooManyRequests, "too many failed logins; try again in %d s", secs)
		}
	}
	u, err := a.Users.Authenticate(r.Context(), in.Name, in.Password)
	if err != nil {
		if a.Limiter != nil {
			// An error of the server's counts too: an attempt in
			// flight has to be settled one way or the other.
			a.Limiter.Failure(in.Name, addr)
		}
		if errors.Is(err, ErrBadCredentials) {
			a.logger().InfoContext(r.Context(), "login failed", "user", logName(in.Name), "addr", addr)
			return &server.HTTPError{Status: http.StatusUnauthorized, Message: ErrBadCredentials.Error()}
		}
		return err
	}
	if a.Limiter != nil {
		a.Limiter.Success(in.Name, addr)
	}
	token, c, err := a.Tokens.Issue(u)
	if err != nil {
		return err
	}
	a.logger().InfoContext(r.Context(), "logged in", "user", u.Name, "id", u.ID, "addr", addr, "expires", c.Expires)
	w.Header().Set("Cache-Control", "no-store")
	return server.WriteJSON(w, http.StatusOK, loginAnswer{Token: token, User: u, Expires: c.Expires})
}

func (a *Auth) logout(w http.ResponseWriter, r *http.Request) error {
	c, err := a.Tokens.Verify(r.Context(), bearerToken(r))
	if err != nil {
		if msg, ok := refusal(err); ok {
			// RFC 6750, section 3: a 401 names the scheme it wants.
			w.Header().Set("WWW-Authenticate", `Bearer realm="chat"`)
			return &server.HTTPError{Status: http.StatusUnauthorized, Message: "log in first: " + msg}
		}
		return err
	}
	if err := a.Tokens.Revoke(r.Context(), c); err != nil {
		return err
	}
	a.logger().InfoContext(r.Context(), "logged out", "user", c.Name, "id", c.UserID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// bearerToken returns the token of r's "Authorization: Bearer <token>"
// header (RFC 6750, section 2.1; the scheme name is case-insensitive), or
// "" when there is none.
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// refusal returns the text of Verify's refusal err, without the details
// that follow it, which are for the log; ok is false when err is not a
// refusal but a failure to find out (a database error).
func refusal(err error) (msg string, ok bool) {
	for _, e := range []error{ErrTokenMissing, ErrTokenMalformed, ErrTokenInvalid, ErrTokenExpired, ErrTokenRevoked} {
		if errors.Is(err, e) {
			return e.Error(), true
		}
	}
	return "", false
}

// logName is how a name typed at the login form goes into the log: as it
// is when it could be a name, and not at all otherwise. People type their
// password into the name field often enough, and most passwords are not
// valid names.
func logName(name string) string {
	if validName(name) {
		return name
	}
	return "(not a valid name)"
}

// clientAddr is the key the Limiter counts r's client under: its address
// from the connection — not from X-Forwarded-For, which any client can
// write; behind a trusted proxy, take it from the proxy's header instead.
// An IPv6 client counts by its /64 network, since one customer usually
// gets a whole /64 and can pick a fresh address from it for every request.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}
