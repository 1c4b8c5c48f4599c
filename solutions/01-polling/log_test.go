package polling

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 1.1: An append-only message log (lessons/01-polling.md).

func TestAppendNumbersMessagesFromOneWithoutGaps(t *testing.T) {
	exercise.Start(t, "1.1")
	// "The first message gets ID 1, and every later one gets one more than
	// the last" (Exercise 1.1). Append also fills in the time.
	log := NewLog()
	before := time.Now()
	for i := 1; i <= 5; i++ {
		text := fmt.Sprintf("message %d", i)
		m, err := log.Append("ada", text)
		require.NoError(t, err, "Append(%q, %q) refused a good message", "ada", text)
		assert.Equal(t, int64(i), m.ID, "message number %d should get ID %d", i, i)
		assert.Equal(t, "ada", m.Author, "Append returns the message with the author it was given")
		assert.Equal(t, text, m.Text, "Append returns the message with the text it was given")
		assert.WithinRange(t, m.Time, before.Add(-time.Second), time.Now().Add(time.Second),
			"Time is when the log stored the message")
	}
}

func TestSinceReturnsTheMessagesAfterTheCursorOldestFirst(t *testing.T) {
	exercise.Start(t, "1.1")
	// The cursor is the ID of the last message a client has seen; Since
	// answers "everything after it", oldest first (Exercise 1.1, "Why a cursor").
	log := NewLog()
	all := testAppend(t, log, 10)
	for _, c := range []struct {
		cursor int64
		limit  int
		want   []Message
	}{
		{0, 0, all},
		{3, 0, all[3:]},
		{3, 2, all[3:5]},
		{9, 0, all[9:]},
		{0, 10, all},
	} {
		got, err := log.Since(c.cursor, c.limit)
		require.NoError(t, err, "Since(%d, %d)", c.cursor, c.limit)
		if c.cursor > 0 && len(got) > 0 && got[0].ID == c.cursor {
			assert.Failf(t, "Since returned the message at the cursor", "Since(%d, %d) began with message %d: the cursor is the last ID the client has already seen, so Since starts after it", c.cursor, c.limit, c.cursor)
			continue
		}
		testSameMessages(t, c.want, got, "Since(%d, %d) on a log of 10 messages", c.cursor, c.limit)
	}
}

func TestSinceLimitMeansAtMostMaxBatch(t *testing.T) {
	exercise.Start(t, "1.1")
	// "A limit of zero or less, or over MaxBatch, means MaxBatch" (Exercise 1.1).
	log := NewLog()
	testAppend(t, log, MaxBatch+20)
	for _, limit := range []int{0, -1, math.MinInt, MaxBatch, MaxBatch + 1, math.MaxInt} {
		got, err := log.Since(0, limit)
		require.NoError(t, err, "Since(0, %d)", limit)
		assert.Equal(t, testSeq(1, MaxBatch), testIDs(got), "Since(0, %d) on a log of %d messages", limit, MaxBatch+20)
	}
	for _, limit := range []int{1, 7} {
		got, err := log.Since(0, limit)
		require.NoError(t, err, "Since(0, %d)", limit)
		assert.Equal(t, testSeq(1, int64(limit)), testIDs(got), "Since(0, %d) returns at most %d messages", limit, limit)
	}
	got, err := log.Since(MaxBatch, 0)
	require.NoError(t, err, "Since(%d, 0)", MaxBatch)
	assert.Equal(t, testSeq(MaxBatch+1, MaxBatch+20), testIDs(got), "Since(%d, 0): the rest of the log", MaxBatch)
}

func TestSinceAtOrPastTheEndIsEmptyButNotNil(t *testing.T) {
	exercise.Start(t, "1.1")
	// "A cursor at or past the newest message gives an empty slice that is
	// not nil" (Exercise 1.1): on the wire, nil would be null, not [].
	log := NewLog()
	got, err := log.Since(0, 0)
	require.NoError(t, err, "Since(0, 0) on an empty log")
	require.NotNil(t, got, "Since(0, 0) on an empty log must return an empty slice, not nil")
	require.Empty(t, got, "Since(0, 0) on an empty log")

	testAppend(t, log, 3)
	// math.MaxInt64 is the cursor that overflows "cursor + limit".
	for _, cursor := range []int64{3, 4, 1 << 40, math.MaxInt64} {
		got, err := log.Since(cursor, 0)
		require.NoError(t, err, "Since(%d, 0) on a log of 3 messages", cursor)
		require.NotNil(t, got, "Since(%d, 0) on a log of 3 messages must return an empty slice, not nil", cursor)
		require.Empty(t, got, "Since(%d, 0) on a log of 3 messages", cursor)
	}
}

