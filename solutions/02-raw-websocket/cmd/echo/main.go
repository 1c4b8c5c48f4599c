// Command echo is a WebSocket echo server built on rawws: every text or
// binary message it receives goes back to the sender unchanged.
//
//	go run ./solutions/02-raw-websocket/cmd/echo -addr 127.0.0.1:9001
//
// It is the server to point a test client at (the Autobahn fuzzing client,
// a browser's console, or cmd/client beside it), and a small example of a
// production server: a read limit, an origin allowlist, a log line for every
// connection that ends, and a graceful shutdown that closes every WebSocket
// with 1001 (going away) on SIGINT or SIGTERM.
//
// Flags:
//
//	-addr    address to listen on (default 127.0.0.1:9001)
//	-limit   largest message accepted, in bytes (default 64 MiB)
//	-origin  an allowed Origin, e.g. http://localhost:5173; repeat the flag
//	         or give a comma-separated list. Without it, only same-origin
//	         pages (and clients that send no Origin) may connect.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	rawws "github.com/websocket-workbook/workbook/solutions/02-raw-websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "address to listen on")
	limit := flag.Int64("limit", 64<<20, "largest message accepted, in bytes")
	var origins originList
	flag.Var(&origins, "origin", "allowed Origin (repeatable, or a comma-separated list); default: same origin only")
	flag.Parse()

	s := &server{
		upgrader: rawws.Upgrader{Origins: origins, ReadLimit: *limit},
		conns:    make(map[*rawws.Conn]struct{}),
	}
	srv := &http.Server{Addr: *addr, Handler: s, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("echo: serving ws://%s/ (read limit %d bytes)", *addr, *limit)

	select {
	case err := <-errc:
		log.Fatalf("echo: %v", err)
	case <-ctx.Done():
	}
	log.Printf("echo: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Shutdown stops accepting and waits for plain HTTP requests; it does
	// not know the hijacked WebSocket connections, so close those too.
	_ = srv.Shutdown(shutdownCtx)
	s.closeAll(rawws.CloseGoingAway, "server shutting down")
}

// A server upgrades every request to a WebSocket and echoes on it.
type server struct {
	upgrader rawws.Upgrader

	mu       sync.Mutex
	conns    map[*rawws.Conn]struct{}
	closing  bool
	handlers sync.WaitGroup
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		log.Printf("echo: %s: %v", r.RemoteAddr, err) // Upgrade has answered already
		return
	}
	if !s.add(c) {
		_ = c.Close(rawws.CloseGoingAway, "server shutting down")
		return
	}
	defer s.remove(c)

	err = echo(c)
	var ce *rawws.CloseError
	if errors.As(err, &ce) {
		log.Printf("echo: %s closed: %d %s", c.RemoteAddr(), ce.Code, ce.Reason)
	} else {
		log.Printf("echo: %s closed: %v", c.RemoteAddr(), err)
		_ = c.CloseNow()
	}
}

// echo sends every message back until the connection ends, and returns why
// it ended. It reads whole messages: a client that sends a large message in
// full before it reads the echo would otherwise fill both directions' TCP
// buffers and deadlock with a server that echoes while it reads.
func echo(c *rawws.Conn) error {
	for {
		op, p, err := c.ReadMessage()
		if err != nil {
			return err
		}
		if err := c.WriteMessage(op, p); err != nil {
			return err
		}
	}
}

func (s *server) add(c *rawws.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	s.handlers.Add(1)
	return true
}

func (s *server) remove(c *rawws.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.handlers.Done()
}

// closeAll runs the closing handshake on every open connection at once and
// waits for their handlers to return. Each handler's reader receives the
// client's answering close frame, so the log says how each one ended.
func (s *server) closeAll(code int, reason string) {
	s.mu.Lock()
	s.closing = true
	conns := make([]*rawws.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { _ = c.Close(code, reason) })
	}
	wg.Wait()
	s.handlers.Wait()
}

// originList is a flag that collects origins from repeated flags and
// comma-separated lists.
type originList []string

func (o *originList) String() string { return strings.Join(*o, ",") }

func (o *originList) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*o = append(*o, s)
		}
	}
	return nil
}
