package events

// Tests of exercise 3.9: connection state recovery (socket.io 4.6's
// connectionStateRecovery, as socket.io-client 4.8 speaks it). With
// Options.Recovery set:
//
//   - the CONNECT answer carries a private session ID beside the socket's:
//     40{"sid":"…","pid":"…"};
//   - every EVENT sent without an ack, broadcast or to one socket, carries
//     one more argument, last: its offset, a string;
//   - a client whose connection dropped sends {"pid":…,"offset":…} in its
//     CONNECT's auth and gets back its socket (the same ID, rooms and
//     Handshake.Data) with what it missed, in order, right after the
//     CONNECT answer; Socket.Recovered reports it;
//   - an unknown, expired, already recovered or too far behind session
//     gets a fresh socket, never an error.

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/websocket-workbook/workbook/internal/exercise"
	"github.com/websocket-workbook/workbook/internal/netcut"
	"github.com/websocket-workbook/workbook/internal/nodepeer"
)

// ttRecoveryHandlers is the server side of the recovery tests, on "/":
// "join" (room) puts the socket in room, "whoami" is answered with
// "you" {"id","recovered","rooms"}, "echo" as ttEcho.
func ttRecoveryHandlers(s *Socket) {
	ttEcho(s)
	s.On("join", func(e *Event) {
		var room string
		if e.Decode(0, &room) == nil {
			e.Socket.Join(room)
		}
	})
	s.On("whoami", func(e *Event) {
		_ = e.Socket.Emit("you", map[string]any{"id": e.Socket.ID(), "recovered": e.Socket.Recovered(), "rooms": e.Socket.Rooms()})
	})
}

// startTTRecovery starts a server with recovery on (ro) and
// ttRecoveryHandlers.
func startTTRecovery(t *testing.T, ro RecoveryOptions, setup ...func(*Server)) *ttServer {
	t.Helper()
	return startTTServer(t, Options{Recovery: &ro}, ttRecoveryHandlers, setup...)
}

// ttConnectAnswer is the data of a CONNECT answer with recovery on.
type ttConnectAnswer struct {
	Sid string `json:"sid"`
	Pid string `json:"pid"`
}

// connectRecovering sends CONNECT to "/" with auth (a JSON object, may be
// empty) and returns the answer's sid and pid. A recovered session's
// missed events come before the answer; they must have come in replay.
func (c *ttRawClient) connectRecovering(auth string) ttConnectAnswer {
	c.t.Helper()
	a, replay := c.recoverWith(auth)
	require.Empty(c.t, replay, "%s: expected the CONNECT answer, got events first", c.name)
	return a
}

// recoverWith sends CONNECT to "/" with auth and returns the answer and
// the events before it ("name:first argument").
func (c *ttRawClient) recoverWith(auth string) (ttConnectAnswer, []string) {
	c.t.Helper()
	c.send("40" + auth)
	var replay []string
	p := c.nextPacket("the answer to CONNECT " + auth)
	for i := 0; p.Type == 2 && i < 1000; i++ {
		name, args := p.event(c.t)
		ttOffset(c.t, args, "replayed event "+name)
		if len(args) > 1 {
			name += ":" + string(args[0])
		}
		replay = append(replay, name)
		p = c.nextPacket("the answer to CONNECT " + auth)
	}
	require.Equal(c.t, 0, p.Type, "%s: expected CONNECT `40{\"sid\":…,\"pid\":…}` to answer CONNECT %s, got %q", c.name, auth, p.Raw)
	var a ttConnectAnswer
	require.NoError(c.t, json.Unmarshal(p.Data, &a), "%s: the CONNECT answer is a JSON object, got %q", c.name, p.Raw)
	require.NotEmpty(c.t, a.Sid, "%s: the CONNECT answer has a sid: %q", c.name, p.Raw)
	return a, replay
}

