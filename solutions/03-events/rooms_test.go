package events

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 3.5: Broadcast and rooms.
//
// socket.io's broadcasting (io.emit, socket.broadcast.emit, io.to(room),
// .except(room)) is a server-side feature: on the wire each recipient gets an
// ordinary EVENT. So these tests look at who got what. After a broadcast the
// test emits a sentinel to every client directly; a socket's packets arrive
// in order, so whatever the broadcast sent a client has come before its
// sentinel, and a client with nothing before the sentinel got nothing.

// A ttRoomWorld is a server with a few raw clients, each with its Socket.
type ttRoomWorld struct {
	t       *testing.T
	srv     *ttServer
	names   []string
	clients map[string]*ttRawClient
	sockets map[string]*Socket
	round   int
}

func newTTRoomWorld(t *testing.T, names ...string) *ttRoomWorld {
	t.Helper()
	w := &ttRoomWorld{t: t, srv: startTTServer(t, Options{}, nil), names: names,
		clients: map[string]*ttRawClient{}, sockets: map[string]*Socket{}}
	for _, n := range names {
		c := dialTTRaw(t, w.srv, n, nil)
		sid := c.connect("/", "")
		s := w.srv.nextSocket(t, n)
		require.Equal(t, sid, s.ID())
		w.clients[n], w.sockets[n] = c, s
	}
	return w
}

// deliveries runs emit, then sends each client a sentinel and returns what
// each got before it ("event:arg").
func (w *ttRoomWorld) deliveries(emit func() error) map[string][]string {
	w.t.Helper()
	require.NoError(w.t, emit())
	w.round++
	sentinel := fmt.Sprintf("sentinel-%d", w.round)
	for _, n := range w.names {
		require.NoError(w.t, w.sockets[n].Emit(sentinel))
	}
	got := map[string][]string{}
	for _, n := range w.names {
		if evs := w.clients[n].eventsUntil(sentinel); len(evs) > 0 {
			got[n] = evs
		}
	}
	return got
}

// expect checks that exactly the named clients got the event ev once each.
func (w *ttRoomWorld) expect(what string, got map[string][]string, ev string, who ...string) {
	w.t.Helper()
	want := map[string][]string{}
	for _, n := range who {
		want[n] = []string{ev}
	}
	assert.Equal(w.t, want, got, "%s: expected exactly %v to get %s once each; got %v", what, who, ev, got)
}

func TestServerEmitReachesEveryone(t *testing.T) {
	exercise.Start(t, "3.5")
	ttNoLeaks(t)
	w := newTTRoomWorld(t, "ann", "bob", "cat")
	got := w.deliveries(func() error { return w.srv.Emit("message-saved", "hi all") })
	w.expect("Server.Emit (io.emit)", got, `message-saved:"hi all"`, "ann", "bob", "cat")
}

func TestSocketBroadcastReachesEveryoneButTheSender(t *testing.T) {
	exercise.Start(t, "3.5")
	ttNoLeaks(t)
	w := newTTRoomWorld(t, "ann", "bob", "cat")
	got := w.deliveries(func() error { return w.sockets["ann"].Broadcast().Emit("joined", "ann") })
	w.expect("Socket.Broadcast (socket.broadcast.emit)", got, `joined:"ann"`, "bob", "cat")
}

func TestBroadcastFromAHandler(t *testing.T) {
	exercise.Start(t, "3.5")
	ttNoLeaks(t)
	// The seed's pattern: a handler broadcasts what one client sent.
	srv := startTTServer(t, Options{}, func(s *Socket) {
		s.On("send-message", func(e *Event) {
			_ = e.Socket.Broadcast().Emit("new-message", e.Args[0])
		})
	})
	a := dialTTRaw(t, srv, "ann", nil)
	a.connect("/", "")
	b := dialTTRaw(t, srv, "bob", nil)
	b.connect("/", "")
	a.send(`42["send-message",{"text":"hello bob"}]`)
	_, args := b.nextEvent("new-message")
	require.Len(t, args, 1)
	assert.JSONEq(t, `{"text":"hello bob"}`, string(args[0]))
}

