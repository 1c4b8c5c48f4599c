// Package redisserver runs a real Redis for tests: Debian's redis-server
// (`apt-get install -y redis-server`), one process per test, on a free
// loopback port, in a temporary directory, with persistence off.
//
// A test asks for it at the top, before it starts anything else, as package
// peer says:
//
//	rs := redisserver.Start(t) // skips without redis-server; fails with CI=true
//	url := rs.URL()            // "redis://127.0.0.1:PORT"
//
// The server is stopped and waited for in t.Cleanup. Stop and Restart let a
// test take Redis away in the middle of a run and bring it back on the same
// port, as an operator restarting it would; its data is gone (nothing is
// saved), which is what a pub/sub cluster has to survive anyway.
package redisserver

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/websocket-workbook/workbook/internal/peer"
)

// startup bounds how long redis-server may take to answer PING.
const startup = 10 * time.Second

// A Server is one redis-server process of a test.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *lockedWriter
}

// Available reports whether redis-server is installed, skipping the test (or
// failing it in CI) as package peer does when it is not. Call it before
// starting anything else; Start calls it too.
func Available(t peer.TB) bool {
	t.Helper()
	return peer.RedisServer(t) != ""
}

// Start starts a redis-server for the test and returns once it answers
// PING. Without redis-server the test is skipped (with CI=true, failed) and
// Start returns nil.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := peer.RedisServer(t)
	if bin == "" {
		return nil
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.Stop)
	var err error
	for range 3 { // a free port can be taken by someone else before we bind it
		if s.port, err = freePort(); err != nil {
			break
		}
		if err = s.start(); err == nil {
			return s
		}
	}
	t.Fatalf("redisserver: %v", err)
	return nil
}

// freePort returns a loopback port nobody listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs redis-server on s.port and waits for its PONG.
func (s *Server) start() error {
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "", // no RDB snapshots
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", "", // the log goes to stdout, kept for a failure message
		"--loglevel", "warning",
	)
	log := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %v", s.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done, s.log = cmd, done, log
	s.mu.Unlock()
	deadline := time.Now().Add(startup)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("redis-server on port %d exited at once: %s", s.port, strings.TrimSpace(log.String()))
		default:
		}
		if ping(s.Addr()) == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("redis-server on port %d did not answer PING within %v: %s", s.port, startup, log.String())
}

// ping sends PING in the Redis protocol (RESP) and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Addr is "127.0.0.1:PORT".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is "redis://127.0.0.1:PORT", what go-redis's ParseURL and
// node-redis's createClient take.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Stop kills the process and waits for it: Redis is gone, as if it
// crashed. Calling it again, or after Close, does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Restart starts Redis again on the same port, empty, after Stop. It fails
// the test if that does not work.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("redisserver: restart: %v", err)
	}
}

// Log is what redis-server wrote (warnings and errors), for a failure
// message.
func (s *Server) Log() string {
	s.mu.Lock()
	log := s.log
	s.mu.Unlock()
	if log == nil {
		return ""
	}
	return log.String()
}

// A lockedWriter is the buffer the process's two pipes write into.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