// ttOffset returns the last argument of an event, which with recovery on
// must be its offset: a non-empty JSON string.
func ttOffset(t testing.TB, args []json.RawMessage, what string) string {
	t.Helper()
	require.NotEmpty(t, args, "%s: the event has its offset as its last argument", what)
	var off string
	require.NoError(t, json.Unmarshal(args[len(args)-1], &off), "%s: the last argument must be the offset, a string; got %s", what, args[len(args)-1])
	require.NotEmpty(t, off, "%s: the offset is not empty", what)
	return off
}

// drop closes the client's TCP connection without a close frame or a
// close packet: the network going away, as the server sees it.
func (c *ttRawClient) drop() { _ = c.ws.UnderlyingConn().Close() }

// served is stillServed with recovery on: the echo carries its offset
// after the argument.
func (c *ttRawClient) served(why string) {
	c.t.Helper()
	c.send(`42["echo","` + why + `"]`)
	_, args := c.nextEvent("echoed")
	require.Len(c.t, args, 2, "%s: the echo of %q, and its offset", c.name, why)
	require.JSONEq(c.t, fmt.Sprintf("%q", why), string(args[0]), "%s: the echo of %q", c.name, why)
}

// ttRecoveryAuth is the auth of a recovering CONNECT.
func ttRecoveryAuth(pid, offset string) string {
	return fmt.Sprintf(`{"pid":%q,"offset":%q}`, pid, offset)
}

// ttWhoami asks the server who c is.
func (c *ttRawClient) whoami() (id string, recovered bool, rooms []string) {
	c.t.Helper()
	c.send(`42["whoami"]`)
	_, args := c.nextEvent("you")
	var you struct {
		ID        string   `json:"id"`
		Recovered bool     `json:"recovered"`
		Rooms     []string `json:"rooms"`
	}
	require.NoError(c.t, json.Unmarshal(args[0], &you), "%s: whoami's answer %s", c.name, args[0])
	return you.ID, you.Recovered, you.Rooms
}

func TestRecoveryConnectAnswerAndOffsets(t *testing.T) {
	exercise.Start(t, "3.9")
	ttNoLeaks(t)

	// Off by default: no pid, no offsets.
	plain := startTTServer(t, Options{}, ttRecoveryHandlers)
	c := dialTTRaw(t, plain, "client of a server without recovery", nil)
	a := c.connectRecovering("")
	assert.Empty(t, a.Pid, "without Options.Recovery, the CONNECT answer has no pid")
	sock := plain.nextSocket(t, "the client")
	require.NoError(t, plain.Emit("news", 1))
	_, args := c.nextEvent("news")
	assert.Equal(t, []string{"1"}, ttArgsText(args), "without recovery, a broadcast has no offset")
	assert.False(t, sock.Recovered())

	srv := startTTRecovery(t, RecoveryOptions{})
	c = dialTTRaw(t, srv, "client", nil)
	a = c.connectRecovering("")
	assert.NotEmpty(t, a.Pid, "with recovery on, the CONNECT answer carries a pid: 40{\"sid\":…,\"pid\":…}")
	assert.NotEqual(t, a.Sid, a.Pid, "the pid is private: not the socket's public ID")
	sock = srv.nextSocket(t, "the client")
	assert.False(t, sock.Recovered(), "a first connection is not a recovered one")

	offsets := map[string]bool{}
	require.NoError(t, srv.Emit("news", 1))
	_, args = c.nextEvent("news")
	require.Len(t, args, 2, "a broadcast with recovery on: its argument, then its offset")
	assert.JSONEq(t, "1", string(args[0]))
	offsets[ttOffset(t, args, "a broadcast")] = true

	require.NoError(t, sock.Emit("direct", "x"))
	_, args = c.nextEvent("direct")
	require.Len(t, args, 2, "an Emit to one socket carries an offset too, as in socket.io")
	offsets[ttOffset(t, args, "Socket.Emit")] = true

	require.NoError(t, srv.To(sock.ID()).Emit("to-room", "y"))
	_, args = c.nextEvent("to-room")
	offsets[ttOffset(t, args, "a broadcast to a room")] = true
	assert.Len(t, offsets, 3, "every packet has an offset of its own")

	// An event that asks for an ack is not logged: no offset.
	asked := ttGo(t, func() {
		ctx, cancel := context.WithTimeout(context.Background(), ttTimeout)
		defer cancel()
		_, _ = sock.EmitWithAck(ctx, "question", "z")
	})
	p, args := c.nextEvent("question")
	assert.Equal(t, []string{`"z"`}, ttArgsText(args), "an event that asks for an ack carries no offset (its ack could not be replayed)")
	c.send("43" + fmt.Sprint(p.ID) + `["ok"]`)
	<-asked
}

