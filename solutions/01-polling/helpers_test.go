package polling

// The helpers the lesson's tests share. Their names start with "test" so that
// they cannot clash with the names in your code: these tests are in package
// polling, next to it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

const (
	// testWakeUpWithin is how soon a waiting Wait, or a held long poll, must
	// notice a new message. Waking a goroutine takes microseconds; checking
	// for news on a timer does not.
	testWakeUpWithin = 50 * time.Millisecond

	// testHeldFor is how long a test watches a wait to see that it really
	// waits, before it does what should end the wait.
	testHeldFor = 20 * time.Millisecond

	// testPromptly bounds "returns promptly": long enough for a busy
	// machine, far shorter than any interval, pause or timeout the tests set
	// up to be waited out.
	testPromptly = 500 * time.Millisecond

	// testPatience bounds a whole scenario that should take well under a
	// second, so a test that goes wrong fails instead of hanging.
	testPatience = 10 * time.Second
)

// testNoLeaks checks, when the test ends, that every goroutine the test
// started has ended (go.uber.org/goleak). Call it first, so that its check runs
// after every other cleanup (servers closed, connections dropped).
func testNoLeaks(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// testAppend appends n messages "message 1", "message 2", ... by "tester" and
// returns them.
func testAppend(t *testing.T, log *Log, n int) []Message {
	t.Helper()
	var out []Message
	for i := 1; i <= n; i++ {
		m, err := log.Append("tester", fmt.Sprintf("message %d", i))
		require.NoError(t, err, "Append(%q, %q) refused a good message", "tester", fmt.Sprintf("message %d", i))
		out = append(out, m)
	}
	return out
}

// testMsg is a Message as the tests compare it: the time as text, so that a
// message that went through JSON equals the one the log returned.
type testMsg struct {
	ID     int64
	Author string
	Text   string
	Time   string
}

func testView(ms []Message) []testMsg {
	out := make([]testMsg, 0, len(ms))
	for _, m := range ms {
		out = append(out, testMsg{m.ID, m.Author, m.Text, m.Time.UTC().Format(time.RFC3339Nano)})
	}
	return out
}

// testSameMessages checks that got holds the messages of want, in order,
// and says what differs in words rather than as two long structs: the IDs
// first (an off-by-one at the cursor shows as two short lists of numbers),
// then, for the first message that differs, the field and both values. It
// reports whether they are the same.
func testSameMessages(t *testing.T, want, got []Message, format string, args ...any) bool {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	if !assert.Equal(t, testIDs(want), testIDs(got), "%s: the IDs of the messages, in order", what) {
		return false
	}
	wv, gv := testView(want), testView(got)
	for i := range wv {
		w, g := wv[i], gv[i]
		for _, f := range []struct{ name, want, got string }{
			{"Author", w.Author, g.Author}, {"Text", w.Text, g.Text}, {"Time", w.Time, g.Time},
		} {
			if f.want != f.got {
				return assert.Fail(t, fmt.Sprintf("%s: message %d has %s %q, want %q", what, w.ID, f.name, f.got, f.want))
			}
		}
	}
	return true
}

// testIDs lists the IDs of ms, in order.
func testIDs(ms []Message) []int64 {
	out := make([]int64, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// testSeq is from, from+1, ..., to.
func testSeq(from, to int64) []int64 {
	out := make([]int64, 0, max(to-from+1, 0))
	for id := from; id <= to; id++ {
		out = append(out, id)
	}
	return out
}

// testRequireLog checks that the log holds exactly want: the way to say "a
// refused request leaves the log unchanged".
func testRequireLog(t *testing.T, log *Log, want []Message, why string) {
	t.Helper()
	got, err := log.Since(0, MaxBatch)
	require.NoError(t, err, "Since(0, MaxBatch)")
	if !testSameMessages(t, want, got, "the log changed: %s", why) {
		t.FailNow()
	}
}

// testReceive waits up to within for a value from ch, and fails the test with
// the message given when none comes.
func testReceive[T any](t *testing.T, ch <-chan T, within time.Duration, format string, args ...any) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		require.FailNowf(t, "nothing happened in time", "after %v: "+format, append([]any{within}, args...)...)
		panic("unreachable")
	}
}

// testRequireNoAnswerYet watches ch for testHeldFor and fails the test if a
// value comes: what was started should still be waiting.
func testRequireNoAnswerYet[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		require.FailNowf(t, "returned too early", "%s returned before anything happened, but should still be waiting; it returned %+v", what, v)
	case <-time.After(testHeldFor):
	}
}

