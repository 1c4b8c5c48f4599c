package events

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
	"github.com/websocket-workbook/workbook/internal/nodepeer"
)

// Interoperability with the real npm socket.io-client (v4, the client of
// the course notes), run by Node through internal/nodepeer, with
// {transports: ["websocket"], reconnection: false}. Each test names the
// exercise whose server features it needs; the tests that also use the Go
// client belong to 3.8. Without Node (and `npm ci`) they are skipped, except
// in CI, where they fail.

// startTTNode starts an npm socket.io-client for url (a namespace is part
// of it) and waits for its connect report, whose id it returns.
func startTTNode(t *testing.T, url string, opts map[string]any) (*nodepeer.SIOClient, string) {
	t.Helper()
	c := nodepeer.StartSIOClient(t, url, ttNodeOpts(opts))
	r := c.WaitFor("connect", "", ttTimeout)
	require.NotEmpty(t, r.ID, "socket.id after connect")
	return c, r.ID
}

// ttNodeOpts are socket.io-client options: WebSocket only, no reconnection,
// plus extra.
func ttNodeOpts(extra map[string]any) map[string]any {
	opts := map[string]any{"transports": []string{"websocket"}, "reconnection": false}
	for k, v := range extra {
		opts[k] = v
	}
	return opts
}

// ttNodeEventsUntil reads the client's reports until the event sentinel and
// returns the events before it as "event:arg0".
func ttNodeEventsUntil(t *testing.T, c *nodepeer.SIOClient, sentinel string) []string {
	t.Helper()
	var got []string
	for range 1000 {
		r := c.Next(ttTimeout)
		if r.Kind == "event" && r.Event == sentinel {
			return got
		}
		s := r.Kind + ":" + r.Event
		if r.Kind == "event" {
			s = r.Event
			if len(r.Args) > 0 {
				s += ":" + string(r.Args[0])
			}
		}
		got = append(got, s)
	}
	t.Fatalf("no sentinel %q among 1000 reports", sentinel)
	return nil
}

// ttNodeSync makes sure the Node side has handled every command sent so
// far: it emits "sync" and waits until the server's handler (ttSyncHandler)
// has seen it. Commands are handled in order, so AnswerAcks before it is in
// effect after it.
func ttNodeSync(t *testing.T, c *nodepeer.SIOClient, synced <-chan ttGot) {
	t.Helper()
	c.Emit("sync")
	ttWait(t, synced, "the npm client's sync event")
}

func TestNodeClientEventsBothWays(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	got := make(chan ttGot, 8)
	srv := startTTServer(t, Options{}, func(s *Socket) {
		s.On("send-message", ttRecorder(got))
		Handle(s, "typed", func(m chatMessage, e *Event) { _ = e.Socket.Emit("typed-ok", m.Text) })
	})
	node, id := startTTNode(t, srv.url(), nil)
	s := srv.nextSocket(t, "the npm client")
	assert.Equal(t, s.ID(), id, "socket.id in Node is the Socket's ID")

	node.Emit("send-message", map[string]any{"text": "hello from Node"}, 42)
	e := ttWait(t, got, "the npm client's event")
	assert.Equal(t, "send-message", e.Name)
	require.Len(t, e.Args, 2)
	assert.JSONEq(t, `{"text":"hello from Node"}`, e.Args[0])
	assert.JSONEq(t, `42`, e.Args[1])

	require.NoError(t, s.Emit("message-saved", map[string]any{"success": true}, "x"))
	r := node.WaitFor("event", "message-saved", ttTimeout)
	require.Len(t, r.Args, 2)
	assert.JSONEq(t, `{"success":true}`, string(r.Args[0]))
	assert.JSONEq(t, `"x"`, string(r.Args[1]))

	node.Emit("typed", map[string]any{"text": "typed hello"})
	r = node.WaitFor("event", "typed-ok", ttTimeout)
	assert.JSONEq(t, `"typed hello"`, string(r.Args[0]))
	node.Emit("typed", "not an object")
	r = node.WaitFor("event", "error", ttTimeout)
	require.Len(t, r.Args, 1)
	assert.Contains(t, string(r.Args[0]), `"event":"typed"`, "Handle answers a bad payload with \"error\" {event, error}")

	node.Disconnect()
	assert.Equal(t, "io client disconnect", node.WaitFor("disconnect", "", ttTimeout).Reason)
	assert.Equal(t, ReasonClientDisconnect, srv.reasonFor(t, id, "socket.disconnect() in Node"))
}