// ttArgsText is args as strings, for comparisons.
func ttArgsText(args []json.RawMessage) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}

func TestRecoveryReplaysWhatWasMissedInOrder(t *testing.T) {
	exercise.Start(t, "3.9")
	ttNoLeaks(t)
	srv := startTTRecovery(t, RecoveryOptions{})
	c := dialTTRaw(t, srv, "client", nil)
	a := c.connectRecovering(`{"token":"t"}`)
	srv.nextSocket(t, "the client")
	c.send(`42["join","red"]`)
	c.served("joined red")
	other := dialTTRaw(t, srv, "other client", nil)
	other.connectRecovering("")
	otherSock := srv.nextSocket(t, "the other client")

	require.NoError(t, srv.Emit("news", "before"))
	_, args := c.nextEvent("news")
	last := ttOffset(t, args, "the broadcast before the drop")

	c.drop()
	assert.Equal(t, ReasonTransportClose, srv.reasonFor(t, a.Sid, "the dropped client"))

	// While it is away: what it must get, and what it must not.
	require.NoError(t, srv.Emit("news", "away-1"))
	require.NoError(t, srv.To("red").Emit("news", "away-red"))
	require.NoError(t, srv.To("blue").Emit("news", "away-blue"))
	require.NoError(t, srv.Of("/").Except("red").Emit("news", "away-not-red"))
	require.NoError(t, otherSock.Broadcast().Emit("news", "away-from-other"))
	require.NoError(t, otherSock.Emit("news", "away-only-other"))
	require.NoError(t, srv.To(a.Sid).Emit("news", "away-to-its-id"))

	c2 := dialTTRaw(t, srv, "client, back", nil)
	b, replay := c2.recoverWith(fmt.Sprintf(`{"token":"t","pid":%q,"offset":%q}`, a.Pid, last))
	assert.Equal(t, a.Sid, b.Sid, "a recovered socket keeps its ID")
	assert.Equal(t, a.Pid, b.Pid, "the answer carries the same pid: that is how socket.io-client knows it recovered")
	assert.Equal(t, []string{`news:"away-1"`, `news:"away-red"`, `news:"away-from-other"`, `news:"away-to-its-id"`}, replay,
		"the missed packets come before the CONNECT answer, as socket.io sends them: each once, in the order they were sent, and not those for blue, for everyone but red, or for the other client alone")
	sock := srv.nextSocket(t, "the recovered client")
	assert.True(t, sock.Recovered(), "Socket.Recovered")
	assert.Equal(t, a.Sid, sock.ID())

	require.NoError(t, srv.Emit("news", "after"))
	_, args = c2.nextEvent("news")
	assert.JSONEq(t, `"after"`, string(args[0]), "what is sent after the recovery follows")

	id, recovered, rooms := c2.whoami()
	assert.Equal(t, a.Sid, id)
	assert.True(t, recovered)
	assert.Contains(t, rooms, "red", "a recovered socket is back in its rooms")
	require.NoError(t, srv.To("red").Emit("news", "red-again"))
	_, args = c2.nextEvent("news")
	assert.JSONEq(t, `"red-again"`, string(args[0]), "and broadcasts to its rooms reach it")
	assert.Equal(t, uint64(1), srv.RecoveryStats().Recovered)
}

