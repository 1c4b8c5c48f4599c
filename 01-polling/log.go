package polling

import (
	"context"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// A Log is an append-only, in-memory list of messages, safe for use by many
// goroutines at once. The zero Log is not ready to use; call NewLog.
type Log struct {
	// Exercise 1.1: decide what a Log holds. You will need a mutex, the
	// messages, and (for exercise 1.2) a way to wake every waiting goroutine.
}

// NewLog returns an empty log. The first message appended gets ID 1.
func NewLog() *Log {
	return &Log{}
}

// Append stores a message and returns it with its ID and time filled in.
//
// IDs are strictly increasing with no gaps, in the order Append calls return,
// even when many goroutines append at once. Text must be non-empty; author
// and text must be valid UTF-8 and no longer than MaxAuthorBytes and
// MaxTextBytes. A refused message leaves the log unchanged and returns
// ErrEmptyText, ErrTooLong or ErrInvalidUTF8 (or an error wrapping one).
//
// Every goroutine blocked in Wait must wake up when Append stores a message.
func (l *Log) Append(author, text string) (Message, error) {
	return Message{}, exercise.TODO("1.1")
}

// Since returns the messages whose ID is greater than cursor, oldest first,
// at most limit of them (limit <= 0 or over MaxBatch means MaxBatch).
// A cursor at or past the newest message gives an empty, non-nil slice.
// A negative cursor is an error: ErrBadCursor.
//
// The caller may keep the slice: later Appends never change it.
func (l *Log) Since(cursor int64, limit int) ([]Message, error) {
	return nil, exercise.TODO("1.1")
}

// Wait is Since that blocks: when there is nothing after cursor, it waits
// until a message is appended or ctx is done, whichever comes first.
//
// A message appended while many goroutines wait wakes all of them at once;
// each returns what it finds after its own cursor. When ctx is done first,
// Wait returns ctx.Err() and leaves nothing behind: no goroutine, no
// registration that grows with every call.
func (l *Log) Wait(ctx context.Context, cursor int64, limit int) ([]Message, error) {
	return nil, exercise.TODO("1.2")
}