func TestNodeClientSeesServerDisconnect(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil)
	node, id := startTTNode(t, srv.url(), nil)
	s := srv.nextSocket(t, "the npm client")
	s.Disconnect()
	assert.Equal(t, "io server disconnect", node.WaitFor("disconnect", "", ttTimeout).Reason,
		"Socket.Disconnect sends DISCONNECT, which socket.io-client reports as \"io server disconnect\"")
	assert.Equal(t, ReasonServerDisconnect, srv.reasonFor(t, id, "Socket.Disconnect"))
}

func TestNodeClientBinaryPayloads(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	got := make(chan ttGot, 4)
	srv := startTTServer(t, Options{}, func(s *Socket) { s.On("upload", ttRecorder(got)) })
	node, _ := startTTNode(t, srv.url(), nil)
	s := srv.nextSocket(t, "the npm client")

	file := ttBytes(10000, 3)
	node.Emit("upload", "photo.jpg", file)
	e := ttWait(t, got, "a Buffer from Node")
	require.Len(t, e.Args, 2)
	assert.JSONEq(t, `"photo.jpg"`, e.Args[0])
	assert.Equal(t, file, e.Bytes[1], "a Buffer sent by socket.io-client is Event.Bytes(1) in Go")

	blob := ttBytes(5000, 4)
	require.NoError(t, s.Emit("download", blob, "name.bin"))
	r := node.WaitFor("event", "download", ttTimeout)
	require.Len(t, r.Args, 2)
	b, ok := nodepeer.Binary(r.Args[0])
	require.True(t, ok, "a []byte emitted in Go arrives in Node as a binary value, got %s", r.Args[0])
	assert.Equal(t, blob, b)
	assert.JSONEq(t, `"name.bin"`, string(r.Args[1]))
}

func TestNodeClientStaysConnectedThroughHeartbeats(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	// A Node process on a busy machine can take tens of milliseconds to
	// answer, so its pong deadline is wider than the Go tests' 50ms; ten
	// pings still go back and forth within a second.
	opts := Options{PingInterval: 100 * time.Millisecond, PingTimeout: 400 * time.Millisecond}
	srv := startTTServer(t, opts, ttEcho)
	node, id := startTTNode(t, srv.url(), nil)
	srv.nextSocket(t, "the npm client")

	// socket.io-client answers every PING and expects the next one within
	// pingInterval+pingTimeout of the open packet's values: ten intervals
	// pass without either side giving up.
	select {
	case l := <-srv.left:
		t.Fatalf("the server dropped the npm client (%q)", l.Reason)
	case <-time.After(10 * opts.PingInterval):
	}
	node.Emit("echo", "alive")
	r := node.WaitFor("event", "echoed", ttTimeout)
	assert.JSONEq(t, `"alive"`, string(r.Args[0]))
	select {
	case l := <-srv.left:
		t.Fatalf("socket %s left (%q); the npm client is still connected", l.ID, l.Reason)
	default:
	}
	assert.NotEmpty(t, id)
}

func TestNodeClientKeepsReceivingWhileASlowClientIsCutOff(t *testing.T) {
	exercise.Start(t, "3.4")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{SendQueue: 8}, nil)
	slow := dialTTRaw(t, srv, "a client that never reads", nil)
	slowID := slow.connect("/", "")
	slowSock := srv.nextSocket(t, "the slow client")
	node, _ := startTTNode(t, srv.url(), nil)
	nodeSock := srv.nextSocket(t, "the npm client")

	big := strings.Repeat("z", 64<<10)
	start := time.Now()
	for i := 1; i <= 4000 && slowSock.Connected(); i++ {
		_ = slowSock.Emit("flood", big)
		if i%100 == 0 {
			require.NoError(t, nodeSock.Emit("tick", i))
			node.WaitFor("event", "tick", ttTimeout)
		}
		require.Less(t, time.Since(start), 2*ttTimeout, "the slow client was not cut off")
	}
	assert.Equal(t, ReasonSendQueueFull, srv.reasonFor(t, slowID, "the slow client's queue filling up"))
	t0 := time.Now()
	require.NoError(t, nodeSock.Emit("after", "still here"))
	node.WaitFor("event", "after", ttTimeout)
	assert.Less(t, time.Since(t0), 2*time.Second, "the npm client keeps receiving promptly")
}

