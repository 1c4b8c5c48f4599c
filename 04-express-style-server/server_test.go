package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // the "sqlite" driver, for a second connection to the server's file

	"github.com/websocket-workbook/workbook/internal/exercise"
	"github.com/websocket-workbook/workbook/internal/nodepeer"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// The Server puts everything on one handler: the chat page at /, the
// history at /api/messages, Socket.IO at /socket.io/.
func TestServerRoutes(t *testing.T) {
	exercise.Start(t, "4.8")
	_, hs := ttStartServer(t, Config{})

	for _, c := range []struct {
		path, contentType, contains string
	}{
		{"/", "text/html", `chat.js`},
		{"/chat.js", "javascript", `send-message`},
		{"/chat.css", "text/css", `.messages`},
	} {
		resp, body := ttGet(t, hs.URL+c.path)
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s serves the chat page's file (web/, embedded)", c.path)
		require.Contains(t, resp.Header.Get("Content-Type"), c.contentType, "GET %s: Content-Type", c.path)
		require.Contains(t, string(body), c.contains, "GET %s: the body", c.path)
	}

	h := ttGetHistory(t, hs.URL, "")
	require.Empty(t, h.Messages, "GET /api/messages on a new database")
	resp, body := ttGet(t, hs.URL+"/api/messages?limit=0")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "GET /api/messages?limit=0 goes through the App's error handler: %s", body)

	// The Engine is mounted: a long-polling handshake gets the open packet,
	// which offers the upgrade to a WebSocket (engine.io-protocol v4,
	// "Handshake").
	resp, body = ttGet(t, hs.URL+"/socket.io/?EIO=4&transport=polling")
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /socket.io/?EIO=4&transport=polling: %s", body)
	require.True(t, strings.HasPrefix(string(body), "0{"), "the polling handshake answers with the open packet 0{...}, got %q", body)
	var open struct {
		Sid      string   `json:"sid"`
		Upgrades []string `json:"upgrades"`
	}
	require.NoError(t, json.Unmarshal(body[1:], &open), "the open packet %q", body)
	require.Equal(t, []string{"websocket"}, open.Upgrades, "the open packet of a polling session offers the websocket upgrade")

	resp, body = ttGet(t, hs.URL+"/no/such/page")
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "GET /no/such/page: %s", body)
}

// ttDialWS opens a WebSocket to the Engine.IO endpoint with this Origin
// header and returns the handshake's status: 101 when it was accepted.
func ttDialWS(t *testing.T, base, origin string) int {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := websocket.Dialer{HandshakeTimeout: ttTimeout}
	ws, resp, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/socket.io/?EIO=4&transport=websocket", h)
	if err == nil {
		defer ws.Close()
		require.NoError(t, ws.SetReadDeadline(time.Now().Add(ttTimeout)))
		_, p, err := ws.ReadMessage()
		require.NoError(t, err, "the open packet after an accepted WebSocket handshake from %q", origin)
		require.True(t, strings.HasPrefix(string(p), "0{"), "the first packet is the open packet, got %q", p)
	}
	require.NotNil(t, resp, "WebSocket handshake from Origin %q: %v", origin, err)
	resp.Body.Close()
	return resp.StatusCode
}

