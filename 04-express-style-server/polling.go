package server

// The HTTP long-polling transport (engine.io-protocol v4, "HTTP
// long-polling") is yours to write here, as part of exercise 4.4: a type
// that implements events.Transport, which the Engine hands to
// events.Server.Attach when a client opens a session with
// GET ?EIO=4&transport=polling.
//
// The event layer reads and writes one packet at a time and expects to wait
// when there is nothing to read. Over long-polling there is no connection
// to wait on: packets for the client wait in an outbox until a GET comes
// and takes them all, and packets from the client arrive in the bodies of
// POSTs, which an inbox hands to the reader one at a time. What it needs:
//
//   - WriteMessage queues one packet (a Frame) in the outbox and wakes a
//     waiting GET. The outbox is bounded in bytes (MaxPayload): a write
//     beyond that waits for the next GET, so that the session's send queue
//     fills up behind it and cuts off a client that does not poll.
//   - ReadMessage returns the next posted packet, waiting for a POST if
//     there is none, and fails once the read deadline has passed with an
//     error for which errors.Is(err, os.ErrDeadlineExceeded) holds: the
//     session then reports "ping timeout".
//   - SetReadDeadline may be called from any goroutine, also while
//     ReadMessage waits; a time in the past must wake it.
//   - SetReadLimit(n int64) gets MaxPayload from the Server: the largest
//     POST body.
//   - Close, called once the session is over, answers a waiting GET with
//     what is left in the outbox and the close packet "1", and makes a
//     blocked WriteMessage return an error.
//   - A GET takes everything queued (EncodePayload), waiting until there is
//     something; a second GET while one waits is refused with 400 code 3
//     and ends the session. A POST is decoded whole (DecodePayload) and
//     answered "ok"; a body over MaxPayload gets 413, a malformed one 400
//     code 3, and both end the session. A request that ends the session
//     does it through ReadMessage: return an error that wraps
//     events.ErrBadPacket, and the session closes with "transport error".
//
// Exercise 4.5 adds the upgrade: after it, the same transport reads from
// and writes to the WebSocket, so the session moves without noticing.
