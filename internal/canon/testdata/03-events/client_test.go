package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 3.8: The Go client.
//
// The Go counterpart of socket.io-client: NewClient makes it without
// connecting (autoConnect: false), On registers handlers, and Connect opens
// /socket.io/?EIO=4&transport=websocket, reads OPEN, sends CONNECT and waits
// for CONNECT (or CONNECT_ERROR); then On, Emit and acks work as on the
// server, and the client answers the server's PINGs.

// ttConnect makes a Client for url with opts and connects it. A test that
// needs a handler in place for the first event registers it between
// NewClient and Connect itself.
func ttConnect(ctx context.Context, url string, opts ClientOptions) (*Client, error) {
	c, err := NewClient(url, opts)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("NewClient returned no error and no client")
	}
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// dialTTClient connects a client to the server with opts and closes it when
// the test ends. Its OnDisconnect reasons, registered before Connect, go to
// the returned channel.
func dialTTClient(t *testing.T, srv *ttServer, opts ClientOptions) (*Client, <-chan string) {
	t.Helper()
	c, err := NewClient(srv.url(), opts)
	require.NoError(t, err, "NewClient(%s, %+v)", srv.url(), opts)
	require.NotNil(t, c, "NewClient returned no error and no client")
	reasons := make(chan string, 4)
	c.OnDisconnect(func(reason string) {
		select {
		case reasons <- reason:
		default:
		}
	})
	require.NoError(t, c.Connect(ttCtx(t)), "Connect to %s with %+v", srv.url(), opts)
	t.Cleanup(func() { _ = c.Close() })
	return c, reasons
}

// ttClientRecorder returns a client Handler that copies events to ch.
func ttClientRecorder(ch chan ttGot) Handler { return ttRecorder(ch) }

func TestConnectKnowsItsID(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	c, _ := dialTTClient(t, srv, ClientOptions{})
	s := srv.nextSocket(t, "the Go client")
	assert.Equal(t, s.ID(), c.ID(), "Client.ID is the sid of the server's CONNECT")
	assert.Regexp(t, ttSocketIDPattern, c.ID())
}

// The reason for NewClient, then On, then Connect: a server that emits in
// its connection handler (a welcome, the history) sends that event right
// after the CONNECT answer, and a handler registered only once the client
// is connected may come too late for it. Registered before Connect, it never
// does. A thousand connections, and every one sees its welcome.
func TestHandlersRegisteredBeforeConnectGetTheFirstEvent(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	const rounds = 1000
	srv := startTTServer(t, Options{}, func(s *Socket) { _ = s.Emit("welcome", s.ID()) })
	for i := range rounds {
		c, err := NewClient(srv.url(), ClientOptions{})
		require.NoError(t, err)
		require.NotNil(t, c, "NewClient returned no error and no client")
		welcome := make(chan string, 1)
		c.On("welcome", func(e *Event) {
			var id string
			_ = e.Decode(0, &id)
			welcome <- id
		})
		require.NoError(t, c.Connect(ttCtx(t)), "connection %d", i+1)
		id := ttWait(t, welcome, fmt.Sprintf("the welcome of connection %d, emitted by the server's connection handler", i+1))
		require.Equal(t, c.ID(), id, "connection %d: the welcome names the socket", i+1)
		require.NoError(t, c.Close())
	}
}

// Before Connect a Client has no connection: Emit and EmitWithAck say so,
// Close does nothing and leaves nothing to wait for, and a Client connects
// once.
func TestClientBeforeAndAfterConnect(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)

	c, err := NewClient(srv.url(), ClientOptions{})
	require.NoError(t, err)
	require.NotNil(t, c)
	assert.Error(t, c.Emit("send-message", "too early"), "Emit before Connect")
	_, err = c.EmitWithAck(ttCtx(t), "send-message", "too early")
	assert.Error(t, err, "EmitWithAck before Connect")
	assert.Empty(t, c.ID(), "no ID before Connect")
	require.NoError(t, c.Connect(ttCtx(t)))
	assert.Error(t, c.Connect(ttCtx(t)), "a second Connect: a Client connects once")
	require.NoError(t, c.Close())

	closed, err := NewClient(srv.url(), ClientOptions{})
	require.NoError(t, err)
	require.NotNil(t, closed)
	require.NoError(t, closed.Close(), "Close before Connect")
	assert.Error(t, closed.Connect(ttCtx(t)), "Connect after Close")

	_, err = NewClient("ftp://127.0.0.1:1", ClientOptions{})
	assert.Error(t, err, "NewClient with a scheme that is not http, https, ws or wss")
	_, err = NewClient(srv.url(), ClientOptions{Auth: []string{"not", "an", "object"}})
	assert.Error(t, err, "NewClient with an auth that is not a JSON object")
}

