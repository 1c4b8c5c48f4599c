package polling

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// The Poller tests run against testChat (helpers_test.go), a small server
// of their own, so that exercises 1.5 and 1.6 test your client alone.

// A testPollFunc runs one of the Poller's two loops.
type testPollFunc func(p *Poller, ctx context.Context, deliver func(Message)) error

func testShortPolling(interval time.Duration) testPollFunc {
	return func(p *Poller, ctx context.Context, deliver func(Message)) error {
		return p.ShortPoll(ctx, interval, deliver)
	}
}

func testLongPolling(p *Poller, ctx context.Context, deliver func(Message)) error {
	return p.LongPoll(ctx, deliver)
}

// testDeliversEverythingOnce has 4 goroutines write 50 messages each while 3
// Pollers follow the log through a server that spoils every other answer
// (testFlaky). Every Poller must deliver every message exactly once, in ID
// order. With pauseForTimeout, the writers stop halfway until a long poll has
// run into the server's timeout.
func testDeliversEverythingOnce(t *testing.T, poll testPollFunc, longPollTimeout time.Duration, pauseForTimeout bool) {
	const writers, perWriter, pollers = 4, 50, 3
	const total = writers * perWriter
	chat := newTestChat(longPollTimeout)
	flaky := &testFlaky{next: chat}
	srv := testServe(t, flaky)
	ctx, cancel := context.WithTimeout(context.Background(), testPatience)
	var running sync.WaitGroup
	defer func() {
		cancel()
		running.Wait()
	}()

	type outcome struct {
		ids    []int64
		cursor int64
		err    error
	}
	outcomes := make(chan outcome, pollers)
	for range pollers {
		p := testPollerFor(t, srv.URL)
		running.Go(func() {
			ctx, stop := context.WithCancel(ctx)
			defer stop()
			var ids []int64
			err := poll(p, ctx, func(m Message) {
				ids = append(ids, m.ID)
				if m.ID >= total || len(ids) >= total {
					stop() // everything is here
				}
			})
			outcomes <- outcome{ids, p.Cursor, err}
		})
	}
	allReturned := make(chan struct{})
	go func() {
		running.Wait()
		close(allReturned)
	}()

	// write has every writer append its messages [from, to), a millisecond
	// apart, so that writing and polling overlap.
	write := func(from, to int) {
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := from; i < to; i++ {
					chat.add(fmt.Sprintf("writer %d", w), fmt.Sprintf("message %d", i))
					select {
					case <-time.After(time.Millisecond):
					case <-ctx.Done():
						return
					}
				}
			})
		}
		wg.Wait()
	}
	write(0, perWriter/2)
	if pauseForTimeout {
		for len(chat.timedOut) > 0 {
			<-chat.timedOut
		}
		select {
		case <-chat.timedOut: // a long poll ended at the server's timeout
		case <-allReturned: // the pollers gave up: the checks below say how
		case <-time.After(testPatience):
			require.FailNow(t, "no long poll ran into the server's timeout while no messages were written")
		}
	}
	write(perWriter/2, perWriter)

	for range pollers {
		o := testReceive(t, outcomes, testPatience, "a poller did not deliver all %d messages in time", total)
		require.ErrorIs(t, o.err, context.Canceled,
			"the poller returned %v after delivering %d messages; it should have kept polling, through every failure, until its context was cancelled after message %d",
			o.err, len(o.ids), total)
		assert.Empty(t, testDeliveryProblem(o.ids, total), "every message must be delivered exactly once, in ID order, whatever the network does")
		assert.Equal(t, int64(total), o.cursor, "Cursor is the ID of the last message delivered")
	}
	flaky.requireSpoiledAll(t)
}

// testCollect runs poll with p until deliver has seen the message with ID
// last, and returns the IDs delivered.
func testCollect(t *testing.T, poll testPollFunc, p *Poller, last int64) []int64 {
	t.Helper()
	var ids []int64
	run := testStartPolling(t, testPatience, func(ctx context.Context) error {
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		return poll(p, ctx, func(m Message) {
			ids = append(ids, m.ID)
			if m.ID >= last {
				stop()
			}
		})
	})
	err := testReceive(t, run.done, testPromptly, "the poller did not deliver message %d and stop", last)
	require.ErrorIs(t, err, context.Canceled, "the poller must return ctx.Err() when its context is cancelled")
	return ids
}

