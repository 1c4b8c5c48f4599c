package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 3.4: Sockets, On and Emit.
//
// socket.io-protocol v5, "Connection to a namespace": the client sends
// CONNECT (`40`, with its auth as JSON when it has one); the server answers
// CONNECT with the socket's id, `40{"sid":"..."}`, and from then on both
// sides send EVENTs (`42["name",...args]`). Either side may end the socket
// with DISCONNECT (`41`).
//
// These tests play the client by hand (helpers_test.go), so they need
// nothing of exercise 3.8.

// ttSocketIDPattern is what a socket ID looks like: URL-safe characters
// (base64url), at least 20 of them.
var ttSocketIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{20,}$`)

func TestConnectAnswersWithTheSocketID(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	c := dialTTRaw(t, srv, "client", nil)
	sid := c.connect("/", "")
	s := srv.nextSocket(t, "the client")

	assert.Equal(t, sid, s.ID(), "the sid in the server's CONNECT is the Socket's ID")
	assert.Regexp(t, ttSocketIDPattern, s.ID(), "a socket ID is 20 or more URL-safe characters from crypto/rand")
	assert.True(t, s.Connected(), "a socket is connected when OnConnection runs")
	require.NotNil(t, s.Namespace(), "Socket.Namespace")
	assert.Equal(t, "/", s.Namespace().Name())
	require.NotNil(t, s.Handshake(), "Socket.Handshake")
	assert.Equal(t, "4", s.Handshake().Query.Get("EIO"), "Handshake.Query is the query of the WebSocket request")
	assert.False(t, s.Handshake().Time.IsZero(), "Handshake.Time is when the client connected")
	assert.NotEmpty(t, s.Handshake().RemoteAddr, "Handshake.RemoteAddr")
	assert.Empty(t, s.Handshake().Auth, "no auth in `40`, so Handshake.Auth is nil")

	sockets := s.Namespace().Sockets()
	require.Len(t, sockets, 1, "Namespace.Sockets: the one connected socket")
	assert.Same(t, s, sockets[0])
}

func TestSocketIDsAreUniqueAndUnguessable(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	ids := map[string]int{}
	for i := range 100 {
		c := dialTTRaw(t, srv, fmt.Sprintf("client %d", i), nil)
		sid := c.connect("/", "")
		s := srv.nextSocket(t, fmt.Sprintf("client %d", i))
		require.Equal(t, sid, s.ID())
		require.Regexp(t, ttSocketIDPattern, sid, "socket %d: a socket ID is 20 or more URL-safe random characters", i)
		if j, dup := ids[sid]; dup {
			t.Fatalf("sockets %d and %d got the same ID %q: IDs must be random (crypto/rand), never reused", j, i, sid)
		}
		ids[sid] = i
		// Engine.IO's sid names the connection, the socket ID the socket:
		// socket.io v5 keeps them apart, so one does not give away the other.
		require.NotEqual(t, c.Open.Sid, sid, "the socket ID must not be the Engine.IO session id")
		require.NoError(t, c.ws.Close())
		srv.reasonFor(t, sid, "client "+strconv.Itoa(i)+" closing")
	}
}

func TestOnReceivesTheClientsEvents(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	got := make(chan ttGot, 16)
	srv := startTTServer(t, Options{}, func(s *Socket) {
		s.On("send-message", ttRecorder(got))
		s.On("typing", ttRecorder(got))
	})
	c := dialTTRaw(t, srv, "client", nil)
	c.connect("/", "")
	s := srv.nextSocket(t, "client")

	c.send(`42["send-message",{"text":"hello","room":"general"},7]`)
	e := ttWait(t, got, `the handler of "send-message"`)
	assert.Equal(t, "send-message", e.Name)
	require.Len(t, e.Args, 2, "the arguments after the name")
	assert.JSONEq(t, `{"text":"hello","room":"general"}`, e.Args[0])
	assert.JSONEq(t, `7`, e.Args[1])
	assert.Same(t, s, e.Socket, "Event.Socket is the socket the event came on")

	c.send(`42["typing"]`)
	e = ttWait(t, got, `the handler of "typing"`)
	assert.Equal(t, "typing", e.Name)
	assert.Empty(t, e.Args, "an event with no arguments")

	// An event nobody listens for is dropped, and the socket goes on.
	c.send(`42["nobody-listens",1]`)
	c.send(`42["typing","again"]`)
	e = ttWait(t, got, `the handler of "typing"`)
	assert.Equal(t, []string{`"again"`}, e.Args)
}

func TestEmitSendsAnEventToTheClient(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	c := dialTTRaw(t, srv, "client", nil)
	c.connect("/", "")
	s := srv.nextSocket(t, "client")

	require.NoError(t, s.Emit("message-saved", map[string]any{"success": true, "id": 1}, "note"))
	p, args := c.nextEvent("message-saved")
	assert.Equal(t, 2, p.Type, "an event without []byte is an EVENT, `42[...]`")
	assert.Equal(t, int64(-1), p.ID, "Emit asks for no ack, so the packet has no ack id")
	require.Len(t, args, 2)
	assert.JSONEq(t, `{"success":true,"id":1}`, string(args[0]))
	assert.JSONEq(t, `"note"`, string(args[1]))

	require.NoError(t, s.Emit("tick"))
	p, _ = c.nextEvent("tick")
	assert.JSONEq(t, `["tick"]`, string(p.Data))
}

func TestEmitFromOnConnectionArrivesAfterConnect(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	// The seed's server greets each client as it connects; the client must
	// see CONNECT first (it drops events for a socket it does not know yet).
	srv := startTTServer(t, Options{}, func(s *Socket) {
		_ = s.Emit("welcome", s.ID())
	})
	c := dialTTRaw(t, srv, "client", nil)
	sid := c.connect("/", "")
	_, args := c.nextEvent("welcome")
	require.Len(t, args, 1)
	assert.JSONEq(t, strconv.Quote(sid), string(args[0]))
}

func TestHandlersOfOneSocketRunOneAtATimeInOrder(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	const n = 200
	var (
		mu      sync.Mutex
		order   []int
		running atomic.Int32
		overlap atomic.Bool
	)
	done := make(chan struct{})
	srv := startTTServer(t, Options{}, func(s *Socket) {
		h := func(e *Event) {
			if running.Add(1) > 1 {
				overlap.Store(true)
			}
			defer running.Add(-1)
			var i int
			_ = json.Unmarshal(e.Args[0], &i)
			mu.Lock()
			order = append(order, i)
			last := len(order) == n
			mu.Unlock()
			if last {
				close(done)
			}
		}
		s.On("a", h)
		s.On("b", h)
	})
	c := dialTTRaw(t, srv, "client", nil)
	c.connect("/", "")
	for i := range n {
		c.send(fmt.Sprintf(`42[%q,%d]`, []string{"a", "b"}[i%2], i))
	}
	ttWait(t, done, fmt.Sprintf("the handlers to see all %d events", n))
	mu.Lock()
	defer mu.Unlock()
	for i, v := range order {
		require.Equal(t, i, v, "handlers must run in the order the events arrived; got order %v", order)
	}
	assert.False(t, overlap.Load(), "two handlers of one socket ran at the same time; they must run one at a time")
}

func TestEmitFromManyGoroutinesIsSafe(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	c := dialTTRaw(t, srv, "client", nil)
	c.connect("/", "")
	s := srv.nextSocket(t, "client")

	const goroutines, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := s.Emit("burst", g, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	next := make([]int, goroutines)
	for range goroutines * each {
		_, args := c.nextEvent("burst")
		require.Len(t, args, 2)
		var g, i int
		require.NoError(t, json.Unmarshal(args[0], &g))
		require.NoError(t, json.Unmarshal(args[1], &i))
		require.Equal(t, next[g], i, "goroutine %d's emits must arrive in its order", g)
		next[g]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Emit from a goroutine failed: %v", err)
	}
}

// A chatMessage is the payload of the seed's "send-message".
type chatMessage struct {
	Text string `json:"text"`
	Room string `json:"room"`
}

func TestEventDecodeUnmarshalsAnArgument(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	type result struct {
		msg     chatMessage
		n       int
		err     error // decoding argument 0
		wrong   error // argument 0 into an int
		missing error // argument 5, which does not exist
	}
	got := make(chan result, 1)
	srv := startTTServer(t, Options{}, func(s *Socket) {
		s.On("send-message", func(e *Event) {
			var r result
			r.err = e.Decode(0, &r.msg)
			_ = e.Decode(1, &r.n)
			var i int
			r.wrong = e.Decode(0, &i)
			r.missing = e.Decode(5, &i)
			got <- r
		})
	})
	c := dialTTRaw(t, srv, "client", nil)
	c.connect("/", "")
	c.send(`42["send-message",{"text":"hi","room":"general"},3]`)
	r := ttWait(t, got, "the handler")
	require.NoError(t, r.err, "Event.Decode(0, &chatMessage{})")
	assert.Equal(t, chatMessage{Text: "hi", Room: "general"}, r.msg)
	assert.Equal(t, 3, r.n)
	require.Error(t, r.wrong, "an object does not decode into an int")
	assert.Contains(t, r.wrong.Error(), "send-message", "a Decode error names the event")
	require.Error(t, r.missing, "there is no argument 5")
	assert.Contains(t, r.missing.Error(), "send-message", "a Decode error names the event")
	assert.Contains(t, r.missing.Error(), "5", "a Decode error names the index")
}

func TestHandleDecodesThePayloadOrAnswersWithAnError(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	got := make(chan chatMessage, 4)
	srv := startTTServer(t, Options{}, func(s *Socket) {
		Handle(s, "send-message", func(m chatMessage, e *Event) {
			got <- m
			_ = e.Socket.Emit("message-saved", map[string]any{"success": true})
		})
	})
	c := dialTTRaw(t, srv, "client", nil)
	c.connect("/", "")

	c.send(`42["send-message",{"text":"hello","room":"general"}]`)
	assert.Equal(t, chatMessage{Text: "hello", Room: "general"}, ttWait(t, got, "the typed handler"))
	c.nextEvent("message-saved")

	// A payload that does not decode: the handler is not called, and the
	// sender (who asked for no ack) gets "error" {"event", "error"}.
	c.send(`42["send-message",42]`)
	_, args := c.nextEvent("error")
	require.Len(t, args, 1, `the "error" event has one argument`)
	var answer struct {
		Event string `json:"event"`
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(args[0], &answer), `expected {"event":...,"error":...}, got %s`, args[0])
	assert.Equal(t, "send-message", answer.Event)
	assert.NotEmpty(t, answer.Error, "the error says what was wrong")
	select {
	case m := <-got:
		t.Fatalf("the handler was called with %+v for a payload that does not decode", m)
	default:
	}

	// A missing payload is just as wrong.
	c.send(`42["send-message"]`)
	c.nextEvent("error")

	// And the socket is still served.
	c.send(`42["send-message",{"text":"again"}]`)
	assert.Equal(t, chatMessage{Text: "again"}, ttWait(t, got, "the typed handler after the errors"))
	c.nextEvent("message-saved")
}

func TestBinaryAttachmentsBothWays(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	got := make(chan ttGot, 1)
	srv := startTTServer(t, Options{}, func(s *Socket) { s.On("upload", ttRecorder(got)) })
	c := dialTTRaw(t, srv, "client", nil)
	c.connect("/", "")
	s := srv.nextSocket(t, "client")

	// socket.io-protocol v5, Binary events: the text, then one binary frame
	// per placeholder.
	file := ttBytes(3000, 1)
	c.send(`451-["upload",` + ttPlaceholder(0) + `,"photo.jpg"]`)
	c.sendBinary(file)
	e := ttWait(t, got, "the upload handler")
	require.Len(t, e.Args, 2)
	assert.Equal(t, file, e.Bytes[0], "Event.Bytes(0) is the attachment the placeholder names")
	_, isBytes := e.Bytes[1]
	assert.False(t, isBytes, "Event.Bytes(1) of a string argument reports false")

	blob := ttBytes(500, 2)
	require.NoError(t, s.Emit("download", "x.bin", blob))
	p, args := c.nextEvent("download")
	assert.Equal(t, 5, p.Type, "an event with a []byte goes as BINARY_EVENT, `451-[...]`, got %q", p.Raw)
	assert.Equal(t, 1, p.Attach)
	require.Len(t, args, 2)
	num, ok := ttIsPlaceholder(args[1])
	require.True(t, ok, "the []byte is replaced with a placeholder, got %s", args[1])
	require.Less(t, num, len(p.Attachments))
	assert.Equal(t, blob, p.Attachments[num], "the attachment carries the bytes")
}

func TestEmitRefusesReservedEventNames(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	onPanics := make(chan string, 8)
	srv := startTTServer(t, Options{}, func(s *Socket) {
		// On with a reserved name is a programmer error: it panics.
		for _, name := range []string{"connect", "disconnect"} {
			func() {
				defer func() {
					if recover() != nil {
						onPanics <- name
					}
				}()
				s.On(name, func(*Event) {})
			}()
		}
	})
	c := dialTTRaw(t, srv, "client", nil)
	c.connect("/", "")
	s := srv.nextSocket(t, "client")

	// socket.io keeps these names for itself (socket.io's RESERVED_EVENTS):
	// the client would take them for its own lifecycle events.
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		assert.Error(t, s.Emit(name, "x"), "Emit(%q) must be refused: it is a reserved event name", name)
	}
	require.NoError(t, s.Emit("connected-ok", 1), "an ordinary name is fine")
	c.nextEvent("connected-ok")

	close(onPanics)
	var panicked []string
	for n := range onPanics {
		panicked = append(panicked, n)
	}
	assert.Equal(t, []string{"connect", "disconnect"}, panicked, "On with a reserved name must panic (use OnDisconnect for disconnects)")
}

// ---------------------------------------------------------------------------
// Disconnects, and their reasons.

func TestClientDisconnectReason(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	c := dialTTRaw(t, srv, "client", nil)
	sid := c.connect("/", "")
	s := srv.nextSocket(t, "client")

	c.send("41") // DISCONNECT from "/"
	assert.Equal(t, ReasonClientDisconnect, srv.reasonFor(t, sid, "the client's DISCONNECT"),
		"a client that sends DISCONNECT leaves with %q", ReasonClientDisconnect)
	assert.False(t, s.Connected())
	assert.ErrorIs(t, s.Emit("late", 1), ErrDisconnected, "Emit on a socket that has left")
	assert.Empty(t, s.Namespace().Sockets(), "a socket that left is no longer among the namespace's sockets")

	// DISCONNECT ends the socket, not the connection: the client may
	// CONNECT again over it (socket.io-protocol v5, Disconnection from a namespace).
	sid2 := c.connect("/", "")
	assert.NotEqual(t, sid, sid2, "a new socket gets a new ID")
}

func TestTransportCloseReason(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	c := dialTTRaw(t, srv, "client", nil)
	sid := c.connect("/", "")
	srv.nextSocket(t, "client")
	require.NoError(t, c.ws.UnderlyingConn().(*net.TCPConn).Close(), "the client drops the TCP connection")
	assert.Equal(t, ReasonTransportClose, srv.reasonFor(t, sid, "the connection closing"))
}

func TestPingTimeoutReason(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	srv := startTTServer(t, ttShortHeartbeat(), nil)
	c := dialTTRaw(t, srv, "a client that stops answering pings", nil)
	c.AnswerPings = false
	sid := c.connect("/", "")
	srv.nextSocket(t, "client")
	assert.Equal(t, ReasonPingTimeout, srv.reasonFor(t, sid, "no PONG within pingTimeout"),
		"engine.io-protocol v4, Heartbeat: a client that does not answer PING is gone")
	c.expectClosed("the ping timeout")
}

func TestSocketDisconnectReason(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, ttEcho)
	c := dialTTRaw(t, srv, "client", nil)
	sid := c.connect("/", "")
	s := srv.nextSocket(t, "client")

	s.Disconnect()
	p := c.nextPacket("DISCONNECT from the server")
	assert.Equal(t, "1", p.Raw, "Socket.Disconnect sends DISCONNECT, `41`, to the client")
	assert.Equal(t, ReasonServerDisconnect, srv.reasonFor(t, sid, "Socket.Disconnect"))
	assert.False(t, s.Connected())
	s.Disconnect() // a second call does nothing

	// The connection stays: the client may connect a new socket.
	c.connect("/", "")
	c.stillServed("after Socket.Disconnect")
}

func TestServerCloseDisconnectsEveryone(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	var clients []*ttRawClient
	var sids []string
	for i := range 3 {
		c := dialTTRaw(t, srv, fmt.Sprintf("client %d", i), nil)
		sids = append(sids, c.connect("/", ""))
		srv.nextSocket(t, c.name) // its OnConnection has run
		clients = append(clients, c)
	}
	require.NoError(t, srv.Close(), "Server.Close")
	for i, sid := range sids {
		assert.Equal(t, ReasonServerShutdown, srv.reasonFor(t, sid, "Server.Close"), "client %d", i)
		clients[i].expectClosed("Server.Close")
	}
	assert.Error(t, ttTryDial(srv), "after Server.Close new connections are refused")
}

// After Close, a transport handed to Attach is closed at once, and Attach
// says why: lesson 04's engine then answers 503 to a poll.
func TestAttachAfterCloseClosesTheTransport(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	attached, results := attachedTTServer(t, srv, []string{"websocket"})
	require.NoError(t, srv.Close(), "Server.Close")

	d := websocket.Dialer{HandshakeTimeout: ttTimeout}
	ws, _, err := d.Dial(attached.wsURL("EIO=4&transport=websocket"), nil)
	require.NoError(t, err, "the test's handler upgrades before it calls Attach")
	defer ws.Close()
	// Read first: a transport's Close may wait for the client's answer to
	// its close frame, and Attach returns after it.
	require.NoError(t, ws.SetReadDeadline(time.Now().Add(ttTimeout)))
	_, p, err := ws.ReadMessage()
	require.Error(t, err, "Attach after Close closes the transport; the client read %q", p)
	var ne net.Error
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "Attach after Close must close the transport, not leave it open: %v", err)
	got := ttWait(t, results, "Attach to return")
	assert.ErrorIs(t, got.Err, ErrServerClosed, "Attach after Close")
	assert.Empty(t, got.Sid, "Attach after Close has no session to name")
}

// Server.Close lets each session write what it had queued before it closes
// it, so the last acks and broadcasts of a server that is going away still
// arrive, in order. The queue here is deep: the client has not read yet, so
// the kernel's buffers between it and the server are full when Close is
// called, and 200 events of 64 KiB wait behind them.
func TestServerCloseWritesWhatWasQueuedFirst(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	const events = 200
	srv := startTTServer(t, Options{SendQueue: 256}, nil)
	c := dialTTRaw(t, srv, "a client that reads only once Close has begun", nil)
	c.connect("/", "")
	s := srv.nextSocket(t, "the client")
	big := strings.Repeat("x", 64<<10)
	for i := range events {
		require.NoError(t, s.Emit("tick", i, big), "Emit of event %d: it only queues", i)
	}
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	var got []int
	for _, f := range c.expectClosed("Server.Close, once what was queued is written") {
		var i int
		if _, err := fmt.Sscanf(f, `42["tick",%d,`, &i); err == nil {
			got = append(got, i)
		}
	}
	require.Len(t, got, events, "the events emitted before Server.Close must all arrive before the connection closes; got %d of %d", len(got), events)
	for k, i := range got {
		require.Equal(t, k, i, "the events arrive in the order they were emitted")
	}
	require.NoError(t, ttWait(t, closed, "Server.Close to return"))
	assert.Equal(t, ReasonServerShutdown, srv.reasonFor(t, s.ID(), "Server.Close"))
}

func TestSlowClientIsCutOffAndOthersKeepReceiving(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{SendQueue: 8}, nil)
	slow := dialTTRaw(t, srv, "a client that never reads", nil)
	slowID := slow.connect("/", "")
	slowSock := srv.nextSocket(t, "the slow client")
	fast := dialTTRaw(t, srv, "a client that reads", nil)
	fast.connect("/", "")
	fastSock := srv.nextSocket(t, "the fast client")

	// 64 KiB events: the TCP buffers between the server and the slow client
	// fill within a few hundred, then its queue of 8.
	big := strings.Repeat("x", 64<<10)
	start := time.Now()
	emitted := 0
	for emitted < 4000 && slowSock.Connected() {
		t0 := time.Now()
		_ = slowSock.Emit("flood", big)
		require.Less(t, time.Since(t0), time.Second, "Emit to a slow client blocked; it must only queue")
		emitted++
		if emitted%50 == 0 {
			// Meanwhile, the others are served as usual.
			require.NoError(t, fastSock.Emit("tick", emitted))
			fast.nextEvent("tick")
		}
		require.Less(t, time.Since(start), 2*ttTimeout, "the slow client was not cut off")
	}
	assert.Equal(t, ReasonSendQueueFull, srv.reasonFor(t, slowID, "the slow client's queue filling up"),
		"a client that does not read is disconnected once its send queue (Options.SendQueue) is full")
	assert.False(t, slowSock.Connected())

	t0 := time.Now()
	require.NoError(t, fastSock.Emit("after", 1))
	fast.nextEvent("after")
	assert.Less(t, time.Since(t0), 2*time.Second, "the other client must keep receiving promptly")
}

// ---------------------------------------------------------------------------
// Bad input from a client.

func TestBadInputDropsOnlyThatClient(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	const maxPayload = 4096
	for _, tc := range []struct {
		name string
		send func(c *ttRawClient)
	}{
		{"an unknown Engine.IO packet type", func(c *ttRawClient) { c.send(`9hello`) }},
		{"an empty text frame", func(c *ttRawClient) { c.send(``) }},
		{"an unknown Socket.IO packet type", func(c *ttRawClient) { c.send(`47["x"]`) }},
		{"an EVENT that is not JSON", func(c *ttRawClient) { c.send(`42["x"`) }},
		{"an EVENT whose data is not an array", func(c *ttRawClient) { c.send(`42{"event":"x"}`) }},
		{"an EVENT with an empty array", func(c *ttRawClient) { c.send(`42[]`) }},
		{"an EVENT whose name is not a string", func(c *ttRawClient) { c.send(`42[1,2]`) }},
		{"more than 10 attachments", func(c *ttRawClient) { c.send(`4511-["x"]`) }},
		{"a binary frame nobody announced", func(c *ttRawClient) { c.sendBinary([]byte{1, 2, 3}) }},
		{"a message over MaxPayload", func(c *ttRawClient) {
			c.send(`42["echo","` + strings.Repeat("y", 2*maxPayload) + `"]`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startTTServer(t, Options{MaxPayload: maxPayload}, ttEcho)
			good := dialTTRaw(t, srv, "a well-behaved client", nil)
			good.connect("/", "")
			srv.nextSocket(t, good.name)
			bad := dialTTRaw(t, srv, "a client that sends "+tc.name, nil)
			badID := bad.connect("/", "")
			srv.nextSocket(t, bad.name)

			tc.send(bad)
			bad.expectClosed(tc.name + " is a protocol error: the server closes that connection")
			assert.Equal(t, ReasonTransportError, srv.reasonFor(t, badID, tc.name),
				"a malformed or oversized packet ends the socket with %q", ReasonTransportError)
			good.stillServed("after " + tc.name)
		})
	}
}

func TestEventsForANamespaceNotJoinedAreRefused(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, ttEcho)
	good := dialTTRaw(t, srv, "a well-behaved client", nil)
	good.connect("/", "")
	bad := dialTTRaw(t, srv, "a client that skips CONNECT", nil)
	bad.send(`42["echo","no CONNECT first"]`)
	seen := bad.expectClosed("an EVENT before CONNECT is a protocol error (socket.io-protocol v5, Connection to a namespace)")
	for _, f := range seen {
		assert.NotContains(t, f, "echoed", "an EVENT for a socket that does not exist must not be served")
	}
	good.stillServed("after the client that skipped CONNECT")
}
