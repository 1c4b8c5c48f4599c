package events

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
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
	return newTTRoomWorldWith(t, Options{}, names...)
}

func newTTRoomWorldWith(t *testing.T, opts Options, names ...string) *ttRoomWorld {
	t.Helper()
	w := &ttRoomWorld{t: t, srv: startTTServer(t, opts, nil), names: names,
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

func TestBroadcastsKeepReachingReadersWhileRoomMatesDoNotRead(t *testing.T) {
	exercise.Start(t, "3.5")
	ttNoLeaks(t)
	// Five members of the room stop reading. The kernel's buffers towards
	// them fill within a few dozen of these 64 KiB events; after that the
	// server cannot write to them until they read, and whatever writes for
	// them must not keep the room's broadcasts from the three readers,
	// wherever they come in the room's order.
	readers := []string{"reader-1", "reader-2", "reader-3"}
	stalled := []string{"stalled-1", "stalled-2", "stalled-3", "stalled-4", "stalled-5"}
	// They join taking turns, so that the room lists readers after
	// clients that do not read.
	w := newTTRoomWorld(t, "stalled-1", "reader-1", "stalled-2", "reader-2", "stalled-3", "reader-3", "stalled-4", "stalled-5")
	for _, n := range w.names {
		w.sockets[n].Join("lobby")
	}
	const events = 120
	payload := func(i int) string {
		return fmt.Sprintf("%04d", i) + strings.Repeat(string(rune('a'+i%26)), 64<<10)
	}
	for i := range events {
		want := payload(i)
		require.NoError(t, w.srv.To("lobby").Emit("flood", want))
		for _, n := range readers {
			_, args := w.clients[n].nextEvent("flood")
			require.Len(t, args, 1)
			require.Equal(t, `"`+want[:4], string(args[0][:min(5, len(args[0]))]),
				"%s, broadcast %d of %d: a reader must get each broadcast as it is sent, while its room-mates do not read", n, i+1, events)
		}
	}
	// Two of the others read at last. Nothing was lost or cut short for
	// them: every broadcast arrives whole and in order (their queues, 1,024
	// by default, held what the kernel could not).
	for _, n := range stalled[:2] {
		require.True(t, w.sockets[n].Connected(), "%s was cut off with only %d events for it", n, events)
		for i := range events {
			_, args := w.clients[n].nextEvent("flood")
			require.Len(t, args, 1)
			if got := string(args[0]); got != `"`+payload(i)+`"` {
				t.Fatalf("%s: event %d of %d arrived changed: it begins %s (%d bytes); expected %q (%d bytes)",
					n, i+1, events, ttShort(got), len(got), ttShort(payload(i)), len(payload(i)))
			}
		}
	}
}

// A ttAdapter is an Adapter that only records what its namespace gives it,
// as a cluster's adapter would receive it before publishing.
type ttAdapter struct {
	mu     sync.Mutex
	got    []BroadcastMessage
	closed int
}

func (a *ttAdapter) Broadcast(m BroadcastMessage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, m)
}

func (a *ttAdapter) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed++
	return nil
}

// taken returns what the adapter was given since the last call.
func (a *ttAdapter) taken() []BroadcastMessage {
	a.mu.Lock()
	defer a.mu.Unlock()
	got := a.got
	a.got = nil
	return got
}

