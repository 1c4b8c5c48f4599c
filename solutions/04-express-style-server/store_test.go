package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// ttSaveN saves n messages "m1".."mn" by "ana" and returns them as stored.
func ttSaveN(t *testing.T, s Store, n int) []Message {
	t.Helper()
	out := make([]Message, 0, n)
	for i := 1; i <= n; i++ {
		m, err := s.Save(context.Background(), Message{Author: "ana", Text: fmt.Sprintf("m%d", i)})
		require.NoError(t, err, "Save of message %d", i)
		out = append(out, m)
	}
	return out
}

// ttIDs lists the IDs of messages, for messages that compare pages.
func ttIDs(ms []Message) []int64 {
	ids := make([]int64, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// ttRequireSameMessages compares messages field by field, the times as
// instants in UTC.
func ttRequireSameMessages(t *testing.T, want, got []Message, what string) {
	t.Helper()
	require.Equal(t, ttIDs(want), ttIDs(got), "%s: the IDs", what)
	for i := range want {
		w, g := want[i], got[i]
		require.Equal(t, w.Author, g.Author, "%s: message %d: Author", what, w.ID)
		require.Equal(t, w.Text, g.Text, "%s: message %d: Text", what, w.ID)
		require.True(t, w.Time.Equal(g.Time), "%s: message %d: Time: stored %v, read back %v", what, w.ID, w.Time, g.Time)
		require.Equal(t, time.UTC, g.Time.Location(), "%s: message %d: Time must be in UTC", what, w.ID)
	}
}

// Save assigns every message a new, larger ID and, when the message has no
// time, the time it was saved, in UTC and to the millisecond: that is what
// goes to clients as "time", and JavaScript's Date has milliseconds.
func TestStoreSaveAssignsIDsAndTime(t *testing.T) {
	exercise.Start(t, "4.6")
	s := ttMemoryStore(t)
	ctx := context.Background()

	start := time.Now()
	var prev int64
	texts := []string{"hello", "ça va? 👋", `Robert'); DROP TABLE messages;--`, "<b>not html</b>"}
	var saved []Message
	for _, text := range texts {
		m, err := s.Save(ctx, Message{Author: "ana", Text: text})
		require.NoError(t, err, "Save(%q)", text)
		require.Greater(t, m.ID, prev, "Save must assign increasing IDs: got %d after %d", m.ID, prev)
		prev = m.ID
		require.Equal(t, "ana", m.Author, "Save returns the message as stored")
		require.Equal(t, text, m.Text, "Save stores the text exactly as given (a bound parameter, not SQL)")
		require.Equal(t, time.UTC, m.Time.Location(), "a zero Time becomes the time of the save, in UTC")
		require.Zero(t, m.Time.Nanosecond()%int(time.Millisecond), "Time has millisecond precision, got %v", m.Time)
		require.False(t, m.Time.Before(start.Truncate(time.Millisecond)), "Time %v is before the save began (%v)", m.Time, start)
		require.False(t, m.Time.After(time.Now()), "Time %v is in the future", m.Time)
		saved = append(saved, m)
	}

	// A time the caller gives is kept, in UTC, to the millisecond.
	paris := time.FixedZone("CET", 3600)
	given := time.Date(2024, 3, 1, 12, 30, 15, 123456789, paris)
	m, err := s.Save(ctx, Message{Author: "bob", Text: "dated", Time: given})
	require.NoError(t, err)
	want := time.Date(2024, 3, 1, 11, 30, 15, 123000000, time.UTC)
	require.True(t, want.Equal(m.Time), "Save with Time %v: expected %v (UTC, milliseconds), got %v", given, want, m.Time)
	require.Equal(t, time.UTC, m.Time.Location(), "Save with a Time in another zone keeps it in UTC")
	saved = append(saved, m)

	// What Before reads back is what Save returned.
	got, err := s.Before(ctx, 0, 100)
	require.NoError(t, err)
	ttRequireSameMessages(t, saved, got, "Before(0, 100) after saving 5 messages")
}

// Before pages backwards through history: the newest `limit` messages below
// the cursor, returned oldest first so a page can be shown top to bottom.
func TestStoreBeforePages(t *testing.T) {
	exercise.Start(t, "4.6")
	s := ttMemoryStore(t)
	ctx := context.Background()

	empty, err := s.Before(ctx, 0, 10)
	require.NoError(t, err, "Before on an empty store")
	require.Empty(t, empty, "Before on an empty store returns no messages")

	all := ttSaveN(t, s, 7)
	id := func(i int) int64 { return all[i-1].ID } // the ID of message i, 1-based

	cases := []struct {
		before int64
		limit  int
		want   []Message
		why    string
	}{
		{0, 3, all[4:7], "before <= 0 is the newest page: the last 3, oldest first"},
		{-1, 3, all[4:7], "a negative before is the newest page too"},
		{id(5), 3, all[1:4], "the page before message 5"},
		{id(2), 3, all[0:1], "the first page can be short"},
		{id(1), 3, nil, "nothing is older than the first message"},
		{0, 100, all, "a limit larger than the history returns all of it"},
		{0, 1, all[6:7], "limit 1: just the newest"},
		{id(7) + 100, 2, all[5:7], "a cursor past the newest message"},
	}
	for _, c := range cases {
		got, err := s.Before(ctx, c.before, c.limit)
		require.NoError(t, err, "Before(%d, %d)", c.before, c.limit)
		ttRequireSameMessages(t, c.want, got, fmt.Sprintf("Before(%d, %d): %s", c.before, c.limit, c.why))
	}
}

// A database in a file outlives the process that wrote it: close it, open
// it again, and the messages are there, and new IDs go on from the last one.
func TestStoreFileSurvivesReopen(t *testing.T) {
	exercise.Start(t, "4.6")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chat.db")

	s, err := OpenSQLite(path)
	require.NoError(t, err, "OpenSQLite(%q) must create the database", path)
	saved := ttSaveN(t, s, 3)
	require.NoError(t, s.Close(), "Close")

	s, err = OpenSQLite(path)
	require.NoError(t, err, "OpenSQLite(%q) again: the schema exists already, which is fine", path)
	t.Cleanup(func() { _ = s.Close() })
	got, err := s.Before(ctx, 0, 10)
	require.NoError(t, err)
	ttRequireSameMessages(t, saved, got, "after closing and reopening the file")

	m, err := s.Save(ctx, Message{Author: "bob", Text: "after the restart"})
	require.NoError(t, err)
	require.Greater(t, m.ID, saved[2].ID, "IDs go on increasing after a reopen")
}

// Many goroutines save at once, as many sockets do: every save succeeds,
// every ID is different, and each goroutine's messages keep their order.
// Run it with -race.
func TestStoreConcurrentSaves(t *testing.T) {
	exercise.Start(t, "4.6")
	ttNoLeaks(t)
	for _, where := range []string{"memory", "file"} {
		t.Run(where, func(t *testing.T) {
			path := ":memory:"
			if where == "file" {
				path = filepath.Join(t.TempDir(), "chat.db")
			}
			s, err := OpenSQLite(path)
			require.NoError(t, err)
			defer func() { require.NoError(t, s.Close()) }()

			const writers, each = 6, 15
			var wg sync.WaitGroup
			errs := make(chan error, writers*each)
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						if _, err := s.Save(context.Background(), Message{Author: fmt.Sprintf("w%d", w), Text: fmt.Sprint(i)}); err != nil {
							errs <- fmt.Errorf("writer %d, message %d: %w", w, i, err)
						}
					}
				})
				// A reader, too: readers and writers share the pool.
				wg.Go(func() {
					if _, err := s.Before(context.Background(), 0, 10); err != nil {
						errs <- fmt.Errorf("reader %d: %w", w, err)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("concurrent Save or Before failed: %v", err)
			}

			got, err := s.Before(context.Background(), 0, 1000)
			require.NoError(t, err)
			require.Len(t, got, writers*each, "every concurrent Save must be stored")
			next := map[string]int{}
			for i, m := range got {
				if i > 0 {
					require.Greater(t, m.ID, got[i-1].ID, "IDs are unique and Before returns them in order")
				}
				require.Equal(t, fmt.Sprint(next[m.Author]), m.Text, "the messages of %s are stored in the order it saved them", m.Author)
				next[m.Author]++
			}
		})
	}
}

// A closed store says so: Save and Before return ErrStoreClosed (wrapped or
// not) rather than panicking or pretending to work.
func TestStoreClosed(t *testing.T) {
	exercise.Start(t, "4.6")
	s, err := OpenSQLite(":memory:")
	require.NoError(t, err)
	ttSaveN(t, s, 1)
	require.NoError(t, s.Close(), "the first Close")

	_, err = s.Save(context.Background(), Message{Author: "ana", Text: "too late"})
	require.Error(t, err, "Save after Close must fail")
	require.True(t, errors.Is(err, ErrStoreClosed), "Save after Close: expected ErrStoreClosed, got %v", err)
	_, err = s.Before(context.Background(), 0, 10)
	require.True(t, errors.Is(err, ErrStoreClosed), "Before after Close: expected ErrStoreClosed, got %v", err)
}