// testResumesFromCursor stops a Poller partway, runs it again, and starts a
// new Poller from a stored Cursor.
func testResumesFromCursor(t *testing.T, poll testPollFunc) {
	chat := newTestChat(time.Second)
	chat.addN(10)
	srv := testServe(t, chat)

	p := testPollerFor(t, srv.URL)
	first := testCollect(t, poll, p, 4)
	require.NotEmpty(t, first, "the poller delivered nothing")
	k := first[len(first)-1]
	assert.Empty(t, testDeliveryProblem(first, k), "the first run delivers messages 1 to %d once each, in order", k)
	assert.Equal(t, k, p.Cursor, "Cursor is the ID of the last message delivered")

	chat.addN(10)
	second := testCollect(t, poll, p, 20)
	assert.Equal(t, testSeq(k+1, 20), second,
		"run again, the Poller must go on after message %d (its Cursor), repeating and skipping nothing", k)
	assert.Equal(t, int64(20), p.Cursor, "Cursor is the ID of the last message delivered")

	q := testPollerFor(t, srv.URL)
	q.Cursor = 15
	assert.Equal(t, testSeq(16, 20), testCollect(t, poll, q, 20), "a Poller whose Cursor is 15 delivers what came after message 15")
}

// testGivesUpOn4xx checks that a 4xx answer ends the poll with an error that
// says what the server answered.
func testGivesUpOn4xx(t *testing.T, poll testPollFunc) {
	for _, c := range []struct {
		status int
		msg    string
	}{
		{http.StatusBadRequest, `since must be a non-negative integer, got "-1"`},
		{http.StatusNotFound, "no such route: /messages"},
	} {
		t.Run(strconv.Itoa(c.status), func(t *testing.T) {
			counter := testCount(testAnswerAlways(c.status, c.msg))
			p := testPollerFor(t, testServe(t, counter).URL)
			run := testStartPolling(t, testPatience, func(ctx context.Context) error {
				return poll(p, ctx, func(Message) {})
			})
			err := testReceive(t, run.done, testPromptly,
				"the poller kept going after a %d: a 4xx means the request itself is wrong, and asking again gets the same answer", c.status)
			require.Error(t, err, "after a %d the poller must return an error", c.status)
			assert.False(t, errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded),
				"after a %d the poller must return an error of its own, not the context's; got %v", c.status, err)
			assert.Contains(t, err.Error(), strconv.Itoa(c.status), "the error names the status the server answered")
			assert.Contains(t, err.Error(), c.msg, `the error carries the server's explanation, its {"error": "..."}`)
			assert.Equal(t, int64(1), counter.requests.Load(), "a 4xx is not retried")
		})
	}
}

