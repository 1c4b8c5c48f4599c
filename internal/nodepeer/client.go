package nodepeer

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// SIOClient is an npm socket.io-client running in its own Node process.
//
// Its methods are meant for the test's goroutine: the ones that fail the
// test do so with t.Fatalf.
type SIOClient struct {
	t   testing.TB
	url string
	p   *proc
	seq atomic.Int64

	mu     sync.Mutex
	queue  []Report      // reports not yet taken by Next or WaitFor
	seen   []Report      // the last maxSeen reports taken, for failure messages
	notify chan struct{} // signalled (capacity 1) when queue grows
}

// maxSeen is how many past reports a failure message lists.
const maxSeen = 50

// StartSIOClient starts Node with io(url, opts) (opts is socket.io-client's
// options object, e.g. map[string]any{"transports": []string{"websocket"},
// "auth": map[string]any{"token": "t"}, "autoConnect": false,
// "reconnection": false}); a namespace is part of url
// ("http://127.0.0.1:1234/admin"). It registers a listener that reports
// connect, connect_error, disconnect, and every event (socket.onAny) as
// Reports. The process is killed and waited for in t.Cleanup.
//
// Node and the npm package socket.io-client (`npm ci` at the module root)
// must be installed: if not, the test is skipped, or fails when CI=true.
func StartSIOClient(t testing.TB, url string, opts map[string]any) *SIOClient {
	t.Helper()
	if opts == nil {
		opts = map[string]any{}
	}
	o, err := json.Marshal(opts)
	if err != nil {
		t.Fatalf("nodepeer: socket.io-client options %v: %v", opts, err)
	}
	c := &SIOClient{t: t, url: url, notify: make(chan struct{}, 1)}
	p, ok := startNode(t, "sioclient.js", "socket.io-client", c.line, url, string(o))
	if !ok {
		return nil
	}
	c.p = p
	return c
}

