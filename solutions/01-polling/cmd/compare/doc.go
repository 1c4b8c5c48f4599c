// Command compare measures what it costs to keep chat clients up to date,
// four ways, with one scenario. It is the measurement that motivates the
// whole workbook: run it before lesson 02 and you will see why WebSockets
// exist.
//
//	go run ./solutions/01-polling/cmd/compare            # defaults: 50 clients, 20 msg/s, 8 s each
//	go run ./solutions/01-polling/cmd/compare -h         # every flag
//
// # The scenario
//
// N clients (-clients) each follow one chat log. A publisher appends messages
// to the server's polling.Log at a fixed rate (-rate) for a fixed time
// (-duration). The publisher runs inside the server process and calls
// Log.Append directly, so every strategy delivers along the same path:
//
//	Log.Append -> server code -> loopback TCP -> client -> deliver callback
//
// Publishing then stops, the clients get a bounded grace period (-grace) to
// catch up, and everything is torn down before the next strategy starts on a
// fresh server and a fresh Log.
//
// # The four strategies
//
//   - short polling, slow: Poller.ShortPoll every -slow (1 s);
//   - short polling, fast: Poller.ShortPoll every -fast (100 ms);
//   - long polling: Poller.LongPoll against the lesson's LongPollHandler;
//   - a WebSocket (gorilla/websocket): a small hub follows the same Log with
//     Log.Wait and pushes each message, as one JSON text frame, to every
//     connected client.
//
// # What is measured, and why
//
// Requests: every HTTP request the server serves, counted in a middleware.
// Polling pays one request per poll, whether or not there is news; a
// WebSocket pays one (the upgrade) per client, ever.
//
// Bytes per delivered message: every byte read from and written to the
// server's accepted TCP connections (the net.Listener is wrapped), HTTP
// headers, empty polls, the upgrade handshake and WebSocket frame headers
// included, both directions, divided by the messages the clients received.
// This is the overhead a protocol adds around the few bytes of chat.
//
// Delivery latency, p50 and p99: from the moment the publisher appends a
// message to the moment a client's deliver callback sees it. Message.Time
// crosses the wire as RFC 3339 text and loses Go's monotonic clock reading,
// so the publisher keeps its own monotonic timestamp, taken just before
// Log.Append, for each message ID; server and clients are in one process, so
// one clock serves both ends.
//
// CPU time: user+system time of the whole process during the strategy
// (getrusage RUSAGE_SELF). Server and clients share the process, so this is
// the cost of both ends together; compare strategies with it, do not read it
// as "server CPU".
//
// Correctness: every client must receive every message exactly once, in ID
// order. Any loss, duplicate or reordering is reported loudly and the
// command exits with status 1; a fast strategy that drops messages has not
// won anything.
//
// The results are printed as a table and drawn as an SVG chart (-svg); -json
// writes the raw numbers. docs/benchmarks.md shows a run and what it means.
package main