// testServe serves h on 127.0.0.1 until the test ends. Then the context of
// every request still running is cancelled before the server closes, so that
// a request held by a handler cannot keep the test from ending.
func testServe(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewUnstartedServer(h)
	srv.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(cancel) // runs first
	return srv
}

// testClient is an HTTP client of the test's own, whose idle connections are
// closed when the test ends (so no connection goroutine outlives the test).
func testClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// testClientNotingCloses is a testClient that puts a value on the channel it
// returns each time a response body is closed, that is, when whoever made the
// request is done with the answer.
func testClientNotingCloses(t *testing.T) (*http.Client, <-chan struct{}) {
	t.Helper()
	client := testClient(t)
	closed := make(chan struct{}, 1000)
	client.Transport = testNotingCloses{client.Transport, closed}
	return client, closed
}

type testNotingCloses struct {
	base   http.RoundTripper
	closed chan struct{}
}

func (rt testNotingCloses) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rt.base.RoundTrip(r)
	if err == nil {
		resp.Body = &testNotingBody{ReadCloser: resp.Body, closed: rt.closed}
	}
	return resp, err
}

type testNotingBody struct {
	io.ReadCloser
	closed chan struct{}
	once   sync.Once
}

func (b *testNotingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() {
		select {
		case b.closed <- struct{}{}:
		default:
		}
	})
	return err
}

// A testAPI is the lesson's API, NewMux over a fresh Log, on a test server.
type testAPI struct {
	t      *testing.T
	log    *Log
	url    string
	client *http.Client
}

func startTestAPI(t *testing.T, longPollTimeout time.Duration) *testAPI {
	t.Helper()
	log := NewLog()
	srv := testServe(t, NewMux(log, longPollTimeout))
	return &testAPI{t: t, log: log, url: srv.URL, client: testClient(t)}
}

// A testAnswer is an HTTP answer, read in full.
type testAnswer struct {
	Status int
	Header http.Header
	Body   []byte
}

func (a testAnswer) String() string {
	return fmt.Sprintf("%d %s", a.Status, bytes.TrimSpace(a.Body))
}

// do sends one request and reads the whole answer.
func (a *testAPI) do(method, path string, body io.Reader) testAnswer {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testPatience)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, body)
	require.NoError(a.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	require.NoError(a.t, err, "%s %s: no answer", method, path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err, "%s %s: reading the answer", method, path)
	return testAnswer{resp.StatusCode, resp.Header, b}
}

func (a *testAPI) get(path string) testAnswer { return a.do(http.MethodGet, path, nil) }

func (a *testAPI) post(body string) testAnswer {
	return a.do(http.MethodPost, "/messages", strings.NewReader(body))
}

// A testAsync is the outcome of a request made on another goroutine.
type testAsync struct {
	Answer testAnswer
	Err    error
}

// goGet sends GET path on a goroutine of its own; the outcome comes on the
// channel. Cancel ctx to hang up.
func (a *testAPI) goGet(ctx context.Context, path string) <-chan testAsync {
	ch := make(chan testAsync, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, testPatience)
		defer cancel()
		ch <- testGet(ctx, a.client, a.url+path)
	}()
	return ch
}