func TestSinceRefusesANegativeCursor(t *testing.T) {
	exercise.Start(t, "1.1")
	// "A negative cursor is ErrBadCursor" (Exercise 1.1).
	log := NewLog()
	testAppend(t, log, 2)
	for _, cursor := range []int64{-1, math.MinInt64} {
		_, err := log.Since(cursor, 0)
		require.ErrorIs(t, err, ErrBadCursor, "Since(%d, 0) must return ErrBadCursor (or an error wrapping it)", cursor)
	}
}

func TestSinceResultBelongsToTheCaller(t *testing.T) {
	exercise.Start(t, "1.1")
	// "The slice Since returns belongs to the caller: later appends must not
	// change it" (Exercise 1.1). Nor may the caller's writes reach the log:
	// return a copy, not a window onto the log's own array.
	log := NewLog()
	first := testAppend(t, log, 2)
	got, err := log.Since(0, 0)
	require.NoError(t, err, "Since(0, 0)")
	require.Len(t, got, 2, "Since(0, 0) on a log of 2 messages")
	kept := testView(got)

	more := testAppend(t, log, 5)
	assert.Equal(t, kept, testView(got), "a slice Since returned changed when more messages were appended")

	fresh, err := log.Since(0, 3)
	require.NoError(t, err, "Since(0, 3)")
	require.Len(t, fresh, 3, "Since(0, 3) on a log of 7 messages")
	fresh[0].Text = "changed by the caller"
	extended := append(fresh[:1], Message{ID: 99, Text: "appended by the caller"})
	require.Len(t, extended, 2)
	testRequireLog(t, log, append(first, more...),
		"the caller changed the slice Since had returned, and the change reached the log: Since must return a copy")
}

func TestAppendRefusesBadMessagesAndChangesNothing(t *testing.T) {
	exercise.Start(t, "1.1")
	// "A refused message changes nothing: in particular, it does not use up
	// an ID" (Exercise 1.1). Lengths are in bytes, not characters.
	log := NewLog()
	want := testAppend(t, log, 1)
	for _, c := range []struct {
		name         string
		author, text string
		err          error
	}{
		{"empty text", "ada", "", ErrEmptyText},
		{"empty text and no author", "", "", ErrEmptyText},
		{"author one byte over MaxAuthorBytes", strings.Repeat("a", MaxAuthorBytes+1), "hi", ErrTooLong},
		{"text one byte over MaxTextBytes", "ada", strings.Repeat("x", MaxTextBytes+1), ErrTooLong},
		{"text over MaxTextBytes in bytes but not in characters", "ada", strings.Repeat("é", MaxTextBytes/2+1), ErrTooLong},
		{"text not valid UTF-8", "ada", "caf\xe9", ErrInvalidUTF8},
		{"author not valid UTF-8", "\xff\xfe", "hi", ErrInvalidUTF8},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := log.Append(c.author, c.text)
			require.ErrorIs(t, err, c.err, "Append(author of %d bytes, text of %d bytes): want %v", len(c.author), len(c.text), c.err)
			testRequireLog(t, log, want, "Append refused a message ("+c.name+") but the log changed anyway")
		})
	}

	// The limits themselves are allowed, and the refusals used up no ID.
	m, err := log.Append(strings.Repeat("a", MaxAuthorBytes), strings.Repeat("é", MaxTextBytes/2))
	require.NoError(t, err, "an author of exactly MaxAuthorBytes and a text of exactly MaxTextBytes are allowed")
	assert.Equal(t, int64(2), m.ID, "the next good message after the refused ones should get ID 2: a refused message must not use up an ID")
}