// testBacksOff times the requests a poller makes to a server that always
// answers 503. Timers never fire early, so the pauses between requests are
// at least what the poller meant them to be; a busy machine only makes them
// longer.
func testBacksOff(t *testing.T, poll testPollFunc) {
	// span lets p make n requests and returns the time from the first to the
	// last.
	span := func(t *testing.T, p *Poller, n int) time.Duration {
		counter := testCount(testAnswerAlways(http.StatusServiceUnavailable, "down, for the test"))
		p.BaseURL = testServe(t, counter).URL
		p.Client = testClient(t)
		run := testStartPolling(t, testPatience, func(ctx context.Context) error {
			return poll(p, ctx, func(Message) {})
		})
		for i := 1; i <= n; i++ {
			testAwait(t, run, counter.arrived, testPatience,
				"the poller did not ask again after %d answers of 503: a 5xx is retried, after a pause of at most MaxRetryDelay", i-1)
		}
		require.ErrorIs(t, run.stop(t), context.Canceled, "cancelled while retrying, the poller returns ctx.Err()")
		return counter.span(n)
	}
	t.Run("RetryDelay doubling up to MaxRetryDelay", func(t *testing.T) {
		// 12 requests, so 11 pauses: 10, 20, 20, ... ms, 210ms in all.
		// Without the doubling it would be 110ms; without the cap, 20s.
		d := span(t, &Poller{RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 20 * time.Millisecond}, 12)
		assert.GreaterOrEqual(t, d, 200*time.Millisecond,
			"12 requests to a failing server took only %v: the pause after each failure should double, from RetryDelay (10ms) up to MaxRetryDelay (20ms)", d)
		assert.Less(t, d, testPatience,
			"12 requests to a failing server took %v: the pause should stop growing at MaxRetryDelay (20ms)", d)
	})
	t.Run("zero means 50ms and 2s", func(t *testing.T) {
		// 4 requests, so 3 pauses: 50, 100, 200 ms.
		d := span(t, &Poller{}, 4)
		assert.GreaterOrEqual(t, d, 340*time.Millisecond,
			"4 requests to a failing server took only %v: a zero RetryDelay means 50ms, doubling after each failure", d)
	})
}

// testBackoffResets makes a poller fail six times in a row, succeed once,
// then fail again, and times the pause after that last failure: the count
// of failures starts over after a success, so it is RetryDelay (10ms) and
// not the seventh doubling (640ms) a poller that never resets would wait.
func testBackoffResets(t *testing.T, poll testPollFunc) {
	const success = 7 // the only request that gets a 200
	var n atomic.Int64
	counter := testCount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == success {
			testWriteJSON(w, http.StatusOK, Batch{Messages: []Message{}, Cursor: 0})
			return
		}
		testWriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "down, for the test"})
	}))
	p := testPollerFor(t, testServe(t, counter).URL)
	p.RetryDelay, p.MaxRetryDelay = 10*time.Millisecond, 10*time.Second
	run := testStartPolling(t, testPatience, func(ctx context.Context) error {
		return poll(p, ctx, func(Message) {})
	})
	for i := 1; i <= success+2; i++ {
		testAwait(t, run, counter.arrived, testPatience, "the poller did not make request %d: a 5xx is retried", i)
	}
	require.ErrorIs(t, run.stop(t), context.Canceled, "cancelled while retrying, the poller returns ctx.Err()")
	// Timers never fire early, so a late pause can only come from a busy
	// machine; 320ms is half of what a poller that never resets waits.
	pause := counter.span(success+2) - counter.span(success+1)
	assert.Less(t, pause, 320*time.Millisecond,
		"after 6 failures, a success and one more failure, the poller paused %v: a success must reset the backoff to RetryDelay (10ms); without the reset it is 10ms doubled 6 times", pause)
}

// testIgnoresResentMessages serves a log of five messages through a server
// that resends: every answer starts two messages before the cursor the
// poller asked from. The poller must still deliver each message once, in
// order: what is at or below its cursor it already has.
func testIgnoresResentMessages(t *testing.T, poll testPollFunc) {
	chat := newTestChat(50 * time.Millisecond)
	chat.addN(5)
	counter := testCount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		since, _ := strconv.ParseInt(q.Get("since"), 10, 64)
		q.Set("since", strconv.FormatInt(max(since-2, 0), 10))
		r.URL.RawQuery = q.Encode()
		chat.ServeHTTP(w, r)
	}))
	p := testPollerFor(t, testServe(t, counter).URL)
	got := make(chan int64, 1000)
	run := testStartPolling(t, testPatience, func(ctx context.Context) error {
		return poll(p, ctx, func(m Message) {
			select {
			case got <- m.ID:
			default:
			}
		})
	})
	// Five polls after the first: each one resends messages 4 and 5.
	for i := 1; i <= 6; i++ {
		testAwait(t, run, counter.arrived, testPatience, "the poller did not make request %d", i)
	}
	require.ErrorIs(t, run.stop(t), context.Canceled, "a poller cancelled while polling returns ctx.Err()")
	close(got)
	var ids []int64
	for id := range got {
		ids = append(ids, id)
	}
	assert.Equal(t, testSeq(1, 5), ids,
		"a server that resends messages the poller already has: deliver only those after Cursor, each once, in order")
	assert.Equal(t, int64(5), p.Cursor, "Cursor is the ID of the last message delivered")
}

