package scaling

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
	"github.com/websocket-workbook/workbook/internal/peer"
	"github.com/websocket-workbook/workbook/internal/redisserver"
)

// Exercise 6.2: Broadcasting through Redis.
//
// Every test runs its own redis-server on a free loopback port (Debian's,
// `apt-get install -y redis-server`) and two or three servers on it: Go
// servers made of lesson 03's event layer with the Cluster as adapter, and
// in the mixed tests a Node socket.io server with @socket.io/redis-adapter.
// What a client got is checked with a sentinel broadcast from the same
// server after the one under test (see ttSentinel).

// ttPeers checks every peer a test needs before it starts anything:
// redis-server, and with node, Node with the npm packages of the Node
// server and client.
func ttPeers(t *testing.T, node bool) {
	t.Helper()
	redisserver.Available(t)
	if node {
		peer.NodePackages(t, "socket.io", "socket.io-client", "@socket.io/redis-adapter", "redis")
	}
}

func TestABroadcastReachesTheClientsOfEveryServer(t *testing.T) {
	exercise.Start(t, "6.2")
	ttPeers(t, false)
	ttNoLeaks(t)
	rs := startTTRedis(t)
	a, b := startTTNode(t, "a", rs.URL()), startTTNode(t, "b", rs.URL())
	ttWaitServers(t, a, 2)
	a1 := dialTT(t, a.url(), "a1")
	b1, b2 := dialTT(t, b.url(), "b1"), dialTT(t, b.url(), "b2")
	all := []*ttClient{a1, b1, b2}

	require.NoError(t, a1.c.Emit("everyone", "hi", 1, map[string]any{"x": []int{1, 2}}))
	// The handler on a broadcasts; a1 sees it from a, b1 and b2 through Redis.
	for _, c := range all {
		c.expect("everyone", `["hi",1,{"x":[1,2]}]`)
	}
	ttSentinel(t, a, "s1")
	ttExpectOnly(t, "s1", all, "" /* nobody */)
	assert.Zero(t, a.cl.Stats().Delivered, "a must not deliver its own broadcast a second time when Redis hands it back")
	assert.Positive(t, b.cl.Stats().Delivered)

	// The other way, with binary data.
	require.NoError(t, b.srv.Emit("news", []byte{1, 2, 3}, "text"))
	for _, c := range all {
		g := c.next("news")
		assert.Equal(t, "news", g.Event, c.name)
	}
}

func TestRoomsAndExceptHoldAcrossServers(t *testing.T) {
	exercise.Start(t, "6.2")
	ttPeers(t, false)
	ttNoLeaks(t)
	rs := startTTRedis(t)
	a, b := startTTNode(t, "a", rs.URL()), startTTNode(t, "b", rs.URL())
	ttWaitServers(t, a, 2)
	a1, a2 := dialTT(t, a.url(), "a1"), dialTT(t, a.url(), "a2")
	b1, b2 := dialTT(t, b.url(), "b1"), dialTT(t, b.url(), "b2")
	all := []*ttClient{a1, a2, b1, b2}
	for _, c := range []*ttClient{a2, b1, b2} {
		require.NoError(t, c.c.Emit("join", "red"))
	}
	require.NoError(t, b2.c.Emit("join", "muted"))
	// A join is handled on the socket's own goroutine; a round trip through
	// the room itself shows it has happened.
	require.Eventually(t, func() bool {
		return len(a.srv.To("red").Local().Sockets()) == 1 && len(b.srv.To("red").Local().Sockets()) == 2 &&
			len(b.srv.To("muted").Local().Sockets()) == 1
	}, ttTimeout, 10*time.Millisecond)

	require.NoError(t, a.srv.To("red").Emit("room", "to red"))
	ttSentinel(t, a, "s1")
	ttExpectOnly(t, "s1", all, `room ["to red"]`, "a2", "b1", "b2")

	require.NoError(t, a.srv.To("red").Except("muted").Emit("room", "red, not muted"))
	ttSentinel(t, a, "s2")
	ttExpectOnly(t, "s2", all, `room ["red, not muted"]`, "a2", "b1")

	require.NoError(t, a.srv.Of("/").Except("red").Emit("room", "not red"))
	ttSentinel(t, a, "s3")
	ttExpectOnly(t, "s3", all, `room ["not red"]`, "a1")

	// socket.broadcast.emit: everyone but the sender, wherever they are.
	require.NoError(t, b1.c.Emit("broadcast", "from b1"))
	require.Eventually(t, func() bool { return len(a2.got) > 0 }, ttTimeout, 5*time.Millisecond)
	ttSentinel(t, b, "s4")
	ttExpectOnly(t, "s4", all, `broadcast ["from b1"]`, "a1", "a2", "b2")

	// A room that nobody on a is in, sent from b: a ignores it unread.
	require.NoError(t, b.srv.To("muted").Emit("room", "muted only"))
	ttSentinel(t, b, "s5")
	ttExpectOnly(t, "s5", all, `room ["muted only"]`, "b2")
}

