package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/nodepeer"
	"github.com/websocket-workbook/workbook/internal/peer"
	"github.com/websocket-workbook/workbook/internal/redisserver"
)

// cmdTimeout bounds every wait of these tests.
const cmdTimeout = 15 * time.Second

// childArgs, in the environment, makes the test binary be the command: the
// tests start the chat as separate processes, as an operator would, and
// this is how they run it without building it first.
const childArgs = "CHAT_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if raw := os.Getenv(childArgs); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintln(os.Stderr, "chat (test child):", err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, args, os.Stdout)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "chat:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A process is one chat server, a child process of the test.
type process struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	done chan error

	mu  sync.Mutex
	log []string
}

// startProcess runs the command with args in its own process and waits for
// the log line that says where it serves.
func startProcess(t *testing.T, name string, args ...string) *process {
	t.Helper()
	raw, err := json.Marshal(args)
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgs+"="+string(raw))
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &process{t: t, cmd: cmd, done: make(chan error, 1)}
	cmd.Stderr = &lineWriter{p: p, prefix: "stderr: "}
	require.NoError(t, cmd.Start(), "starting %s", name)
	urls := make(chan string, 1)
	go func() {
		urlRE := regexp.MustCompile(`url=(http://\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.add(sc.Text())
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- strings.TrimSuffix(m[1], "/"):
				default:
				}
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() { p.stop() })
	select {
	case p.url = <-urls:
	case err := <-p.done:
		t.Fatalf("%s exited before it served (%v); its log:\n%s", name, err, p.logText())
	case <-time.After(cmdTimeout):
		t.Fatalf("%s did not serve within %v; its log:\n%s", name, cmdTimeout, p.logText())
	}
	return p
}

func (p *process) add(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, line)
}

func (p *process) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

// stop sends SIGTERM, as a process manager does, and returns the exit
// error (nil for a clean exit). Calling it again returns nil.
func (p *process) stop() error {
	if p.cmd.ProcessState != nil || p.cmd.Process == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		return err
	case <-time.After(cmdTimeout):
		_ = p.cmd.Process.Kill()
		return fmt.Errorf("did not exit within %v of SIGTERM; killed", cmdTimeout)
	}
}

type lineWriter struct {
	p      *process
	prefix string
}

func (w *lineWriter) Write(b []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		w.p.add(w.prefix + l)
	}
	return len(b), nil
}

// saved is the payload of message-saved.
type saved struct {
	Success bool `json:"success"`
	Message struct {
		ID     int64  `json:"id"`
		Author string `json:"author"`
		Text   string `json:"text"`
	} `json:"message"`
}

// savedUntil reads c's message-saved events up to the one with text last,
// and returns their texts and IDs.
func savedUntil(t *testing.T, c *nodepeer.SIOClient, last string) (texts []string, ids []int64) {
	t.Helper()
	for range 20 {
		r := c.WaitFor("event", "message-saved", cmdTimeout)
		var s saved
		require.NoError(t, json.Unmarshal(r.Args[0], &s), "%s", r.Args[0])
		require.True(t, s.Success, "%s", r.Args[0])
		texts, ids = append(texts, s.Message.Text), append(ids, s.Message.ID)
		if s.Message.Text == last {
			return texts, ids
		}
	}
	t.Fatalf("no message-saved %q among 20", last)
	return nil, nil
}

// Two chat processes on two ports, one Redis, one SQLite file: a message
// sent through either is saved once, and every client of both sees its
// message-saved once, with the same ID.
func TestTwoChatProcessesAreOneChat(t *testing.T) {
	redisserver.Available(t)
	peer.NodePackages(t, "socket.io-client")
	rs := redisserver.Start(t)
	db := filepath.Join(t.TempDir(), "chat.db")
	a := startProcess(t, "chat a", "-addr", "127.0.0.1:0", "-db", db, "-redis", rs.URL())
	b := startProcess(t, "chat b", "-addr", "127.0.0.1:0", "-db", db, "-redis", rs.URL())

	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer rdb.Close()
	require.Eventually(t, func() bool {
		n, err := rdb.PubSubNumSub(context.Background(), "socket.io-request#/#").Result()
		return err == nil && n["socket.io-request#/#"] == 2
	}, cmdTimeout, 20*time.Millisecond, "both servers join the cluster")

	// socket.io-client's default transports: long-polling, then the upgrade.
	ana := nodepeer.StartSIOClient(t, a.url, nil)
	bob := nodepeer.StartSIOClient(t, b.url, nil)
	cat := nodepeer.StartSIOClient(t, b.url, nil)
	clients := map[string]*nodepeer.SIOClient{"ana": ana, "bob": bob, "cat": cat}
	for _, c := range clients {
		c.WaitFor("connect", "", cmdTimeout)
	}

	// Each message is sent once the one before has reached everyone, so
	// that each client's order is the same.
	idsOf := map[string][]int64{}
	for _, m := range []struct{ from, text string }{{"ana", "hello from a"}, {"bob", "hello from b"}, {"cat", "last"}} {
		clients[m.from].Emit("send-message", map[string]any{"author": m.from, "text": m.text})
		for name, c := range clients {
			texts, ids := savedUntil(t, c, m.text)
			require.Equal(t, []string{m.text}, texts, "%s sees the message-saved of %q once, and nothing before it", name, m.text)
			idsOf[name] = append(idsOf[name], ids...)
		}
	}
	assert.Equal(t, idsOf["ana"], idsOf["bob"], "every client sees the same IDs: one row per message")
	assert.Equal(t, idsOf["ana"], idsOf["cat"], "every client sees the same IDs: one row per message")

	// The history, from either server, holds each message once.
	for _, p := range []*process{a, b} {
		resp, err := http.Get(p.url + "/api/messages")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var h struct {
			Messages []struct {
				ID   int64  `json:"id"`
				Text string `json:"text"`
			} `json:"messages"`
		}
		require.NoError(t, json.Unmarshal(body, &h), "%s", body)
		var texts []string
		seen := map[int64]bool{}
		for _, m := range h.Messages {
			texts = append(texts, m.Text)
			assert.False(t, seen[m.ID], "message %d twice in the history", m.ID)
			seen[m.ID] = true
		}
		assert.ElementsMatch(t, []string{"hello from a", "hello from b", "last"}, texts, "the history from %s", p.url)
	}

	for name, p := range map[string]*process{"a": a, "b": b} {
		require.NoError(t, p.stop(), "chat %s exits cleanly on SIGTERM; its log:\n%s", name, p.logText())
		assert.Contains(t, p.logText(), "left the cluster", name)
	}
}

// Without Redis the command says so at once, instead of serving a chat
// that is silently cut off from the others.
func TestRunRefusesARedisItCannotReach(t *testing.T) {
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "chat.db"),
		"-redis", "redis://127.0.0.1:1"}, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-redis")
	for _, args := range [][]string{
		{"-redis", "http://127.0.0.1:6379"},
		{"-recovery", "-1s"},
		{"-addr", "127.0.0.1:0", "extra"},
	} {
		require.Error(t, run(context.Background(), args, io.Discard), "run with %q", args)
	}
}