func TestNodeClientsRoomsAndBroadcasts(t *testing.T) {
	exercise.Start(t, "3.5")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, func(s *Socket) {
		s.On("join", func(e *Event) {
			var room string
			_ = e.Decode(0, &room)
			e.Socket.Join(room)
			_ = e.Socket.Emit("joined", room)
		})
		s.On("send-message", func(e *Event) { _ = e.Socket.Broadcast().Emit("new-message", e.Args[0]) })
		s.On("to-room", func(e *Event) { _ = e.Socket.To("red").Emit("room-message", e.Args[0]) })
	})
	names := []string{"ann", "bob", "cat"}
	nodes := map[string]*nodepeer.SIOClient{}
	socks := map[string]*Socket{}
	for _, n := range names {
		nodes[n], _ = startTTNode(t, srv.url(), nil)
		socks[n] = srv.nextSocket(t, n)
	}
	for _, n := range []string{"ann", "bob"} {
		nodes[n].Emit("join", "red")
		nodes[n].WaitFor("event", "joined", ttTimeout)
	}
	collect := func(sentinel string) map[string][]string {
		for _, n := range names {
			require.NoError(t, socks[n].Emit(sentinel))
		}
		got := map[string][]string{}
		for _, n := range names {
			if evs := ttNodeEventsUntil(t, nodes[n], sentinel); len(evs) > 0 {
				got[n] = evs
			}
		}
		return got
	}

	require.NoError(t, srv.Emit("announce", "all"))
	assert.Equal(t, map[string][]string{"ann": {`announce:"all"`}, "bob": {`announce:"all"`}, "cat": {`announce:"all"`}},
		collect("s1"), "Server.Emit reaches every npm client")

	require.NoError(t, srv.To("red").Emit("red-news", "r"))
	assert.Equal(t, map[string][]string{"ann": {`red-news:"r"`}, "bob": {`red-news:"r"`}}, collect("s2"), "To(red) reaches its members")

	nodes["cat"].Emit("send-message", "from cat")
	nodes["ann"].WaitFor("event", "new-message", ttTimeout)
	nodes["bob"].WaitFor("event", "new-message", ttTimeout)
	assert.Empty(t, collect("s3")["cat"], "socket.broadcast does not send to the sender")

	nodes["ann"].Emit("to-room", "ann to red")
	r := nodes["bob"].WaitFor("event", "room-message", ttTimeout)
	assert.JSONEq(t, `"ann to red"`, string(r.Args[0]))
	assert.Empty(t, collect("s4"), "Socket.To(red) from ann reaches bob only")
}

func TestNodeClientAcksBothWays(t *testing.T) {
	exercise.Start(t, "3.6")
	ttNoLeaks(t)
	synced := make(chan ttGot, 4)
	srv := startTTServer(t, Options{}, func(s *Socket) {
		s.On("sync", ttRecorder(synced))
		s.On("add", func(e *Event) {
			var a, b int
			_ = e.Decode(0, &a)
			_ = e.Decode(1, &b)
			_ = e.Ack(a+b, "sum")
		})
		s.On("thumb", func(e *Event) { _ = e.Ack([]byte{7, 7, 7}) })
	})
	node, _ := startTTNode(t, srv.url(), nil)
	s := srv.nextSocket(t, "the npm client")

	// Node asks, a Go handler answers: socket.emit("add", 2, 3, (...reply) => …).
	seq := node.EmitWithAck("add", 2, 3)
	r := node.WaitFor("ack", "", ttTimeout)
	assert.Equal(t, seq, r.Seq)
	require.Len(t, r.Args, 2)
	assert.JSONEq(t, `5`, string(r.Args[0]))
	assert.JSONEq(t, `"sum"`, string(r.Args[1]))

	seq = node.EmitWithAck("thumb")
	r = node.WaitFor("ack", "", ttTimeout)
	assert.Equal(t, seq, r.Seq)
	require.Len(t, r.Args, 1)
	b, ok := nodepeer.Binary(r.Args[0])
	require.True(t, ok, "an Ack with []byte (BINARY_ACK) arrives in Node as a Buffer, got %s", r.Args[0])
	assert.Equal(t, []byte{7, 7, 7}, b)

	// Go asks, Node answers.
	node.AnswerAcks("question", "forty-two", map[string]any{"sure": true})
	ttNodeSync(t, node, synced)
	args, err := s.EmitWithAck(ttCtx(t), "question", "life?")
	require.NoError(t, err)
	require.Len(t, args, 2)
	assert.JSONEq(t, `"forty-two"`, string(args[0]))
	assert.JSONEq(t, `{"sure":true}`, string(args[1]))
	node.WaitFor("event", "question", ttTimeout)

	// Node answers with a Buffer.
	node.AnswerAcks("file?", []byte{1, 2, 3})
	ttNodeSync(t, node, synced)
	args, err = s.EmitWithAck(ttCtx(t), "file?")
	require.NoError(t, err)
	require.Len(t, args, 1)
	_, isPlaceholder := ttIsPlaceholder(args[0])
	assert.True(t, isPlaceholder, "a Buffer in the answer arrives as a BINARY_ACK placeholder, got %s", args[0])
}