func TestALocalBroadcastStaysOnItsServer(t *testing.T) {
	exercise.Start(t, "6.2")
	ttPeers(t, false)
	ttNoLeaks(t)
	rs := startTTRedis(t)
	a, b := startTTNode(t, "a", rs.URL()), startTTNode(t, "b", rs.URL())
	ttWaitServers(t, a, 2)
	a1, b1 := dialTT(t, a.url(), "a1"), dialTT(t, b.url(), "b1")
	before := a.cl.Stats().Published
	require.NoError(t, a.srv.Of("/").To().Local().Emit("here", "a only"))
	ttSentinel(t, a, "s1")
	ttExpectOnly(t, "s1", []*ttClient{a1, b1}, `here ["a only"]`, "a1")
	// b1 got the sentinel, so Redis took it; the publisher counts it once
	// Redis has answered, a moment later.
	require.Eventually(t, func() bool { return a.cl.Stats().Published >= before+1 }, ttTimeout, 5*time.Millisecond)
	assert.Equal(t, before+1, a.cl.Stats().Published, "only the sentinel may have been published")
}

func TestAGoAndANodeServerAreOneCluster(t *testing.T) {
	exercise.Start(t, "6.2")
	ttPeers(t, true)
	ttNoLeaks(t)
	rs := startTTRedis(t)
	node := startTTNodeServer(t, rs)
	g := startTTNode(t, "go", rs.URL())
	ttWaitServers(t, g, 2)
	goClient := dialTT(t, g.url(), "gopher")
	npm := ttNodeClient(t, node.URL(), "npm")

	// Node broadcasts: io.emit with binary, through @socket.io/redis-adapter.
	node.Send(map[string]any{"cmd": "emit", "event": "everyone", "args": []any{"from node", []byte{0, 1, 254, 255}, map[string]any{"n": 1.5}}})
	ev := goClient.next("everyone from node")
	require.Equal(t, "everyone", ev.Event)
	assert.JSONEq(t, `["from node",{"_placeholder":true,"num":0},{"n":1.5}]`, ev.Args,
		"a Buffer from Node arrives as an attachment")
	r := npm.WaitFor("event", "everyone", ttTimeout)
	assert.JSONEq(t, `["from node",{"$binary":"AAH+/w=="},{"n":1.5}]`, ttArgs(r))

	// Go broadcasts, with binary: the npm client on the Node server gets it
	// as the Node adapter decoded it.
	require.NoError(t, g.srv.Emit("news", "from go", []byte{9, 8, 7}, map[string]any{"ok": true}))
	r = npm.WaitFor("event", "news", ttTimeout)
	assert.JSONEq(t, `["from go",{"$binary":"CQgH"},{"ok":true}]`, ttArgs(r))
	goClient.expect("news", `["from go",{"_placeholder":true,"num":0},{"ok":true}]`)

	// Rooms and except, both ways. The npm client joins "red" on Node.
	npm.Emit("join", "red")
	npm.Emit("toRoom", "red", "hello red") // Node emits to red: the npm client only
	r = npm.WaitFor("event", "room", ttTimeout)
	assert.JSONEq(t, `["hello red"]`, ttArgs(r))
	node.Send(map[string]any{"cmd": "emit", "event": "sentinel", "args": []any{"s0"}})
	assert.Empty(t, goClient.until("s0"), "a client in no room must not get Node's broadcast to red")
	require.NoError(t, goClient.c.Emit("join", "red"))
	require.Eventually(t, func() bool { return len(g.srv.To("red").Local().Sockets()) == 1 }, ttTimeout, 10*time.Millisecond)
	require.NoError(t, g.srv.To("red").Emit("room", "go to red"))
	r = npm.WaitFor("event", "room", ttTimeout)
	assert.JSONEq(t, `["go to red"]`, ttArgs(r), "Go's broadcast to a room reaches a Node client in it")
	goClient.expect("room", `["go to red"]`)
	node.Send(map[string]any{"cmd": "emit", "event": "room", "args": []any{"node to red, except red"}, "rooms": []string{"red"}, "except": []string{"red"}})
	node.Send(map[string]any{"cmd": "emit", "event": "room", "args": []any{"node to red"}, "rooms": []string{"red"}})
	goClient.expect("room", `["node to red"]`) // the except-ed one reached nobody
	// A Node client's socket.broadcast.emit: every client but the sender.
	npm.Emit("broadcast", "from npm")
	goClient.expect("broadcast", `["from npm"]`)
	// io.local on Node stays on Node.
	node.Send(map[string]any{"cmd": "emit", "event": "here", "args": []any{"node only"}, "local": true})
	node.Send(map[string]any{"cmd": "emit", "event": "sentinel", "args": []any{"s1"}})
	npm.WaitFor("event", "here", ttTimeout)
	assert.Empty(t, goClient.until("s1"), "a local emit on Node must not reach Go's clients")
}