func TestAdapterCarriesEveryBroadcastButLocalOnes(t *testing.T) {
	exercise.Start(t, "3.5")
	ttNoLeaks(t)
	var mu sync.Mutex
	adapters := map[string]*ttAdapter{}
	opts := Options{Adapter: func(ns *Namespace) Adapter {
		mu.Lock()
		defer mu.Unlock()
		a := &ttAdapter{}
		adapters[ns.Name()] = a
		return a
	}}
	w := newTTRoomWorldWith(t, opts, "ann", "bob", "cat")
	mu.Lock()
	root := adapters["/"]
	mu.Unlock()
	require.NotNil(t, root, "NewServer must call Options.Adapter for the namespace \"/\"")
	w.sockets["ann"].Join("red")
	w.sockets["bob"].Join("red")
	ids := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, w.sockets[n].ID())
		}
		slices.Sort(out)
		return out
	}
	data := func(m BroadcastMessage) string { return string(m.Packet.Data) }

	// A broadcast reaches the local sockets, then goes to the adapter once,
	// with its rooms and excepts.
	got := w.deliveries(func() error { return w.srv.To("red").Except("blue").Emit("news", 1) })
	w.expect("To(red).Except(blue)", got, "news:1", "ann", "bob")
	sent := root.taken()
	require.Len(t, sent, 1, "the adapter must get each broadcast once")
	assert.Equal(t, PacketEvent, sent[0].Packet.Type)
	assert.Equal(t, "/", sent[0].Packet.Namespace)
	assert.JSONEq(t, `["news",1]`, data(sent[0]))
	assert.Equal(t, []string{"red"}, sent[0].Rooms)
	assert.Equal(t, []string{"blue"}, sent[0].Except)

	// The sender of a Socket.Broadcast travels as an Except room: its ID.
	got = w.deliveries(func() error { return w.sockets["ann"].Broadcast().Emit("hello", "x") })
	w.expect("ann.Broadcast()", got, `hello:"x"`, "bob", "cat")
	sent = root.taken()
	require.Len(t, sent, 1)
	assert.Empty(t, sent[0].Rooms)
	assert.Equal(t, []string{w.sockets["ann"].ID()}, sent[0].Except,
		"the other servers must learn to leave out the sender, by the room of its ID")

	// A Local broadcast stays here.
	got = w.deliveries(func() error { return w.srv.To("red").Local().Emit("here", "only") })
	w.expect("To(red).Local()", got, `here:"only"`, "ann", "bob")
	assert.Empty(t, root.taken(), "a Local broadcast must not reach the adapter")

	// What another server sent is delivered here with its rooms and
	// excepts, and not handed back to the adapter (it would go round the
	// cluster for ever).
	got = w.deliveries(func() error {
		w.srv.Of("/").Deliver(BroadcastMessage{
			Packet: Packet{Type: PacketEvent, Namespace: "/", ID: -1, Data: json.RawMessage(`["remote","y"]`)},
			Rooms:  []string{"red"}, Except: []string{w.sockets["bob"].ID()},
		})
		return nil
	})
	w.expect("Deliver to red except bob", got, `remote:"y"`, "ann")
	assert.Empty(t, root.taken(), "a delivered broadcast must not go back to the adapter")
	got = w.deliveries(func() error {
		w.srv.Of("/").Deliver(BroadcastMessage{Packet: Packet{Type: PacketEvent, Namespace: "/admin", ID: -1, Data: json.RawMessage(`["elsewhere"]`)}})
		return nil
	})
	assert.Empty(t, got, "a packet of another namespace must not be delivered in this one")

	// Sockets and Rooms say who is here, which is what other servers ask.
	var here []string
	for _, s := range w.srv.To("red").Except("blue").Sockets() {
		here = append(here, s.ID())
	}
	slices.Sort(here)
	assert.Equal(t, ids("ann", "bob"), here, "To(red).Sockets()")
	var rest []string
	for _, s := range w.sockets["ann"].Broadcast().Sockets() {
		rest = append(rest, s.ID())
	}
	slices.Sort(rest)
	assert.Equal(t, ids("bob", "cat"), rest, "ann.Broadcast().Sockets()")
	wantRooms := append(ids("ann", "bob", "cat"), "red")
	slices.Sort(wantRooms)
	assert.Equal(t, wantRooms, w.srv.Of("/").Rooms())
	assert.True(t, w.srv.Of("/").HasRoom("red"))
	assert.True(t, w.srv.Of("/").HasRoom(w.sockets["cat"].ID()), "every socket is in the room of its ID")
	assert.False(t, w.srv.Of("/").HasRoom("blue"), "a room nobody is in")

	// A namespace made later gets its own adapter; Close closes each once.
	w.srv.Of("/admin")
	mu.Lock()
	admin := adapters["/admin"]
	mu.Unlock()
	require.NotNil(t, admin, "Of must call Options.Adapter for a new namespace")
	require.NoError(t, w.srv.Close())
	require.NoError(t, w.srv.Close())
	for name, a := range map[string]*ttAdapter{"/": root, "/admin": admin} {
		a.mu.Lock()
		assert.Equal(t, 1, a.closed, "the adapter of %s must be closed once, by Server.Close", name)
		a.mu.Unlock()
	}
}
