package polling

import (
	"net/http"
	"time"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// NewMux serves the whole API of the lesson on one handler:
//
//	GET  /messages?since=ID        ShortPollHandler
//	POST /messages                 ShortPollHandler
//	GET  /messages/wait?since=ID   LongPollHandler
//
// It is given; the two handlers it mounts are yours to write.
func NewMux(log *Log, longPollTimeout time.Duration) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/messages", ShortPollHandler(log))
	mux.Handle("/messages/wait", LongPollHandler(log, longPollTimeout))
	return mux
}

// ShortPollHandler serves /messages:
//
//	GET  /messages?since=ID  -> 200 and a Batch of what came after ID, at once
//	POST /messages           -> 201 and the stored Message
//
// since is a non-negative decimal integer; a missing, empty, non-numeric or
// negative since is 400. The POST body is one JSON object,
// {"author": "...", "text": "..."}, with no other fields and nothing after
// it; anything else is 400, and a body over MaxBodyBytes is 413. A message
// the Log refuses is 400. Any other method is 405 with an Allow header.
//
// Every answer is JSON (Content-Type: application/json); every error is
// {"error": "what was wrong"}. A refused request leaves the log unchanged.
func ShortPollHandler(log *Log) http.Handler {
	return exercise.TODOHandler("1.3")
}

// LongPollHandler serves GET /messages/wait?since=ID: it holds the request
// until there is a message after ID, then answers 200 with a Batch, as the
// short poll does. When timeout passes first it answers 200 with an empty
// Batch whose cursor is since, and the client simply asks again.
//
// When the client goes away (the request's context is done) the handler
// returns at once, so a waiting request never outlives its client.
// since is checked as in ShortPollHandler (400), and any method but GET is
// 405 with an Allow header.
func LongPollHandler(log *Log, timeout time.Duration) http.Handler {
	return exercise.TODOHandler("1.4")
}