// One allowlist guards everything a browser can reach: HTTP requests get
// CORS headers or a 403, and so does the WebSocket handshake, which CORS
// does not cover (a browser lets any page open a WebSocket anywhere; only
// the server's Origin check stops it). The server's own page is always
// allowed.
func TestServerOrigins(t *testing.T) {
	exercise.Start(t, "4.8")
	const app, evil = "http://app.example", "http://evil.example"
	_, hs := ttStartServer(t, Config{Origins: Origins{app}})

	resp, body := ttGet(t, hs.URL+"/api/messages", "Origin: "+app)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /api/messages from the allowed origin %s: %s", app, body)
	require.Equal(t, app, resp.Header.Get("Access-Control-Allow-Origin"), "a CORS answer to the allowed origin names it")

	for _, origin := range []string{evil, DefaultOrigin} {
		resp, body = ttGet(t, hs.URL+"/api/messages", "Origin: "+origin)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "GET /api/messages from %s, not in Config.Origins: %s", origin, body)
		require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "no CORS header for a refused origin")
	}
	resp, body = ttGet(t, hs.URL+"/socket.io/?EIO=4&transport=polling", "Origin: "+evil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a long-polling handshake from %s: %s", evil, body)

	require.Equal(t, http.StatusForbidden, ttDialWS(t, hs.URL, evil),
		"a WebSocket handshake from %s must be refused with 403 (the Upgrader's CheckOrigin is Origins.Allowed)", evil)
	require.Equal(t, http.StatusSwitchingProtocols, ttDialWS(t, hs.URL, app), "a WebSocket handshake from %s is accepted", app)
	require.Equal(t, http.StatusSwitchingProtocols, ttDialWS(t, hs.URL, hs.URL), "the page the server serves has the server's own origin, %s", hs.URL)
	require.Equal(t, http.StatusSwitchingProtocols, ttDialWS(t, hs.URL, ""), "a client that is no browser sends no Origin, and is not refused")

	// Without Config.Origins, the default is the course's Vite dev server.
	_, def := ttStartServer(t, Config{})
	resp, body = ttGet(t, def.URL+"/api/messages", "Origin: "+DefaultOrigin)
	require.Equal(t, http.StatusOK, resp.StatusCode, "with no Config.Origins, %s is allowed: %s", DefaultOrigin, body)
	require.Equal(t, DefaultOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, http.StatusForbidden, ttDialWS(t, def.URL, evil), "with no Config.Origins, %s is refused", evil)
}

// ttShuttingDown is the error of a message refused because the server is
// shutting down.
const ttShuttingDown = "server is shutting down"

// ttDrainQuiet is how long a test gives the server to get somewhere it
// cannot report: a wrong Drain to return too early (one that does not wait
// returns at once, well within it), a message to reach its save, Shutdown
// to take its first step.
const ttDrainQuiet = 200 * time.Millisecond

// ttLockedWait bounds a wait while a test holds the database locked: well
// below the store's busy_timeout (5s), after which the saves waiting on the
// lock would fail.
const ttLockedWait = 2 * time.Second

// ttHeldStore is a Store whose saves wait for the test: a database that is
// slow to commit, as slow as the test likes. Each Save reports on begun
// that it has begun, then waits until the test lets one save through
// (release), and reports on ended once the save underneath has returned.
// Closing stop lets every save through, for good.
type ttHeldStore struct {
	Store
	begun    chan string   // the text of each Save, as it begins
	release  chan struct{} // each value sent lets one Save through
	ended    chan string   // the text of each Save, once it has returned
	finished atomic.Int32  // how many Saves have returned
	stop     chan struct{} // closed: no save waits any more
}

// ttNewHeldStore holds the saves of store.
func ttNewHeldStore(store Store) *ttHeldStore {
	return &ttHeldStore{
		Store:   store,
		begun:   make(chan string, 64),
		release: make(chan struct{}),
		ended:   make(chan string, 64),
		stop:    make(chan struct{}),
	}
}