// testStopsWhileBackingOff cancels a poller that is pausing after a 503.
func testStopsWhileBackingOff(t *testing.T, poll testPollFunc) {
	counter := testCount(testAnswerAlways(http.StatusServiceUnavailable, "down, for the test"))
	p := testPollerFor(t, testServe(t, counter).URL)
	client, closed := testClientNotingCloses(t)
	p.Client = client
	p.RetryDelay, p.MaxRetryDelay = time.Hour, time.Hour
	run := testStartPolling(t, testPatience, func(ctx context.Context) error {
		return poll(p, ctx, func(Message) {})
	})
	testAwait(t, run, counter.answered, testPromptly, "the poller never asked the server")
	// Once the poller is done with the 503, it is pausing.
	testAwait(t, run, closed, testPromptly, "the poller never closed the body of the 503 answer (always close resp.Body)")
	require.ErrorIs(t, run.stop(t), context.Canceled, "cancelled during its pause after a failure, the poller must return ctx.Err()")
	assert.Equal(t, int64(1), counter.requests.Load(), "the poller should have been pausing (RetryDelay is an hour), not asking again")
}

// testStopsInARequest cancels a poller whose request the server is holding.
func testStopsInARequest(t *testing.T, poll testPollFunc, server http.Handler) {
	counter := testCount(server)
	p := testPollerFor(t, testServe(t, counter).URL)
	run := testStartPolling(t, testPatience, func(ctx context.Context) error {
		return poll(p, ctx, func(Message) {})
	})
	testAwait(t, run, counter.arrived, testPromptly, "the poller never asked the server")
	require.ErrorIs(t, run.stop(t), context.Canceled,
		"cancelled while the server held its request, the poller must return ctx.Err(): make the request with http.NewRequestWithContext")
}

// Exercise 1.5: A short-polling client (lessons/01-polling.md).

func TestPollerShortPollDeliversEveryMessageOnceInOrderDespiteFailures(t *testing.T) {
	exercise.Start(t, "1.5")
	// "deliver sees every message exactly once, in ID order, 'whatever
	// happens on the network'" (Exercise 1.5, "Exactly once, in order"): 503s,
	// dropped connections, bodies cut short, garbled JSON.
	testNoLeaks(t)
	testDeliversEverythingOnce(t, testShortPolling(2*time.Millisecond), time.Second, false)
}

func TestPollerShortPollWaitsTheIntervalBetweenPolls(t *testing.T) {
	exercise.Start(t, "1.5")
	// "Then waits interval and asks again" (Exercise 1.5): a short poller
	// keeps asking, but must not hammer the server.
	const interval, requests = 50 * time.Millisecond, 5
	chat := newTestChat(time.Second)
	chat.add("ada", "hello")
	counter := testCount(chat)
	p := testPollerFor(t, testServe(t, counter).URL)
	var got []int64
	run := testStartPolling(t, testPatience, func(ctx context.Context) error {
		return p.ShortPoll(ctx, interval, func(m Message) { got = append(got, m.ID) })
	})
	for i := 1; i <= requests; i++ {
		testAwait(t, run, counter.arrived, 5*time.Second, "ShortPoll did not ask again after %d polls: it should keep asking, every %v", i-1, interval)
	}
	require.ErrorIs(t, run.stop(t), context.Canceled, "ShortPoll returns ctx.Err() when its context is cancelled")
	assert.Equal(t, []int64{1}, got, "ShortPoll delivers the one message once")
	d := counter.span(requests)
	assert.GreaterOrEqual(t, d, (requests-1)*interval,
		"ShortPoll made %d requests in %v with an interval of %v: it must wait the interval between polls", requests, d, interval)
}

