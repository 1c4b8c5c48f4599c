// Command conformance is the server the official protocol test suites run
// against (conformance/ at the root of the repository): the Engine.IO v4
// suite at /engine.io/ and the Socket.IO v5 suite at /socket.io/, on one
// port, set up as those suites' spec pages set up the reference servers:
//
//   - both: pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1,000,000,
//     any origin;
//   - /engine.io/: a plain Engine.IO server (events.Options.Messages) that
//     sends every message back as it came, text or binary;
//   - /socket.io/: Socket.IO with connectTimeout 1 s; on connection (to "/"
//     and to "/custom") the socket emits "auth" with the CONNECT payload
//     ({} if none); "message" is answered with "message-back" and the same
//     arguments, "message-with-ack" with an ack of its arguments.
//
// Run it, then the suites (Node.js 20 and npm):
//
//	go run ./solutions/04-express-style-server/cmd/conformance &
//	cd conformance && npm ci && npx mocha engine.io-v4/test-suite.js socket.io-v5/test-suite.js
//
// The suites connect to localhost:3000, so the server listens on
// 127.0.0.1:3000 and, where the machine has it, [::1]:3000. -addr changes
// the port. SIGINT or SIGTERM stops it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
	server "github.com/websocket-workbook/workbook/solutions/04-express-style-server"
)

func main() {
	port := flag.String("port", "3000", "port to listen on, on 127.0.0.1 and ::1")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *port); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
}

// The reference servers' settings (the suites check them in the open packet).
var suiteOptions = events.Options{
	PingInterval: 300 * time.Millisecond,
	PingTimeout:  200 * time.Millisecond,
	MaxPayload:   1_000_000,
	// cors: {origin: "*"}: the suites send no Origin, but a browser
	// running them from index.html does.
	Upgrader: events.GorillaUpgrader{CheckOrigin: func(*http.Request) bool { return true }},
}

func run(ctx context.Context, port string) error {
	eioOpts := suiteOptions
	eioOpts.Messages = echo{}
	eio := events.NewServer(eioOpts)

	sioOpts := suiteOptions
	sioOpts.ConnectTimeout = time.Second
	sio := events.NewServer(sioOpts)
	for _, nsp := range []string{"/", "/custom"} {
		sio.Of(nsp).OnConnection(func(s *events.Socket) {
			auth := s.Handshake().Auth
			if auth == nil {
				auth = json.RawMessage("{}")
			}
			_ = s.Emit("auth", auth)
			if nsp != "/" {
				return
			}
			s.On("message", func(e *events.Event) { _ = s.Emit("message-back", eventArgs(e)...) })
			s.On("message-with-ack", func(e *events.Event) { _ = e.Ack(eventArgs(e)...) })
		})
	}

	mux := http.NewServeMux()
	mux.Handle("/engine.io/", server.NewEngine(eio, server.EngineOptions{}))
	mux.Handle("/socket.io/", server.NewEngine(sio, server.EngineOptions{}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	var listeners []net.Listener
	for _, host := range []string{"127.0.0.1", "::1"} {
		l, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil && host == "::1" {
			log.Printf("conformance: not on [::1]:%s: %v", port, err)
			continue
		}
		if err != nil {
			return err
		}
		listeners = append(listeners, l)
	}
	served := make(chan error, len(listeners))
	for _, l := range listeners {
		log.Printf("conformance: serving http://%s/engine.io/ and /socket.io/", l.Addr())
		go func() { served <- hs.Serve(l) }()
	}
	select {
	case err := <-served:
		_ = hs.Close()
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	return errors.Join(err, eio.Close(), sio.Close())
}

// eventArgs returns e's arguments for sending back: a binary attachment as
// []byte (so that it goes out as an attachment again), anything else as the
// JSON it came as.
func eventArgs(e *events.Event) []any {
	args := make([]any, len(e.Args))
	for i, raw := range e.Args {
		if b, ok := e.Bytes(i); ok {
			args[i] = b
		} else {
			args[i] = raw
		}
	}
	return args
}

// echo is the Engine.IO suite's server: every message goes back as it came.
type echo struct{}

func (echo) OpenSession(*events.EngineSession)          {}
func (echo) CloseSession(*events.EngineSession, string) {}
func (echo) Message(s *events.EngineSession, p []byte, binary bool) error {
	return s.Send(p, binary)
}
