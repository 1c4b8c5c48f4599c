package main

import (
	"bufio"
	"context"
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
)

// cmdTimeout bounds every wait of these tests.
const cmdTimeout = 15 * time.Second

// The command serves the chat page and the API on the address it is given,
// logs the URL to open, and on cancellation (what SIGINT and SIGTERM do)
// shuts down gracefully and returns nil. Bad flags are errors.
func TestRunServesAndStops(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })

	db := filepath.Join(t.TempDir(), "chat.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0", "-db", db, "-origin", "http://app.example, http://localhost:5173"}, outW)
		_ = outW.Close()
		done <- err
	}()

	// Read the log line by line; the URL comes in the line that says it
	// is serving.
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var log []string
	next := func(what string) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("waiting for %s: the command ended (%v); its log:\n%s", what, <-done, strings.Join(log, "\n"))
			}
			log = append(log, l)
			return l
		case <-time.After(cmdTimeout):
			t.Fatalf("waiting for %s: nothing within %v; the log so far:\n%s", what, cmdTimeout, strings.Join(log, "\n"))
		}
		return ""
	}
	urlRE := regexp.MustCompile(`url=(http://\S+)`)
	var url string
	for url == "" {
		if m := urlRE.FindStringSubmatch(next("the log line with url=")); m != nil {
			url = m[1]
		}
	}
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
	} {
		require.Error(t, run(context.Background(), args, io.Discard), "run with %q", args)
	}
}
