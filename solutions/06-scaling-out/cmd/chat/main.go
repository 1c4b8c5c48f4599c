// Command chat is lesson 04's chat server as one of many: the same page,
// history API and Socket.IO, and with -redis a member of a cluster whose
// servers share one Redis (for their broadcasts) and one SQLite file (for
// the messages), so that a message sent to any of them reaches the
// clients of all.
//
// Two servers on one machine:
//
//	redis-server --port 6379 --save '' &
//	go run ./solutions/06-scaling-out/cmd/chat -addr localhost:8000 -redis redis://127.0.0.1:6379 -db chat.db &
//	go run ./solutions/06-scaling-out/cmd/chat -addr localhost:8001 -redis redis://127.0.0.1:6379 -db chat.db &
//
// then open http://localhost:8000/ and http://localhost:8001/: what is
// sent on one page appears on both. A Node socket.io server with
// @socket.io/redis-adapter on the same Redis joins the same cluster.
//
// Flags:
//
//	-addr      address to listen on (default localhost:8000)
//	-db        SQLite database file, created if missing (default chat.db);
//	           every server of the cluster names the same file, opened in WAL
//	           mode, so that each message is saved once, by the server that
//	           received it
//	-origin    browser origins allowed besides the server's own, comma-separated
//	           (default http://localhost:5173)
//	-redis     the Redis of the cluster, redis://HOST:PORT (empty: this server
//	           alone, as lesson 04's command)
//	-recovery  how long a dropped client's session is kept for it to come back
//	           to (default 2m; 0 turns it off). Recovery works when the client
//	           comes back to this same server: with several, that takes a load
//	           balancer with sticky sessions.
//
// SIGINT (Ctrl-C) or SIGTERM stops it gracefully, as lesson 04's command;
// then it publishes what is still queued for the cluster and closes its
// Redis connections.
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

	"github.com/redis/go-redis/v9"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
	server "github.com/websocket-workbook/workbook/solutions/04-express-style-server"
	scaling "github.com/websocket-workbook/workbook/solutions/06-scaling-out"
)

// shutdownTimeout bounds a graceful shutdown.
const shutdownTimeout = 10 * time.Second

// connectTimeout bounds how long the server waits for Redis at start.
const connectTimeout = 5 * time.Second

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
// joins the cluster, serves until ctx is done, then shuts down gracefully.
// The log, and flag usage, go to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("chat", flag.ContinueOnError)
	flags.SetOutput(stdout)
	addr := flags.String("addr", "localhost:8000", "address to listen on")
	db := flags.String("db", "chat.db", "SQLite database file, created if missing; the same file for every server of the cluster")
	origin := flags.String("origin", server.DefaultOrigin, "browser origins allowed besides the server's own, comma-separated")
	redisURL := flags.String("redis", "", "the cluster's Redis, redis://HOST:PORT; empty: this server alone")
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
	if *recovery < 0 {
		return fmt.Errorf("-recovery %v: a duration of 0 or more", *recovery)
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))

	cfg := server.Config{DB: *db, Origins: origins, Logger: logger}
	if *recovery > 0 {
		cfg.Events.Recovery = &events.RecoveryOptions{MaxDisconnectionDuration: *recovery}
	}
	var cluster *scaling.Cluster
	if *redisURL != "" {
		redis.SetLogger(redisLog{logger}) // go-redis's own complaints, in the same log
		cctx, cancel := context.WithTimeout(ctx, connectTimeout)
		cluster, err = scaling.Connect(cctx, scaling.Options{URL: *redisURL, Logger: logger})
		cancel()
		if err != nil {
			return fmt.Errorf("-redis: %w", err)
		}
		cfg.Events.Adapter = cluster.Adapter
	}
	closeCluster := func() {
		if cluster != nil {
			_ = cluster.Close()
			logger.Info("chat: left the cluster", "stats", fmt.Sprintf("%+v", cluster.Stats()))
		}
	}
	srv, err := server.New(cfg)
	if err != nil {
		closeCluster()
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		closeCluster()
		return err
	}
	logger.Info("chat: serving", "url", server.PageURL(*addr, l.Addr()), "db", *db, "origins", origins,
		"recovery", *recovery, "redis", *redisURL)
	err = srv.Run(ctx, l, shutdownTimeout)
	closeCluster()
	return err
}

// redisLog hands go-redis's log lines (a failed dial, a pool that gave up
// for now) to the server's logger.
type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
