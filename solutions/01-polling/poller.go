package polling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
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

const (
	defaultRetryDelay    = 50 * time.Millisecond
	defaultMaxRetryDelay = 2 * time.Second

	// maxAnswerBytes bounds how much of a 200 answer the Poller reads. A
	// full Batch is at most MaxBatch messages of MaxTextBytes each, which
	// JSON escaping can make up to six times longer: about 2.5 MB.
	maxAnswerBytes = 4 << 20

	// maxErrorBytes bounds how much of an error answer is read for its
	// message.
	maxErrorBytes = 4 << 10
)

// ShortPoll asks GET /messages?since=Cursor, delivers what comes back, waits
// interval, and asks again, until ctx is done; then it returns ctx.Err().
// When a batch is full (MaxBatch messages) it asks again at once instead of
// waiting. A network error, a 5xx answer or a body that does not decode is
// retried after RetryDelay (doubling up to MaxRetryDelay); a 4xx answer means
// the request itself is wrong, and ShortPoll returns an error that says so.
//
// deliver runs on ShortPoll's goroutine, one message at a time.
func (p *Poller) ShortPoll(ctx context.Context, interval time.Duration, deliver func(Message)) error {
	return p.run(ctx, "/messages", interval, deliver)
}

// LongPoll asks GET /messages/wait?since=Cursor, delivers what comes back,
// and asks again at once, until ctx is done; then it returns ctx.Err().
// An empty batch (the server's timeout) is not an error: ask again.
// Failures are handled as in ShortPoll.
func (p *Poller) LongPoll(ctx context.Context, deliver func(Message)) error {
	return p.run(ctx, "/messages/wait", 0, deliver)
}

// run is the loop both methods share: poll path, deliver, pause interval
// (none after a full batch), and back off after failures.
func (p *Poller) run(ctx context.Context, path string, interval time.Duration, deliver func(Message)) error {
	failures := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := p.fetch(ctx, path)
		if err != nil {
			// A request that failed because ctx ended is not a network
			// error: report ctx's error, as promised.
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			if !retryable(err) {
				return err
			}
			failures++
			if err := sleep(ctx, p.backoff(failures)); err != nil {
				return err
			}
			continue
		}
		failures = 0

		delivered := 0
		for _, m := range b.Messages {
			// Never go backwards, never repeat: this also keeps the promise
			// against a server that sends what we already have.
			if m.ID <= p.Cursor {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err // Cursor names the last message delivered
			}
			deliver(m)
			p.Cursor = m.ID
			delivered++
		}

		// A full batch means there is probably more: ask again at once.
		full := len(b.Messages) >= MaxBatch && delivered > 0
		if interval > 0 && !full {
			if err := sleep(ctx, interval); err != nil {
				return err
			}
		}
	}
}

// backoff is the pause after the given number of failures in a row:
// RetryDelay, doubled for each failure after the first, capped at
// MaxRetryDelay.
func (p *Poller) backoff(failures int) time.Duration {
	d, limit := p.RetryDelay, p.MaxRetryDelay
	if d <= 0 {
		d = defaultRetryDelay
	}
	if limit <= 0 {
		limit = defaultMaxRetryDelay
	}
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// sleep pauses for d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A statusError is an answer that is not 200 OK. A 4xx is permanent: the
// request itself is wrong, and asking again would get the same answer.
type statusError struct {
	url    string
	status string // "400 Bad Request"
	code   int
	msg    string // the server's {"error": ...}, or the start of its body
}

func (e *statusError) Error() string {
	s := fmt.Sprintf("polling: GET %s: the server answered %s", e.url, e.status)
	if e.msg != "" {
		s += ": " + e.msg
	}
	return s
}

// A setupError is a request that cannot even be made, such as one with a
// malformed BaseURL; retrying cannot help.
type setupError struct{ err error }

func (e *setupError) Error() string { return "polling: " + e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }

// retryable reports whether asking again may get a different answer.
func retryable(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.code < 400 || se.code > 499
	}
	var setup *setupError
	return !errors.As(err, &setup)
}

// fetch makes one poll from p.Cursor. It returns the whole decoded Batch or
// an error, never part of a batch.
func (p *Poller) fetch(ctx context.Context, path string) (Batch, error) {
	u := strings.TrimRight(p.BaseURL, "/") + path + "?since=" + strconv.FormatInt(p.Cursor, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Batch{}, &setupError{err}
	}
	req.Header.Set("Accept", "application/json")

	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return Batch{}, err
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		return Batch{}, &statusError{
			url:    u,
			status: resp.Status,
			code:   resp.StatusCode,
			msg:    errorText(io.LimitReader(resp.Body, maxErrorBytes)),
		}
	}

	var b Batch
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswerBytes)).Decode(&b); err != nil {
		return Batch{}, fmt.Errorf("polling: GET %s: the answer does not decode: %w", u, err)
	}
	// Read the little that may be left (the encoder's newline), so the
	// connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 512))
	return b, nil
}

// errorText is the server's explanation: the "error" of a JSON error body,
// or else the start of the body as text.
func errorText(body io.Reader) string {
	raw, _ := io.ReadAll(body)
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Error != "" {
		return e.Error
	}
	text := strings.TrimSpace(string(raw))
	if len(text) > 200 {
		text = strings.ToValidUTF8(text[:200], "") + "…"
	}
	return text
}
