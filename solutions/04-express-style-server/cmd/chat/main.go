// Command chat is the course's chat server, in Go: the chat page, the
// history API and Socket.IO on one port, the messages in an SQLite file.
//
//	go run ./solutions/04-express-style-server/cmd/chat
//
// then open http://localhost:8000/ in two browser windows. The page the
// server serves talks to it over a WebSocket; the npm socket.io-client (the
// course's React app on Vite's dev server, http://localhost:5173) connects
// too, over long-polling first and then a WebSocket, as it does to a
// Node.js server.
//
// Flags:
//
//	-addr    address to listen on (default localhost:8000)
//	-db      SQLite database file, created if missing (default chat.db)
//	-origin  browser origins allowed besides the server's own, comma-separated
//	         (default http://localhost:5173)
//	-recovery  how long a dropped client's session is kept for it to come
//	         back to (connection state recovery, lesson 03's exercise 3.9):
//	         it keeps its socket ID and rooms and gets the messages saved
//	         meanwhile (default 2m; 0 turns it off)
//
// SIGINT (Ctrl-C) or SIGTERM stops it gracefully: new messages are refused,
// the ones being saved are saved and acknowledged, every socket is told the
// server is going away, and the database is closed; after 10 seconds it
// stops waiting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
	server "github.com/websocket-workbook/workbook/solutions/04-express-style-server"
)

// shutdownTimeout bounds a graceful shutdown.
const shutdownTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// run is the whole command: it parses args (without the program name),
// serves until ctx is done, then shuts down gracefully. The log, and flag
// usage, go to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("chat", flag.ContinueOnError)
	flags.SetOutput(stdout)
	addr := flags.String("addr", "localhost:8000", "address to listen on")
	db := flags.String("db", "chat.db", "SQLite database file, created if missing")
	origin := flags.String("origin", server.DefaultOrigin, "browser origins allowed besides the server's own, comma-separated")
	recovery := flags.Duration("recovery", events.DefaultMaxDisconnectionDuration, "how long a dropped client's session is kept for it to recover (connection state recovery); 0 turns it off")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (flags only; -h lists them)", flags.Args())
	}
	origins, err := server.ParseOrigins(*origin)
	if err != nil {
		return fmt.Errorf("-origin: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))

	cfg := server.Config{DB: *db, Origins: origins, Logger: logger}
	if *recovery > 0 {
		cfg.Events.Recovery = &events.RecoveryOptions{MaxDisconnectionDuration: *recovery}
	} else if *recovery < 0 {
		return fmt.Errorf("-recovery %v: a duration of 0 or more", *recovery)
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}
	logger.Info("chat: serving", "url", server.PageURL(*addr, l.Addr()), "db", *db, "origins", origins, "recovery", *recovery)
	return srv.Run(ctx, l, shutdownTimeout)
}
