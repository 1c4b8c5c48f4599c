package polling

import (
	"errors"
	"time"
)

// A Message is one chat message in the log.
type Message struct {
	ID     int64     `json:"id"`     // 1 for the first message, then one more each time
	Author string    `json:"author"` // who wrote it; may be empty
	Text   string    `json:"text"`   // what they wrote; never empty
	Time   time.Time `json:"time"`   // when the log stored it
}

// A Batch is the answer to a poll: the messages after the cursor the client
// sent, oldest first, and the cursor to send next time (the ID of the last
// message in Messages, or the client's own cursor when Messages is empty).
// Messages is never null on the wire: an empty batch is [].
type Batch struct {
	Messages []Message `json:"messages"`
	Cursor   int64     `json:"cursor"`
}

// Limits of the log and of the HTTP API.
const (
	MaxAuthorBytes = 64       // longest Author, in bytes
	MaxTextBytes   = 4096     // longest Text, in bytes
	MaxBatch       = 100      // most messages in one Batch
	MaxBodyBytes   = 16 << 10 // largest POST /messages body; more is 413
)

// Errors the Log returns for bad input. The HTTP handlers turn each of them
// into a 400 answer.
var (
	ErrEmptyText   = errors.New("text is empty")
	ErrTooLong     = errors.New("author or text is too long")
	ErrBadCursor   = errors.New("cursor is negative")
	ErrInvalidUTF8 = errors.New("author or text is not valid UTF-8")
)
