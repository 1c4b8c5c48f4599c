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

	srv, err := server.New(server.Config{DB: *db, Origins: origins, Logger: logger})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}
	logger.Info("chat: serving", "url", server.PageURL(*addr, l.Addr()), "db", *db, "origins", origins)
	return srv.Run(ctx, l, shutdownTimeout)
}