func TestNodeClientNamespacesAndMiddleware(t *testing.T) {
	exercise.Start(t, "3.7")
	ttNoLeaks(t)
	seen := make(chan Handshake, 4)
	var admin *ttWatcher
	srv := startTTServer(t, Options{}, nil, func(s *Server) {
		ns := s.Of("/admin")
		ns.Use(func(h *Handshake) error {
			seen <- *h
			var auth struct {
				Token string `json:"token"`
			}
			_ = json.Unmarshal(h.Auth, &auth)
			if auth.Token != "good" {
				return &ConnectError{Message: "not authorized", Data: map[string]any{"content": "please log in"}}
			}
			return nil
		})
		admin = ttWatch(ns.OnConnection, func(s *Socket) {
			s.On("whoami", func(e *Event) { _ = e.Ack(e.Socket.Namespace().Name()) })
		})
	})

	// Refused by the middleware: connect_error with message and data.
	refused := nodepeer.StartSIOClient(t, srv.url()+"/admin", ttNodeOpts(map[string]any{"auth": map[string]any{"token": "bad"}}))
	r := refused.WaitFor("connect_error", "", ttTimeout)
	assert.Equal(t, "not authorized", r.Message, "socket.io-client's err.message")
	assert.JSONEq(t, `{"content":"please log in"}`, string(r.Data), "socket.io-client's err.data")
	h := ttWait(t, seen, "the middleware")
	assert.JSONEq(t, `{"token":"bad"}`, string(h.Auth), "Handshake.Auth is socket.io-client's auth option")

	// Unknown namespace.
	lost := nodepeer.StartSIOClient(t, srv.url()+"/nope", ttNodeOpts(nil))
	assert.Equal(t, "Invalid namespace", lost.WaitFor("connect_error", "", ttTimeout).Message)

	// Accepted, with its auth and headers seen by the middleware.
	node, id := startTTNode(t, srv.url()+"/admin", map[string]any{
		"auth":         map[string]any{"token": "good"},
		"extraHeaders": map[string]any{"x-workbook": "lesson-03"},
	})
	h = ttWait(t, seen, "the middleware")
	assert.JSONEq(t, `{"token":"good"}`, string(h.Auth))
	assert.Equal(t, "lesson-03", h.Header.Get("X-Workbook"), "Handshake.Header has socket.io-client's extraHeaders")
	s := admin.nextSocket(t, "the npm client in /admin")
	assert.Equal(t, s.ID(), id)
	seq := node.EmitWithAck("whoami")
	r = node.WaitFor("ack", "", ttTimeout)
	assert.Equal(t, seq, r.Seq)
	assert.JSONEq(t, `"/admin"`, string(r.Args[0]))
}

func TestGoAndNodeClientsShareARoom(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, func(s *Socket) {
		s.Join("lobby")
		s.On("send-message", func(e *Event) { _ = e.Socket.To("lobby").Emit("new-message", e.Args[0]) })
	})
	node1, _ := startTTNode(t, srv.url(), nil)
	node2, _ := startTTNode(t, srv.url(), nil)
	go1, _ := dialTTClient(t, srv, ClientOptions{})
	go2, _ := dialTTClient(t, srv, ClientOptions{})
	got1, got2 := make(chan ttGot, 4), make(chan ttGot, 4)
	go1.On("new-message", ttClientRecorder(got1))
	go2.On("new-message", ttClientRecorder(got2))
	for range 4 {
		srv.nextSocket(t, "a client")
	}

	// From a Go client: both npm clients and the other Go client get it.
	require.NoError(t, go1.Emit("send-message", "from go1"))
	assert.JSONEq(t, `"from go1"`, string(node1.WaitFor("event", "new-message", ttTimeout).Args[0]))
	assert.JSONEq(t, `"from go1"`, string(node2.WaitFor("event", "new-message", ttTimeout).Args[0]))
	assert.Equal(t, []string{`"from go1"`}, ttWait(t, got2, "go2").Args)

	// From an npm client: the other three.
	node1.Emit("send-message", "from node1")
	assert.JSONEq(t, `"from node1"`, string(node2.WaitFor("event", "new-message", ttTimeout).Args[0]))
	assert.Equal(t, []string{`"from node1"`}, ttWait(t, got1, "go1").Args)
	assert.Equal(t, []string{`"from node1"`}, ttWait(t, got2, "go2").Args)

	// And the senders got nothing of their own.
	require.NoError(t, srv.Emit("sentinel"))
	assert.Empty(t, ttNodeEventsUntil(t, node1, "sentinel"), "node1 must not get its own message")
	assert.Empty(t, got1, "go1 must not get its own message")
}