func TestRecoveryWithoutAnOffsetReplaysSinceTheConnect(t *testing.T) {
	exercise.Start(t, "3.9")
	ttNoLeaks(t)
	srv := startTTRecovery(t, RecoveryOptions{})
	c := dialTTRaw(t, srv, "client", nil)
	a := c.connectRecovering("")
	srv.nextSocket(t, "the client")
	c.served("connected")
	c.drop()
	srv.reasonFor(t, a.Sid, "the dropped client")
	require.NoError(t, srv.Emit("news", "away"))

	// socket.io-client sends only its pid until an event has given it an
	// offset; the client here had only its echo's, which it ignores.
	c2 := dialTTRaw(t, srv, "client, back", nil)
	b, replay := c2.recoverWith(fmt.Sprintf(`{"pid":%q}`, a.Pid))
	assert.Equal(t, a.Sid, b.Sid, "a pid without an offset recovers too")
	assert.Equal(t, []string{`echoed:"connected"`, `news:"away"`}, replay, "everything since the first connect is replayed, in order")
}

func TestRecoveryGivesAFreshSocketWhenItCannot(t *testing.T) {
	exercise.Start(t, "3.9")
	ttNoLeaks(t)
	srv := startTTRecovery(t, RecoveryOptions{MaxDisconnectionDuration: 300 * time.Millisecond, MaxMissed: 3})

	// connectAndDrop connects a client, gets one broadcast's offset and
	// drops the connection; it returns the answer and the offset.
	connectAndDrop := func(name string) (ttConnectAnswer, string) {
		t.Helper()
		c := dialTTRaw(t, srv, name, nil)
		a := c.connectRecovering("")
		srv.nextSocket(t, name)
		require.NoError(t, srv.To(a.Sid).Emit("hello"))
		_, args := c.nextEvent("hello")
		off := ttOffset(t, args, name)
		c.drop()
		require.Equal(t, ReasonTransportClose, srv.reasonFor(t, a.Sid, name))
		return a, off
	}
	// expectFresh reconnects with auth and requires a fresh socket.
	expectFresh := func(name, auth string, old ttConnectAnswer) {
		t.Helper()
		c := dialTTRaw(t, srv, name, nil)
		b := c.connectRecovering(auth)
		assert.NotEqual(t, old.Sid, b.Sid, "%s: a fresh socket has a new ID", name)
		assert.NotEmpty(t, b.Pid, "%s: and a pid of its own", name)
		assert.NotEqual(t, old.Pid, b.Pid, "%s: a new pid", name)
		s := srv.nextSocket(t, name)
		assert.False(t, s.Recovered(), "%s: Socket.Recovered is false", name)
		c.served(name)
	}

	a, off := connectAndDrop("forged pid")
	expectFresh("forged pid", ttRecoveryAuth("forged-"+a.Pid, off), a)

	a, off = connectAndDrop("forged offset")
	expectFresh("forged offset", ttRecoveryAuth(a.Pid, off+"0"), a)

	// An offset another Server gave (a restart looks like this).
	other := startTTRecovery(t, RecoveryOptions{})
	oc := dialTTRaw(t, other, "client of another server", nil)
	oc.connectRecovering("")
	other.nextSocket(t, "client of another server")
	require.NoError(t, other.Emit("hello"))
	_, args := oc.nextEvent("hello")
	foreign := ttOffset(t, args, "another server's broadcast")
	a, _ = connectAndDrop("offset of another server")
	expectFresh("offset of another server", ttRecoveryAuth(a.Pid, foreign), a)

	a, off = connectAndDrop("recovered twice")
	c := dialTTRaw(t, srv, "recovered once", nil)
	once, _ := c.recoverWith(ttRecoveryAuth(a.Pid, off))
	require.Equal(t, a.Sid, once.Sid, "the first recovery works")
	srv.nextSocket(t, "recovered once")
	expectFresh("recovered twice", ttRecoveryAuth(a.Pid, off), a)

	a, off = connectAndDrop("too far behind")
	for i := range 4 {
		require.NoError(t, srv.Emit("news", i))
	}
	expectFresh("too far behind (MaxMissed 3, missed 4)", ttRecoveryAuth(a.Pid, off), a)

	a, off = connectAndDrop("expired")
	time.Sleep(450 * time.Millisecond)
	expectFresh("expired (MaxDisconnectionDuration 300ms)", ttRecoveryAuth(a.Pid, off), a)

	// A socket that left on purpose is not kept.
	c = dialTTRaw(t, srv, "disconnects itself", nil)
	a = c.connectRecovering("")
	srv.nextSocket(t, "disconnects itself")
	require.NoError(t, srv.To(a.Sid).Emit("hello"))
	_, args = c.nextEvent("hello")
	off = ttOffset(t, args, "disconnects itself")
	c.send("41")
	assert.Equal(t, ReasonClientDisconnect, srv.reasonFor(t, a.Sid, "the client's DISCONNECT"))
	expectFresh("after the client's own DISCONNECT", ttRecoveryAuth(a.Pid, off), a)

	c = dialTTRaw(t, srv, "disconnected by the server", nil)
	a = c.connectRecovering("")
	s := srv.nextSocket(t, "disconnected by the server")
	s.Disconnect()
	assert.Equal(t, ReasonServerDisconnect, srv.reasonFor(t, a.Sid, "Socket.Disconnect"))
	expectFresh("after Socket.Disconnect", fmt.Sprintf(`{"pid":%q}`, a.Pid), a)

	st := srv.RecoveryStats()
	assert.Equal(t, uint64(1), st.Recovered, "RecoveryStats.Recovered")
	assert.Equal(t, uint64(8), st.Fresh, "RecoveryStats.Fresh counts every CONNECT that asked to recover and got a fresh socket")
}

