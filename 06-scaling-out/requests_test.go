package scaling

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 6.3: Requests between servers.
//
// The cluster of these tests is two Go servers and one Node server on one
// Redis, with a client on each. What one server asks (fetchSockets,
// socketsJoin, serverSideEmit, ...) the other two answer or carry out,
// whichever language asked.

func ttCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ttTimeout)
	t.Cleanup(cancel)
	return ctx
}

// ttNames returns the sorted auth names of sockets.
func ttNames(t *testing.T, sockets []RemoteSocket) []string {
	t.Helper()
	var out []string
	for _, s := range sockets {
		var d struct {
			Name string `json:"name"`
		}
		require.NoError(t, json.Unmarshal(s.Data, &d), "the data of %s: %s", s.ID, s.Data)
		out = append(out, d.Name)
	}
	sort.Strings(out)
	return out
}

func TestFetchSocketsAndAllRoomsAcrossServers(t *testing.T) {
	exercise.Start(t, "6.3")
	ttPeers(t, true)
	ttNoLeaks(t)
	rs := startTTRedis(t)
	node := startTTNodeServer(t, rs)
	a, b := startTTNode(t, "a", rs.URL()), startTTNode(t, "b", rs.URL())
	ttWaitServers(t, a, 3)
	ann, bob := dialTT(t, a.url(), "ann"), dialTT(t, b.url(), "bob")
	npm := ttNodeClient(t, node.URL(), "nina")
	require.NoError(t, ann.c.Emit("join", "red"))
	npm.Emit("join", "red")
	require.NoError(t, bob.c.Emit("join", "blue"))
	require.Eventually(t, func() bool {
		return len(a.srv.To("red").Local().Sockets()) == 1 && len(b.srv.To("blue").Local().Sockets()) == 1
	}, ttTimeout, 10*time.Millisecond)
	node.Done()

	// Go asks: every server answers with its sockets, data and rooms.
	all, err := a.ns(t).FetchSockets(ttCtx(t), Selector{})
	require.NoError(t, err)
	assert.Equal(t, []string{"ann", "bob", "nina"}, ttNames(t, all))
	for _, s := range all {
		assert.Contains(t, s.Rooms, s.ID, "a socket is in the room of its own ID")
		var hs struct {
			Auth map[string]any `json:"auth"`
		}
		require.NoError(t, json.Unmarshal(s.Handshake, &hs), "the handshake of %s: %s", s.ID, s.Handshake)
		assert.NotEmpty(t, hs.Auth["name"], "the handshake carries the auth")
	}
	red, err := b.ns(t).FetchSockets(ttCtx(t), Selector{Rooms: []string{"red"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"ann", "nina"}, ttNames(t, red))
	notRed, err := b.ns(t).FetchSockets(ttCtx(t), Selector{Except: []string{"red"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"bob"}, ttNames(t, notRed))

	// Node asks: the Go servers answer in the Node adapter's format.
	var fetched struct {
		Sockets []struct {
			ID    string          `json:"id"`
			Rooms []string        `json:"rooms"`
			Data  json.RawMessage `json:"data"`
			Auth  json.RawMessage `json:"auth"`
		} `json:"sockets"`
	}
	require.NoError(t, json.Unmarshal(node.Call("sockets", map[string]any{"cmd": "fetchSockets", "rooms": []string{"red"}}), &fetched))
	var got []string
	for _, s := range fetched.Sockets {
		got = append(got, string(s.Data))
		assert.Contains(t, s.Rooms, "red")
	}
	sort.Strings(got)
	assert.Equal(t, []string{`{"name":"ann"}`, `{"name":"nina"}`}, got)

	// allRooms, both ways.
	rooms, err := a.ns(t).AllRooms(ttCtx(t))
	require.NoError(t, err)
	assert.Contains(t, rooms, "red")
	assert.Contains(t, rooms, "blue")
	for _, s := range all {
		assert.Contains(t, rooms, s.ID)
	}
	var nodeRooms struct {
		Rooms []string `json:"rooms"`
	}
	require.NoError(t, json.Unmarshal(node.Call("rooms", map[string]any{"cmd": "allRooms"}), &nodeRooms))
	assert.Subset(t, nodeRooms.Rooms, []string{"red", "blue"}, "Node's allRooms must include the Go servers' rooms")

	var count struct {
		Count int `json:"count"`
	}
	require.NoError(t, json.Unmarshal(node.Call("serverCount", map[string]any{"cmd": "serverCount"}), &count))
	assert.Equal(t, 3, count.Count, "the Go servers subscribe where the Node adapter counts servers")
}

func TestSocketsJoinLeaveAndDisconnectAcrossServers(t *testing.T) {
	exercise.Start(t, "6.3")
	ttPeers(t, true)
	ttNoLeaks(t)
	rs := startTTRedis(t)
	node := startTTNodeServer(t, rs)
	a, b := startTTNode(t, "a", rs.URL()), startTTNode(t, "b", rs.URL())
	ttWaitServers(t, a, 3)
	ann, bob := dialTT(t, a.url(), "ann"), dialTT(t, b.url(), "bob")
	npm := ttNodeClient(t, node.URL(), "nina")
	inRoom := func(rooms ...string) []string {
		s, err := a.ns(t).FetchSockets(ttCtx(t), Selector{Rooms: rooms})
		require.NoError(t, err)
		return ttNames(t, s)
	}

	// Go makes every socket but bob's join "green": on every server.
	a.ns(t).SocketsJoin(Selector{Except: []string{bob.c.ID()}}, "green")
	require.Eventually(t, func() bool { return slices.Equal(inRoom("green"), []string{"ann", "nina"}) }, ttTimeout, 20*time.Millisecond)
	node.Send(map[string]any{"cmd": "emit", "event": "room", "args": []any{"to green"}, "rooms": []string{"green"}})
	ann.expect("room", `["to green"]`)
	r := npm.WaitFor("event", "room", ttTimeout)
	assert.JSONEq(t, `["to green"]`, ttArgs(r))

	// Node makes those in green join "lime" and everyone leave "green".
	node.Send(map[string]any{"cmd": "socketsJoin", "rooms": []string{"green"}, "join": []string{"lime"}})
	require.Eventually(t, func() bool { return slices.Equal(inRoom("lime"), []string{"ann", "nina"}) }, ttTimeout, 20*time.Millisecond)
	node.Send(map[string]any{"cmd": "socketsLeave", "rooms": []string{}, "join": []string{"green"}})
	require.Eventually(t, func() bool { return len(inRoom("green")) == 0 }, ttTimeout, 20*time.Millisecond)

	// Node disconnects the sockets in lime: ann on a, and its own nina.
	annGone := make(chan string, 1)
	ann.c.OnDisconnect(func(reason string) { annGone <- reason })
	node.Send(map[string]any{"cmd": "disconnectSockets", "rooms": []string{"lime"}})
	select {
	case reason := <-annGone:
		assert.Equal(t, "io server disconnect", reason)
	case <-time.After(ttTimeout):
		t.Fatal("disconnectSockets from Node did not disconnect ann on a Go server")
	}
	npm.WaitFor("disconnect", "", ttTimeout)
	assert.Equal(t, []string{"bob"}, inRoom(), "bob was in no room that was named")

	// And Go disconnects bob, from a.
	bobGone := make(chan string, 1)
	bob.c.OnDisconnect(func(reason string) { bobGone <- reason })
	a.ns(t).DisconnectSockets(Selector{}, false)
	select {
	case reason := <-bobGone:
		assert.Equal(t, "io server disconnect", reason)
	case <-time.After(ttTimeout):
		t.Fatal("DisconnectSockets from a did not disconnect bob on b")
	}
}

func TestServerSideEmitIsAcknowledgedAcrossLanguages(t *testing.T) {
	exercise.Start(t, "6.3")
	ttPeers(t, true)
	ttNoLeaks(t)
	rs := startTTRedis(t)
	node := startTTNodeServer(t, rs)
	a, b := startTTNode(t, "a", rs.URL()), startTTNode(t, "b", rs.URL())
	ttWaitServers(t, a, 3)
	var mu sync.Mutex
	heard := map[string][]string{}
	for _, n := range []*ttNode{a, b} {
		name := n.name
		n.ns(t).OnServerSideEmit("hello", func(args []json.RawMessage, ack func(any)) {
			mu.Lock()
			b, _ := json.Marshal(args)
			heard[name] = append(heard[name], string(b))
			mu.Unlock()
			if ack != nil {
				ack(map[string]any{"from": name, "args": args})
				ack("a second answer is ignored")
			}
		})
	}

	// Go asks; the other Go server and Node answer, a itself does not.
	replies, err := a.ns(t).ServerSideEmitWithAck(ttCtx(t), "hello", 1, "two")
	require.NoError(t, err)
	var froms []string
	for _, r := range replies {
		var v struct {
			From string `json:"from"`
			Args []any  `json:"args"`
		}
		require.NoError(t, json.Unmarshal(r, &v), "%s", r)
		froms = append(froms, v.From)
		assert.Equal(t, []any{1.0, "two"}, v.Args, "%s got the arguments", v.From)
	}
	sort.Strings(froms)
	assert.Equal(t, []string{"b", "node"}, froms)
	ev := node.WaitFor("serverSideEvent", ttTimeout)
	assert.Contains(t, string(ev), `"args":[1,"two"]`)

	// Node asks; both Go servers answer.
	var nodeReplies struct {
		Responses []struct {
			From string `json:"from"`
		} `json:"responses"`
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(node.Call("serverSideAck", map[string]any{"cmd": "serverSideEmitWithAck", "event": "hello", "args": []any{"from node"}}), &nodeReplies))
	require.Empty(t, nodeReplies.Error)
	froms = nil
	for _, r := range nodeReplies.Responses {
		froms = append(froms, r.From)
	}
	sort.Strings(froms)
	assert.Equal(t, []string{"a", "b"}, froms, "each Go server answers Node once")
	mu.Lock()
	assert.Equal(t, []string{`[1,"two"]`, `["from node"]`}, heard["b"])
	assert.Equal(t, []string{`["from node"]`}, heard["a"], "a server does not hear its own serverSideEmit")
	mu.Unlock()

	// Without an ack: Node hears it, nobody answers.
	require.NoError(t, b.ns(t).ServerSideEmit("note", map[string]any{"k": "v"}))
	ev = node.WaitFor("serverSideEvent", ttTimeout)
	assert.Contains(t, string(ev), `"event":"note"`)
	assert.Contains(t, string(ev), `{"k":"v"}`)

	// A server that does not answer: the asker gets the answers that came
	// and an error, after RequestsTimeout, not a hang.
	start := time.Now()
	replies, err = a.ns(t).ServerSideEmitWithAck(ttCtx(t), "nobody-answers")
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "0 of 2"), "the error says how many answered: %v", err)
	assert.Empty(t, replies)
	assert.Less(t, time.Since(start), 4*time.Second)
}

func TestOneServerAloneAnswersItself(t *testing.T) {
	exercise.Start(t, "6.3")
	ttPeers(t, false)
	ttNoLeaks(t)
	rs := startTTRedis(t)
	a := startTTNode(t, "a", rs.URL())
	ttWaitServers(t, a, 1)
	ann := dialTT(t, a.url(), "ann")
	require.NoError(t, ann.c.Emit("join", "red"))
	require.Eventually(t, func() bool { return len(a.srv.To("red").Local().Sockets()) == 1 }, ttTimeout, 10*time.Millisecond)
	start := time.Now()
	s, err := a.ns(t).FetchSockets(ttCtx(t), Selector{Rooms: []string{"red"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"ann"}, ttNames(t, s))
	replies, err := a.ns(t).ServerSideEmitWithAck(ttCtx(t), "hello")
	require.NoError(t, err)
	assert.Empty(t, replies)
	rooms, err := a.ns(t).AllRooms(ttCtx(t))
	require.NoError(t, err)
	assert.Equal(t, ttSorted([]string{ann.c.ID(), "red"}), rooms, "sorted")
	assert.Less(t, time.Since(start), time.Second, "with no other server, nothing waits for answers")
}

func ttSorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}
