package nodepeer

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// SIOServer is Node's socket.io server (npm socket.io 4.8.4) on 127.0.0.1,
// started in its own process: a real, independent server for the Go client
// to be tested against, and the baseline of the benchmarks.
//
// It serves every namespace ("/" and any other) the same way:
//
//   - a connection middleware refuses a client whose auth.token is "bad",
//     with message "refused" and data {"why": "bad token"};
//   - every event E is echoed back to the sender as "echo:E" with the same
//     arguments, and an ack the sender asked for is answered with them;
//   - "broadcast" is also sent to every client of the namespace;
//   - "ask" (name, args...) makes the server emit name with args to the
//     sender with an ack callback (5 s timeout), then emit "answer" with
//     the reply's arguments, or "answer_timeout" with the error message;
//   - "info" is answered with an "info" event carrying
//     {"id", "nsp", "transport", "auth"} as the server sees them, and
//     "whoami" with a "you" event carrying {"id", "recovered", "rooms"};
//   - "join" (room) puts the sender in room, and "toRoom" (room, args...)
//     emits "room" with args to everyone in room;
//   - "bye" makes the server disconnect the sender ("io server disconnect");
//   - a client that connected over HTTP long-polling is sent "upgraded"
//     ("websocket") when its connection upgrades.
type SIOServer struct {
	p   *proc
	url string
}

// startup bounds how long Node may take to start listening (it loads
// socket.io first, which takes a moment on a busy machine).
const startup = 15 * time.Second

// StartSIOServer starts the server and returns once it listens. The
// process is stopped and waited for in t.Cleanup.
//
// Node and the npm package socket.io (`npm ci` at the module root) must be
// installed: if not, the test is skipped, or fails when CI=true.
func StartSIOServer(t testing.TB) *SIOServer {
	t.Helper()
	return StartSIOServerWith(t, nil)
}

// StartSIOServerWith is StartSIOServer with opts merged into the options of
// socket.io's new Server(), e.g. map[string]any{"connectionStateRecovery":
// map[string]any{"maxDisconnectionDuration": 120000}}.
func StartSIOServerWith(t testing.TB, opts map[string]any) *SIOServer {
	t.Helper()
	o, err := json.Marshal(opts)
	if err != nil || opts == nil {
		o = []byte("{}")
	}
	ready := make(chan int, 1)
	s := &SIOServer{}
	first := true
	p, ok := startNode(t, "sioserver.js", "socket.io", func(p *proc, b []byte) {
		if first {
			first = false
			var r struct {
				Kind string `json:"kind"`
				Port int    `json:"port"`
			}
			if json.Unmarshal(b, &r) == nil && r.Kind == "listening" && r.Port > 0 {
				ready <- r.Port
				return
			}
		}
		// Anything else the script says (an "error" report) goes with its
		// stderr to the log of a failed test.
		_, _ = p.stderr.Write(append(append([]byte("stdout: "), b...), '\n'))
	}, string(o))
	if !ok {
		return nil
	}
	s.p = p
	timer := time.NewTimer(startup)
	defer timer.Stop()
	select {
	case port := <-ready:
		s.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	case <-p.done:
		t.Fatalf("nodepeer: socket.io server did not start: %s", p.status())
	case <-timer.C:
		t.Fatalf("nodepeer: socket.io server did not listen within %v; stderr:\n%s", startup, p.stderr.String())
	}
	return s
}

// URL returns the server's base URL, "http://127.0.0.1:PORT"; a client
// adds the namespace ("/admin") to it.
func (s *SIOServer) URL() string { return s.url }

// Close closes every connection, ends the process (killing it after a
// short grace period) and waits for it. It is called by t.Cleanup; calling
// it earlier, or again, is fine.
func (s *SIOServer) Close() { s.p.stop() }
