// Command chat is the chat server of lesson 05: lesson 04's chat, with
// users who register and log in, and sockets that connect only with a
// login's token.
//
//	go run ./solutions/05-client-connect-after-login/cmd/chat
//
// then open http://localhost:8000/ in two browser windows (or a normal and
// a private one: a login lives in its tab's sessionStorage), register two
// users and chat. The course's React client (on Vite's dev server,
// http://localhost:5173) connects too: io(url, {autoConnect: false}), then
// socket.auth = {token}; socket.connect() after POST /api/login.
//
// Flags:
//
//	-addr    address to listen on (default localhost:8000)
//	-db      SQLite database file, created if missing (default chat.db): the
//	         messages, the users and the revoked tokens
//	-origin  browser origins allowed besides the server's own, comma-separated
//	         (default http://localhost:5173)
//	-ttl     how long a login lasts (default 1h)
//	-recovery  how long a dropped client's session is kept for it to come
//	         back to (connection state recovery, lesson 03's exercise 3.9);
//	         the token is checked again when it does (default 2m; 0 turns
//	         it off)
//
// The tokens are signed with the key in the environment variable
// CHAT_TOKEN_KEY: at least 32 random bytes, written in hex or base64, e.g.
//
//	export CHAT_TOKEN_KEY=$(openssl rand -hex 32)
//
// Without it the server makes a random key at start, and says so: every
// token then ends with the process, and a restart logs everybody out.
//
// SIGINT (Ctrl-C) or SIGTERM stops it gracefully, as lesson 04's does.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
	server "github.com/websocket-workbook/workbook/solutions/04-express-style-server"
	login "github.com/websocket-workbook/workbook/solutions/05-client-connect-after-login"
)

// shutdownTimeout bounds a graceful shutdown.
const shutdownTimeout = 10 * time.Second

// keyEnv names the environment variable of the signing key.
const keyEnv = "CHAT_TOKEN_KEY"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// run is the whole command: it parses args (without the program name),
// reads the key with getenv, serves until ctx is done, then shuts down
// gracefully. The log, and flag usage, go to stdout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	flags := flag.NewFlagSet("chat", flag.ContinueOnError)
	flags.SetOutput(stdout)
	addr := flags.String("addr", "localhost:8000", "address to listen on")
	db := flags.String("db", "chat.db", "SQLite database file, created if missing")
	origin := flags.String("origin", server.DefaultOrigin, "browser origins allowed besides the server's own, comma-separated")
	ttl := flags.Duration("ttl", login.DefaultTokenTTL, "how long a login lasts")
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
	if *ttl <= 0 {
		return fmt.Errorf("-ttl %v: a login must last a positive time", *ttl)
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))

	key, err := parseKey(getenv(keyEnv))
	if err != nil {
		return fmt.Errorf("%s: %w", keyEnv, err)
	}
	if key == nil {
		key = make([]byte, login.MinKeySize)
		_, _ = rand.Read(key) // never fails (crypto/rand, Go 1.24+)
		logger.Warn("chat: " + keyEnv + " is not set: tokens are signed with a random key, so every login ends with this process " +
			"(set it to 32 random bytes in hex, e.g. $(openssl rand -hex 32), to keep logins across restarts)")
	}

	cfg := login.Config{DB: *db, Origins: origins, Logger: logger, Key: key, TokenTTL: *ttl}
	if *recovery > 0 {
		cfg.Events.Recovery = &events.RecoveryOptions{MaxDisconnectionDuration: *recovery}
	}
	srv, err := login.New(cfg)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}
	logger.Info("chat: serving", "url", server.PageURL(*addr, l.Addr()), "db", *db, "origins", origins, "ttl", *ttl, "recovery", *recovery)
	return srv.Run(ctx, l, shutdownTimeout)
}

// parseKey decodes the key of CHAT_TOKEN_KEY: hex if it is hex, else
// base64 (standard or URL alphabet, with or without padding). "" is no key
// (nil). A key shorter than login.MinKeySize is an error: a short HMAC key
// can be guessed.
func parseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	key, err := hex.DecodeString(s)
	if err != nil {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if key, err = enc.DecodeString(s); err == nil {
				break
			}
		}
	}
	if err != nil {
		return nil, errors.New("not hex or base64")
	}
	if len(key) < login.MinKeySize {
		return nil, fmt.Errorf("%d bytes; the key needs at least %d (e.g. $(openssl rand -hex 32))", len(key), login.MinKeySize)
	}
	return key, nil
}