func TestRecoveryRunsTheMiddlewareUnlessSkipped(t *testing.T) {
	exercise.Start(t, "3.9")
	for _, skip := range []bool{false, true} {
		t.Run(fmt.Sprintf("SkipMiddlewares=%v", skip), func(t *testing.T) {
			ttNoLeaks(t)
			var calls atomic.Int32
			srv := startTTRecovery(t, RecoveryOptions{SkipMiddlewares: skip}, func(s *Server) {
				s.Use(func(h *Handshake) error {
					calls.Add(1)
					var auth struct {
						Token string `json:"token"`
					}
					_ = json.Unmarshal(h.Auth, &auth)
					if auth.Token == "revoked" {
						return &ConnectError{Message: "token revoked"}
					}
					if h.Data == nil {
						h.Data = "user of " + auth.Token
					}
					return nil
				})
			})
			c := dialTTRaw(t, srv, "client", nil)
			a := c.connectRecovering(`{"token":"good"}`)
			srv.nextSocket(t, "the client")
			c.drop()
			srv.reasonFor(t, a.Sid, "the dropped client")
			require.Equal(t, int32(1), calls.Load())

			// The token was revoked while the client was away.
			c2 := dialTTRaw(t, srv, "client with a revoked token", nil)
			c2.send(fmt.Sprintf(`40{"token":"revoked","pid":%q}`, a.Pid))
			p := c2.nextPacket("the answer to a recovering CONNECT with a revoked token")
			if !skip {
				require.Equal(t, 4, p.Type, "the middleware runs on a recovering connection and refuses a revoked token: CONNECT_ERROR, got %q", p.Raw)
				assert.JSONEq(t, `{"message":"token revoked"}`, string(p.Data))
				assert.Equal(t, int32(2), calls.Load())
				c3 := dialTTRaw(t, srv, "the same client again", nil)
				b := c3.connectRecovering(fmt.Sprintf(`{"token":"good","pid":%q}`, a.Pid))
				assert.NotEqual(t, a.Sid, b.Sid, "a refused recovery loses the session")
				srv.nextSocket(t, "the client, fresh")
				return
			}
			require.Equal(t, 0, p.Type, "with SkipMiddlewares, a recovering connection is not checked: CONNECT, got %q", p.Raw)
			assert.Equal(t, int32(1), calls.Load(), "with SkipMiddlewares, the middleware does not run for a recovered socket")
			s := srv.nextSocket(t, "the recovered client")
			assert.True(t, s.Recovered())
			assert.Equal(t, "user of good", s.Handshake().Data, "a recovered socket gets its Handshake.Data back")
		})
	}
}