func TestRoomsJoinLeaveAndTo(t *testing.T) {
	exercise.Start(t, "3.5")
	ttNoLeaks(t)
	w := newTTRoomWorld(t, "ann", "bob", "cat", "dan")
	ann, bob, cat, dan := w.sockets["ann"], w.sockets["bob"], w.sockets["cat"], w.sockets["dan"]
	ann.Join("red")
	bob.Join("red", "blue")
	cat.Join("blue")

	got := w.deliveries(func() error { return w.srv.To("red").Emit("m", "red") })
	w.expect("To(red)", got, `m:"red"`, "ann", "bob")

	got = w.deliveries(func() error { return w.srv.To("red", "blue").Emit("m", "red+blue") })
	w.expect("To(red, blue) is the union, and bob, in both, gets it once", got, `m:"red+blue"`, "ann", "bob", "cat")

	got = w.deliveries(func() error { return w.srv.To("red").To("blue").Emit("m", "chained") })
	w.expect("To(red).To(blue) is the union too", got, `m:"chained"`, "ann", "bob", "cat")

	got = w.deliveries(func() error { return w.srv.To("blue").Except("red").Emit("m", "blue-not-red") })
	w.expect("To(blue).Except(red)", got, `m:"blue-not-red"`, "cat")

	got = w.deliveries(func() error { return ann.Namespace().Except("blue").Emit("m", "not-blue") })
	w.expect("Namespace.Except(blue): everyone outside blue", got, `m:"not-blue"`, "ann", "dan")

	got = w.deliveries(func() error { return ann.To("red").Emit("m", "from-ann") })
	w.expect("Socket.To(red) reaches the room except the sender", got, `m:"from-ann"`, "bob")

	got = w.deliveries(func() error { return dan.Broadcast().Except("red").Emit("m", "dan-not-red") })
	w.expect("Socket.Broadcast().Except(red)", got, `m:"dan-not-red"`, "cat")

	got = w.deliveries(func() error { return w.srv.To("nobody-here").Emit("m", "empty") })
	w.expect("To a room nobody is in", got, `m:"empty"`)

	bob.Leave("red")
	got = w.deliveries(func() error { return w.srv.To("red").Emit("m", "after-leave") })
	w.expect("To(red) after bob left red", got, `m:"after-leave"`, "ann")
	bob.Leave("never-joined") // leaving a room one is not in does nothing
}

func TestEverySocketIsInARoomNamedByItsID(t *testing.T) {
	exercise.Start(t, "3.5")
	ttNoLeaks(t)
	w := newTTRoomWorld(t, "ann", "bob", "cat")
	bob := w.sockets["bob"]
	got := w.deliveries(func() error { return w.srv.To(bob.ID()).Emit("private", "for bob") })
	w.expect("To(bob's ID): a socket's own room, for private messages", got, `private:"for bob"`, "bob")

	got = w.deliveries(func() error { return w.sockets["ann"].To(bob.ID()).Emit("dm", "ann to bob") })
	w.expect("Socket.To(other's ID): a direct message", got, `dm:"ann to bob"`, "bob")
}

func TestRoomsAreSortedAndIncludeTheSocketsID(t *testing.T) {
	exercise.Start(t, "3.5")
	ttNoLeaks(t)
	w := newTTRoomWorld(t, "ann")
	ann := w.sockets["ann"]
	assert.Equal(t, []string{ann.ID()}, ann.Rooms(), "a new socket is in its own room only")

	ann.Join("zeta", "alpha", "general")
	ann.Join("alpha") // joining twice changes nothing
	want := []string{ann.ID(), "alpha", "general", "zeta"}
	slices.Sort(want)
	assert.Equal(t, want, ann.Rooms(), "Rooms is sorted and has each room once")

	ann.Leave("zeta")
	want = slices.DeleteFunc(want, func(r string) bool { return r == "zeta" })
	assert.Equal(t, want, ann.Rooms(), "after Leave(zeta)")
}

func TestALeftSocketIsInNoRoom(t *testing.T) {
	exercise.Start(t, "3.5")
	ttNoLeaks(t)
	w := newTTRoomWorld(t, "ann", "bob")
	ann, annClient := w.sockets["ann"], w.clients["ann"]
	ann.Join("red")
	w.sockets["bob"].Join("red")
	// socket.io-protocol v5, DISCONNECT: `41` takes ann out of the namespace
	// "/", and a socket that ends leaves every room it was in. Only the
	// socket ends: the Engine.IO session under it stays open (another
	// namespace could be using it), so a room that still held ann's socket
	// would still send to this very connection.
	annClient.send("41")
	w.srv.reasonFor(t, ann.ID(), "ann leaving")
	w.names = []string{"bob"}
	got := w.deliveries(func() error { return w.srv.To("red").Emit("m", "who is left") })
	w.expect("To(red) after ann disconnected", got, `m:"who is left"`, "bob")
	assert.NotContains(t, ann.Rooms(), "red", "a disconnected socket has left all its rooms, red included")

	// Did the broadcast reach ann's connection all the same? ann connects to
	// "/" again on the same session. The server queues its answer after
	// whatever the broadcast queued for ann, and a session's packets arrive
	// in order, so anything red still sent to ann's old socket comes first.
	annClient.send("40")
	p := annClient.nextPacket("the answer to ann's second CONNECT")
	if p.Type == 2 || p.Type == 5 {
		t.Fatalf("ann's connection got %q after ann's socket had disconnected: a socket that ends must leave all its rooms, and To(red) reach only the sockets still in it", ttShort(p.Raw))
	}
	require.Equal(t, 0, p.Type, "expected CONNECT `40{\"sid\":...}` to answer ann's second CONNECT, got %q", ttShort(p.Raw))
}
