package nodepeer

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/websocket-workbook/workbook/internal/peer"
)

// RedisNode is a Node socket.io server (npm socket.io 4.8.4) with
// @socket.io/redis-adapter 8.3.0 on the npm redis client, in its own
// process: the Node half of a cluster that Go servers join through the
// same Redis. The script, js/sioredis.js, lists what its clients may emit
// and the commands these methods send.
type RedisNode struct {
	t   testing.TB
	p   *proc
	url string
	uid string
	seq int

	mu     sync.Mutex
	queue  []json.RawMessage // reports not yet taken
	notify chan struct{}
}

// StartRedisNode starts the server on redisURL ("redis://127.0.0.1:PORT")
// and returns once it listens; opts are merged into new Server()'s
// options. The process is stopped and waited for in t.Cleanup.
//
// Node and the npm packages socket.io, @socket.io/redis-adapter and redis
// (`npm ci` at the module root) must be installed: if not, the test is
// skipped, or fails when CI=true.
func StartRedisNode(t testing.TB, redisURL string, opts map[string]any) *RedisNode {
	t.Helper()
	if peer.NodePackages(t, "socket.io", "redis") == "" {
		return nil
	}
	o, err := json.Marshal(opts)
	if err != nil || opts == nil {
		o = []byte("{}")
	}
	n := &RedisNode{t: t, notify: make(chan struct{}, 1)}
	p, ok := startNode(t, "sioredis.js", "@socket.io/redis-adapter", n.line, redisURL, string(o))
	if !ok {
		return nil
	}
	n.p = p
	var r struct {
		Port int    `json:"port"`
		UID  string `json:"uid"`
	}
	raw := n.WaitFor("listening", startup)
	if err := json.Unmarshal(raw, &r); err != nil || r.Port == 0 {
		t.Fatalf("nodepeer: sioredis.js reported %s", raw)
	}
	n.url, n.uid = fmt.Sprintf("http://127.0.0.1:%d", r.Port), r.UID
	return n
}

// URL is the server's base URL, for socket.io-client.
func (n *RedisNode) URL() string { return n.url }

// UID is its adapter's uid, the name it goes by on the channels.
func (n *RedisNode) UID() string { return n.uid }

func (n *RedisNode) line(_ *proc, b []byte) {
	n.mu.Lock()
	n.queue = append(n.queue, append(json.RawMessage(nil), b...))
	n.mu.Unlock()
	select {
	case n.notify <- struct{}{}:
	default:
	}
}

// Send gives the script a command (see js/sioredis.js) and returns the
// seq it was given, which the command's report carries.
func (n *RedisNode) Send(cmd map[string]any) int {
	n.t.Helper()
	n.seq++
	cmd["seq"] = n.seq
	if a, ok := cmd["args"].([]any); ok {
		cmd["args"] = wireArgs(a)
	}
	if err := n.p.send(cmd); err != nil {
		n.t.Fatalf("sioredis.js: sending %v: %v (%s)", cmd["cmd"], err, n.p.status())
	}
	return n.seq
}

// Call sends a command and waits for its report (of kind), which it
// returns as JSON.
func (n *RedisNode) Call(kind string, cmd map[string]any) json.RawMessage {
	n.t.Helper()
	seq := n.Send(cmd)
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw := n.WaitFor(kind, time.Until(deadline))
		var r struct {
			Seq int `json:"seq"`
		}
		if json.Unmarshal(raw, &r) == nil && r.Seq == seq {
			return raw
		}
	}
}

// Done returns once every command sent before it has run (the commands
// that report nothing, such as socketsJoin, included).
func (n *RedisNode) Done() {
	n.t.Helper()
	n.Call("done", map[string]any{"cmd": "done"})
}

// WaitFor returns the next report of kind, skipping others, failing the
// test after within. A report of kind "error" fails it at once.
func (n *RedisNode) WaitFor(kind string, within time.Duration) json.RawMessage {
	n.t.Helper()
	deadline := time.Now().Add(within)
	for {
		n.mu.Lock()
		for i, raw := range n.queue {
			var r struct {
				Kind    string `json:"kind"`
				Message string `json:"message"`
			}
			_ = json.Unmarshal(raw, &r)
			if r.Kind == "error" {
				n.mu.Unlock()
				n.t.Fatalf("sioredis.js: %s\nstderr:\n%s", r.Message, n.p.stderr.String())
			}
			if r.Kind == kind {
				n.queue = append(n.queue[:i:i], n.queue[i+1:]...)
				n.mu.Unlock()
				return raw
			}
		}
		n.mu.Unlock()
		left := time.Until(deadline)
		if left <= 0 {
			n.t.Fatalf("sioredis.js: no %q report within %v (%s)", kind, within, n.p.status())
		}
		select {
		case <-n.notify:
		case <-n.p.done:
			n.t.Fatalf("sioredis.js: exited before a %q report: %s", kind, n.p.status())
		case <-time.After(left):
		}
	}
}

// Close stops the process (killing it after a short grace period) and
// waits for it. t.Cleanup calls it; calling it earlier is fine.
func (n *RedisNode) Close() { n.p.stop() }