func TestPollerShortPollAsksAgainAtOnceAfterAFullBatch(t *testing.T) {
	exercise.Start(t, "1.5")
	// "When the batch was full (MaxBatch messages) there is probably more, so
	// it asks again at once" (Exercise 1.5). The interval here is an hour.
	const total = 3*MaxBatch + 5
	chat := newTestChat(time.Second)
	chat.addN(total)
	counter := testCount(chat)
	p := testPollerFor(t, testServe(t, counter).URL)
	var got []int64
	run := testStartPolling(t, testPatience, func(ctx context.Context) error {
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		return p.ShortPoll(ctx, time.Hour, func(m Message) {
			got = append(got, m.ID)
			if m.ID == total {
				stop()
			}
		})
	})
	err := testReceive(t, run.done, testPromptly,
		"ShortPoll did not deliver all %d messages: after a full batch it must ask again at once, not wait the interval (an hour here)", total)
	require.ErrorIs(t, err, context.Canceled, "ShortPoll returns ctx.Err() when its context is cancelled")
	assert.Equal(t, testSeq(1, total), got, "ShortPoll delivers all %d messages, in order", total)
	assert.Equal(t, int64(4), counter.requests.Load(), "%d messages are 3 full batches and one of 5: 4 requests", total)
}

func TestPollerShortPollBacksOffWhenTheServerFails(t *testing.T) {
	exercise.Start(t, "1.5")
	// "Retries a failed request after RetryDelay, doubling the pause after
	// each further failure up to MaxRetryDelay" (Exercise 1.5, "Backoff, and
	// which errors to retry").
	testBacksOff(t, testShortPolling(time.Millisecond))
}

func TestPollerShortPollResetsItsBackoffAfterASuccess(t *testing.T) {
	exercise.Start(t, "1.5")
	// "It doubles after each further failure, up to MaxRetryDelay, and
	// resets after a success" (Exercise 1.5, "Backoff").
	testNoLeaks(t)
	testBackoffResets(t, testShortPolling(time.Millisecond))
}

func TestPollerShortPollIgnoresMessagesItAlreadyHas(t *testing.T) {
	exercise.Start(t, "1.5")
	// "Exactly once, in order", even against a server that resends.
	testNoLeaks(t)
	testIgnoresResentMessages(t, testShortPolling(time.Millisecond))
}

func TestPollerShortPollGivesUpOnA4xx(t *testing.T) {
	exercise.Start(t, "1.5")
	// "Gives up on a 4xx and returns an error that says what the server
	// answered" (Exercise 1.5).
	testGivesUpOn4xx(t, testShortPolling(time.Millisecond))
}

func TestPollerShortPollReturnsPromptlyWhenTheContextEnds(t *testing.T) {
	exercise.Start(t, "1.5")
	// "Returns ctx.Err() when ctx is done, promptly, even in the middle of a
	// request or a pause" (Exercise 1.5).
	testNoLeaks(t)
	t.Run("while waiting the interval", func(t *testing.T) {
		chat := newTestChat(time.Second)
		chat.addN(3)
		p := testPollerFor(t, testServe(t, chat).URL)
		delivered := make(chan int64, 10)
		run := testStartPolling(t, testPatience, func(ctx context.Context) error {
			return p.ShortPoll(ctx, time.Hour, func(m Message) { delivered <- m.ID })
		})
		for want := int64(1); want <= 3; want++ {
			got := testAwait(t, run, delivered, testPromptly, "ShortPoll did not deliver message %d", want)
			require.Equal(t, want, got, "ShortPoll delivers the messages in order")
		}
		require.ErrorIs(t, run.stop(t), context.Canceled, "cancelled while waiting its interval (an hour), ShortPoll must return ctx.Err()")
	})
	t.Run("while backing off", func(t *testing.T) {
		testStopsWhileBackingOff(t, testShortPolling(time.Millisecond))
	})
	t.Run("in the middle of a request", func(t *testing.T) {
		testStopsInARequest(t, testShortPolling(time.Millisecond), testHoldUntilGone())
	})
}