func (s *ttHeldStore) Save(ctx context.Context, m Message) (Message, error) {
	defer func() {
		s.finished.Add(1)
		select {
		case s.ended <- m.Text:
		default: // more saves than the test expects: it fails on its own
		}
	}()
	select {
	case s.begun <- m.Text:
	default: // likewise
	}
	select {
	case <-s.release:
	case <-s.stop:
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
	return s.Store.Save(ctx, m)
}

// ttAwaitAck waits up to within for the ack of the client's emit number
// seq, skipping other reports, and returns it.
func ttAwaitAck(t *testing.T, c *nodepeer.SIOClient, who string, seq int, within time.Duration) ttResult {
	t.Helper()
	deadline := time.Now().Add(within)
	for range 1000 {
		r := c.Next(time.Until(deadline))
		switch {
		case r.Kind == "ack" && r.Seq == seq:
			require.Len(t, r.Args, 1, "%s: the ack of send-message carries one argument, got %s", who, r)
			return ttDecodeResult(t, who+": the ack of send-message", r.Args[0])
		case r.Kind == "disconnect" || r.Kind == "connect_error" || r.Kind == "error":
			t.Fatalf("%s: waiting for the ack of send-message, got %s", who, r)
		}
	}
	t.Fatalf("%s: no ack of send-message among 1000 reports", who)
	return ttResult{}
}

// Chat.Drain on its own. Three clients' messages are being saved, in a
// store that holds each save until the test lets it through, when Drain is
// called. From that call on, a new message is refused with "server is
// shutting down". Drain returns ctx's error if ctx ends first; otherwise it
// returns only once the last save in flight has finished, and then those
// messages are in the store and their senders are told they are.
func TestChatDrainWaitsForSavesInFlight(t *testing.T) {
	exercise.Start(t, "4.8")
	ttNoLeaks(t, "socket.io-client")
	io := events.NewServer(events.Options{})
	held := ttNewHeldStore(ttMemoryStore(t))
	chat := NewChat(io, held, ChatOptions{Logger: ttLogger()})
	require.NotNil(t, chat, "NewChat returned nil")
	app := NewApp(ttLogger())
	app.Mount("/socket.io/", NewEngine(io, EngineOptions{}))
	hs := httptest.NewServer(app)
	t.Cleanup(func() {
		_ = io.Close()
		hs.Close()
	})
	// Registered after io.Close, so run before it: io.Close waits for the
	// handlers, and no handler may wait in Save for ever.
	t.Cleanup(func() { close(held.stop) })

	ws := map[string]any{"transports": []string{"websocket"}, "reconnection": false}
	names := []string{"ana", "bob", "cyd"}
	senders := make([]*nodepeer.SIOClient, len(names))
	for i := range names {
		senders[i] = ttDial(t, hs.URL, ws)
	}
	dan := ttDial(t, hs.URL, ws)

	// Every socket has its own goroutine: three saves are in flight at once.
	seqs := make([]int, len(names))
	var texts []string
	for i, name := range names {
		texts = append(texts, "held: "+name)
		seqs[i] = senders[i].EmitWithAck("send-message", map[string]any{"author": name, "text": texts[i]})
	}
	var begun []string
	for range names {
		select {
		case text := <-held.begun:
			begun = append(begun, text)
		case <-time.After(ttTimeout):
			t.Fatalf("%d of %d messages reached Store.Save within %v (began: %q)", len(begun), len(names), ttTimeout, begun)
		}
	}
	require.ElementsMatch(t, texts, begun, "the saves in flight")

	// A ctx that has already ended: Drain has begun draining when it
	// returns, and returns ctx's error, the saves being still in flight.
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, chat.Drain(ended), context.Canceled,
		"Drain with a ctx that has ended, while %d saves are in flight, returns ctx's error", len(names))

	seq := dan.EmitWithAck("send-message", map[string]any{"author": "dan", "text": "too late"})
	event, ack := ttSavedAndAck(t, dan, "dan, after Drain was called", seq)
	require.False(t, ack.Success, "a message sent after Drain was called must be refused: %s", ack.Raw)
	require.Equal(t, ttShuttingDown, ack.Error, "the reason a message sent after Drain was called is refused: %s", ack.Raw)
	require.False(t, event.Success, "dan: message-saved for a refused message: %s", event.Raw)

	// Drain again, with time: it must wait for the three saves.
	type drained struct {
		err      error
		finished int32 // saves that had returned when Drain did
	}
	done := make(chan drained, 1)
	ctx, cancelDrain := context.WithTimeout(context.Background(), ttTimeout)
	defer cancelDrain()
	go func() {
		err := chat.Drain(ctx)
		done <- drained{err, held.finished.Load()}
	}()
	requireWaiting := func(when string) {
		t.Helper()
		select {
		case d := <-done:
			t.Fatalf("Drain returned (err %v) %s, with %d of the %d saves in flight finished: it must wait for every one",
				d.err, when, d.finished, len(names))
		case <-time.After(ttDrainQuiet):
		}
	}
	requireWaiting("while all the saves were held")
	for i := range len(names) - 1 {
		select {
		case held.release <- struct{}{}:
		case <-time.After(ttTimeout):
			t.Fatalf("save %d of %d was not waiting in Store.Save any more", i+1, len(names))
		}
		select {
		case <-held.ended:
		case <-time.After(ttTimeout):
			t.Fatalf("a save let through did not return within %v", ttTimeout)
		}
	}
	requireWaiting("while one save was still held")
	select {
	case held.release <- struct{}{}:
	case <-time.After(ttTimeout):
		t.Fatalf("the last save was not waiting in Store.Save any more")
	}
	select {
	case d := <-done:
		require.NoError(t, d.err, "Drain, once the saves in flight have finished")
		require.Equal(t, int32(len(names)), d.finished, "saves finished when Drain returned: Drain waits for every save in flight")
	case <-time.After(ttTimeout):
		t.Fatalf("Drain did not return within %v of the last save in flight", ttTimeout)
	}

	// The messages Drain waited for are stored, and their senders told so.
	for i, name := range names {
		ack := ttAwaitAck(t, senders[i], name, seqs[i], ttTimeout)
		require.True(t, ack.Success, "%s: a save that was in flight when Drain was called finishes as it began, stored: %s", name, ack.Raw)
		require.Equal(t, texts[i], ack.Message.Text, "%s: the ack", name)
	}
	all, err := held.Before(context.Background(), 0, 100)
	require.NoError(t, err)
	var stored []string
	for _, m := range all {
		stored = append(stored, m.Text)
	}
	require.ElementsMatch(t, texts, stored, "the store after Drain: the messages in flight, and not the one refused")

	// With nothing in flight, Drain returns at once.
	require.NoError(t, chat.Drain(ctx), "Drain with no save in flight")
}