func TestConcurrentAppendsGetDistinctGapFreeIDs(t *testing.T) {
	exercise.Start(t, "1.1")
	// "No gaps, no repeats, even when a hundred goroutines call Append at
	// once", and the log holds the messages in ID order (Exercise 1.1).
	const writers, each = 8, 250
	log := NewLog()
	type record struct {
		ids []int64
		err error
	}
	records := make([]record, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range each {
				m, err := log.Append(fmt.Sprintf("writer %d", w), strconv.Itoa(i))
				if err != nil {
					records[w].err = err
					return
				}
				records[w].ids = append(records[w].ids, m.ID)
			}
		})
	}
	// A reader polls while the writers append, as the server's handlers
	// do: what it sees must come in order and without gaps, and it must
	// not read the log without its lock (the race detector, under which
	// grading runs, sees that).
	stop := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		var cursor int64
		for {
			batch, err := log.Since(cursor, 0)
			if err != nil {
				readerErr <- err
				return
			}
			for _, m := range batch {
				if m.ID != cursor+1 {
					readerErr <- fmt.Errorf("Since(%d, 0), called while others append, returned message %d next: a gap or a repeat", cursor, m.ID)
					return
				}
				cursor = m.ID
			}
			select {
			case <-stop:
				readerErr <- nil
				return
			default:
			}
		}
	}()
	close(start)
	wg.Wait()
	close(stop)
	require.NoError(t, <-readerErr, "a reader calling Since while %d goroutines append", writers)

	// What each writer got back, and what the log must therefore hold.
	wantAt := map[int64]string{}
	var allIDs []int64
	for w, r := range records {
		require.NoError(t, r.err, "writer %d: Append refused a good message", w)
		require.IsIncreasing(t, r.ids, "writer %d appended one message after another, so its IDs must increase", w)
		for i, id := range r.ids {
			wantAt[id] = fmt.Sprintf("writer %d: %d", w, i)
			allIDs = append(allIDs, id)
		}
	}
	slices.Sort(allIDs)
	require.Equal(t, testSeq(1, writers*each), allIDs, "%d appends from %d goroutines must get the IDs 1 to %d, each exactly once", writers*each, writers, writers*each)

	// Read it all back, a batch at a time.
	var cursor int64
	for range writers*each/MaxBatch + 1 {
		batch, err := log.Since(cursor, 0)
		require.NoError(t, err, "Since(%d, 0)", cursor)
		if len(batch) == 0 {
			break
		}
		for _, m := range batch {
			require.Equal(t, cursor+1, m.ID, "Since(%d, 0) must return the messages in ID order, without gaps", cursor)
			require.Equal(t, wantAt[m.ID], m.Author+": "+m.Text, "message %d in the log is not the one Append returned with that ID", m.ID)
			cursor = m.ID
		}
	}
	require.Equal(t, int64(writers*each), cursor, "reading the log with Since ended at message %d of %d", cursor, writers*each)
}

// Exercise 1.2: Waiting for the next message (lessons/01-polling.md).

// testWaitResult is what a Wait on another goroutine returned.
type testWaitResult struct {
	Msgs []Message
	Err  error
}

// testGoWait runs log.Wait on a goroutine of its own.
func testGoWait(ctx context.Context, log *Log, cursor int64) <-chan testWaitResult {
	ch := make(chan testWaitResult, 1)
	go func() {
		msgs, err := log.Wait(ctx, cursor, 0)
		ch <- testWaitResult{msgs, err}
	}()
	return ch
}

func TestWaitReturnsAtOnceWhenThereIsNews(t *testing.T) {
	exercise.Start(t, "1.2")
	// "Wait returns at once when there is already something after the
	// cursor, and returns the same thing Since would" (Exercise 1.2).
	log := NewLog()
	all := testAppend(t, log, 3)
	ctx, cancel := context.WithTimeout(context.Background(), testPromptly)
	defer cancel()

	got, err := log.Wait(ctx, 1, 0)
	require.NoError(t, err, "Wait(ctx, 1, 0) on a log of 3 messages must return messages 2 and 3 at once, without waiting for a new one")
	testSameMessages(t, all[1:], got, "Wait(ctx, 1, 0) on a log of 3 messages")

	got, err = log.Wait(ctx, 0, 2)
	require.NoError(t, err, "Wait(ctx, 0, 2)")
	testSameMessages(t, all[:2], got, "Wait(ctx, 0, 2) respects the limit, as Since does")
}

func TestWaitReturnsAsSoonAsAMessageIsAppended(t *testing.T) {
	exercise.Start(t, "1.2")
	// "A waiting Wait returns as soon as a message is appended, with that
	// message" (Exercise 1.2).
	log := NewLog()
	testAppend(t, log, 2)
	ctx, cancel := context.WithTimeout(context.Background(), testPatience)
	defer cancel()

	done := testGoWait(ctx, log, 2)
	testRequireNoAnswerYet(t, done, "Wait(ctx, 2, 0) on a log of 2 messages")
	m, err := log.Append("bob", "lunch?")
	require.NoError(t, err, "Append")
	r := testReceive(t, done, testWakeUpWithin, "Wait(ctx, 2, 0) did not return after the Append that should wake it")
	require.NoError(t, r.Err, "Wait(ctx, 2, 0)")
	testSameMessages(t, []Message{m}, r.Msgs, "Wait(ctx, 2, 0) returns the new message")
}

