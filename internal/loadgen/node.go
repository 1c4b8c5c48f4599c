package loadgen

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/websocket-workbook/workbook/internal/peer"
)

//go:embed js/bcastserver.js
var bcastServerJS []byte

// NodeMem is process.memoryUsage() of the Node server, in bytes, with
// MaxRSS, the peak resident set so far (process.resourceUsage), and the
// CPU time the process has used.
type NodeMem struct {
	RSS          int64 `json:"rss"`
	HeapTotal    int64 `json:"heapTotal"`
	HeapUsed     int64 `json:"heapUsed"`
	External     int64 `json:"external"`
	ArrayBuffers int64 `json:"arrayBuffers"`
	MaxRSS       int64 `json:"maxRSS"`
	CPUNs        int64 `json:"cpuNs"` // user+system CPU time of the process so far (process.cpuUsage)
}

// NodeReport is one JSON line of js/bcastserver.js.
type NodeReport struct {
	Kind    string  `json:"kind"` // "listening", "emitted", "mem", "drained", "error"
	Port    int     `json:"port,omitempty"`
	Count   int     `json:"count,omitempty"`
	Ns      int64   `json:"ns,omitempty"`
	Ms      int64   `json:"ms,omitempty"`
	Clients int     `json:"clients,omitempty"`
	Mem     NodeMem `json:"mem"`
	Message string  `json:"message,omitempty"`
}

// A NodeServer is Node's socket.io server (npm socket.io, js/bcastserver.js)
// on 127.0.0.1, in its own process, driven over its stdin and stdout.
type NodeServer struct {
	URL string // http://127.0.0.1:PORT

	cmd     *exec.Cmd
	dir     string
	stdin   io.WriteCloser
	reports chan NodeReport
	done    chan struct{}
	waitErr error
	once    sync.Once

	mu     sync.Mutex
	stderr bytes.Buffer
}

// StartNodeServer starts js/bcastserver.js and returns once it listens.
// Node and the npm package socket.io (`npm ci` at the module root) must be
// there: if not, t is skipped (or failed with CI=true, see package peer) and
// StartNodeServer returns nil, nil. Close the server when done.
func StartNodeServer(t peer.TB) (*NodeServer, error) {
	t.Helper()
	return StartClusterNode(t, "")
}

// StartClusterNode is StartNodeServer for one node of a cluster on the
// Redis at redisURL ("redis://127.0.0.1:PORT"), with @socket.io/redis-adapter
// (which, and the npm redis, must be installed too); "" is StartNodeServer.
func StartClusterNode(t peer.TB, redisURL string) (*NodeServer, error) {
	t.Helper()
	root, err := peer.ModuleRoot()
	if err != nil {
		return nil, err
	}
	pkgs := []string{"socket.io"}
	if redisURL != "" {
		pkgs = append(pkgs, "@socket.io/redis-adapter", "redis")
	}
	node := peer.NodePackagesIn(t, root, pkgs...)
	if node == "" {
		return nil, nil
	}
	dir, err := os.MkdirTemp("", "loadgen-node-")
	if err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "bcastserver.js")
	if err := os.WriteFile(script, bcastServerJS, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	modules := filepath.Join(root, "node_modules")
	if old := os.Getenv("NODE_PATH"); old != "" {
		modules += string(filepath.ListSeparator) + old
	}
	args := []string{"--expose-gc", script}
	if redisURL != "" {
		args = append(args, redisURL)
	}
	cmd := exec.Command(node, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "LOADGEN_ROOT="+root, "NODE_PATH="+modules)
	cmd.WaitDelay = time.Second
	s := &NodeServer{cmd: cmd, dir: dir, reports: make(chan NodeReport, 64), done: make(chan struct{})}
	cmd.Stderr = (*nodeStderr)(s)
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("loadgen: starting %s: %w", node, err)
	}
	go s.read(stdout)
	r, err := s.Next(30 * time.Second)
	if err == nil && (r.Kind != "listening" || r.Port == 0) {
		err = fmt.Errorf("loadgen: bcastserver.js: %s %s", r.Kind, r.Message)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", r.Port)
	return s, nil
}

type nodeStderr NodeServer

func (w *nodeStderr) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stderr.Len() < 1<<20 {
		w.stderr.Write(b)
	}
	return len(b), nil
}

func (s *NodeServer) read(stdout io.Reader) {
	defer close(s.done)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r NodeReport
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			r = NodeReport{Kind: "error", Message: fmt.Sprintf("unexpected output %q", sc.Text())}
		}
		select {
		case s.reports <- r:
		case <-time.After(time.Minute): // nobody reads: drop it rather than hang
		}
	}
	s.waitErr = s.cmd.Wait()
}

// Send writes one command to the script.
func (s *NodeServer) Send(cmd map[string]any) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	_, err = s.stdin.Write(append(b, '\n'))
	return err
}

// Next returns the script's next report, waiting at most d. An "error"
// report is returned as an error.
func (s *NodeServer) Next(d time.Duration) (NodeReport, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-s.reports:
		if r.Kind == "error" {
			return r, fmt.Errorf("loadgen: bcastserver.js: %s", r.Message)
		}
		return r, nil
	case <-s.done:
		return NodeReport{}, fmt.Errorf("loadgen: bcastserver.js ended (%v); stderr: %s", s.waitErr, s.Stderr())
	case <-t.C:
		return NodeReport{}, fmt.Errorf("loadgen: no report from bcastserver.js within %v", d)
	}
}

// Emit makes the server emit count "tick" events {seq, payload} to every
// client, seq counting up from seq. With reply, it returns the script's
// "emitted" report (the loop's time, memory right after it).
func (s *NodeServer) Emit(count int, seq int64, payload string, reply bool) (NodeReport, error) {
	if err := s.Send(map[string]any{"cmd": "emit", "count": count, "seq": seq, "payload": payload, "reply": reply}); err != nil {
		return NodeReport{}, err
	}
	if !reply {
		return NodeReport{}, nil
	}
	return s.Next(time.Minute)
}

// Mem returns the server's memory and number of clients, after a full
// garbage collection when gc is set.
func (s *NodeServer) Mem(gc bool) (NodeReport, error) {
	if err := s.Send(map[string]any{"cmd": "mem", "gc": gc}); err != nil {
		return NodeReport{}, err
	}
	return s.Next(time.Minute)
}

// Drain returns once the server has nothing left to write (at most 60 s),
// with its memory at that moment.
func (s *NodeServer) Drain() (NodeReport, error) {
	if err := s.Send(map[string]any{"cmd": "drain"}); err != nil {
		return NodeReport{}, err
	}
	return s.Next(70 * time.Second)
}

// Stderr returns what Node wrote on its stderr.
func (s *NodeServer) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimSpace(s.stderr.String())
}

// Close closes the script's stdin, which makes it close every connection
// and exit; it is killed after 5 s if it has not. Close waits for it.
func (s *NodeServer) Close() error {
	s.once.Do(func() {
		_ = s.stdin.Close()
		t := time.NewTimer(5 * time.Second)
		defer t.Stop()
	wait:
		for {
			select {
			case <-s.done:
				break wait
			case <-s.reports:
			case <-t.C:
				_ = s.cmd.Process.Kill()
			}
		}
		os.RemoveAll(s.dir)
	})
	return s.waitErr
}