// ttShutdownRun is what one client saw while the server shut down.
type ttShutdownRun struct {
	acked   map[int64]string // ID → text of the messages acknowledged as stored
	refused int              // acks with success:false
	reason  string           // the disconnect reason
}

// ttDrainUntilDisconnect reads a client's reports until it is disconnected.
func ttDrainUntilDisconnect(t *testing.T, c *nodepeer.SIOClient, who string) ttShutdownRun {
	t.Helper()
	run := ttShutdownRun{acked: map[int64]string{}}
	for range 100000 {
		r := c.Next(ttTimeout)
		switch r.Kind {
		case "ack":
			require.Len(t, r.Args, 1, "%s: an ack of send-message: %s", who, r)
			res := ttDecodeResult(t, who+": an ack during the shutdown", r.Args[0])
			if res.Success {
				run.acked[res.Message.ID] = res.Message.Text
				break
			}
			// A message the server had taken, its save begun, is saved;
			// one that came too late is refused as such. A save that
			// fails on a healthy database has lost a message the server
			// took: the store was closed under it.
			require.Equal(t, ttShuttingDown, res.Error,
				"%s: during a graceful shutdown a message is stored, or refused with %q; this one was refused with %q",
				who, ttShuttingDown, res.Error)
			run.refused++
		case "disconnect":
			run.reason = r.Reason
			return run
		case "connect_error", "error":
			t.Fatalf("%s: during the shutdown: %s", who, r)
		}
	}
	t.Fatalf("%s: no disconnect", who)
	return run
}

