package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/websocket-workbook/workbook/internal/nodepeer"
)

// cmdTimeout bounds every wait of these tests.
const cmdTimeout = 15 * time.Second

// A running is the command, run in a goroutine with its log read line by
// line.
type running struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan error
	lines  chan string
	log    []string
	url    string // the page's URL, from the log line that says it is serving
}

// start runs the command with args until the test ends (or stop), and
// waits for the log line with the URL.
func start(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	outR, outW := io.Pipe()
	r := &running{t: t, cancel: cancel, done: make(chan error, 1), lines: make(chan string, 64)}
	go func() {
		err := run(ctx, args, outW)
		_ = outW.Close()
		r.done <- err
	}()
	go func() {
		defer close(r.lines)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
	}()
	urlRE := regexp.MustCompile(`url=(http://\S+)`)
	for r.url == "" {
		if m := urlRE.FindStringSubmatch(r.next("the log line with url=")); m != nil {
			r.url = m[1]
		}
	}
	return r
}

// next is the next line of the log.
func (r *running) next(what string) string {
	r.t.Helper()
	select {
	case l, ok := <-r.lines:
		if !ok {
			r.t.Fatalf("waiting for %s: the command ended (%v); its log:\n%s", what, <-r.done, strings.Join(r.log, "\n"))
		}
		r.log = append(r.log, l)
		return l
	case <-time.After(cmdTimeout):
		r.t.Fatalf("waiting for %s: nothing within %v; the log so far:\n%s", what, cmdTimeout, strings.Join(r.log, "\n"))
	}
	return ""
}

// The command serves the chat page and the API on the address it is given,
// logs the URL to open, and on cancellation (what SIGINT and SIGTERM do)
// shuts down gracefully and returns nil. Bad flags are errors.
func TestRunServesAndStops(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })

	db := filepath.Join(t.TempDir(), "chat.db")
	r := start(t, "-addr", "127.0.0.1:0", "-db", db, "-origin", "http://app.example, http://localhost:5173")
	url, lines, done, cancel := r.url, r.lines, r.done, r.cancel
	log := r.log
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:") && strings.HasSuffix(url, "/"), "the URL to open, got %q", url)

	client := &http.Client{Timeout: cmdTimeout}
	for _, path := range []string{"", "api/messages"} {
		resp, err := client.Get(url + path)
		require.NoError(t, err, "GET %s", url+path)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", url+path, body)
	}
	client.CloseIdleConnections()

	cancel() // as SIGINT would
	deadline := time.After(cmdTimeout)
	var runErr error
	for finished := false; !finished; {
		select {
		case l, ok := <-lines:
			if ok {
				log = append(log, l)
			} else {
				lines = nil // run has closed its output; done comes next
			}
		case runErr = <-done:
			finished = true
		case <-deadline:
			t.Fatalf("run did not return within %v of its context's end; its log:\n%s", cmdTimeout, strings.Join(log, "\n"))
		}
	}
	if lines != nil {
		for l := range lines { // what is left of the log: run has closed it
			log = append(log, l)
		}
	}
	require.NoError(t, runErr, "run returns nil after a graceful shutdown; its log:\n%s", strings.Join(log, "\n"))
	require.Contains(t, strings.Join(log, "\n"), "shutting down", "the log says the server is shutting down")
	_, err := os.Stat(db)
	require.NoError(t, err, "the database file %s exists", db)

	// Bad flags are errors, not a server with a surprising configuration.
	for _, args := range [][]string{
		{"-origin", "localhost:5173"},         // no scheme
		{"-origin", "http://localhost:5173/"}, // a path
		{"-no-such-flag"},
		{"-addr", "127.0.0.1:0", "extra"},
		{"-recovery", "-1s"},
	} {
		require.Error(t, run(context.Background(), args, io.Discard), "run with %q", args)
	}
}

// The command turns connection state recovery on: the npm client whose
// connection drops comes back with the same socket.id, socket.recovered
// true, and the message saved meanwhile, once; as it does against Node's
// socket.io with connectionStateRecovery (internal/nodepeer's
// TestRecoveryAgainstNodeSocketIO).
func TestRunRecoversADroppedClient(t *testing.T) {
	r := start(t, "-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "chat.db"))
	require.Contains(t, strings.Join(r.log, "\n"), "recovery=2m0s", "recovery is on by default, for 2 minutes")
	base := strings.TrimSuffix(r.url, "/")
	// The transports socket.io-client starts with: long-polling, then the
	// upgrade to WebSocket.
	opts := map[string]any{"reconnectionDelay": 500, "randomizationFactor": 0}
	ana := nodepeer.StartSIOClient(t, base, opts)
	bob := nodepeer.StartSIOClient(t, base, opts)
	first := ana.WaitFor("connect", "", cmdTimeout)
	bob.WaitFor("connect", "", cmdTimeout)

	bob.Emit("send-message", map[string]any{"author": "bob", "text": "before"})
	ana.WaitFor("event", "message-saved", cmdTimeout)
	bob.WaitFor("event", "message-saved", cmdTimeout)

	ana.DropTransport()
	ana.WaitFor("disconnect", "", cmdTimeout)
	bob.Emit("send-message", map[string]any{"author": "bob", "text": "while ana was away"})
	bob.WaitFor("event", "message-saved", cmdTimeout)

	var got []string
	var back nodepeer.Report
	for back.Kind != "connect" {
		back = ana.Next(cmdTimeout)
		switch back.Kind {
		case "event":
			var saved struct {
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
			}
			require.NoError(t, json.Unmarshal(back.Args[0], &saved))
			got = append(got, back.Event+":"+saved.Message.Text)
		default:
			got = append(got, back.Kind)
		}
	}
	require.Equal(t, []string{"message-saved:while ana was away", "connect"}, got, "the message saved while ana was away, once, and then connect")
	require.True(t, back.Recovered, "socket.recovered")
	require.Equal(t, first.ID, back.ID, "socket.id is the same")

	bob.Emit("send-message", map[string]any{"author": "bob", "text": "after"})
	r2 := ana.WaitFor("event", "message-saved", cmdTimeout)
	require.Contains(t, string(r2.Args[0]), `"text":"after"`, "and the chat goes on")
}