func TestClientOnAndEmit(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	serverGot := make(chan ttGot, 4)
	srv := startTTServer(t, Options{}, func(s *Socket) { s.On("send-message", ttRecorder(serverGot)) })
	c, _ := dialTTClient(t, srv, ClientOptions{})
	s := srv.nextSocket(t, "the Go client")
	clientGot := make(chan ttGot, 4)
	c.On("message-saved", ttClientRecorder(clientGot))

	require.NoError(t, c.Emit("send-message", chatMessage{Text: "hi", Room: "general"}, 2))
	e := ttWait(t, serverGot, "the server's handler")
	require.Len(t, e.Args, 2)
	assert.JSONEq(t, `{"text":"hi","room":"general"}`, e.Args[0])
	assert.JSONEq(t, `2`, e.Args[1])

	require.NoError(t, s.Emit("message-saved", map[string]any{"success": true}))
	e = ttWait(t, clientGot, "the client's handler")
	assert.Equal(t, "message-saved", e.Name)
	require.Len(t, e.Args, 1)
	assert.JSONEq(t, `{"success":true}`, e.Args[0])
	assert.Nil(t, e.Socket, "on the client, Event.Socket is nil")

	// Binary both ways.
	blob := ttBytes(2048, 5)
	require.NoError(t, c.Emit("send-message", blob))
	e = ttWait(t, serverGot, "the server's handler, binary")
	assert.Equal(t, blob, e.Bytes[0], "a []byte from the Go client arrives as an attachment")
	require.NoError(t, s.Emit("message-saved", blob))
	e = ttWait(t, clientGot, "the client's handler, binary")
	assert.Equal(t, blob, e.Bytes[0], "a []byte from the server arrives as an attachment")

	assert.Error(t, c.Emit("disconnect"), "the client refuses reserved names too")
}

func TestClientHandlersRunInOrder(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	c, _ := dialTTClient(t, srv, ClientOptions{})
	s := srv.nextSocket(t, "the Go client")
	const n = 100
	var mu sync.Mutex
	var order []int
	done := make(chan struct{})
	c.On("n", func(e *Event) {
		var i int
		_ = json.Unmarshal(e.Args[0], &i)
		mu.Lock()
		defer mu.Unlock()
		order = append(order, i)
		if len(order) == n {
			close(done)
		}
	})
	for i := range n {
		require.NoError(t, s.Emit("n", i))
	}
	ttWait(t, done, "the client's handler to see every event")
	mu.Lock()
	defer mu.Unlock()
	for i, v := range order {
		require.Equal(t, i, v, "the client's handlers run in the order the events came")
	}
}

func TestClientEmitWithAck(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, func(s *Socket) {
		s.On("add", func(e *Event) {
			var a, b int
			_ = e.Decode(0, &a)
			_ = e.Decode(1, &b)
			_ = e.Ack(a + b)
		})
	})
	c, _ := dialTTClient(t, srv, ClientOptions{})
	args, err := c.EmitWithAck(ttCtx(t), "add", 20, 22)
	require.NoError(t, err)
	require.Len(t, args, 1)
	assert.JSONEq(t, `42`, string(args[0]), "the server's Ack arguments")

	// Nobody answers "void": the context decides.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = c.EmitWithAck(ctx, "void")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestClientAnswersServerAcks(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	c, _ := dialTTClient(t, srv, ClientOptions{})
	s := srv.nextSocket(t, "the Go client")
	c.On("question", func(e *Event) {
		var q string
		_ = e.Decode(0, &q)
		_ = e.Ack("answer to " + q)
	})
	args, err := s.EmitWithAck(ttCtx(t), "question", "life")
	require.NoError(t, err)
	require.Len(t, args, 1)
	assert.JSONEq(t, `"answer to life"`, string(args[0]))
}

func TestClientNamespace(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	var admin *ttWatcher
	srv := startTTServer(t, Options{}, nil, func(s *Server) {
		admin = ttWatch(s.Of("/admin").OnConnection, func(s *Socket) {
			s.On("whoami", func(e *Event) { _ = e.Ack(e.Socket.Namespace().Name()) })
		})
	})
	c, _ := dialTTClient(t, srv, ClientOptions{Namespace: "/admin"})
	s := admin.nextSocket(t, "the Go client in /admin")
	assert.Equal(t, s.ID(), c.ID())
	args, err := c.EmitWithAck(ttCtx(t), "whoami")
	require.NoError(t, err)
	require.Len(t, args, 1)
	assert.JSONEq(t, `"/admin"`, string(args[0]))
	assert.Empty(t, srv.connected, "a client of /admin made no socket in /")
}