// A graceful shutdown loses nothing it acknowledged. Three clients — one
// upgraded from long-polling to a WebSocket, one that stays on
// long-polling, one on a WebSocket from the start — send messages as fast
// as they can, and Shutdown begins while they do. Every message whose ack
// said "stored" must be in the database when the server is started again on
// the same file, and every ack that says otherwise must say "server is
// shutting down": the database is healthy, so a save that fails is one the
// server took and then cut off. Every client must be disconnected; Serve
// must return http.ErrServerClosed, and no goroutine may be left behind.
func TestServerGracefulShutdown(t *testing.T) {
	exercise.Start(t, "4.8")
	ttNoLeaks(t, "socket.io-client")
	path := filepath.Join(t.TempDir(), "chat.db")
	s, err := New(Config{DB: path, Logger: ttLogger()})
	require.NoError(t, err, "New with a database file")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	url := "http://" + l.Addr().String()

	clients := []struct {
		name string
		opts map[string]any
	}{
		{"upgraded", map[string]any{"reconnection": false}},
		{"polling", map[string]any{"reconnection": false, "transports": []string{"polling"}}},
		{"websocket", map[string]any{"reconnection": false, "transports": []string{"websocket"}}},
	}
	peers := make([]*nodepeer.SIOClient, len(clients))
	for i, c := range clients {
		peers[i] = ttDial(t, url, c.opts)
	}
	const each = 150
	for i, c := range clients {
		for n := range each {
			peers[i].EmitWithAck("send-message", map[string]any{"author": c.name, "text": fmt.Sprintf("%s %d", c.name, n)})
		}
	}

	// Once some messages are through, shut down while the rest are coming.
	ws := peers[2]
	runs := make([]ttShutdownRun, len(clients))
	runs[2] = ttShutdownRun{acked: map[int64]string{}}
	for len(runs[2].acked) < 10 {
		r := ws.Next(ttTimeout)
		require.NotEqual(t, "disconnect", r.Kind, "websocket: disconnected before the shutdown: %s", r)
		if r.Kind == "ack" {
			res := ttDecodeResult(t, "websocket: an ack before the shutdown", r.Args[0])
			require.True(t, res.Success, "websocket: before the shutdown, messages are stored: %s", res.Raw)
			runs[2].acked[res.Message.ID] = res.Message.Text
		}
	}
	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), ttTimeout)
		defer cancel()
		shutdownErr <- s.Shutdown(ctx)
	}()

	for i, c := range clients {
		run := ttDrainUntilDisconnect(t, peers[i], c.name)
		for id, text := range runs[i].acked {
			run.acked[id] = text
		}
		runs[i] = run
		require.NotEmpty(t, run.reason, "%s: the client is disconnected, with a reason", c.name)
		require.Equal(t, "transport close", run.reason,
			"%s: the server ends every transport cleanly: a WebSocket with a close frame, long-polling with the close packet 1, read before any refused POST", c.name)
	}
	select {
	case err := <-shutdownErr:
		require.NoError(t, err, "Shutdown")
	case <-time.After(2 * ttTimeout):
		t.Fatalf("Shutdown did not return within %v", 2*ttTimeout)
	}
	select {
	case err := <-served:
		require.True(t, errors.Is(err, http.ErrServerClosed), "Serve returns http.ErrServerClosed after Shutdown, got %v", err)
	case <-time.After(ttTimeout):
		t.Fatalf("Serve did not return after Shutdown")
	}
	_, err = net.DialTimeout("tcp", l.Addr().String(), time.Second)
	require.Error(t, err, "after Shutdown the listener is closed")

	// Start again on the same file: everything acknowledged is there.
	_, hs := ttStartServer(t, Config{DB: path})
	stored := map[int64]string{}
	before := ""
	for range 100 {
		h := ttGetHistory(t, hs.URL, "limit=200"+before)
		for _, m := range h.Messages {
			stored[m.ID] = m.Text
		}
		if !h.More || len(h.Messages) == 0 {
			break
		}
		before = "&before=" + strconv.FormatInt(h.Messages[0].ID, 10)
	}
	total := 0
	for i, c := range clients {
		total += len(runs[i].acked)
		for id, text := range runs[i].acked {
			got, ok := stored[id]
			require.True(t, ok, "%s: message %d %q was acknowledged as stored, and is missing after the restart", c.name, id, text)
			require.Equal(t, text, got, "%s: message %d after the restart", c.name, id)
		}
		t.Logf("%s: %d acknowledged, %d refused, disconnected: %q", c.name, len(runs[i].acked), runs[i].refused, runs[i].reason)
	}
	require.GreaterOrEqual(t, total, 10, "some messages were acknowledged")
	t.Logf("%d messages in the database after the restart", len(stored))
}

// ttLockDatabase takes the write lock of the SQLite file at path on a
// connection of its own, as a backup or a second process writing might: the
// server's saves wait (busy_timeout) until the returned func releases it.
func ttLockDatabase(t *testing.T, path string) (unlock func()) {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err, "opening %s on a second connection", path)
	ctx, cancel := context.WithTimeout(context.Background(), ttTimeout)
	defer cancel()
	conn, err := db.Conn(ctx)
	require.NoError(t, err, "a second connection to %s", path)
	_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	require.NoError(t, err, "taking the write lock of %s", path)
	var once bool
	unlock = func() {
		if once {
			return
		}
		once = true
		ctx, cancel := context.WithTimeout(context.Background(), ttTimeout)
		defer cancel()
		_, err := conn.ExecContext(ctx, "ROLLBACK")
		require.NoError(t, err, "releasing the write lock of %s", path)
		require.NoError(t, conn.Close())
		require.NoError(t, db.Close())
	}
	t.Cleanup(unlock)
	return unlock
}