func testGet(ctx context.Context, client *http.Client, url string) testAsync {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return testAsync{Err: err}
	}
	resp, err := client.Do(req)
	if err != nil {
		return testAsync{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return testAsync{Answer: testAnswer{resp.StatusCode, resp.Header, b}, Err: err}
}

// requireJSON checks that the answer says it is JSON, and is.
func (a testAnswer) requireJSON(t *testing.T) {
	t.Helper()
	ct := a.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	require.True(t, err == nil && mt == "application/json",
		"every answer is JSON, errors included, with Content-Type: application/json; got Content-Type %q on %s", ct, a)
	require.True(t, json.Valid(a.Body), "the body is not valid JSON: %s", a)
}

// requireBatch checks that the answer is 200 and a Batch, and returns it.
func (a testAnswer) requireBatch(t *testing.T) Batch {
	t.Helper()
	require.Equal(t, http.StatusOK, a.Status, "want 200 and a Batch; got %s", a)
	a.requireJSON(t)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(a.Body, &raw), "a Batch is a JSON object; got %s", a)
	msgs, ok := raw["messages"]
	require.True(t, ok, `a Batch has a "messages" field; got %s`, a)
	require.True(t, bytes.HasPrefix(bytes.TrimSpace(msgs), []byte("[")),
		`"messages" is an array, [] when empty, never null; got %s`, msgs)
	_, ok = raw["cursor"]
	require.True(t, ok, `a Batch has a "cursor" field; got %s`, a)
	var b Batch
	require.NoError(t, json.Unmarshal(a.Body, &b), "the Batch does not decode: %s", a)
	return b
}

// requireMessage checks that the answer is 201 and a Message, and returns it.
func (a testAnswer) requireMessage(t *testing.T) Message {
	t.Helper()
	require.Equal(t, http.StatusCreated, a.Status, "want 201 Created and the stored Message; got %s", a)
	a.requireJSON(t)
	var m Message
	require.NoError(t, json.Unmarshal(a.Body, &m), "the Message does not decode: %s", a)
	return m
}

// requireError checks that the answer is the given status with a JSON body
// {"error": "..."} that says something, and returns what it says.
func (a testAnswer) requireError(t *testing.T, status int) string {
	t.Helper()
	require.Equal(t, status, a.Status, "want %d %s; got %s", status, http.StatusText(status), a)
	a.requireJSON(t)
	var e map[string]any
	require.NoError(t, json.Unmarshal(a.Body, &e), `an error is a JSON object {"error": "what was wrong"}; got %s`, a)
	msg, ok := e["error"].(string)
	require.True(t, ok && strings.TrimSpace(msg) != "",
		`an error says what was wrong in a non-empty "error" string; got %s`, a)
	return msg
}

// testAllow lists the methods in an Allow header.
func testAllow(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Allow") {
		for m := range strings.SplitSeq(v, ",") {
			if m = strings.TrimSpace(m); m != "" {
				out = append(out, m)
			}
		}
	}
	return out
}

func testWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// A testChat is a small server for the Poller tests, so that exercises 1.5
// and 1.6 test your client on its own, whatever state your handlers of 1.3 and
// 1.4 are in. It speaks the lesson's wire format (GET /messages and GET
// /messages/wait, both with ?since=ID, both answering a Batch) and checks
// little else.
type testChat struct {
	timeout time.Duration // of a long poll

	mu   sync.Mutex
	msgs []Message
	news chan struct{} // closed and replaced by add

	timeouts atomic.Int64  // long polls that ended at the timeout
	timedOut chan struct{} // a value per such long poll, while there is room
}

func newTestChat(longPollTimeout time.Duration) *testChat {
	return &testChat{
		timeout:  longPollTimeout,
		news:     make(chan struct{}),
		timedOut: make(chan struct{}, 1000),
	}
}

// add stores one message.
func (c *testChat) add(author, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, Message{ID: int64(len(c.msgs)) + 1, Author: author, Text: text, Time: time.Now().UTC()})
	close(c.news)
	c.news = make(chan struct{})
}

// addN stores n messages.
func (c *testChat) addN(n int) {
	for range n {
		c.add("tester", "hello")
	}
}