func TestClientConnectReturnsTheConnectError(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil, func(s *Server) {
		s.Use(func(h *Handshake) error {
			var auth struct {
				Token string `json:"token"`
			}
			_ = json.Unmarshal(h.Auth, &auth)
			if auth.Token != "good" || h.Header.Get("X-Workbook") != "lesson-03" {
				return &ConnectError{Message: "not authorized", Data: map[string]any{"content": "please log in"}}
			}
			return nil
		})
	})

	_, err := ttConnect(ttCtx(t), srv.url(), ClientOptions{Auth: map[string]string{"token": "bad"}})
	var ce *ConnectError
	require.ErrorAs(t, err, &ce, "a refused CONNECT makes Connect return a *ConnectError, got %v", err)
	assert.Equal(t, "not authorized", ce.Message)
	assert.JSONEq(t, `{"content":"please log in"}`, ttJSON(t, ce.Data), "ConnectError.Data is the CONNECT_ERROR's data")

	_, err = ttConnect(ttCtx(t), srv.url(), ClientOptions{Namespace: "/nope"})
	require.ErrorAs(t, err, &ce, "an unknown namespace makes Connect return a *ConnectError, got %v", err)
	assert.Equal(t, "Invalid namespace", ce.Message)

	// Auth and Header go to the middleware.
	c, _ := dialTTClient(t, srv, ClientOptions{Auth: map[string]string{"token": "good"}, Header: http.Header{"X-Workbook": {"lesson-03"}}})
	assert.NotEmpty(t, c.ID())
}