// Shutdown takes no new message from its first moment, and finishes the
// ones it took. Three clients each have a message being saved when Shutdown
// is called, the saves waiting for a database that another connection holds
// locked, and one more message queued behind it. While the database is
// locked, a fourth client's new message is refused at once with "server is
// shutting down": the chat drains first. A server that closes its store
// first is stuck there instead, the close waiting for the saves, the
// new message waiting for the close, to fail once the lock goes. Then the
// lock goes, the saves in flight finish, and the messages queued behind them
// are refused. The file then holds every message whose save had begun
// before Shutdown, and none of the others.
func TestServerShutdownRefusesNewMessagesFirst(t *testing.T) {
	exercise.Start(t, "4.8")
	ttNoLeaks(t, "socket.io-client")
	path := filepath.Join(t.TempDir(), "chat.db")
	s, hs := ttStartServer(t, Config{DB: path})

	ws := map[string]any{"transports": []string{"websocket"}, "reconnection": false}
	names := []string{"ana", "bob", "cyd", "dan"}
	clients := make([]*nodepeer.SIOClient, len(names))
	var want []string // what the file must hold after the shutdown
	for i, name := range names {
		clients[i] = ttDial(t, hs.URL, ws)
		seq := clients[i].EmitWithAck("send-message", map[string]any{"author": name, "text": name + " 0"})
		require.True(t, ttAwaitAck(t, clients[i], name, seq, ttTimeout).Success, "%s: a message before the shutdown is stored", name)
		want = append(want, name+" 0")
	}
	savers, dan := clients[:3], clients[3]

	unlock := ttLockDatabase(t, path)
	for i, c := range savers {
		for n := 1; n <= 2; n++ {
			c.EmitWithAck("send-message", map[string]any{"author": names[i], "text": fmt.Sprintf("%s %d", names[i], n)})
		}
		want = append(want, names[i]+" 1") // its save begins before Shutdown
	}
	// Time for the first message of each saver to reach its save and wait
	// on the lock, before Shutdown begins.
	time.Sleep(ttDrainQuiet)
	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), ttTimeout)
		defer cancel()
		shutdownErr <- s.Shutdown(ctx)
	}()
	// Time for Shutdown to take its first step, then a new message.
	time.Sleep(ttDrainQuiet)
	t.Logf("dan sends a message while Shutdown waits for the saves in flight; it must be refused within %v, "+
		"without the database, which is locked", ttLockedWait)
	seq := dan.EmitWithAck("send-message", map[string]any{"author": "dan", "text": "dan 1"})
	ack := ttAwaitAck(t, dan, "dan, during the shutdown", seq, ttLockedWait)
	require.False(t, ack.Success, "dan: a message sent after Shutdown began must be refused: %s", ack.Raw)
	require.Equal(t, ttShuttingDown, ack.Error, "dan: the reason a message sent after Shutdown began is refused: %s", ack.Raw)
	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned (%v) while the saves it had taken were still waiting on the database "+
			"(or none of them had begun within %v)", err, ttDrainQuiet)
	default:
	}
	unlock()

	for i, c := range savers {
		run := ttDrainUntilDisconnect(t, c, names[i]) // fails on a refusal other than "server is shutting down"
		for _, text := range run.acked {
			require.Equal(t, names[i]+" 1", text, "%s: acknowledged as stored: only its message in flight when Shutdown began", names[i])
		}
	}
	select {
	case err := <-shutdownErr:
		require.NoError(t, err, "Shutdown")
	case <-time.After(2 * ttTimeout):
		t.Fatalf("Shutdown did not return within %v", 2*ttTimeout)
	}

	// Reopen the file: the messages whose save had begun before Shutdown
	// are there, and neither those queued behind them nor dan's.
	store, err := OpenSQLite(path)
	require.NoError(t, err, "OpenSQLite(%q) after the shutdown", path)
	defer store.Close()
	all, err := store.Before(context.Background(), 0, 100)
	require.NoError(t, err)
	var stored []string
	for _, m := range all {
		stored = append(stored, m.Text)
	}
	require.ElementsMatch(t, want, stored, "the file after the shutdown")
}