// line takes one line of the script's stdout.
func (c *SIOClient) line(_ *proc, b []byte) {
	var r Report
	if err := json.Unmarshal(b, &r); err != nil || r.Kind == "" {
		r = Report{Kind: "error", Message: fmt.Sprintf("not a report on stdout: %q", b)}
	}
	c.mu.Lock()
	c.queue = append(c.queue, r)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// send gives the script a command, failing the test if it cannot.
func (c *SIOClient) send(cmd map[string]any) {
	c.t.Helper()
	if err := c.p.send(cmd); err != nil {
		if c.p.exited() {
			c.t.Fatalf("socket.io-client (%s): sending %v: %s", c.url, cmd["cmd"], c.p.status())
		}
		c.t.Fatalf("socket.io-client (%s): sending %v: %v (was the client closed?)", c.url, cmd["cmd"], err)
	}
}

// Connect calls socket.connect(): for a client started with autoConnect
// false, or to connect again after Disconnect.
func (c *SIOClient) Connect() {
	c.t.Helper()
	c.send(map[string]any{"cmd": "connect"})
}

// Disconnect calls socket.disconnect(); the client reports a disconnect
// with reason "io client disconnect".
func (c *SIOClient) Disconnect() {
	c.t.Helper()
	c.send(map[string]any{"cmd": "disconnect"})
}

// Emit calls socket.emit(event, ...args). The args are sent as JSON, except
// that []byte values (also inside map[string]any and []any) become Buffers,
// which socket.io sends as binary attachments.
func (c *SIOClient) Emit(event string, args ...any) {
	c.t.Helper()
	c.send(map[string]any{"cmd": "emit", "event": event, "args": wireArgs(args)})
}

// EmitWithAck calls socket.emit(event, ...args, ack), the args as for
// Emit, and returns the sequence number of this call: when the server calls
// the ack, the client reports {Kind: "ack", Seq: seq, Args: the reply}.
// No timeout is set on the Node side; the deadline is the one given to
// Next or WaitFor.
func (c *SIOClient) EmitWithAck(event string, args ...any) int {
	c.t.Helper()
	seq := int(c.seq.Add(1))
	c.send(map[string]any{"cmd": "emitWithAck", "event": event, "args": wireArgs(args), "seq": seq})
	return seq
}

// AnswerAcks makes the client answer acks: from now on, when the server
// emits event with an ack callback, the client calls it with reply (args as
// for Emit). The event is reported as usual, before it is answered. An
// event with an ack callback that has no answer is not acknowledged.
func (c *SIOClient) AnswerAcks(event string, reply ...any) {
	c.t.Helper()
	c.send(map[string]any{"cmd": "answerAcks", "event": event, "reply": wireArgs(reply)})
}

// DropTransport calls socket.io.engine.close(): the Engine.IO connection
// closes as if the network had dropped it. The socket is not told to
// disconnect; it reports a disconnect with reason "forced close" (the
// server sees the WebSocket close: "transport close"), and its Manager
// reconnects unless the client was started with reconnection
// false. A server with connection state recovery then gives the socket its
// session back (Report.Recovered on the next connect).
func (c *SIOClient) DropTransport() {
	c.t.Helper()
	c.send(map[string]any{"cmd": "dropTransport"})
}

// Next returns the next report. It fails the test, listing the reports
// seen so far, when none comes within `within` or the process has ended.
func (c *SIOClient) Next(within time.Duration) Report {
	c.t.Helper()
	r, err := c.next(time.Now().Add(within))
	if err != nil {
		c.t.Fatalf("socket.io-client (%s): waited %v for the next report: %s%s", c.url, within, c.why(err), c.history())
	}
	return r
}

// WaitFor returns the next report of this kind ("connect", "event", ...)
// and, when event is not "", for this event name, skipping other reports.
// It fails the test when none comes within `within`, listing the reports it
// saw; it fails at once on a report of kind "error" (the script failed)
// unless that is the kind asked for.
func (c *SIOClient) WaitFor(kind, event string, within time.Duration) Report {
	c.t.Helper()
	want := kind
	if event != "" {
		want = fmt.Sprintf("%s %q", kind, event)
	}
	deadline := time.Now().Add(within)
	for {
		r, err := c.next(deadline)
		if err != nil {
			c.t.Fatalf("socket.io-client (%s): waited %v for %s: %s%s", c.url, within, want, c.why(err), c.history())
			return Report{}
		}
		if r.Kind == kind && (event == "" || r.Event == event) {
			return r
		}
		if r.Kind == "error" {
			c.t.Fatalf("socket.io-client (%s): waiting for %s, the Node side failed: %s%s", c.url, want, r.Message, c.history())
			return Report{}
		}
	}
}

// errTimeout is what next returns when the deadline passes.
type errTimeout struct{}

func (errTimeout) Error() string { return "timed out" }

// next takes the next report, waiting until deadline. It returns an error
// when the deadline passes or the process has ended with nothing left.
func (c *SIOClient) next(deadline time.Time) (Report, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			r := c.queue[0]
			c.queue[0] = Report{}
			c.queue = c.queue[1:]
			c.seen = append(c.seen, r)
			if len(c.seen) > maxSeen {
				c.seen = c.seen[len(c.seen)-maxSeen:]
			}
			c.mu.Unlock()
			return r, nil
		}
		c.mu.Unlock()
		// The reader queues every line before it closes done, so an ended
		// process with an empty queue has nothing more to say.
		if c.p.exited() {
			c.mu.Lock()
			n := len(c.queue)
			c.mu.Unlock()
			if n == 0 {
				return Report{}, fmt.Errorf("%s", c.p.status())
			}
			continue
		}
		select {
		case <-c.notify:
		case <-c.p.done:
		case <-timer.C:
			return Report{}, errTimeout{}
		}
	}
}

// why explains a failed wait.
func (c *SIOClient) why(err error) string {
	if _, ok := err.(errTimeout); ok {
		return "none came"
	}
	return err.Error()
}

// history lists the reports taken so far.
func (c *SIOClient) history() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) == 0 {
		return "\nno reports seen so far"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nreports seen so far (oldest first, at most %d):", maxSeen)
	for _, r := range c.seen {
		fmt.Fprintf(&b, "\n\t%s", r)
	}
	return b.String()
}

// Close disconnects the socket, ends the process (killing it after a short
// grace period) and waits for it. Reports that came before it ended can
// still be read with Next and WaitFor. Close is called by t.Cleanup; calling
// it earlier, or again, is fine.
func (c *SIOClient) Close() {
	c.p.stop()
}
