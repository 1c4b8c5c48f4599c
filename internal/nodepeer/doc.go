// Package nodepeer runs the real JavaScript Socket.IO peers, Node with the
// npm socket.io-client and socket.io packages, and drives them from Go tests.
//
// The workbook's event layer speaks the Socket.IO v5 / Engine.IO v4 wire
// protocol, and the only convincing proof of that is the npm client talking
// to the Go server, and the Go client talking to Node's server. This package
// starts each in its own Node process and talks to it over two pipes:
//
//   - commands go to Node as JSON lines on its stdin ("connect", "emit", ...);
//   - what the socket sees comes back as JSON lines on its stdout, one
//     Report each: connect, connect_error, disconnect, every event, acks;
//   - Node's stderr is kept, and goes to the test log if the test fails.
//
// A test starts a client, then reads what it sees, always with a deadline:
//
//	c := nodepeer.StartSIOClient(t, srv.URL+"/chat", map[string]any{
//		"transports": []string{"websocket"},
//		"auth":       map[string]any{"token": "t"},
//	})
//	c.WaitFor("connect", "", 5*time.Second)
//	c.Emit("message", "hello")
//	r := c.WaitFor("event", "message", 5*time.Second)
//
// StartRedisNode starts the third peer: Node's socket.io server with
// @socket.io/redis-adapter on the npm redis client, the Node half of lesson
// 06's mixed cluster. Its commands (fetchSockets, socketsJoin,
// serverSideEmitWithAck, ...) and reports are listed in js/sioredis.js.
//
// Binary values cross the pipes as {"$binary": "<base64>"}: a []byte given
// to Emit becomes a Buffer in Node, and a Buffer or ArrayBuffer the socket
// receives arrives in Report.Args in that form, which Binary decodes.
//
// # Finding Node and the packages
//
// Node is found with peer.Node. The packages are the ones `npm ci` installs
// at the module root from package-lock.json: the package finds the root by
// walking up from the working directory to go.mod; the scripts load the
// packages from <root>/node_modules (NODEPEER_ROOT=<root>, and
// NODE_PATH=<root>/node_modules for anything else). The JavaScript it runs (js/*.js) is
// embedded in the test binary and written to a temporary directory, so it
// works from any package directory and in the grader's workspace. If Node or
// the packages are missing, the test is skipped with a message saying how to
// install them, or fails when CI=true (see package peer).
//
// # Lifetimes
//
// Each process is stopped in t.Cleanup (or earlier by Close): its stdin is
// closed, which makes the script disconnect and exit; after a short grace
// period it is killed; either way it is waited for, and the goroutine that
// reads its stdout has returned when Close returns. A Node process whose
// Go test binary dies sees its stdin close and exits too.
package nodepeer
