package login

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/websocket-workbook/workbook/internal/exercise"
	server "github.com/websocket-workbook/workbook/solutions/04-express-style-server"
)

// Exercise 5.3: Register, log in, log out.
//
// Auth.Routes puts three JSON routes on a lesson-04 App:
//
//	POST /api/register {"name","password"}  201 {"user":{...}}, 400, 409
//	POST /api/login    {"name","password"}  200 {"token","user","expires"}, 401, 429
//	POST /api/logout   Authorization: Bearer <token>  204, 401
//
// The tests call the App as a server would, through httptest, and read
// every answer and every log line for a password.

// rtLogs collects what the routes and the App log.
type rtLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *rtLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *rtLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// rtEnv is an App with Auth's routes and everything behind them.
type rtEnv struct {
	app    *server.App
	auth   *Auth
	users  *Users
	tokens *Tokens
	logs   *rtLogs
}

// rtNew returns an App with Auth's routes, a Limiter of limit failures per
// minute, and every log line, debug included, kept in logs.
func rtNew(t *testing.T, limit int) *rtEnv {
	t.Helper()
	db := usrOpenDB(t)
	users, err := NewUsers(db)
	require.NoError(t, err, "NewUsers")
	users.Cost = bcrypt.MinCost
	tokens, err := NewTokens(db, tokKey, tokTTL)
	require.NoError(t, err, "NewTokens")
	logs := &rtLogs{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	auth := &Auth{Users: users, Tokens: tokens, Limiter: NewLimiter(limit, time.Minute), Logger: logger}
	app := server.NewApp(logger)
	auth.Routes(app)
	return &rtEnv{app: app, auth: auth, users: users, tokens: tokens, logs: logs}
}

// rtAnswer is a response, its body read.
type rtAnswer struct {
	Status int
	Header http.Header
	Body   string
}

// rtCall sends a request to h from the address remote ("" for
// httptest's default, 192.0.2.1:1234). A body is sent as application/json.
func rtCall(t *testing.T, h http.Handler, method, path, remote, body string, header ...string) rtAnswer {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	if remote != "" {
		r.RemoteAddr = remote
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return rtAnswer{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

// rtCreds is the JSON of a name and a password.
func rtCreds(t *testing.T, name, password string) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"name": name, "password": password})
	require.NoError(t, err)
	return string(b)
}

// rtLogin logs in over h and returns the token.
func rtLogin(t *testing.T, h http.Handler, name, password string) string {
	t.Helper()
	a := rtCall(t, h, "POST", "/api/login", "", rtCreds(t, name, password))
	require.Equal(t, http.StatusOK, a.Status, "POST /api/login as %s: %s", name, a.Body)
	var in struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.Unmarshal([]byte(a.Body), &in), "the login answer: %s", a.Body)
	require.NotEmpty(t, in.Token, "the login answer has a token: %s", a.Body)
	return in.Token
}

// rtErrorBody checks that a is a JSON error answer and returns its message.
func rtErrorBody(t *testing.T, a rtAnswer) string {
	t.Helper()
	assert.Equal(t, "application/json", a.Header.Get("Content-Type"), "an error answer is JSON: %s", a.Body)
	var e struct {
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(a.Body), &e), "an error answer is {\"error\": ...}, got %s", a.Body)
	assert.NotEmpty(t, e.Error, "the error answer says what is wrong: %s", a.Body)
	return e.Error
}