func TestClientConnectHonoursTheContext(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	// A server that upgrades and then says nothing: no open packet comes.
	hs := ttHandmadeServer(t, func(ws *websocket.Conn) {
		_, _, _ = ws.ReadMessage() // until the test ends and closes ws
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	c, err := ttConnect(ctx, hs.URL, ClientOptions{})
	if c != nil {
		_ = c.Close()
	}
	elapsed := time.Since(start)
	require.Error(t, err, "Connect must give up when ctx ends")
	assert.GreaterOrEqual(t, elapsed, 150*time.Millisecond, "Connect must wait for the open packet until ctx ends; it gave up after %v with %v", elapsed, err)
	assert.Less(t, elapsed, ttTimeout/2, "Connect must return when ctx ends, not %v later", elapsed)
}

func TestClientOnDisconnectReasons(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)

	// The server disconnects the socket: socket.io-client's reason is
	// "io server disconnect".
	c, reasons := dialTTClient(t, srv, ClientOptions{})
	s := srv.nextSocket(t, "the first client")
	s.Disconnect()
	assert.Equal(t, "io server disconnect", ttWait(t, reasons, "the client's OnDisconnect"))
	assert.Error(t, c.Emit("after", 1), "Emit on a disconnected client fails")

	// Added after the disconnection, OnDisconnect still hears of it, at
	// once: a caller that registers late cannot miss the end.
	late := make(chan string, 1)
	c.OnDisconnect(func(reason string) { late <- reason })
	select {
	case r := <-late:
		assert.Equal(t, "io server disconnect", r, "a late OnDisconnect gets the reason")
	default:
		t.Error("an OnDisconnect added after the disconnection must run at once, with the reason")
	}

	// The client closes: "io client disconnect", and the server sees the
	// client leave.
	c2, reasons2 := dialTTClient(t, srv, ClientOptions{})
	s2 := srv.nextSocket(t, "the second client")
	require.NoError(t, c2.Close())
	assert.Equal(t, "io client disconnect", ttWait(t, reasons2, "OnDisconnect after Close"))
	assert.Equal(t, ReasonClientDisconnect, srv.reasonFor(t, s2.ID(), "the client's Close"))

	// The server goes away: "transport close" or, if the server said
	// DISCONNECT first, "io server disconnect".
	_, reasons3 := dialTTClient(t, srv, ClientOptions{})
	srv.nextSocket(t, "the third client")
	require.NoError(t, srv.Close())
	assert.Contains(t, []string{"transport close", "io server disconnect"}, ttWait(t, reasons3, "OnDisconnect after Server.Close"))
}

func TestClientAnswersPingsAndStaysConnected(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	opts := ttShortHeartbeat()
	srv := startTTServer(t, opts, ttEcho)
	c, reasons := dialTTClient(t, srv, ClientOptions{})
	s := srv.nextSocket(t, "the Go client")

	// Twenty ping intervals, during which neither side may give up.
	select {
	case l := <-srv.left:
		t.Fatalf("the server dropped the Go client (%q): it must answer every PING with PONG", l.Reason)
	case r := <-reasons:
		t.Fatalf("the Go client disconnected (%q) although the server pings", r)
	case <-time.After(20 * opts.PingInterval):
	}
	assert.True(t, s.Connected())
	got := make(chan ttGot, 1)
	c.On("echoed", ttClientRecorder(got))
	require.NoError(t, c.Emit("echo", "alive"))
	assert.Equal(t, []string{`"alive"`}, ttWait(t, got, "the echo").Args)
}

func TestClientPongEchoesThePingsData(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	// Engine.IO: a PONG answers a PING with the PING's data after the type
	// digit. The heartbeat's pings are a bare `2`, but a ping may carry data:
	// the probe of engine.io-protocol v4's Upgrade is `2probe`, answered
	// `3probe` (revision 3 of the protocol put it as "a pong packet containing
	// the same data"). A hand-made server pings with data twice: once before
	// it answers CONNECT (a ping may come any time after the open packet, so
	// Connect must answer it too) and once after. It hands the test each pong.
	pongs := make(chan string, 2)
	hs := ttHandmadeServer(t, func(ws *websocket.Conn) {
		// pong reads frames until one is a PONG and hands it to the test.
		pong := func() bool {
			for range 10 {
				_, p, err := ws.ReadMessage()
				if err != nil {
					return false
				}
				if strings.HasPrefix(string(p), "3") {
					pongs <- string(p)
					return true
				}
			}
			return false
		}
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`0{"sid":"probing-session","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
		_ = ws.SetReadDeadline(time.Now().Add(2 * ttTimeout))
		if _, p, err := ws.ReadMessage(); err != nil || string(p) != "40" {
			return
		}
		_ = ws.WriteMessage(websocket.TextMessage, []byte("2probe"))
		if !pong() {
			return
		}
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`40{"sid":"probedSocketId0123456789"}`))
		_ = ws.WriteMessage(websocket.TextMessage, []byte("2after-connect"))
		if !pong() {
			return
		}
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	})

	c, err := ttConnect(ttCtx(t), hs.URL, ClientOptions{})
	require.NoError(t, err)
	require.NotNil(t, c)
	t.Cleanup(func() { _ = c.Close() })
	assert.Equal(t, "3probe", ttWait(t, pongs, "the pong to `2probe`, sent before the CONNECT answer"),
		"Connect answers a ping that comes before the CONNECT answer with PONG and the ping's data")
	assert.Equal(t, "3after-connect", ttWait(t, pongs, "the pong to `2after-connect`"),
		"the connected client answers a ping with PONG and the ping's data")
}

func TestClientNoticesASilentServer(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	// A hand-made server: it opens the session with a 200ms heartbeat,
	// accepts CONNECT, and then never pings (engine.io-protocol v4,
	// Heartbeat: the client expects a PING within pingInterval+pingTimeout).
	hs := ttHandmadeServer(t, func(ws *websocket.Conn) {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`0{"sid":"silent-session","upgrades":[],"pingInterval":200,"pingTimeout":200,"maxPayload":1000000}`))
		_ = ws.SetReadDeadline(time.Now().Add(2 * ttTimeout))
		if _, p, err := ws.ReadMessage(); err != nil || string(p) != "40" {
			return
		}
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`40{"sid":"silentSocketId0123456789"}`))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	})

	c, err := ttConnect(ttCtx(t), hs.URL, ClientOptions{})
	require.NoError(t, err)
	require.NotNil(t, c)
	t.Cleanup(func() { _ = c.Close() })
	assert.Equal(t, "silentSocketId0123456789", c.ID())
	reasons := make(chan string, 2)
	c.OnDisconnect(func(r string) { reasons <- r })
	assert.Equal(t, "ping timeout", ttWait(t, reasons, "the client to give up on a server that never pings"))
}

// ttHandmadeServer serves a WebSocket whose every packet the test writes by
// hand: script runs on each upgraded connection, which is closed when
// script returns or when the test ends, whichever comes first. The server
// is shut down, and its handlers waited for, when the test ends.
func ttHandmadeServer(t *testing.T, script func(ws *websocket.Conn)) *httptest.Server {
	t.Helper()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-stop:
				ws.Close()
			case <-done:
			}
		}()
		script(ws)
	}))
	t.Cleanup(func() { close(stop); hs.Close(); wg.Wait() })
	return hs
}