func TestRecoveryKeepsHandshakeDataForTheMiddleware(t *testing.T) {
	exercise.Start(t, "3.9")
	ttNoLeaks(t)
	seen := make(chan any, 4)
	srv := startTTRecovery(t, RecoveryOptions{}, func(s *Server) {
		s.Use(func(h *Handshake) error {
			seen <- h.Data
			if h.Data == nil {
				h.Data = "set at the first connect"
			}
			return nil
		})
	})
	c := dialTTRaw(t, srv, "client", nil)
	a := c.connectRecovering("")
	assert.Nil(t, ttWait(t, seen, "the first middleware call"))
	srv.nextSocket(t, "the client")
	c.drop()
	srv.reasonFor(t, a.Sid, "the dropped client")
	c2 := dialTTRaw(t, srv, "client, back", nil)
	back, _ := c2.recoverWith(fmt.Sprintf(`{"pid":%q}`, a.Pid))
	require.Equal(t, a.Sid, back.Sid)
	assert.Equal(t, "set at the first connect", ttWait(t, seen, "the middleware call of the recovery"),
		"the middleware of a recovering connection sees the session's Handshake.Data")
	assert.Equal(t, "set at the first connect", srv.nextSocket(t, "the recovered client").Handshake().Data)
}

func TestRecoveryWithTheNodeClient(t *testing.T) {
	exercise.Start(t, "3.9")
	ttNoLeaks(t)
	srv := startTTRecovery(t, RecoveryOptions{})
	node := nodepeer.StartSIOClient(t, srv.url(), ttNodeOpts(map[string]any{
		"reconnection": true, "reconnectionDelay": 500, "randomizationFactor": 0,
	}))
	first := node.WaitFor("connect", "", ttTimeout)
	assert.False(t, first.Recovered, "socket.recovered is false at the first connect")
	srv.nextSocket(t, "the npm client")
	node.Emit("join", "red")
	node.Emit("echo", "joined")
	node.WaitFor("event", "echoed", ttTimeout)
	require.NoError(t, srv.Emit("news", "before"))
	node.WaitFor("event", "news", ttTimeout)

	node.DropTransport()
	assert.Equal(t, ReasonTransportClose, srv.reasonFor(t, first.ID, "the npm client's dropped transport"))
	require.NoError(t, srv.Emit("news", "while away"))
	require.NoError(t, srv.To("red").Emit("news", "to red while away"))

	assert.Equal(t, "forced close", node.WaitFor("disconnect", "", ttTimeout).Reason,
		"socket.io-client's reason when its engine was closed under it; the server saw the WebSocket close")
	s := srv.nextSocket(t, "the recovered npm client")
	assert.True(t, s.Recovered())
	require.NoError(t, s.Emit("sentinel"))
	var got []string
	var back nodepeer.Report
	for range 100 {
		r := node.Next(ttTimeout)
		if r.Kind == "event" && r.Event == "sentinel" {
			break
		}
		if r.Kind == "connect" {
			back = r
		}
		got = append(got, strings.TrimSuffix(r.Kind+":"+r.Event+":"+string(ttFirst(r.Args)), ":"))
	}
	assert.Equal(t, []string{`event:news:"while away"`, `event:news:"to red while away"`, `connect:`}, got,
		"each missed message exactly once, in order, and then connect: as against Node's socket.io (internal/nodepeer's TestRecoveryAgainstNodeSocketIO)")
	assert.True(t, back.Recovered, "socket.recovered is true after the reconnection")
	assert.Equal(t, first.ID, back.ID, "socket.id is the same")

	// A client that forges a pid gets a fresh socket and no error.
	forger := nodepeer.StartSIOClient(t, srv.url(), ttNodeOpts(map[string]any{
		"auth": map[string]any{"pid": "forged", "offset": "forged.1"},
	}))
	r := forger.WaitFor("connect", "", ttTimeout)
	assert.False(t, r.Recovered, "a forged pid: socket.recovered is false")
	assert.NotEqual(t, first.ID, r.ID)
	srv.nextSocket(t, "the forger")
}