func TestPollerShortPollResumesFromItsCursor(t *testing.T) {
	exercise.Start(t, "1.5")
	// "Cursor is the ID of the last message delivered ... so a Poller can be
	// stopped and run again without losing or repeating anything" (poller.go).
	testResumesFromCursor(t, testShortPolling(time.Millisecond))
}

// Exercise 1.6: A long-polling client (lessons/01-polling.md).

func TestPollerLongPollDeliversEveryMessageOnceInOrderDespiteFailures(t *testing.T) {
	exercise.Start(t, "1.6")
	// The promise of 1.5 holds for the long poller too, across failures of
	// every kind and across the server's timeouts (20ms here).
	testNoLeaks(t)
	testDeliversEverythingOnce(t, testLongPolling, 20*time.Millisecond, true)
}

func TestPollerLongPollAsksAgainAfterAnEmptyBatch(t *testing.T) {
	exercise.Start(t, "1.6")
	// "Treats an empty batch (the server's timeout) as a normal answer, not
	// an error: no backoff, just ask again" (Exercise 1.6). RetryDelay is an
	// hour here, so a backoff would stall the test.
	chat := newTestChat(10 * time.Millisecond)
	p := testPollerFor(t, testServe(t, chat).URL)
	p.RetryDelay, p.MaxRetryDelay = time.Hour, time.Hour
	delivered := make(chan Message, 10)
	run := testStartPolling(t, testPatience, func(ctx context.Context) error {
		return p.LongPoll(ctx, func(m Message) { delivered <- m })
	})
	for i := 1; i <= 3; i++ {
		testAwait(t, run, chat.timedOut, testPromptly,
			"LongPoll did not ask again after the server's timeout number %d: an empty batch is a normal answer, ask again at once", i-1)
	}
	chat.add("ada", "finally")
	m := testAwait(t, run, delivered, testPromptly, "LongPoll did not deliver the message that came after three empty batches")
	assert.Equal(t, int64(1), m.ID, "LongPoll delivers message 1")
	require.ErrorIs(t, run.stop(t), context.Canceled, "LongPoll returns ctx.Err() when its context is cancelled")
}

func TestPollerLongPollBacksOffWhenTheServerFails(t *testing.T) {
	exercise.Start(t, "1.6")
	// "Handles failures as ShortPoll does: backoff on network errors, 5xx
	// and bad bodies" (Exercise 1.6).
	testBacksOff(t, testLongPolling)
}

func TestPollerLongPollResetsItsBackoffAfterASuccess(t *testing.T) {
	exercise.Start(t, "1.6")
	testNoLeaks(t)
	testBackoffResets(t, testLongPolling)
}

func TestPollerLongPollIgnoresMessagesItAlreadyHas(t *testing.T) {
	exercise.Start(t, "1.6")
	testNoLeaks(t)
	testIgnoresResentMessages(t, testLongPolling)
}

func TestPollerLongPollGivesUpOnA4xx(t *testing.T) {
	exercise.Start(t, "1.6")
	// "... give up on 4xx" (Exercise 1.6).
	testGivesUpOn4xx(t, testLongPolling)
}

func TestPollerLongPollReturnsPromptlyWhenTheContextEnds(t *testing.T) {
	exercise.Start(t, "1.6")
	// "Returns ctx.Err() promptly when ctx is done, even while a request is
	// being held by the server" (Exercise 1.6); and the server, seeing the
	// connection close, stops waiting too.
	testNoLeaks(t)
	t.Run("while the server holds the request", func(t *testing.T) {
		testStopsInARequest(t, testLongPolling, newTestChat(time.Hour))
	})
	t.Run("while backing off", func(t *testing.T) {
		testStopsWhileBackingOff(t, testLongPolling)
	})
}

func TestPollerLongPollResumesFromItsCursor(t *testing.T) {
	exercise.Start(t, "1.6")
	// "A Poller stopped and run again hours later with the same Cursor"
	// goes on where it stopped (Exercise 1.6, "Resuming from the cursor").
	testResumesFromCursor(t, testLongPolling)
}