func TestOneAppendWakesEveryWaiter(t *testing.T) {
	exercise.Start(t, "1.2")
	// "One Append wakes all waiters at once" (Exercise 1.2, "One channel,
	// closed and replaced").
	const waiters = 100
	log := NewLog()
	testAppend(t, log, 2)
	ctx, cancel := context.WithTimeout(context.Background(), testPatience)
	defer cancel()

	results := make(chan testWaitResult, waiters)
	for range waiters {
		go func() {
			msgs, err := log.Wait(ctx, 2, 0)
			results <- testWaitResult{msgs, err}
		}()
	}
	testRequireNoAnswerYet(t, results, "Wait(ctx, 2, 0) on a log of 2 messages")
	m, err := log.Append("bob", "lunch?")
	require.NoError(t, err, "Append")
	// The first must come within testWakeUpWithin; all of them well before
	// their context ends (testPatience), since no other Append will come.
	first, all := time.After(testWakeUpWithin), time.After(testPromptly)
	for i := range waiters {
		select {
		case r := <-results:
			require.NoError(t, r.Err, "Wait(ctx, 2, 0)")
			if !testSameMessages(t, []Message{m}, r.Msgs, "every waiter gets the new message") {
				t.FailNow()
			}
		case <-first:
			require.FailNowf(t, "no waiter woke up",
				"none of %d waiting goroutines returned within %v of an Append", waiters, testWakeUpWithin)
		case <-all:
			require.FailNowf(t, "not every waiter woke up",
				"only %d of %d waiting goroutines returned within %v of one Append: Append must wake all of them",
				i, waiters, testPromptly)
		}
		first = nil
	}
}

func TestWaitKeepsWaitingUntilSomethingIsAfterItsCursor(t *testing.T) {
	exercise.Start(t, "1.2")
	// "Its cursor may be ahead of the new message ..., and then it must wait
	// another round. So Wait is a loop" (Exercise 1.2).
	log := NewLog()
	testAppend(t, log, 3)
	ctx, cancel := context.WithTimeout(context.Background(), testPatience)
	defer cancel()

	done := testGoWait(ctx, log, 5)
	testRequireNoAnswerYet(t, done, "Wait(ctx, 5, 0) on a log of 3 messages")
	testAppend(t, log, 1) // message 4: not after 5
	testRequireNoAnswerYet(t, done, "Wait(ctx, 5, 0) after message 4 was appended")
	testAppend(t, log, 1) // message 5: not after 5 either
	testRequireNoAnswerYet(t, done, "Wait(ctx, 5, 0) after message 5 was appended")
	m, err := log.Append("bob", "six")
	require.NoError(t, err, "Append")
	r := testReceive(t, done, testWakeUpWithin, "Wait(ctx, 5, 0) did not return after message 6 was appended")
	require.NoError(t, r.Err, "Wait(ctx, 5, 0)")
	testSameMessages(t, []Message{m}, r.Msgs, "Wait(ctx, 5, 0) returns message 6")
}

func TestWaitNeverMissesAnAppendThatRacesWithIt(t *testing.T) {
	exercise.Start(t, "1.2")
	// A lost wake-up: Wait looks, finds nothing, and only then picks up the
	// channel, after an Append closed the one it should have waited on. Look
	// and pick up the channel under the same lock (Exercise 1.2). Each round
	// appends a little later after Wait starts, to land in that gap.
	const rounds = 3000
	log := NewLog()
	ctx, cancel := context.WithTimeout(context.Background(), testPatience)
	defer cancel()
	var spin atomic.Int64
	for i := range int64(rounds) {
		starting := make(chan struct{})
		done := make(chan testWaitResult, 1)
		go func() {
			close(starting)
			msgs, err := log.Wait(ctx, i, 0)
			done <- testWaitResult{msgs, err}
		}()
		<-starting
		for range i % 100 {
			spin.Add(1)
		}
		_, err := log.Append("racer", "go") // message i+1
		require.NoError(t, err, "Append")
		r := testReceive(t, done, testPromptly,
			"round %d: Wait(ctx, %d, 0) missed the Append of message %d that raced with it (a lost wake-up)", i, i, i+1)
		require.NoError(t, r.Err, "round %d: Wait(ctx, %d, 0)", i, i)
		require.Equal(t, []int64{i + 1}, testIDs(r.Msgs), "round %d: Wait(ctx, %d, 0)", i, i)
	}
}

