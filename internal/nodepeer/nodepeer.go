package nodepeer

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/websocket-workbook/workbook/internal/peer"
)

// The scripts Node runs. They are embedded so that a test in any package
// directory (or in a copy of the tree) finds them.
//
//go:embed js/*.js
var scripts embed.FS

// grace is how long a stopped process has to exit on its own before it is
// killed.
const grace = 3 * time.Second

// A Report is one thing the Node side saw, as a JSON line on its stdout.
type Report struct {
	Kind      string            `json:"kind"`                // "connect", "connect_error", "disconnect", "event", "ack", "error"
	Event     string            `json:"event,omitempty"`     // for "event": the event name
	Args      []json.RawMessage `json:"args,omitempty"`      // for "event" and "ack": the arguments; a Buffer/ArrayBuffer arrives as {"$binary":"<base64>"}
	ID        string            `json:"id,omitempty"`        // for "connect": socket.id
	Recovered bool              `json:"recovered,omitempty"` // for "connect": socket.recovered
	Message   string            `json:"message,omitempty"`   // for "connect_error": err.message; for "error": the failure
	Data      json.RawMessage   `json:"data,omitempty"`      // for "connect_error": err.data
	Reason    string            `json:"reason,omitempty"`    // for "disconnect": the reason
	Seq       int               `json:"seq,omitempty"`       // for "ack": the sequence number of the EmitWithAck it answers
}

// String returns the report as the JSON line Node wrote, for messages.
func (r Report) String() string {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Sprintf("%+v", struct{ Report }{r})
	}
	return string(b)
}

// Binary decodes a {"$binary": "..."} argument; ok is false for anything
// else.
func Binary(arg json.RawMessage) ([]byte, bool) {
	var v map[string]json.RawMessage
	if err := json.Unmarshal(arg, &v); err != nil || len(v) != 1 {
		return nil, false
	}
	raw, ok := v["$binary"]
	if !ok {
		return nil, false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	return b, true
}

// wire prepares a value for the Node side: every []byte in it (at the top,
// or inside a map[string]any or []any) becomes {"$binary": base64}, which
// the script turns into a Buffer. A json.RawMessage is sent as the JSON it
// holds.
func wire(v any) any {
	switch v := v.(type) {
	case []byte:
		return map[string]string{"$binary": base64.StdEncoding.EncodeToString(v)}
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = wire(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = wire(x)
		}
		return out
	}
	return v
}

// wireArgs is wire for an argument list; it is never nil, so it encodes as
// [] rather than null.
func wireArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = wire(a)
	}
	return out
}

// A proc is one Node process running one of the scripts, with its pipes.
type proc struct {
	t      testing.TB
	name   string // the script, for messages
	cmd    *exec.Cmd
	stderr logBuffer

	sendMu sync.Mutex
	stdin  io.WriteCloser

	done    chan struct{} // closed when stdout is drained and the process waited for
	waitErr error         // cmd.Wait's error; read only after done

	stopOnce sync.Once
	killed   bool // the process had to be killed; read only after stop
}

// startNode checks what script needs (the npm package pkg), writes the
// scripts to a temporary directory and starts Node on script with args.
// Every line the script writes to stdout is given to line (with the proc),
// in order, on one goroutine, which returns once the process has ended.
// The process is stopped in t.Cleanup. ok is false when a requirement is
// missing (and t was skipped or failed).
func startNode(t testing.TB, script, pkg string, line func(*proc, []byte), args ...string) (p *proc, ok bool) {
	t.Helper()
	root, err := peer.ModuleRoot()
	if err != nil {
		t.Fatalf("nodepeer: finding the module root (where package.json and node_modules are): %v", err)
		return nil, false
	}
	node := peer.NodePackagesIn(t, root, pkg)
	if node == "" {
		return nil, false
	}
	dir := t.TempDir()
	entries, err := scripts.ReadDir("js")
	if err != nil {
		t.Fatalf("nodepeer: %v", err)
	}
	for _, e := range entries {
		b, err := scripts.ReadFile("js/" + e.Name())
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644)
		}
		if err != nil {
			t.Fatalf("nodepeer: writing %s: %v", e.Name(), err)
		}
	}

	modules := filepath.Join(root, "node_modules")
	if old := os.Getenv("NODE_PATH"); old != "" {
		modules += string(filepath.ListSeparator) + old
	}
	cmd := exec.Command(node, append([]string{filepath.Join(dir, script)}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "NODEPEER_ROOT="+root, "NODE_PATH="+modules)
	cmd.WaitDelay = time.Second // bounds Wait if something else holds stderr open
	p = &proc{t: t, name: script, cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &p.stderr
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatalf("nodepeer: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("nodepeer: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("nodepeer: starting %s %s: %v", node, script, err)
	}
	go p.read(stdout, line)
	t.Cleanup(p.cleanup)
	return p, true
}

// read hands each stdout line to line until EOF, then waits for the
// process.
func (p *proc) read(stdout io.Reader, line func(*proc, []byte)) {
	defer close(p.done)
	r := bufio.NewReaderSize(stdout, 64<<10)
	for {
		b, err := r.ReadBytes('\n')
		if b = bytes.TrimSpace(b); len(b) > 0 {
			line(p, b)
		}
		if err != nil {
			break
		}
	}
	p.waitErr = p.cmd.Wait()
}

// send writes v to the script as one JSON line.
func (p *proc) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	_, err = p.stdin.Write(append(b, '\n'))
	return err
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop closes stdin, which asks the script to finish; if it has not ended
// after grace it is killed. It returns when the process has been waited for.
func (p *proc) stop() {
	p.stopOnce.Do(func() {
		p.sendMu.Lock()
		p.stdin.Close()
		p.sendMu.Unlock()
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-p.done:
		case <-timer.C:
			p.killed = true
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// cleanup stops the process; a process that died on its own (not stopped
// by us) fails the test, and a failed test gets Node's stderr in its log.
func (p *proc) cleanup() {
	p.stop()
	switch {
	case p.killed:
		p.t.Logf("nodepeer: %s did not exit within %v of its stdin closing, and was killed", p.name, grace)
	case p.waitErr != nil:
		p.t.Errorf("nodepeer: node %s: %v", p.name, p.waitErr)
	}
	if p.t.Failed() {
		if s := p.stderr.String(); s != "" {
			p.t.Logf("nodepeer: stderr of node %s:\n%s", p.name, s)
		}
	}
}

// status describes how the process ended, with its stderr, for a test that
// fails because it ended.
func (p *proc) status() string {
	var b strings.Builder
	fmt.Fprintf(&b, "node %s has exited", p.name)
	if p.waitErr != nil {
		fmt.Fprintf(&b, " (%v)", p.waitErr)
	}
	if s := strings.TrimSpace(p.stderr.String()); s != "" {
		fmt.Fprintf(&b, "; its stderr:\n%s", s)
	}
	return b.String()
}

// A logBuffer is a bytes.Buffer safe for the goroutine exec copies stderr
// on and the test reading it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// maxLog bounds what a logBuffer keeps: a chatty process cannot grow the
// test's memory without bound.
const maxLog = 1 << 20

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := maxLog - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
