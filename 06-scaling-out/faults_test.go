package scaling

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 6.4: When Redis goes away.
//
// Redis is one process, and processes stop. These tests kill the test's
// redis-server in the middle of a run and start it again on the same port,
// empty, as a restart after a crash leaves it; and they publish on the
// adapter's channels what another program might write there.

func TestRedisStopsAndStartsAgain(t *testing.T) {
	exercise.Start(t, "6.4")
	ttPeers(t, false)
	ttNoLeaks(t)
	rs := startTTRedis(t)
	a, b := startTTNode(t, "a", rs.URL()), startTTNode(t, "b", rs.URL())
	ttWaitServers(t, a, 2)
	a1, a2 := dialTT(t, a.url(), "a1"), dialTT(t, a.url(), "a2")
	b1 := dialTT(t, b.url(), "b1")
	require.NoError(t, a.srv.Emit("news", "before"))
	for _, c := range []*ttClient{a1, a2, b1} {
		c.expect("news", `["before"]`)
	}

	rs.Stop()
	// Each server keeps serving its own clients.
	require.NoError(t, a1.c.Emit("everyone", "while Redis is down"))
	a1.expect("everyone", `["while Redis is down"]`)
	a2.expect("everyone", `["while Redis is down"]`)
	// ...and says what it could not publish, and that it lost Redis.
	require.Eventually(t, func() bool { return a.cl.Stats().Unpublished >= 1 }, ttTimeout, 10*time.Millisecond,
		"a must count the broadcast Redis could not take")
	require.Eventually(t, func() bool { return b.cl.Stats().Disconnects >= 1 }, ttTimeout, 10*time.Millisecond,
		"b must notice that its subscription is gone")
	assert.Contains(t, a.log.String(), "could not publish")

	rs.Restart()
	back := time.Now()
	// Within 5 seconds the cluster delivers again, both ways, by itself.
	delivered := func(from *ttNode, to *ttClient) time.Duration {
		t.Helper()
		tag := fmt.Sprintf("from %s", from.name)
		deadline := back.Add(ttTimeout)
		for i := 0; time.Now().Before(deadline); i++ {
			require.NoError(t, from.srv.Emit("news", tag, i))
			select {
			case g := <-to.got:
				if g.Event == "news" && strings.Contains(g.Args, tag) {
					return time.Since(back)
				}
			case <-time.After(100 * time.Millisecond):
			}
		}
		t.Fatalf("%s got nothing from %s within %v of Redis being back; a: %+v b: %+v\nlog of a:\n%s",
			to.name, from.name, ttTimeout, a.cl.Stats(), b.cl.Stats(), a.log.String())
		return 0
	}
	t.Logf("a to b again after %v, b to a after %v", delivered(a, b1), delivered(b, a1))
	ttWaitServers(t, a, 2)
	assert.GreaterOrEqual(t, a.cl.Stats().Reconnects, int64(1))
	assert.GreaterOrEqual(t, b.cl.Stats().Reconnects, int64(1))
	assert.Contains(t, b.log.String(), "subscribed to Redis again")
}

func TestMalformedMessagesAreLoggedAndDropped(t *testing.T) {
	exercise.Start(t, "6.4")
	ttPeers(t, false)
	ttNoLeaks(t)
	rs := startTTRedis(t)
	a, b := startTTNode(t, "a", rs.URL()), startTTNode(t, "b", rs.URL())
	ttWaitServers(t, a, 2)
	a1 := dialTT(t, a.url(), "a1")
	require.NoError(t, a1.c.Emit("join", "red"))
	require.Eventually(t, func() bool { return len(a.srv.To("red").Local().Sockets()) == 1 }, ttTimeout, 10*time.Millisecond)

	other := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer other.Close()
	ctx, cancel := context.WithTimeout(context.Background(), ttTimeout)
	defer cancel()
	valid, err := hex.DecodeString(ttFromNotepack)
	require.NoError(t, err)
	bad := map[string][]byte{}
	for name, m := range ttMalformed(t) {
		bad["broadcast: "+name] = m
	}
	requests := map[string]string{
		"not JSON":          `{"type":`,
		"type not a number": `{"uid":"x","type":"join"}`,
		"unknown type":      `{"uid":"x","type":99}`,
		"bad opts":          `{"uid":"x","type":2,"opts":{"rooms":[{}]},"rooms":["r"]}`,
		"bad data":          `{"uid":"x","type":6,"data":"hello"}`,
		"empty data":        `{"uid":"x","type":6,"data":[]}`,
		"event not string":  `{"uid":"x","type":6,"data":[7]}`,
	}
	sent, toRed := 0, 0
	for name, m := range bad {
		channel := BroadcastChannel(DefaultKey, "/")
		if strings.Contains(name, "4 billion") {
			channel = RoomChannel(DefaultKey, "/", "red") // someone is in red on a, nobody on b
			toRed++
		}
		require.NoError(t, other.Publish(ctx, channel, m).Err(), name)
		sent++
	}
	for name, m := range requests {
		require.NoError(t, other.Publish(ctx, RequestChannel(DefaultKey, "/"), m).Err(), name)
		sent++
	}
	require.NoError(t, other.Publish(ctx, ResponseChannel(DefaultKey, "/"), `{"requestId":`).Err())
	sent++
	// Not malformed, and not for us: ignored without a word.
	require.NoError(t, other.Publish(ctx, RoomChannel(DefaultKey, "/", "nobody-here"), "garbage").Err())
	require.NoError(t, other.Publish(ctx, ResponseChannel(DefaultKey, "/"), `{"requestId":"not-mine"}`).Err())
	require.NoError(t, other.Publish(ctx, BroadcastChannel(DefaultKey, "/admin"), valid).Err())

	// A real broadcast after all that still arrives, and a got nothing else.
	require.NoError(t, b.srv.Emit("news", "still here"))
	a1.expect("news", `["still here"]`)
	require.Eventually(t, func() bool { return a.cl.Stats().Malformed == int64(sent) }, ttTimeout, 10*time.Millisecond,
		"a must count each of the %d malformed messages once; it counted %d", sent, a.cl.Stats().Malformed)
	// b heard the same messages, but leaves those for a room it has nobody
	// in unread. Its own broadcast says nothing of how far it has read, so
	// wait for the count, then check that it stays there.
	require.Eventually(t, func() bool { return b.cl.Stats().Malformed >= int64(sent-toRed) }, ttTimeout, 10*time.Millisecond,
		"b must count the %d malformed messages it decoded; it counted %d", sent-toRed, b.cl.Stats().Malformed)
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, int64(sent-toRed), b.cl.Stats().Malformed,
		"b must not decode the messages for a room it has nobody in")
	assert.Contains(t, a.log.String(), "dropped a malformed message")
	assert.Less(t, strings.Count(a.log.String(), "\n"), 10, "a burst of bad messages must not flood the log")
}