func TestMiddlewareRefusalSeenByBothClients(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	srv := startTTServer(t, Options{}, nil, func(s *Server) {
		s.Use(func(h *Handshake) error {
			return &ConnectError{Message: "not authorized", Data: map[string]any{"content": "please log in", "code": 401}}
		})
	})
	node := nodepeer.StartSIOClient(t, srv.url(), ttNodeOpts(nil))
	r := node.WaitFor("connect_error", "", ttTimeout)
	assert.Equal(t, "not authorized", r.Message)
	assert.JSONEq(t, `{"content":"please log in","code":401}`, string(r.Data))

	_, err := ttConnect(ttCtx(t), srv.url(), ClientOptions{})
	var ce *ConnectError
	require.ErrorAs(t, err, &ce, "the Go client's Connect returns the *ConnectError")
	assert.Equal(t, "not authorized", ce.Message)
	assert.JSONEq(t, `{"content":"please log in","code":401}`, ttJSON(t, ce.Data))
}

func TestGoClientAgainstNodeServer(t *testing.T) {
	exercise.Start(t, "3.8")
	ttNoLeaks(t)
	// Node's own socket.io server (see nodepeer.StartSIOServer for what it
	// does): the Go client must work with the real thing, not only with
	// this lesson's server.
	ns := nodepeer.StartSIOServer(t)

	_, err := ttConnect(ttCtx(t), ns.URL(), ClientOptions{Auth: map[string]any{"token": "bad"}})
	var ce *ConnectError
	require.ErrorAs(t, err, &ce, "Node's middleware refuses token \"bad\"")
	assert.Equal(t, "refused", ce.Message)
	assert.JSONEq(t, `{"why":"bad token"}`, ttJSON(t, ce.Data))

	c, err := ttConnect(ttCtx(t), ns.URL(), ClientOptions{Namespace: "/admin", Auth: map[string]any{"token": "ok"}})
	require.NoError(t, err)
	require.NotNil(t, c)
	t.Cleanup(func() { _ = c.Close() })
	reasons := make(chan string, 2)
	c.OnDisconnect(func(r string) { reasons <- r })
	assert.NotEmpty(t, c.ID())

	got := make(chan ttGot, 8)
	for _, ev := range []string{"echo:hello", "echo:file", "info", "answer"} {
		c.On(ev, ttClientRecorder(got))
	}
	require.NoError(t, c.Emit("hello", "world", 1))
	e := ttWait(t, got, "Node's echo")
	assert.Equal(t, "echo:hello", e.Name)
	assert.Equal(t, []string{`"world"`, `1`}, e.Args)

	blob := ttBytes(3000, 9)
	require.NoError(t, c.Emit("file", blob))
	e = ttWait(t, got, "Node's echo of a Buffer")
	assert.Equal(t, "echo:file", e.Name)
	assert.Equal(t, blob, e.Bytes[0], "the []byte went to Node as a Buffer and came back as an attachment")

	args, err := c.EmitWithAck(ttCtx(t), "sum", 1, 2)
	require.NoError(t, err, "Node's server answers the ack with the arguments")
	require.Len(t, args, 2)
	assert.JSONEq(t, `1`, string(args[0]))

	require.NoError(t, c.Emit("info"))
	e = ttWait(t, got, "Node's info")
	var info struct {
		ID   string          `json:"id"`
		Nsp  string          `json:"nsp"`
		Auth json.RawMessage `json:"auth"`
	}
	require.NoError(t, json.Unmarshal([]byte(e.Args[0]), &info))
	assert.Equal(t, c.ID(), info.ID)
	assert.Equal(t, "/admin", info.Nsp)
	assert.JSONEq(t, `{"token":"ok"}`, string(info.Auth), "ClientOptions.Auth is sent in CONNECT")

	// Node asks, the Go client answers its ack.
	c.On("question", func(e *Event) { _ = e.Ack("go answers") })
	require.NoError(t, c.Emit("ask", "question", "?"))
	for {
		e = ttWait(t, got, "Node's answer event")
		if e.Name == "answer" {
			break
		}
	}
	assert.Equal(t, []string{`"go answers"`}, e.Args, "Node got the Go client's ack")

	require.NoError(t, c.Emit("bye"))
	assert.Equal(t, "io server disconnect", ttWait(t, reasons, "Node's server disconnecting the Go client"))
}
