package polling

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"
)

// A Log is an append-only, in-memory list of messages, safe for use by many
// goroutines at once. The zero Log is not ready to use; call NewLog.
type Log struct {
	mu sync.Mutex

	// msgs holds every message in ID order: msgs[i].ID == i+1, so the
	// messages after a cursor c start at index c.
	msgs []Message

	// changed stands for "the log as it is now". Append closes it, which
	// wakes every goroutine blocked in Wait at once, and puts a fresh
	// channel in its place. A waiter never registers anywhere, so one that
	// gives up leaves nothing behind.
	changed chan struct{}
}

// NewLog returns an empty log. The first message appended gets ID 1.
func NewLog() *Log {
	return &Log{changed: make(chan struct{})}
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
	// Check before taking the lock and before picking an ID, so a refused
	// message cannot use one up.
	if err := checkMessage(author, text); err != nil {
		return Message{}, err
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	// The ID, the time and the position in msgs are decided in one critical
	// section, so IDs, times and storage order always agree.
	m := Message{
		ID:     int64(len(l.msgs)) + 1,
		Author: author,
		Text:   text,
		Time:   time.Now().UTC(), // UTC also drops the monotonic reading
	}
	l.msgs = append(l.msgs, m)

	// Wake every waiter: they were all selecting on the old channel.
	close(l.changedLocked())
	l.changed = make(chan struct{})
	return m, nil
}

// checkMessage says why a message cannot be stored, or returns nil. Lengths
// are in bytes, as MaxAuthorBytes and MaxTextBytes are.
func checkMessage(author, text string) error {
	switch {
	case text == "":
		return ErrEmptyText
	case !utf8.ValidString(author):
		return fmt.Errorf("%w: the author is not valid UTF-8", ErrInvalidUTF8)
	case !utf8.ValidString(text):
		return fmt.Errorf("%w: the text is not valid UTF-8", ErrInvalidUTF8)
	case len(author) > MaxAuthorBytes:
		return fmt.Errorf("%w: the author is %d bytes, at most %d are allowed",
			ErrTooLong, len(author), MaxAuthorBytes)
	case len(text) > MaxTextBytes:
		return fmt.Errorf("%w: the text is %d bytes, at most %d are allowed",
			ErrTooLong, len(text), MaxTextBytes)
	}
	return nil
}

// Since returns the messages whose ID is greater than cursor, oldest first,
// at most limit of them (limit <= 0 or over MaxBatch means MaxBatch).
// A cursor at or past the newest message gives an empty, non-nil slice.
// A negative cursor is an error: ErrBadCursor.
//
// The caller may keep the slice: later Appends never change it.
func (l *Log) Since(cursor int64, limit int) ([]Message, error) {
	if cursor < 0 {
		return nil, badCursor(cursor)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sinceLocked(cursor, limit), nil
}

// Wait is Since that blocks: when there is nothing after cursor, it waits
// until a message is appended or ctx is done, whichever comes first.
//
// A message appended while many goroutines wait wakes all of them at once;
// each returns what it finds after its own cursor. When ctx is done first,
// Wait returns ctx.Err() and leaves nothing behind: no goroutine, no
// registration that grows with every call.
func (l *Log) Wait(ctx context.Context, cursor int64, limit int) ([]Message, error) {
	if cursor < 0 {
		return nil, badCursor(cursor)
	}
	for {
		// Look and pick up the channel under the same lock: an Append that
		// comes after the look closes exactly the channel we wait on, so
		// no wake-up can be lost in between.
		l.mu.Lock()
		msgs := l.sinceLocked(cursor, limit)
		changed := l.changedLocked()
		l.mu.Unlock()

		if len(msgs) > 0 {
			return msgs, nil
		}
		select {
		case <-changed:
			// Something was appended. It may still be at or before our
			// cursor (a client may ask for "after 50" when there are 45):
			// look again.
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// sinceLocked is Since without the checks; l.mu must be held. It returns a
// copy, never a window onto l.msgs, so the caller owns what it gets.
func (l *Log) sinceLocked(cursor int64, limit int) []Message {
	if limit <= 0 || limit > MaxBatch {
		limit = MaxBatch
	}
	n := int64(len(l.msgs))
	lo := min(cursor, n) // cursor can be far past the end
	hi := min(lo+int64(limit), n)
	out := make([]Message, hi-lo) // never nil, even when empty
	copy(out, l.msgs[lo:hi])
	return out
}

// changedLocked returns the current "changed" channel, creating it for a
// Log that did not come from NewLog; l.mu must be held.
func (l *Log) changedLocked() chan struct{} {
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.changed
}

func badCursor(cursor int64) error {
	return fmt.Errorf("%w: %d", ErrBadCursor, cursor)
}