func (c *testChat) after(since int64) ([]Message, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lo := min(since, int64(len(c.msgs)))
	hi := min(lo+MaxBatch, int64(len(c.msgs)))
	out := make([]Message, hi-lo)
	copy(out, c.msgs[lo:hi])
	return out, c.news
}

func (c *testChat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		testWriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET"})
		return
	}
	var timeout <-chan time.Time
	switch r.URL.Path {
	case "/messages":
	case "/messages/wait":
		t := time.NewTimer(c.timeout)
		defer t.Stop()
		timeout = t.C
	default:
		testWriteJSON(w, http.StatusNotFound, map[string]string{"error": "no such route: " + r.URL.Path})
		return
	}
	since, err := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	if err != nil || since < 0 {
		testWriteJSON(w, http.StatusBadRequest, map[string]string{"error": "since must be a non-negative integer"})
		return
	}
	for {
		msgs, news := c.after(since)
		if len(msgs) > 0 || timeout == nil {
			cursor := since
			if len(msgs) > 0 {
				cursor = msgs[len(msgs)-1].ID
			}
			testWriteJSON(w, http.StatusOK, Batch{Messages: msgs, Cursor: cursor})
			return
		}
		select {
		case <-news:
		case <-timeout:
			c.timeouts.Add(1)
			select {
			case c.timedOut <- struct{}{}:
			default:
			}
			testWriteJSON(w, http.StatusOK, Batch{Messages: []Message{}, Cursor: since})
			return
		case <-r.Context().Done():
			return
		}
	}
}

// The ways testFlaky spoils an answer.
const (
	testSpoil503     = iota // answer 503 Service Unavailable
	testSpoilDrop           // close the connection without answering
	testSpoilCut            // send the headers and half the body, then close the connection
	testSpoilGarbled        // send a complete answer whose body is the first half of the JSON
	testSpoilKinds
)

var testSpoilNames = [testSpoilKinds]string{"503 answers", "dropped connections", "bodies cut short", "garbled bodies"}

// A testFlaky wraps a handler and spoils every other answer, in a fixed
// rotation of the testSpoil kinds, so that a Poller meets every kind of
// failure many times. It counts what it did.
type testFlaky struct {
	next     http.Handler
	requests atomic.Int64
	spoiled  [testSpoilKinds]atomic.Int64
}

func (f *testFlaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.requests.Add(1)
	if n%2 == 1 {
		f.next.ServeHTTP(w, r) // every other request goes through untouched
		return
	}
	kind := int(n/2) % testSpoilKinds
	f.spoiled[kind].Add(1)
	switch kind {
	case testSpoil503:
		testWriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "unavailable, on purpose"})
	case testSpoilDrop:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		_ = conn.Close()
	case testSpoilCut, testSpoilGarbled:
		rec := httptest.NewRecorder()
		f.next.ServeHTTP(rec, r)
		if r.Context().Err() != nil {
			return
		}
		body := rec.Body.Bytes()
		h := w.Header()
		for k, v := range rec.Header() {
			h[k] = v
		}
		if kind == testSpoilCut {
			h.Set("Content-Length", strconv.Itoa(len(body)))
		} else {
			h.Set("Content-Length", strconv.Itoa(len(body)/2))
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body[:len(body)/2])
		if kind == testSpoilCut {
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // net/http closes the connection, quietly
		}
	}
}

// requireSpoiledAll checks that the flaky server did get to spoil answers of
// every kind, so that the test proved what it claims.
func (f *testFlaky) requireSpoiledAll(t *testing.T) {
	t.Helper()
	for kind := range testSpoilKinds {
		require.Positive(t, f.spoiled[kind].Load(),
			"the flaky test server never served %s (of %d requests in all)", testSpoilNames[kind], f.requests.Load())
	}
}