// ttFirst is the first of args, or nothing.
func ttFirst(args []json.RawMessage) json.RawMessage {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}

func TestRecoveryWithTheGoClient(t *testing.T) {
	exercise.Start(t, "3.9")
	ttNoLeaks(t)
	srv := startTTRecovery(t, RecoveryOptions{})
	var link netcut.Link
	news := make(chan ttGot, 16)
	c, err := NewClient(srv.url(), ClientOptions{Dialer: link.Dialer(ttTimeout), Auth: map[string]string{"token": "t"}})
	require.NoError(t, err)
	c.On("news", ttClientRecorder(news))
	lost := make(chan string, 1)
	c.OnDisconnect(func(reason string) { lost <- reason })
	require.NoError(t, c.Connect(ttCtx(t)))
	t.Cleanup(func() { _ = c.Close() })
	assert.False(t, c.Recovered())
	assert.NotEmpty(t, c.RecoveryPoint().PID, "RecoveryPoint().PID is the pid of the CONNECT answer")
	assert.Empty(t, c.RecoveryPoint().Offset, "no offset before the first event")
	srv.nextSocket(t, "the Go client")

	require.NoError(t, srv.Emit("news", "before"))
	assert.Equal(t, `"before"`, ttWait(t, news, "news before the drop").Args[0])
	point := c.RecoveryPoint()
	assert.NotEmpty(t, point.Offset, "RecoveryPoint().Offset is the last event's offset")

	link.Cut()
	assert.Equal(t, ReasonTransportClose, ttWait(t, lost, "the client's disconnect"))
	srv.reasonFor(t, c.ID(), "the dropped Go client")
	require.NoError(t, srv.Emit("news", "while away"))

	c2, err := NewClient(srv.url(), ClientOptions{Auth: map[string]string{"token": "t"}, Recover: c.RecoveryPoint()})
	require.NoError(t, err)
	news2 := make(chan ttGot, 16)
	c2.On("news", ttClientRecorder(news2))
	require.NoError(t, c2.Connect(ttCtx(t)))
	t.Cleanup(func() { _ = c2.Close() })
	assert.True(t, c2.Recovered(), "Client.Recovered after a recovering Connect")
	assert.Equal(t, c.ID(), c2.ID(), "the same socket ID")
	s := srv.nextSocket(t, "the recovered Go client")
	assert.True(t, s.Recovered())
	var auth map[string]any
	require.NoError(t, json.Unmarshal(s.Handshake().Auth, &auth))
	assert.Equal(t, map[string]any{"token": "t", "pid": point.PID, "offset": point.Offset}, auth,
		"the CONNECT's auth is ClientOptions.Auth with pid and offset added")
	got := ttWait(t, news2, "the missed news")
	assert.Equal(t, `"while away"`, got.Args[0])
	require.NoError(t, s.Emit("news", "sentinel"))
	assert.Equal(t, `"sentinel"`, ttWait(t, news2, "the sentinel").Args[0], "the missed message came exactly once")

	// A forged pid: a fresh socket, and Recovered is false.
	c3, err := ttConnect(ttCtx(t), srv.url(), ClientOptions{Recover: RecoveryPoint{PID: "forged", Offset: point.Offset}})
	require.NoError(t, err, "a forged pid is no error")
	t.Cleanup(func() { _ = c3.Close() })
	assert.False(t, c3.Recovered())
	assert.NotEqual(t, c.ID(), c3.ID())
	srv.nextSocket(t, "the forger")
}

