package nodepeer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/websocket-workbook/workbook/internal/peer"
)

// These tests prove the harness against a peer that needs no workbook code:
// the npm socket.io-client against Node's own socket.io server. If they
// pass, a failure in a lesson's interop test is the lesson's, not the
// harness's.

// within bounds every wait; it is only reached when something is wrong.
const within = 10 * time.Second

// noLeaks checks, after the test and its cleanups (which stop the Node
// processes), that no goroutine the test started is left.
func noLeaks(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// websocketOnly are client options for a client that skips long-polling.
func websocketOnly(extra map[string]any) map[string]any {
	opts := map[string]any{"transports": []string{"websocket"}, "reconnection": false}
	for k, v := range extra {
		opts[k] = v
	}
	return opts
}

// args decodes a report's arguments into Go values, for comparison.
func args(t *testing.T, r Report) []any {
	t.Helper()
	out := make([]any, len(r.Args))
	for i, a := range r.Args {
		require.NoError(t, json.Unmarshal(a, &out[i]), "argument %d of %s", i, r)
	}
	return out
}

func TestConnectOverWebSocket(t *testing.T) {
	noLeaks(t)
	srv := StartSIOServer(t)
	c := StartSIOClient(t, srv.URL(), websocketOnly(map[string]any{"auth": map[string]any{"token": "t"}}))

	r := c.WaitFor("connect", "", within)
	assert.NotEmpty(t, r.ID, "connect reports socket.id")

	c.Emit("info")
	info := c.WaitFor("event", "info", within)
	require.Len(t, info.Args, 1)
	assert.JSONEq(t, fmt.Sprintf(`{"id":%q,"nsp":"/","transport":"websocket","auth":{"token":"t"}}`, r.ID), string(info.Args[0]),
		"the server sees the client's id, namespace, transport and auth")
}

func TestConnectOverPollingThenUpgrade(t *testing.T) {
	noLeaks(t)
	srv := StartSIOServer(t)
	c := StartSIOClient(t, srv.URL(), map[string]any{"reconnection": false}) // default transports: polling, then websocket

	c.WaitFor("connect", "", within)
	up := c.WaitFor("event", "upgraded", within)
	assert.Equal(t, []any{"websocket"}, args(t, up), "the connection upgrades from long-polling to WebSocket")

	// Events still flow both ways after the upgrade.
	c.Emit("hello", "after upgrade")
	assert.Equal(t, []any{"after upgrade"}, args(t, c.WaitFor("event", "echo:hello", within)))
}

func TestConnectToANamespaceWithAutoConnectOff(t *testing.T) {
	noLeaks(t)
	srv := StartSIOServer(t)
	c := StartSIOClient(t, srv.URL()+"/admin", websocketOnly(map[string]any{"autoConnect": false}))

	c.Connect()
	c.WaitFor("connect", "", within)
	c.Emit("info")
	info := c.WaitFor("event", "info", within)
	require.Len(t, info.Args, 1)
	var seen struct{ Nsp string }
	require.NoError(t, json.Unmarshal(info.Args[0], &seen))
	assert.Equal(t, "/admin", seen.Nsp)
}

func TestEventsBothWays(t *testing.T) {
	noLeaks(t)
	srv := StartSIOServer(t)
	a := StartSIOClient(t, srv.URL(), websocketOnly(nil))
	b := StartSIOClient(t, srv.URL(), websocketOnly(nil))
	a.WaitFor("connect", "", within)
	b.WaitFor("connect", "", within)

	// Client to server, and the server's echo back to the client.
	a.Emit("chat message", "hi", 42, map[string]any{"nested": []any{true, nil}})
	echo := a.WaitFor("event", "echo:chat message", within)
	assert.Equal(t, []any{"hi", float64(42), map[string]any{"nested": []any{true, nil}}}, args(t, echo))

	// A raw JSON argument is sent as the JSON it holds.
	a.Emit("raw", json.RawMessage(`{"a":[1,2]}`))
	assert.JSONEq(t, `{"a":[1,2]}`, string(a.WaitFor("event", "echo:raw", within).Args[0]))

	// An event with no arguments.
	a.Emit("ping")
	assert.Empty(t, a.WaitFor("event", "echo:ping", within).Args)

	// The server to every client of the namespace.
	a.Emit("broadcast", "to all")
	for name, c := range map[string]*SIOClient{"sender": a, "other": b} {
		assert.Equal(t, []any{"to all"}, args(t, c.WaitFor("event", "broadcast", within)), "%s gets the broadcast", name)
	}
}

func TestAcksBothWays(t *testing.T) {
	noLeaks(t)
	srv := StartSIOServer(t)
	c := StartSIOClient(t, srv.URL(), websocketOnly(nil))
	c.WaitFor("connect", "", within)

	// The client asks, the server answers (with the args).
	first := c.EmitWithAck("sum", 1, 2)
	second := c.EmitWithAck("sum", 3)
	assert.NotEqual(t, first, second, "each EmitWithAck has its own sequence number")
	got := map[int][]any{}
	for len(got) < 2 {
		r := c.WaitFor("ack", "", within)
		got[r.Seq] = args(t, r)
	}
	assert.Equal(t, map[int][]any{first: {float64(1), float64(2)}, second: {float64(3)}}, got)

	// The server asks, the client answers: "ask" makes the server emit
	// "question" with an ack, and report the client's reply as "answer".
	c.AnswerAcks("question", "forty-two", 42)
	c.Emit("ask", "question", "life?")
	q := c.WaitFor("event", "question", within)
	assert.Equal(t, []any{"life?"}, args(t, q), "the ack callback is not among the reported args")
	a := c.WaitFor("event", "answer", within)
	assert.Equal(t, []any{"forty-two", float64(42)}, args(t, a))
}

func TestBinaryRoundTrip(t *testing.T) {
	noLeaks(t)
	srv := StartSIOServer(t)
	for _, transports := range [][]string{{"websocket"}, {"polling"}} {
		t.Run(transports[0], func(t *testing.T) {
			c := StartSIOClient(t, srv.URL(), map[string]any{"transports": transports, "reconnection": false})
			c.WaitFor("connect", "", within)

			payload := []byte{0, 1, 2, 0xfe, 0xff, '\n', '"'}
			c.Emit("file", "name.bin", payload, map[string]any{"inner": []byte("nested")})
			echo := c.WaitFor("event", "echo:file", within)
			require.Len(t, echo.Args, 3)
			got, ok := Binary(echo.Args[1])
			require.True(t, ok, "a Buffer arrives as {\"$binary\": ...}, got %s", echo.Args[1])
			assert.Equal(t, payload, got)
			var inner struct{ Inner json.RawMessage }
			require.NoError(t, json.Unmarshal(echo.Args[2], &inner))
			got, ok = Binary(inner.Inner)
			require.True(t, ok, "a nested Buffer arrives as {\"$binary\": ...}, got %s", inner.Inner)
			assert.Equal(t, []byte("nested"), got)
			_, ok = Binary(echo.Args[0])
			assert.False(t, ok, "a string is not binary")

			// Binary in an ack, and in the client's answer to the server's ack.
			seq := c.EmitWithAck("file", payload)
			ack := c.WaitFor("ack", "", within)
			assert.Equal(t, seq, ack.Seq)
			require.Len(t, ack.Args, 1)
			got, _ = Binary(ack.Args[0])
			assert.Equal(t, payload, got)

			c.AnswerAcks("send me bytes", []byte{9, 8, 7})
			c.Emit("ask", "send me bytes")
			answer := c.WaitFor("event", "answer", within)
			require.Len(t, answer.Args, 1)
			got, _ = Binary(answer.Args[0])
			assert.Equal(t, []byte{9, 8, 7}, got)
		})
	}
}

func TestMiddlewareRefusal(t *testing.T) {
	noLeaks(t)
	srv := StartSIOServer(t)
	c := StartSIOClient(t, srv.URL(), websocketOnly(map[string]any{"auth": map[string]any{"token": "bad"}}))

	r := c.WaitFor("connect_error", "", within)
	assert.Equal(t, "refused", r.Message)
	assert.JSONEq(t, `{"why":"bad token"}`, string(r.Data))
}

func TestConnectErrorWhenNobodyListens(t *testing.T) {
	noLeaks(t)
	srv := StartSIOServer(t)
	url := srv.URL()
	srv.Close()
	c := StartSIOClient(t, url, websocketOnly(nil))
	r := c.WaitFor("connect_error", "", within)
	assert.NotEmpty(t, r.Message)
	assert.Nil(t, r.Data)
}

func TestDisconnectReasons(t *testing.T) {
	noLeaks(t)
	srv := StartSIOServer(t)
	c := StartSIOClient(t, srv.URL(), websocketOnly(nil))

	c.WaitFor("connect", "", within)
	c.Disconnect()
	assert.Equal(t, "io client disconnect", c.WaitFor("disconnect", "", within).Reason)

	c.Connect()
	c.WaitFor("connect", "", within)
	c.Emit("bye")
	assert.Equal(t, "io server disconnect", c.WaitFor("disconnect", "", within).Reason)

	c.Connect()
	c.WaitFor("connect", "", within)
	srv.Close()
	assert.Equal(t, "transport close", c.WaitFor("disconnect", "", within).Reason)
}

// TestRecoveryAgainstNodeSocketIO is the reference for lesson 03's
// exercise 3.9: against Node's socket.io with connectionStateRecovery, the
// npm client that drops its transport comes back recovered, with the same
// id and rooms, and gets each missed message once, in order. The Go
// server's tests expect the same of it.
func TestRecoveryAgainstNodeSocketIO(t *testing.T) {
	noLeaks(t)
	srv := StartSIOServerWith(t, map[string]any{
		"connectionStateRecovery": map[string]any{"maxDisconnectionDuration": 120000},
	})
	a := StartSIOClient(t, srv.URL(), websocketOnly(map[string]any{
		"reconnection": true, "reconnectionDelay": 500, "randomizationFactor": 0,
	}))
	first := a.WaitFor("connect", "", within)
	assert.False(t, first.Recovered, "socket.recovered at the first connect")
	a.Emit("join", "red")
	b := StartSIOClient(t, srv.URL(), websocketOnly(nil))
	b.WaitFor("connect", "", within)
	b.Emit("broadcast", "before")
	assert.Equal(t, []any{"before"}, args(t, a.WaitFor("event", "broadcast", within))[:1])

	a.DropTransport()
	assert.Equal(t, "forced close", a.WaitFor("disconnect", "", within).Reason)
	b.Emit("broadcast", "while away")
	b.Emit("toRoom", "red", "to red while away")
	b.WaitFor("event", "echo:toRoom", within) // the server has sent both

	// socket.io sends the missed events before the CONNECT answer, and the
	// client hands them to its listeners just before "connect".
	var got []string
	var back Report
	for back.Kind != "connect" {
		back = a.Next(within)
		if back.Kind == "event" {
			got = append(got, fmt.Sprintf("%s:%v", back.Event, args(t, back)[0]))
		} else {
			got = append(got, back.Kind)
		}
	}
	assert.Equal(t, []string{"broadcast:while away", "room:to red while away", "connect"}, got,
		"each missed event once, in order, then connect")
	assert.True(t, back.Recovered, "socket.recovered after the reconnection")
	assert.Equal(t, first.ID, back.ID, "the same socket.id")
	// Every event the server sent without an ack carries its offset last.
	a.Emit("whoami")
	info := a.WaitFor("event", "you", within)
	require.Len(t, info.Args, 2, "you and its offset: %s", info)
	var me struct {
		ID        string   `json:"id"`
		Recovered bool     `json:"recovered"`
		Rooms     []string `json:"rooms"`
	}
	require.NoError(t, json.Unmarshal(info.Args[0], &me))
	assert.True(t, me.Recovered)
	assert.Contains(t, me.Rooms, "red", "the rooms are restored")

	forger := StartSIOClient(t, srv.URL(), websocketOnly(map[string]any{
		"auth": map[string]any{"pid": "forged", "offset": "forged"},
	}))
	r := forger.WaitFor("connect", "", within)
	assert.False(t, r.Recovered, "a forged pid gets a fresh socket")
}

func TestNextAndClose(t *testing.T) {
	noLeaks(t)
	srv := StartSIOServer(t)
	c := StartSIOClient(t, srv.URL(), websocketOnly(nil))

	assert.Equal(t, "connect", c.Next(within).Kind)
	c.Emit("one")
	c.Emit("two")
	assert.Equal(t, "echo:one", c.Next(within).Event, "reports come in order")
	assert.Equal(t, "echo:two", c.Next(within).Event)

	// Close disconnects; what the client saw before it ended can still be read.
	c.Close()
	assert.Equal(t, "io client disconnect", c.WaitFor("disconnect", "", within).Reason)
	c.Close() // again: nothing happens
}

// failing is a testing.TB whose Fatalf records the message and ends the
// goroutine, as t.Fatalf does, so the harness's failures can be checked.
type failing struct {
	testing.TB
	msg string
}

func (f *failing) Helper() {}
func (f *failing) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fails runs fn with a failing TB on its own goroutine and returns the
// failure message ("" if fn did not fail).
func fails(t *testing.T, fn func(tb testing.TB)) string {
	f := &failing{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

func TestWaitForFailsWithWhatItSaw(t *testing.T) {
	noLeaks(t)
	srv := StartSIOServer(t)
	c := StartSIOClient(t, srv.URL(), websocketOnly(nil))
	c.WaitFor("connect", "", within)
	c.Emit("seen")
	c.WaitFor("event", "echo:seen", within)

	msg := fails(t, func(tb testing.TB) {
		c.t = tb
		defer func() { c.t = t }()
		c.WaitFor("event", "never", 200*time.Millisecond)
	})
	assert.Contains(t, msg, `waited 200ms for event "never": none came`)
	assert.Contains(t, msg, `{"kind":"event","event":"echo:seen"}`, "the failure lists the reports seen")

	msg = fails(t, func(tb testing.TB) {
		c.t = tb
		defer func() { c.t = t }()
		c.Next(100 * time.Millisecond)
	})
	assert.Contains(t, msg, "waited 100ms for the next report: none came")

	// After the process has ended, waiting fails at once rather than at the
	// deadline, and says so.
	c.Close()
	c.WaitFor("disconnect", "", within)
	start := time.Now()
	msg = fails(t, func(tb testing.TB) {
		c.t = tb
		defer func() { c.t = t }()
		c.Next(time.Minute)
	})
	assert.Contains(t, msg, "has exited")
	assert.Less(t, time.Since(start), within)
}

// recorder is a peer.TB that remembers whether the test was skipped or
// failed (and, unlike testing.T, carries on).
type recorder struct {
	skipped, failed string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skipf(f string, args ...any)  { r.skipped = fmt.Sprintf(f, args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }

// withoutNode points PATH at an empty directory: node cannot be found.
func withoutNode(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
}

// withFakeNode points PATH at a directory holding an executable "node"
// that is never run: node is found, whether or not it is installed.
func withFakeNode(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node"), []byte("#!/bin/sh\nexit 1\n"), 0o755))
	t.Setenv("PATH", dir)
}

// requirements checks what a harness checks before it starts Node, with the
// packages looked for under root.
func requirements(t peer.TB, root, pkg string) (node string, ok bool) {
	node = peer.NodePackagesIn(t, root, pkg)
	return node, node != ""
}

func TestMissingNodeSkipsOutsideCI(t *testing.T) {
	withoutNode(t)
	t.Setenv("CI", "")
	var r recorder
	_, ok := requirements(&r, t.TempDir(), "socket.io-client")
	assert.False(t, ok)
	assert.Empty(t, r.failed, "outside CI a missing node must not fail the test")
	assert.Contains(t, r.skipped, "Node.js not found")
}

func TestMissingNodeFailsInCI(t *testing.T) {
	withoutNode(t)
	t.Setenv("CI", "true")
	var r recorder
	_, ok := requirements(&r, t.TempDir(), "socket.io-client")
	assert.False(t, ok)
	assert.Empty(t, r.skipped, "with CI=true a missing node must not be skipped")
	assert.Contains(t, r.failed, "Node.js is required in CI")
}

func TestMissingPackagesSkipOutsideCIAndFailInCI(t *testing.T) {
	withFakeNode(t)
	root := t.TempDir() // no node_modules
	for ci, want := range map[string]func(r recorder) string{
		"":     func(r recorder) string { assert.Empty(t, r.failed); return r.skipped },
		"true": func(r recorder) string { assert.Empty(t, r.skipped); return r.failed },
	} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			var r recorder
			_, ok := requirements(&r, root, "socket.io-client")
			assert.False(t, ok)
			msg := want(r)
			assert.Contains(t, msg, "the npm package(s) socket.io-client")
			assert.Contains(t, msg, "run `npm ci` at the module root ("+root+")")
		})
	}
}

func TestPresentRequirementsAreFound(t *testing.T) {
	withFakeNode(t)
	root := t.TempDir()
	pkg := filepath.Join(root, "node_modules", "socket.io-client")
	require.NoError(t, os.MkdirAll(pkg, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "package.json"), []byte("{}"), 0o644))
	var r recorder
	node, ok := requirements(&r, root, "socket.io-client")
	assert.True(t, ok)
	assert.NotEmpty(t, node)
	assert.Empty(t, r.skipped)
	assert.Empty(t, r.failed)
}

func TestModuleRootHasThePackageJSON(t *testing.T) {
	root, err := peer.ModuleRoot()
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(root, "go.mod"))
	assert.FileExists(t, filepath.Join(root, "package.json"), "package.json, for `npm ci`, sits beside go.mod")
}

func TestBinaryRejectsWhatIsNotBinary(t *testing.T) {
	for _, s := range []string{`"AAEC"`, `{"$binary":1}`, `{"$binary":"!!"}`, `{"$binary":"AA==","x":1}`, `[1]`, `null`, ``} {
		_, ok := Binary(json.RawMessage(s))
		assert.False(t, ok, "%s", s)
	}
	b, ok := Binary(json.RawMessage(`{"$binary":"AAH/"}`))
	assert.True(t, ok)
	assert.Equal(t, []byte{0, 1, 0xff}, b)
	b, ok = Binary(json.RawMessage(`{"$binary":""}`))
	assert.True(t, ok, "an empty Buffer is binary")
	assert.Empty(t, b)
}