// A testCounter passes requests on to next, counts them and notes when each
// arrived. arrived gets a value as each request arrives, answered as each
// answer has been written (while there is room in them).
type testCounter struct {
	next     http.Handler
	requests atomic.Int64
	arrived  chan struct{}
	answered chan struct{}

	mu    sync.Mutex
	times []time.Time
}

func testCount(next http.Handler) *testCounter {
	return &testCounter{next: next, arrived: make(chan struct{}, 10000), answered: make(chan struct{}, 10000)}
}

func (c *testCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.requests.Add(1)
	c.mu.Lock()
	c.times = append(c.times, time.Now())
	c.mu.Unlock()
	select {
	case c.arrived <- struct{}{}:
	default:
	}
	c.next.ServeHTTP(w, r)
	select {
	case c.answered <- struct{}{}:
	default:
	}
}

// span is the time from the first request that arrived to the nth.
func (c *testCounter) span(n int) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n < 1 || n > len(c.times) {
		return 0
	}
	return c.times[n-1].Sub(c.times[0])
}

// testAnswerAlways answers every request with status and {"error": msg}.
func testAnswerAlways(status int, msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		testWriteJSON(w, status, map[string]string{"error": msg})
	})
}

// testHoldUntilGone holds every request until its client goes away.
func testHoldUntilGone() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
}

// testPollerFor is a Poller for the server at url, with a client of its own
// and short pauses between retries.
func testPollerFor(t *testing.T, url string) *Poller {
	t.Helper()
	return &Poller{
		BaseURL:       url,
		Client:        testClient(t),
		RetryDelay:    time.Millisecond,
		MaxRetryDelay: 8 * time.Millisecond,
	}
}

// testPolling is a ShortPoll or LongPoll running on a goroutine of its own.
type testPolling struct {
	cancel context.CancelFunc
	done   chan error
}

// testStartPolling runs poll on its own goroutine, with a context that ends
// after timeout or when stop is called. When the test ends, the poll is
// cancelled and waited for.
func testStartPolling(t *testing.T, timeout time.Duration, poll func(ctx context.Context) error) *testPolling {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	p := &testPolling{cancel: cancel, done: make(chan error, 1)}
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		p.done <- poll(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(testPatience):
			t.Errorf("the poller did not return within %v of its context being cancelled", testPatience)
		}
	})
	return p
}

// stop cancels the poll and returns what it returned.
func (p *testPolling) stop(t *testing.T) error {
	t.Helper()
	p.cancel()
	return testReceive(t, p.done, testPromptly,
		"the poller did not return after its context was cancelled; it must return ctx.Err() promptly (lessons/01-polling.md, Exercise 1.5)")
}

// testAwait is testReceive for a test with a poller running: it also fails
// the test at once, with what the poller returned, if the poller returns
// before the value comes.
func testAwait[T any](t *testing.T, run *testPolling, ch <-chan T, within time.Duration, format string, args ...any) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case err := <-run.done:
		require.FailNowf(t, "the poller returned too early", "the poller returned %v, but should have kept going: "+format, append([]any{err}, args...)...)
	case <-time.After(within):
		require.FailNowf(t, "nothing happened in time", "after %v: "+format, append([]any{within}, args...)...)
	}
	panic("unreachable")
}

// testDeliveryProblem describes what is wrong with a sequence of delivered
// IDs, when the right one is 1, 2, ..., total; "" means nothing is.
func testDeliveryProblem(ids []int64, total int64) string {
	seen := map[int64]bool{}
	var last int64
	for i, id := range ids {
		switch {
		case seen[id]:
			return fmt.Sprintf("message %d was delivered twice (the second time as delivery %d)", id, i+1)
		case id <= last:
			return fmt.Sprintf("message %d was delivered after message %d: not in ID order", id, last)
		case id != last+1:
			return fmt.Sprintf("message %d was never delivered (the next delivered after %d was %d)", last+1, last, id)
		}
		seen[id] = true
		last = id
	}
	if last != total {
		return fmt.Sprintf("only messages 1 to %d of %d were delivered", last, total)
	}
	return ""
}