// ttDialBare opens n connections to "/" with bare gorilla connections (the
// cheapest client there is), each CONNECTed, and returns them; the caller
// closes them (on a failure, ttDialBare does).
func ttDialBare(t *testing.T, srv *ttServer, n int) []*websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: ttTimeout}
	conns := make([]*websocket.Conn, 0, n)
	done := false
	defer func() {
		if !done {
			for _, ws := range conns {
				_ = ws.Close()
			}
		}
	}()
	for i := range n {
		ws, _, err := d.Dial(srv.wsURL("EIO=4&transport=websocket"), nil)
		require.NoError(t, err, "client %d", i)
		conns = append(conns, ws)
		_ = ws.SetReadDeadline(time.Now().Add(ttTimeout))
		_, _, err = ws.ReadMessage() // open
		require.NoError(t, err, "client %d: the open packet", i)
		require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte("40")))
		_, answer, err := ws.ReadMessage()
		require.NoError(t, err, "client %d: the CONNECT answer", i)
		require.True(t, strings.HasPrefix(string(answer), "40{"), "client %d: the CONNECT answer, got %q", i, answer)
	}
	done = true
	return conns
}

// ttWaitFor polls cond every 10ms until it holds, for at most limit.
func ttWaitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ttHeap is the live heap after a collection.
func ttHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestRecoveryMemoryIsBoundedAndFreed(t *testing.T) {
	exercise.Start(t, "3.9")
	ttNoLeaks(t)
	const clients = 1000
	srv := startTTRecovery(t, RecoveryOptions{MaxDisconnectionDuration: 400 * time.Millisecond, BufferPackets: 200})
	payload := strings.Repeat("x", 1000)
	var heaps []uint64
	for round := range 3 {
		conns := ttDialBare(t, srv, clients)
		ttWaitFor(t, ttTimeout, "every socket connected", func() bool { return len(srv.Of("/").Sockets()) == clients })
		for _, ws := range conns {
			_ = ws.UnderlyingConn().Close() // 1,000 clients drop and never return
		}
		conns = nil
		ttWaitFor(t, ttTimeout, "every socket kept", func() bool { return srv.RecoveryStats().Sessions == clients })
		for i := range 500 {
			require.NoError(t, srv.Emit("news", i, payload))
		}
		st := srv.RecoveryStats()
		t.Logf("round %d: heap %d KiB with %d sessions and %d packets (%d KiB) kept", round, ttHeap()/1024, st.Sessions, st.Packets, st.Bytes/1024)
		assert.LessOrEqual(t, st.Packets, 200, "round %d: the log holds at most BufferPackets packets", round)
		assert.Positive(t, st.Bytes, "round %d: and counts their bytes", round)
		ttWaitFor(t, 3*time.Second, "the kept sessions and packets to expire", func() bool {
			st := srv.RecoveryStats()
			return st.Sessions == 0 && st.Packets == 0 && st.Bytes == 0
		})
		heaps = append(heaps, ttHeap())
		t.Logf("round %d: heap %d KiB after %d clients dropped and expired", round, heaps[round]/1024, clients)
	}
	assert.Less(t, int64(heaps[2])-int64(heaps[0]), int64(2<<20),
		"the heap after the third round of 1,000 dropped clients must not have grown by 2 MiB over the first's: %v", heaps)
}

func TestRecoveryKeepsAtMostMaxSessions(t *testing.T) {
	exercise.Start(t, "3.9")
	ttNoLeaks(t)
	srv := startTTRecovery(t, RecoveryOptions{MaxSessions: 50, BufferBytes: 4000})
	conns := ttDialBare(t, srv, 200)
	ttWaitFor(t, ttTimeout, "every socket connected", func() bool { return len(srv.Of("/").Sockets()) == 200 })
	for _, ws := range conns {
		_ = ws.UnderlyingConn().Close()
	}
	ttWaitFor(t, ttTimeout, "every socket gone", func() bool { return len(srv.Of("/").Sockets()) == 0 })
	assert.Equal(t, 50, srv.RecoveryStats().Sessions, "at most MaxSessions sessions are kept; the oldest go")
	for i := range 100 {
		require.NoError(t, srv.Emit("news", i, strings.Repeat("y", 100)))
	}
	st := srv.RecoveryStats()
	assert.LessOrEqual(t, st.Bytes, 4000, "the log holds at most BufferBytes bytes")
	assert.Positive(t, st.Packets)
	assert.Less(t, st.Packets, 100)
}
