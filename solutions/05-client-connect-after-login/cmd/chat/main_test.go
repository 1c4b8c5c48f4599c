package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/websocket-workbook/workbook/internal/exercise"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// cmdTimeout bounds every wait of these tests.
const cmdTimeout = 15 * time.Second

// cmdStart is exercise.Start for the command. exercise.Start skips a test
// while its exercise's marker is in the package under test, and this
// package has none: the markers are in the login package two directories
// up, which is what the command runs. So it looks there too.
func cmdStart(t *testing.T, id string) {
	t.Helper()
	if exercise.Strict() {
		return
	}
	markers, err := exercise.FindMarkers(filepath.Join("..", ".."))
	require.NoError(t, err, "looking for the login package's markers")
	for _, m := range markers {
		if m.ID == id {
			t.Skipf("exercise %s is not started: its marker is still at %s (in the login package this command runs)", id, m.File)
		}
	}
}

// cmdRun is one run of the command.
type cmdRun struct {
	URL  string
	stop context.CancelFunc
	done chan error

	mu  sync.Mutex
	log []string
}

// cmdServe starts run with args and the environment env, and waits for the
// log line that gives the URL to open.
func cmdServe(t *testing.T, args []string, env map[string]string) *cmdRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &cmdRun{stop: cancel, done: make(chan error, 1)}
	outR, outW := io.Pipe()
	go func() {
		err := run(ctx, args, func(k string) string { return env[k] }, outW)
		_ = outW.Close()
		r.done <- err
	}()
	found := make(chan string, 1)
	go func() {
		urlRE := regexp.MustCompile(`url=(http://\S+)`)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			r.mu.Lock()
			r.log = append(r.log, sc.Text())
			r.mu.Unlock()
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, outR)
	}()
	t.Cleanup(func() { r.Stop(t) })
	select {
	case r.URL = <-found:
	case err := <-r.done:
		r.done <- err
		t.Fatalf("the command ended before it served (%v); its log:\n%s", err, r.Log())
	case <-time.After(cmdTimeout):
		t.Fatalf("no log line with url= within %v; the log so far:\n%s", cmdTimeout, r.Log())
	}
	require.True(t, strings.HasPrefix(r.URL, "http://127.0.0.1:") && strings.HasSuffix(r.URL, "/"), "the URL to open, got %q", r.URL)
	return r
}

// Log returns the log so far.
func (r *cmdRun) Log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.log, "\n")
}

// Stop cancels the run's context, as SIGINT does, and requires run to
// return nil. Calling it again does nothing.
func (r *cmdRun) Stop(t *testing.T) {
	t.Helper()
	if r.stop == nil {
		return
	}
	r.stop()
	r.stop = nil
	select {
	case err := <-r.done:
		require.NoError(t, err, "run returns nil after a graceful shutdown; the log:\n%s", r.Log())
	case <-time.After(cmdTimeout):
		t.Fatalf("run did not return within %v of its context's end", cmdTimeout)
	}
	require.Contains(t, r.Log(), "shutting down", "the log says the server is shutting down")
}

// cmdDo sends a request and returns the status and the body.
func cmdDo(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: cmdTimeout}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	require.NoError(t, err, "%s %s", method, url)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// The command serves the page, the auth routes and Socket.IO; its tokens
// are signed with the key of CHAT_TOKEN_KEY, so that a token outlives a
// restart; without the variable it makes a random key, says so in its log,
// and the tokens of before are refused. On cancellation (what SIGINT and
// SIGTERM do) it shuts down gracefully. A bad key and bad flags are errors.
func TestRunKeepsLoginsAcrossRestartsWithAKey(t *testing.T) {
	exercise.Start(t, "5.5")
	cmdStart(t, "5.5")
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })

	db := filepath.Join(t.TempDir(), "chat.db")
	args := []string{"-addr", "127.0.0.1:0", "-db", db, "-origin", "http://app.example"}
	env := map[string]string{keyEnv: hex.EncodeToString([]byte("a key of thirty-two bytes or more"))}

	first := cmdServe(t, args, env)
	require.NotContains(t, first.Log(), "random key", "with %s set, no random key is made", keyEnv)
	status, body := cmdDo(t, http.MethodGet, first.URL, "", nil)
	require.Equal(t, http.StatusOK, status, "GET / serves the page: %s", body)
	creds := map[string]string{"name": "ana", "password": "correct horse battery"}
	status, body = cmdDo(t, http.MethodPost, first.URL+"api/register", "", creds)
	require.Equal(t, http.StatusCreated, status, "POST /api/register: %s", body)
	status, body = cmdDo(t, http.MethodPost, first.URL+"api/login", "", creds)
	require.Equal(t, http.StatusOK, status, "POST /api/login: %s", body)
	var login struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.Unmarshal(body, &login), "POST /api/login: %s", body)
	status, body = cmdDo(t, http.MethodGet, first.URL+"api/messages", login.Token, nil)
	require.Equal(t, http.StatusOK, status, "GET /api/messages with the token: %s", body)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	c, err := events.NewClient(first.URL, events.ClientOptions{Auth: map[string]string{"token": login.Token}})
	require.NoError(t, err)
	require.NoError(t, c.Connect(ctx), "a socket with the token")
	require.NoError(t, c.Close())
	first.Stop(t)
	_, err = os.Stat(db)
	require.NoError(t, err, "the database file %s exists", db)

	// The same key: the token of before is still good.
	second := cmdServe(t, args, env)
	status, body = cmdDo(t, http.MethodGet, second.URL+"api/messages", login.Token, nil)
	require.Equal(t, http.StatusOK, status, "with the same %s, a token survives a restart: %s", keyEnv, body)
	second.Stop(t)

	// No key: a random one, said so in the log, and the old token is refused.
	third := cmdServe(t, args, nil)
	require.Contains(t, third.Log(), keyEnv, "without %s the log says that tokens are signed with a random key", keyEnv)
	status, body = cmdDo(t, http.MethodGet, third.URL+"api/messages", login.Token, nil)
	require.Equal(t, http.StatusUnauthorized, status, "with another key, the token of before is refused: %s", body)
	third.Stop(t)

	for _, c := range []struct {
		args []string
		key  string
	}{
		{args, "abcdef"}, // 3 bytes
		{args, hex.EncodeToString(make([]byte, 16))},    // 16 bytes
		{args, "not a key at all!"},                     // neither hex nor base64
		{[]string{"-origin", "localhost:5173"}, ""},     // no scheme
		{[]string{"-ttl", "0s"}, ""},                    // a login must last
		{[]string{"-no-such-flag"}, ""},                 // unknown flag
		{[]string{"-addr", "127.0.0.1:0", "extra"}, ""}, // an argument
	} {
		err := run(context.Background(), c.args, func(string) string { return c.key }, io.Discard)
		require.Error(t, err, "run with %q and %s=%q", c.args, keyEnv, c.key)
	}
}
