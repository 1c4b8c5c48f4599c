package rawws

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
	"github.com/websocket-workbook/workbook/internal/peer"
)

// A browserReport is what testdata/browser.html POSTs to /report.
type browserReport struct {
	Text     bool     `json:"text"`
	Binary   bool     `json:"binary"`
	Big      bool     `json:"big"`
	Code     int      `json:"code"`
	Reason   string   `json:"reason"`
	WasClean bool     `json:"wasClean"`
	Errors   []string `json:"errors"`
}

// Headless Chromium's own WebSocket talks to a rawws server: the page
// (testdata/browser.html) sends text, binary and a 1 MiB message and checks
// the echoes byte for byte; then the server closes with 4001 and a reason,
// and the browser reports a clean close with that code and reason (RFC 6455
// §7.1.5, §7.1.6). Outside CI the test skips when Chromium is missing.
func TestChromiumTalksToRawwsServer(t *testing.T) {
	exercise.Start(t, "2.9")
	chrome := peer.Chromium(t)
	noLeaks(t)
	page, err := os.ReadFile("testdata/browser.html")
	require.NoError(t, err)

	reports := make(chan browserReport, 1)
	closed := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		var rep browserReport
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
			rep.Errors = append(rep.Errors, "bad report: "+err.Error())
		}
		select {
		case reports <- rep:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	})
	u := &Upgrader{ReadLimit: 2 << 20}
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, nil)
		if err != nil {
			closed <- err
			return
		}
		defer c.CloseNow()
		for range 1 << 20 { // until the connection ends
			op, p, err := c.ReadMessage()
			if err != nil {
				closed <- err
				return
			}
			if op == OpText && string(p) == "close-me" {
				closed <- c.Close(4001, "bye from rawws")
				return
			}
			if err := c.WriteMessage(op, p); err != nil {
				closed <- err
				return
			}
		}
	})
	s := newServer(t, mux)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chrome,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(),
		s.URL+"/")
	startBrowser(cmd) // in a process group of its own, all of which is killed at the end
	var out limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	require.NoError(t, cmd.Start(), "starting %s", chrome)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	defer func() {
		cancel() // kills the browser's process group
		<-waited
	}()

	var rep browserReport
	select {
	case rep = <-reports:
	case err := <-waited:
		t.Fatalf("Chromium exited (%v) before the page reported; its output:\n%s", err, out.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the page did not report within 60s; Chromium's output:\n%s", out.String())
	}
	assert.Empty(t, rep.Errors, "errors in the page")
	assert.True(t, rep.Text, "the echo of a text message, as the browser saw it")
	assert.True(t, rep.Binary, "the echo of a 256-byte ArrayBuffer, as the browser saw it")
	assert.True(t, rep.Big, "the echo of a 1 MiB ArrayBuffer, as the browser saw it")
	assert.Equal(t, 4001, rep.Code, "CloseEvent.code in the browser")
	assert.Equal(t, "bye from rawws", rep.Reason, "CloseEvent.reason in the browser")
	assert.True(t, rep.WasClean, "CloseEvent.wasClean: the closing handshake must complete and the server close TCP (RFC 6455 §7.1.1, §7.1.6)")
	assert.NoError(t, waitFor(t, closed, "the server's Close to return"), "the server's Close(4001)")
}
