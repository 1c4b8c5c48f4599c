// Package loadgen is a swarm of lean Socket.IO clients, for the broadcast
// benchmarks of lesson 03: it opens thousands of Engine.IO v4 WebSocket
// connections to any Socket.IO v4 server (the workbook's Go server or Node's
// npm socket.io), joins the main namespace on each, and counts the events
// each client receives.
//
// A client is one goroutine on a raw net.Conn, with just enough of RFC 6455
// and the two Socket.IO protocols to be a correct peer:
//
//   - the opening handshake (RFC 6455 §4.1), GET
//     /socket.io/?EIO=4&transport=websocket;
//   - server frames are read unmasked, and fragmented messages are put
//     together (§5.2, §5.4); a WebSocket ping is answered with a pong, and
//     a close frame ends the client (§5.5);
//   - what the client writes is masked (§5.3): "40" (CONNECT to "/",
//     socket.io-protocol v5), "3" (the Engine.IO pong that answers every
//     ping "2", engine.io-protocol v4 "Heartbeat");
//   - the client is connected when "40{...}" comes back; from then on every
//     `42["<event>",...]` for the counted event adds one to its count.
//
// A client is its goroutine, a 4 KiB read buffer and a few words, and a
// received event is counted without an allocation or a copy. That matters
// because the swarm shares the machine with the server it measures; the
// benchmarks report the swarm's CPU time per message beside the server's.
//
// # The chat workload
//
// With Config.Rooms the swarm is a chat (chat.go, for cmd/chatload of
// lesson 03): each client joins a room, acknowledged, and Send makes some
// of them send `42["msg",{"r":room,"t":sent,"p":text}]` at an offered
// rate. The server under test broadcasts each to its room; every receiver
// reads t, the send time on the swarm's own monotonic clock, and adds the
// delivery's latency to a histogram, so the latency is end to end with no
// clock skew. Config.Slow makes the last client a slow reader
// (SetSlowRate) whose deliveries are counted apart and whose loss is not a
// failure: a server may rightly cut it off.
//
// # In this process or in another
//
// Connect runs the swarm in the calling process. StartProcess runs the same
// swarm in a child process (the running binary itself, executed again with
// an environment variable that this package's init function recognises)
// and drives it over two pipes. The benchmarks use the child: then the
// server's process holds only the server's connections, so 10,000 clients
// fit in the file limit of each process, and the server's memory statistics
// do not include the clients'.
//
// # Limits
//
// Every wait is bounded by a context or a timeout. Close ends every client
// goroutine before it returns. RaiseFileLimit raises RLIMIT_NOFILE to its
// hard limit; both the parent and the child call it.
package loadgen