func TestRegisterRoute(t *testing.T) {
	exercise.Start(t, "5.3")
	env := rtNew(t, 5)
	srv := httptest.NewServer(env.app)
	t.Cleanup(srv.Close)

	post := func(body string) (int, string) {
		t.Helper()
		res, err := srv.Client().Post(srv.URL+"/api/register", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b)
	}

	status, body := post(rtCreds(t, "ana", "ana's password"))
	require.Equal(t, http.StatusCreated, status, "POST /api/register with a good name and password: %s", body)
	var created struct {
		User map[string]json.RawMessage `json:"user"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &created), "the answer is {\"user\": {...}}: %s", body)
	assert.ElementsMatch(t, []string{"id", "name", "created"}, rtKeys(created.User),
		"the user in the answer has id, name and created, and nothing else (no hash): %s", body)
	assert.JSONEq(t, `"ana"`, string(created.User["name"]))
	assert.NotContains(t, body, "ana's password")

	_, err := env.users.Authenticate(context.Background(), "ana", "ana's password")
	assert.NoError(t, err, "the registered user can log in")

	status, body = post(rtCreds(t, "ana", "another password"))
	assert.Equal(t, http.StatusConflict, status, "registering a name that is taken: %s", body)

	for _, tc := range []struct{ what, name, password string }{
		{"a name in upper case", "Ana2", "a good password"},
		{"a name too short", "al", "a good password"},
		{"a password of 7 bytes", "bob", "1234567"},
		{"a password of 73 bytes", "bob", strings.Repeat("p", 73)},
	} {
		status, body := post(rtCreds(t, tc.name, tc.password))
		assert.Equal(t, http.StatusBadRequest, status, "registering with %s: %s", tc.what, body)
		assert.NotContains(t, body, tc.password, "the answer to %s", tc.what)
	}
}

// rtKeys returns the keys of m.
func rtKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func TestLoginRoute(t *testing.T) {
	exercise.Start(t, "5.3")
	env := rtNew(t, 5)
	ctx := context.Background()
	ana, err := env.users.Register(ctx, "ana", "ana's password")
	require.NoError(t, err)

	a := rtCall(t, env.app, "POST", "/api/login", "", rtCreds(t, "ana", "ana's password"))
	require.Equal(t, http.StatusOK, a.Status, "POST /api/login with the right password: %s", a.Body)
	assert.Equal(t, "application/json", a.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", a.Header.Get("Cache-Control"), "an answer with a token must not be cached")
	var in struct {
		Token   string `json:"token"`
		User    User   `json:"user"`
		Expires string `json:"expires"`
	}
	require.NoError(t, json.Unmarshal([]byte(a.Body), &in), "the answer is {\"token\",\"user\",\"expires\"}: %s", a.Body)
	assert.Equal(t, ana.ID, in.User.ID)
	assert.Equal(t, "ana", in.User.Name)

	c, err := env.tokens.Verify(ctx, in.Token)
	require.NoError(t, err, "the token of the login answer must pass Tokens.Verify")
	assert.Equal(t, ana.ID, c.UserID)
	assert.Equal(t, "ana", c.Name)
	expires, err := time.Parse(time.RFC3339, in.Expires)
	require.NoError(t, err, "expires is an RFC 3339 time, got %q", in.Expires)
	assert.True(t, expires.Equal(c.Expires), "expires (%v) is the token's expiry (%v)", expires, c.Expires)
	assert.NotContains(t, a.Body, "ana's password")

	// An unknown name and a wrong password: the same answer, to the byte.
	wrong := rtCall(t, env.app, "POST", "/api/login", "", rtCreds(t, "ana", "not ana's password"))
	unknown := rtCall(t, env.app, "POST", "/api/login", "", rtCreds(t, "nobody", "ana's password"))
	assert.Equal(t, http.StatusUnauthorized, wrong.Status, "a wrong password: %s", wrong.Body)
	assert.Equal(t, "wrong name or password", rtErrorBody(t, wrong))
	assert.Equal(t, wrong.Status, unknown.Status, "an unknown name is answered like a wrong password")
	assert.Equal(t, wrong.Body, unknown.Body, "an unknown name is answered like a wrong password")
	wrong.Header.Del("Date")
	unknown.Header.Del("Date")
	assert.Equal(t, wrong.Header, unknown.Header, "an unknown name is answered like a wrong password, headers too")
}

func TestLoginRouteLimitsGuessesAtOneName(t *testing.T) {
	exercise.Start(t, "5.3")
	env := rtNew(t, 3)
	ctx := context.Background()
	_, err := env.users.Register(ctx, "ana", "ana's password")
	require.NoError(t, err)
	_, err = env.users.Register(ctx, "bob", "bob's password")
	require.NoError(t, err)

	// Three wrong guesses at ana, each from another address.
	for i, ip := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		a := rtCall(t, env.app, "POST", "/api/login", ip+":40000", rtCreds(t, "ana", "guess "+strconv.Itoa(i)))
		require.Equal(t, http.StatusUnauthorized, a.Status, "wrong guess %d: %s", i+1, a.Body)
	}
	// Now even the right password, from a fresh address, waits.
	a := rtCall(t, env.app, "POST", "/api/login", "203.0.113.4:40000", rtCreds(t, "ana", "ana's password"))
	require.Equal(t, http.StatusTooManyRequests, a.Status, "a login as ana after 3 failures within the window: %s", a.Body)
	rtErrorBody(t, a)
	secs, err := strconv.Atoi(a.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After is a number of seconds (RFC 9110, section 10.2.3), got %q", a.Header.Get("Retry-After"))
	assert.True(t, secs >= 1 && secs <= 60, "Retry-After is within the one-minute window, got %d", secs)
	assert.NotContains(t, a.Body, "token")

	a = rtCall(t, env.app, "POST", "/api/login", "203.0.113.4:40000", rtCreds(t, "bob", "bob's password"))
	assert.Equal(t, http.StatusOK, a.Status, "another name, from that address, is not limited: %s", a.Body)
}

func TestLoginRouteLimitsGuessesFromOneAddress(t *testing.T) {
	exercise.Start(t, "5.3")
	env := rtNew(t, 3)
	ctx := context.Background()
	_, err := env.users.Register(ctx, "ana", "ana's password")
	require.NoError(t, err)

	// One address, one guess at each of three names.
	for _, name := range []string{"ana", "bob", "cy"} {
		a := rtCall(t, env.app, "POST", "/api/login", "198.51.100.7:5555", rtCreds(t, name, "password1"))
		require.Equal(t, http.StatusUnauthorized, a.Status, "a wrong guess at %s: %s", name, a.Body)
	}
	a := rtCall(t, env.app, "POST", "/api/login", "198.51.100.7:6666", rtCreds(t, "ana", "ana's password"))
	require.Equal(t, http.StatusTooManyRequests, a.Status, "a 4th login from an address with 3 failures, even a right one: %s", a.Body)
	assert.NotEmpty(t, a.Header.Get("Retry-After"), "a 429 says when to come back")

	a = rtCall(t, env.app, "POST", "/api/login", "198.51.100.8:5555", rtCreds(t, "ana", "ana's password"))
	assert.Equal(t, http.StatusOK, a.Status, "the same login from another address: %s", a.Body)
}

func TestLogoutRoute(t *testing.T) {
	exercise.Start(t, "5.3")
	env := rtNew(t, 5)
	ctx := context.Background()
	_, err := env.users.Register(ctx, "ana", "ana's password")
	require.NoError(t, err)
	revoked := make(chan Claims, 4)
	env.tokens.OnRevoke(func(c Claims) { revoked <- c })

	token := rtLogin(t, env.app, "ana", "ana's password")
	other := rtLogin(t, env.app, "ana", "ana's password")

	a := rtCall(t, env.app, "POST", "/api/logout", "", "", "Authorization", "Bearer "+token)
	require.Equal(t, http.StatusNoContent, a.Status, "POST /api/logout with the token: %s", a.Body)
	assert.Empty(t, a.Body, "204 has no body")

	_, err = env.tokens.Verify(ctx, token)
	assert.ErrorIs(t, err, ErrTokenRevoked, "after logout the token is revoked")
	_, err = env.tokens.Verify(ctx, other)
	assert.NoError(t, err, "the same user's other token (another tab, another device) is still good")
	select {
	case c := <-revoked:
		assert.Equal(t, "ana", c.Name, "OnRevoke gets the claims of the token logged out")
	default:
		t.Error("logout must revoke through Tokens.Revoke, so that OnRevoke runs (it disconnects the sockets)")
	}

	refused := []struct{ what, header string }{
		{"the same token again", "Bearer " + token},
		{"no Authorization header", ""},
		{"a malformed token", "Bearer not-a-token"},
		{"another scheme", "Basic " + token},
		{"no scheme", token},
	}
	for _, tc := range refused {
		var a rtAnswer
		if tc.header == "" {
			a = rtCall(t, env.app, "POST", "/api/logout", "", "")
		} else {
			a = rtCall(t, env.app, "POST", "/api/logout", "", "", "Authorization", tc.header)
		}
		assert.Equal(t, http.StatusUnauthorized, a.Status, "logout with %s: %s", tc.what, a.Body)
		rtErrorBody(t, a)
	}
	assert.Len(t, revoked, 0, "a refused logout revokes nothing")

	a = rtCall(t, env.app, "POST", "/api/logout", "", "", "Authorization", "bearer "+other)
	assert.Equal(t, http.StatusNoContent, a.Status, `the scheme name is case-insensitive, "bearer" too (RFC 9110, section 11.1): %s`, a.Body)
}

func TestLoginRoutesRefuseBadBodies(t *testing.T) {
	exercise.Start(t, "5.3")
	env := rtNew(t, 100)
	for _, path := range []string{"/api/register", "/api/login"} {
		for _, tc := range []struct {
			what, body string
			status     int
		}{
			{"malformed JSON", `{"name": "ana", "password": `, http.StatusBadRequest},
			{"not an object", `["ana", "password"]`, http.StatusBadRequest},
			{"an unknown field", `{"name": "ana", "password": "ana's password", "admin": true}`, http.StatusBadRequest},
			{"more than one value", `{"name": "ana", "password": "ana's password"} {}`, http.StatusBadRequest},
			{"a body over 1 MiB", `{"name": "ana", "password": "` + strings.Repeat("x", server.MaxJSONBody) + `"}`, http.StatusRequestEntityTooLarge},
		} {
			a := rtCall(t, env.app, "POST", path, "", tc.body)
			assert.Equal(t, tc.status, a.Status, "POST %s with %s: %s", path, tc.what, a.Body)
			if a.Status >= 400 {
				rtErrorBody(t, a)
			}
		}
		a := rtCall(t, env.app, "POST", path, "", "", "Content-Type", "text/plain")
		assert.Equal(t, http.StatusUnsupportedMediaType, a.Status, "POST %s as text/plain: %s", path, a.Body)
	}
	_, err := env.users.Authenticate(context.Background(), "ana", "ana's password")
	assert.ErrorIs(t, err, ErrBadCredentials, "no bad body registers a user")
}

func TestLoginRoutesNeverRevealPasswords(t *testing.T) {
	exercise.Start(t, "5.3")
	env := rtNew(t, 2)
	const (
		pw      = "Sw0rdfish-and-Chips"
		other   = "An0ther-Secret-Pass"
		weak    = "Sh0rt!"
		typo    = "Sw0rdfish-and-Chipz"
		lockout = "L0cked-0ut-Guess"
	)
	passwords := []string{pw, other, weak, typo, lockout}
	var answers []rtAnswer
	call := func(path, remote, body string, header ...string) rtAnswer {
		t.Helper()
		a := rtCall(t, env.app, "POST", path, remote, body, header...)
		answers = append(answers, a)
		return a
	}

	require.Equal(t, http.StatusCreated, call("/api/register", "", rtCreds(t, "ana", pw)).Status)
	assert.Equal(t, http.StatusConflict, call("/api/register", "", rtCreds(t, "ana", other)).Status)
	assert.Equal(t, http.StatusBadRequest, call("/api/register", "", rtCreds(t, "bob", weak)).Status)
	assert.Equal(t, http.StatusBadRequest, call("/api/register", "", rtCreds(t, "Not Valid", other)).Status)

	ok := call("/api/login", "", rtCreds(t, "ana", pw))
	require.Equal(t, http.StatusOK, ok.Status, ok.Body)
	assert.Equal(t, http.StatusUnauthorized, call("/api/login", "", rtCreds(t, "nobody", other)).Status)
	// The password typed into the name field, as people do.
	assert.Equal(t, http.StatusUnauthorized, call("/api/login", "", rtCreds(t, other, "")).Status)
	// Bodies that fail to decode, with a password inside.
	call("/api/login", "", `{"name": "ana", "password": "`+pw+`"`)
	call("/api/login", "", `{"name": "ana", "pasword": "`+pw+`"}`)
	call("/api/login", "", `{"name": "ana", "password": "`+pw+`", "remember": true}`)
	// Guesses until the limit, and past it.
	for range 3 {
		call("/api/login", "203.0.113.9:1", rtCreds(t, "ana", typo))
	}
	assert.Equal(t, http.StatusTooManyRequests, call("/api/login", "203.0.113.9:1", rtCreds(t, "ana", lockout)).Status)

	var in struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.Unmarshal([]byte(ok.Body), &in))
	assert.Equal(t, http.StatusNoContent, call("/api/logout", "", "", "Authorization", "Bearer "+in.Token).Status)

	logs := env.logs.String()
	for _, line := range strings.Split(logs, "\n") {
		for _, p := range passwords {
			if strings.Contains(line, p) {
				t.Errorf("a password (%q) is in the log: %s", p, line)
			}
		}
	}
	for _, p := range passwords {
		for _, a := range answers {
			assert.NotContains(t, a.Body, p, "a password in an answer (%d)", a.Status)
			for k, v := range a.Header {
				assert.NotContains(t, strings.Join(v, " "), p, "a password in the answer's %s header", k)
			}
		}
	}
	assert.NotContains(t, logs, in.Token, "a token in the log: whoever reads the log could use it")
}
