// Package polling is lesson 01 of the WebSocket Workbook: a chat message log
// served over plain HTTP, first by short polling, then by long polling.
//
// The lesson text is lessons/01-polling.md. Work through the exercises in
// order; each stub below names its exercise, and `go run ./cmd/workbook`
// from the module root tells you which one is next.
//
// # The pieces
//
// A Log is an append-only list of chat messages. Every message gets an ID
// one larger than the last, so an ID doubles as a cursor: "give me everything
// after 41" is all a client has to remember between requests (exercise 1.1).
// Wait blocks until there is something after a cursor, and wakes every
// waiter at once when a message arrives (1.2).
//
// Over HTTP the log is three routes (see NewMux):
//
//	GET  /messages?since=ID        short poll: answer at once, maybe with nothing (1.3)
//	POST /messages                 append {"author": "...", "text": "..."} (1.3)
//	GET  /messages/wait?since=ID   long poll: answer when there is news, or at the timeout (1.4)
//
// Both GET routes answer with a Batch: the messages after since, oldest first,
// at most MaxBatch of them, and the cursor to send next time. Errors are JSON
// too, {"error": "..."}, with 400 for bad input, 405 for a wrong method and
// 413 for a body over MaxBodyBytes.
//
// A Poller is the client side (1.5 and 1.6): it keeps the cursor, and
// delivers every message exactly once and in order, however often the
// network fails under it.
package polling