func TestWaitReturnsTheContextErrorWhenTheContextEnds(t *testing.T) {
	exercise.Start(t, "1.2")
	// "When ctx is done first, Wait returns ctx.Err()" (Exercise 1.2), and
	// leaves no goroutine behind.
	testNoLeaks(t)
	log := NewLog()
	testAppend(t, log, 1)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := testGoWait(ctx, log, 1)
	testRequireNoAnswerYet(t, done, "Wait(ctx, 1, 0) on a log of 1 message")
	cancel()
	r := testReceive(t, done, testWakeUpWithin, "Wait did not return after its context was cancelled")
	require.ErrorIs(t, r.Err, context.Canceled, "Wait must return ctx.Err() when ctx is cancelled")
	assert.Empty(t, r.Msgs, "Wait returned messages along with an error")

	ctx, cancel = context.WithTimeout(context.Background(), testHeldFor)
	defer cancel()
	done = testGoWait(ctx, log, 1)
	r = testReceive(t, done, testHeldFor+testWakeUpWithin, "Wait did not return after its context's deadline passed")
	require.ErrorIs(t, r.Err, context.DeadlineExceeded, "Wait must return ctx.Err() when ctx's deadline passes")
}

func TestWaitRefusesANegativeCursor(t *testing.T) {
	exercise.Start(t, "1.2")
	// "A negative cursor is ErrBadCursor, as in Since" (Exercise 1.2): an
	// error at once, not a wait that can never end.
	log := NewLog()
	ctx, cancel := context.WithTimeout(context.Background(), testPromptly)
	defer cancel()
	_, err := log.Wait(ctx, -1, 0)
	require.ErrorIs(t, err, ErrBadCursor, "Wait(ctx, -1, 0) must return ErrBadCursor at once")
}

func TestAbandonedWaitsLeaveNothingBehind(t *testing.T) {
	exercise.Start(t, "1.2")
	// "When ctx is done first, Wait returns ctx.Err() and leaves nothing
	// behind: no goroutine, no bookkeeping that grows with each cancelled
	// call" (Exercise 1.2). 20,000 waits give up here; afterwards there must be
	// no goroutine left and no memory kept for them, and a new waiter must
	// still wake at once.
	testNoLeaks(t)
	before := goleak.IgnoreCurrent()
	log := NewLog()
	testAppend(t, log, 1)

	// abandon starts n waits, cancels them all, and waits for them to return;
	// it returns the first error that was not context.Canceled.
	abandon := func(n int) error {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errs := make(chan error, n)
		var started, finished sync.WaitGroup
		for range n {
			started.Add(1)
			finished.Go(func() {
				started.Done()
				_, err := log.Wait(ctx, 1, 0)
				errs <- err
			})
		}
		started.Wait()
		cancel()
		finished.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, context.Canceled) {
				return err
			}
		}
		return nil
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}

	require.NoError(t, abandon(1000), "a Wait whose context is cancelled must return context.Canceled")
	start := heap()
	for round := range 20 {
		require.NoError(t, abandon(1000), "round %d: a Wait whose context is cancelled must return context.Canceled", round)
	}
	grown := int64(heap()) - int64(start)
	assert.Less(t, grown, int64(512<<10),
		"the heap grew by %d bytes over 20,000 abandoned Waits: something is kept for every Wait that gives up", grown)
	require.NoError(t, goleak.Find(before), "abandoned Waits left goroutines behind")

	ctx, cancel := context.WithTimeout(context.Background(), testPatience)
	defer cancel()
	done := testGoWait(ctx, log, 1)
	testRequireNoAnswerYet(t, done, "Wait(ctx, 1, 0) on a log of 1 message")
	m, err := log.Append("bob", "still there?")
	require.NoError(t, err, "Append")
	r := testReceive(t, done, testWakeUpWithin, "after 20,000 abandoned Waits, a new Wait did not return after an Append")
	require.NoError(t, r.Err, "Wait(ctx, 1, 0)")
	testSameMessages(t, []Message{m}, r.Msgs, "Wait(ctx, 1, 0) returns the new message")
}
