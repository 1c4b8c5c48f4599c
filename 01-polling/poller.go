package polling

import (
	"context"
	"net/http"
	"time"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// A Poller follows a server's log from the client side. It remembers the
// cursor between requests and hands each message to a deliver function
// exactly once, in ID order, whatever happens on the network: a request that
// fails, times out or comes back cut short is simply asked again, from the
// same cursor, after a pause.
type Poller struct {
	// BaseURL is where NewMux is served, without a trailing slash:
	// "http://127.0.0.1:8080".
	BaseURL string

	// Client makes the requests; nil means http.DefaultClient.
	Client *http.Client

	// Cursor is the ID of the last message delivered. Start at 0 for the
	// whole log; the Poller advances it after each delivery, so a Poller can
	// be stopped and run again without losing or repeating anything.
	Cursor int64

	// RetryDelay is the first pause after a failed request; it doubles after
	// each further failure, up to MaxRetryDelay, and resets after a success.
	// Zero means 50ms.
	RetryDelay time.Duration

	// MaxRetryDelay caps the pause between retries. Zero means 2s.
	MaxRetryDelay time.Duration
}

// ShortPoll asks GET /messages?since=Cursor, delivers what comes back, waits
// interval, and asks again, until ctx is done; then it returns ctx.Err().
// When a batch is full (MaxBatch messages) it asks again at once instead of
// waiting. A network error, a 5xx answer or a body that does not decode is
// retried after RetryDelay (doubling up to MaxRetryDelay); a 4xx answer means
// the request itself is wrong, and ShortPoll returns an error that says so.
//
// deliver runs on ShortPoll's goroutine, one message at a time.
func (p *Poller) ShortPoll(ctx context.Context, interval time.Duration, deliver func(Message)) error {
	return exercise.TODO("1.5")
}

// LongPoll asks GET /messages/wait?since=Cursor, delivers what comes back,
// and asks again at once, until ctx is done; then it returns ctx.Err().
// An empty batch (the server's timeout) is not an error: ask again.
// Failures are handled as in ShortPoll.
func (p *Poller) LongPoll(ctx context.Context, deliver func(Message)) error {
	return exercise.TODO("1.6")
}
