package polling

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 1.3: The short-polling API (lessons/01-polling.md).

func TestPostStoresAMessageAndGetReturnsIt(t *testing.T) {
	exercise.Start(t, "1.3")
	// POST /messages answers 201 with the stored Message; GET
	// /messages?since=ID answers 200 with a Batch of what came after ID
	// (Exercise 1.3, "What to build").
	api := startTestAPI(t, time.Second)

	m1 := api.post(`{"author": "ada", "text": "hello"}`).requireMessage(t)
	assert.Equal(t, int64(1), m1.ID, "the first message gets ID 1")
	assert.Equal(t, "ada", m1.Author, "the stored message's author")
	assert.Equal(t, "hello", m1.Text, "the stored message's text")
	assert.False(t, m1.Time.IsZero(), "the stored message has its time set")
	m2 := api.post(`{"author": "bob", "text": "hi ada"}`).requireMessage(t)
	assert.Equal(t, int64(2), m2.ID, "the second message gets ID 2")

	b := api.get("/messages?since=0").requireBatch(t)
	testSameMessages(t, []Message{m1, m2}, b.Messages, "GET /messages?since=0 returns both messages, as POST returned them")
	assert.Equal(t, int64(2), b.Cursor, "the cursor is the ID of the last message in the batch")

	b = api.get("/messages?since=1").requireBatch(t)
	testSameMessages(t, []Message{m2}, b.Messages, "GET /messages?since=1 returns message 2")
	assert.Equal(t, int64(2), b.Cursor, "the cursor is the ID of the last message in the batch")

	testRequireLog(t, api.log, []Message{m1, m2}, "the log should hold the two messages POST returned")
}

func TestAnEmptyBatchIsAnEmptyArrayWithTheClientsCursor(t *testing.T) {
	exercise.Start(t, "1.3")
	// "Messages is never null on the wire: an empty batch is []", and its
	// cursor is the client's own (Batch, in message.go).
	api := startTestAPI(t, time.Second)
	b := api.get("/messages?since=0").requireBatch(t)
	assert.Empty(t, b.Messages, "GET /messages?since=0 on an empty log")
	assert.Equal(t, int64(0), b.Cursor, "an empty batch's cursor is the since the client sent")

	testAppend(t, api.log, 3)
	for _, since := range []int64{3, 10} {
		b := api.get("/messages?since=" + strconv.FormatInt(since, 10)).requireBatch(t)
		assert.Empty(t, b.Messages, "GET /messages?since=%d on a log of 3 messages", since)
		assert.Equal(t, since, b.Cursor, "an empty batch's cursor is the since the client sent")
	}
}

func TestGetAnswersAtMostMaxBatchMessages(t *testing.T) {
	exercise.Start(t, "1.3")
	// "At most MaxBatch of them, and the cursor to send next time" (doc.go):
	// a client reads a long log in batches.
	api := startTestAPI(t, time.Second)
	testAppend(t, api.log, MaxBatch+30)
	for _, c := range []struct {
		since, first, last, cursor int64
	}{
		{0, 1, MaxBatch, MaxBatch},
		{MaxBatch, MaxBatch + 1, MaxBatch + 30, MaxBatch + 30},
		{MaxBatch + 30, 1, 0, MaxBatch + 30},
	} {
		b := api.get("/messages?since=" + strconv.FormatInt(c.since, 10)).requireBatch(t)
		assert.Equal(t, testSeq(c.first, c.last), testIDs(b.Messages), "GET /messages?since=%d on a log of %d messages", c.since, MaxBatch+30)
		assert.Equal(t, c.cursor, b.Cursor, "the cursor after GET /messages?since=%d", c.since)
	}
}

// testBadSince are query strings whose since is not a non-negative decimal
// integer.
var testBadSince = []struct{ name, query string }{
	{"missing", ""},
	{"missing, with another parameter", "?cursor=5"},
	{"empty", "?since="},
	{"not a number", "?since=abc"},
	{"a fraction", "?since=1.5"},
	{"hexadecimal", "?since=0x10"},
	{"with a space", "?since=%201"},
	{"negative", "?since=-1"},
	{"too large for an int64", "?since=99999999999999999999"},
}

func TestBadSinceIsA400(t *testing.T) {
	exercise.Start(t, "1.3")
	// "A missing, empty, non-numeric or negative since is 400" (server.go),
	// and the error says that since was the problem.
	api := startTestAPI(t, time.Second)
	testAppend(t, api.log, 2)
	for _, c := range testBadSince {
		t.Run(c.name, func(t *testing.T) {
			msg := api.get("/messages"+c.query).requireError(t, http.StatusBadRequest)
			assert.Contains(t, strings.ToLower(msg), "since", "the error for GET /messages%s should say what was wrong with since", c.query)
		})
	}
}

func TestBadPostBodyIsA400AndStoresNothing(t *testing.T) {
	exercise.Start(t, "1.3")
	// "The POST body is one JSON object, {"author": "...", "text": "..."},
	// with no other fields and nothing after it; anything else is 400. A
	// message the Log refuses is 400" (server.go). "A refused request leaves
	// the log as it was" (Exercise 1.3).
	api := startTestAPI(t, time.Second)
	want := testAppend(t, api.log, 1)
	for _, c := range []struct{ name, body string }{
		{"not JSON", `hello`},
		{"empty", ``},
		{"only spaces", `   `},
		{"a JSON array", `[{"author": "ada", "text": "hi"}]`},
		{"a JSON string", `"hi"`},
		{"JSON null", `null`},
		{"text is a number", `{"author": "ada", "text": 5}`},
		{"author is an object", `{"author": {}, "text": "hi"}`},
		{"an unknown field", `{"author": "ada", "text": "hi", "room": "lobby"}`},
		{"a misspelt field", `{"author": "ada", "txt": "hi"}`},
		{"a second object after the first", `{"author": "ada", "text": "one"}{"author": "ada", "text": "two"}`},
		{"garbage after the object", `{"author": "ada", "text": "hi"} x`},
		{"cut short", `{"author": "ada", "text": "hi"`},
		{"empty text", `{"author": "ada", "text": ""}`},
		{"no text", `{"author": "ada"}`},
		{"text over MaxTextBytes", `{"author": "ada", "text": "` + strings.Repeat("x", MaxTextBytes+1) + `"}`},
		{"author over MaxAuthorBytes", `{"author": "` + strings.Repeat("a", MaxAuthorBytes+1) + `", "text": "hi"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			api.post(c.body).requireError(t, http.StatusBadRequest)
			testRequireLog(t, api.log, want, "POST /messages with a bad body ("+c.name+") must store nothing")
		})
	}
}

func TestBodyOverMaxBodyBytesIsA413(t *testing.T) {
	exercise.Start(t, "1.3")
	// "A body over MaxBodyBytes is 413" (server.go): read it through
	// http.MaxBytesReader (Exercise 1.3, "413 and http.MaxBytesReader").
	api := startTestAPI(t, time.Second)
	want := testAppend(t, api.log, 1)

	// A body of exactly MaxBodyBytes is fine.
	object := `{"author": "ada", "text": "fits"}`
	m := api.post(object + strings.Repeat(" ", MaxBodyBytes-len(object))).requireMessage(t)
	want = append(want, m)

	long := `{"author": "ada", "text": "` + strings.Repeat("x", MaxBodyBytes) + `"}`
	for _, c := range []struct {
		name string
		body io.Reader
	}{
		{"a long text", strings.NewReader(long)},
		{"one byte over, in spaces after the object", strings.NewReader(object + strings.Repeat(" ", MaxBodyBytes-len(object)+1))},
		{"a long text, sent without Content-Length", io.MultiReader(strings.NewReader(long))},
	} {
		t.Run(c.name, func(t *testing.T) {
			api.do(http.MethodPost, "/messages", c.body).requireError(t, http.StatusRequestEntityTooLarge)
			testRequireLog(t, api.log, want, "POST /messages with a body over MaxBodyBytes ("+c.name+") must store nothing")
		})
	}
}

func TestOtherMethodsAreA405WithAllow(t *testing.T) {
	exercise.Start(t, "1.3")
	// "Any other method is 405 with an Allow header" (server.go); RFC 9110
	// §15.5.6 says a 405 MUST list the methods that are allowed.
	api := startTestAPI(t, time.Second)
	want := testAppend(t, api.log, 1)
	for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		t.Run(method, func(t *testing.T) {
			ans := api.do(method, "/messages", strings.NewReader(`{"author": "ada", "text": "hi"}`))
			ans.requireError(t, http.StatusMethodNotAllowed)
			allow := testAllow(ans.Header)
			assert.Contains(t, allow, http.MethodGet, "a 405 from /messages must list GET in its Allow header; got Allow: %q", ans.Header.Values("Allow"))
			assert.Contains(t, allow, http.MethodPost, "a 405 from /messages must list POST in its Allow header; got Allow: %q", ans.Header.Values("Allow"))
			testRequireLog(t, api.log, want, method+" /messages must store nothing")
		})
	}
}

// Exercise 1.4: The long-polling endpoint (lessons/01-polling.md).

func TestLongPollAnswersAtOnceWhenThereIsNews(t *testing.T) {
	exercise.Start(t, "1.4")
	// "Answers 200 with a Batch as soon as there is a message after since,
	// which may be at once" (Exercise 1.4).
	api := startTestAPI(t, testPatience)
	all := testAppend(t, api.log, 3)
	r := testReceive(t, api.goGet(context.Background(), "/messages/wait?since=1"), testPromptly,
		"GET /messages/wait?since=1 on a log of 3 messages did not answer: with news already there, it must answer at once")
	require.NoError(t, r.Err, "GET /messages/wait?since=1")
	b := r.Answer.requireBatch(t)
	testSameMessages(t, all[1:], b.Messages, "GET /messages/wait?since=1 on a log of 3 messages")
	assert.Equal(t, int64(3), b.Cursor, "the cursor is the ID of the last message in the batch")
}

func TestLongPollAnswersAsSoonAsAMessageArrives(t *testing.T) {
	exercise.Start(t, "1.4")
	// "The moment Alice's message is stored, the server answers Bob's
	// waiting request" (lessons/01-polling.md, introduction).
	api := startTestAPI(t, testPatience)
	testAppend(t, api.log, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	answer := api.goGet(ctx, "/messages/wait?since=2")
	testRequireNoAnswerYet(t, answer, "GET /messages/wait?since=2 on a log of 2 messages")
	m, err := api.log.Append("alice", "lunch?")
	require.NoError(t, err, "Append")
	r := testReceive(t, answer, testWakeUpWithin, "the long poll was not answered after a new message was appended")
	require.NoError(t, r.Err, "GET /messages/wait?since=2")
	b := r.Answer.requireBatch(t)
	testSameMessages(t, []Message{m}, b.Messages, "the long poll answers with the new message")
	assert.Equal(t, int64(3), b.Cursor, "the cursor is the ID of the new message")
}

func TestOneMessageAnswersEveryWaitingLongPoll(t *testing.T) {
	exercise.Start(t, "1.4")
	// Every client holding a long poll hears about a new message at once:
	// "Append wakes every waiter" (Exercise 1.4, the long-polling diagram).
	const clients = 5
	api := startTestAPI(t, testPatience)
	testAppend(t, api.log, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	answers := make(chan testAsync, clients)
	for range clients {
		go func() { answers <- <-api.goGet(ctx, "/messages/wait?since=2") }()
	}
	testRequireNoAnswerYet(t, answers, "GET /messages/wait?since=2 on a log of 2 messages")
	m, err := api.log.Append("alice", "lunch?")
	require.NoError(t, err, "Append")
	// Far sooner than the long-poll timeout (testPatience), so it was the
	// message that answered them.
	deadline := time.After(testPromptly)
	for i := range clients {
		select {
		case r := <-answers:
			require.NoError(t, r.Err, "GET /messages/wait?since=2")
			b := r.Answer.requireBatch(t)
			testSameMessages(t, []Message{m}, b.Messages, "every long poll answers with the new message")
		case <-deadline:
			require.FailNowf(t, "not every long poll was answered",
				"only %d of %d waiting long polls were answered within %v of one new message", i, clients, testPromptly)
		}
	}
}

func TestLongPollAnswersAnEmptyBatchAtTheTimeout(t *testing.T) {
	exercise.Start(t, "1.4")
	// "When timeout passes first it answers 200 with an empty Batch whose
	// cursor is since" (server.go); a timeout is "no news, ask again", not
	// an error (Exercise 1.4, "Holding a request").
	const timeout = 50 * time.Millisecond
	api := startTestAPI(t, timeout)
	testAppend(t, api.log, 2)
	start := time.Now()
	r := testReceive(t, api.goGet(context.Background(), "/messages/wait?since=2"), timeout+testPromptly,
		"GET /messages/wait?since=2 with a long-poll timeout of %v did not answer", timeout)
	elapsed := time.Since(start)
	require.NoError(t, r.Err, "GET /messages/wait?since=2")
	b := r.Answer.requireBatch(t)
	assert.Empty(t, b.Messages, "at the timeout the batch is empty")
	assert.Equal(t, int64(2), b.Cursor, "at the timeout the cursor is the since the client sent")
	assert.GreaterOrEqual(t, elapsed, timeout, "the long poll answered after %v, before its timeout of %v, with nothing new to say", elapsed, timeout)
}

func TestLongPollBadSinceIsA400(t *testing.T) {
	exercise.Start(t, "1.4")
	// "since is checked as in ShortPollHandler (400)" (server.go).
	api := startTestAPI(t, testPatience)
	for _, c := range testBadSince {
		t.Run(c.name, func(t *testing.T) {
			msg := api.get("/messages/wait"+c.query).requireError(t, http.StatusBadRequest)
			assert.Contains(t, strings.ToLower(msg), "since", "the error for GET /messages/wait%s should say what was wrong with since", c.query)
		})
	}
}

func TestLongPollOtherMethodsAreA405WithAllow(t *testing.T) {
	exercise.Start(t, "1.4")
	// "Any method but GET is 405 with an Allow header" (server.go): in
	// particular a POST to /messages/wait stores nothing.
	api := startTestAPI(t, testPatience)
	want := testAppend(t, api.log, 1)
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		t.Run(method, func(t *testing.T) {
			ans := api.do(method, "/messages/wait?since=0", strings.NewReader(`{"author": "ada", "text": "hi"}`))
			ans.requireError(t, http.StatusMethodNotAllowed)
			assert.Contains(t, testAllow(ans.Header), http.MethodGet,
				"a 405 from /messages/wait must list GET in its Allow header; got Allow: %q", ans.Header.Values("Allow"))
			testRequireLog(t, api.log, want, method+" /messages/wait must store nothing")
		})
	}
}

func TestLongPollHandlerReturnsWhenTheClientGoesAway(t *testing.T) {
	exercise.Start(t, "1.4")
	// "When the client goes away (the request's context is done) the
	// handler returns at once, so a waiting request never outlives its
	// client" (server.go).
	testNoLeaks(t)
	log := NewLog()
	mux := NewMux(log, testPatience)
	entered, returned := make(chan struct{}, 1), make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		mux.ServeHTTP(w, r)
		returned <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	client := testClient(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	answer := make(chan testAsync, 1)
	go func() { answer <- testGet(ctx, client, srv.URL+"/messages/wait?since=0") }()
	testReceive(t, entered, testPromptly, "the long poll never reached the server")
	testRequireNoAnswerYet(t, answer, "GET /messages/wait?since=0 on an empty log")

	cancel() // the client hangs up
	testReceive(t, returned, testPromptly,
		"LongPollHandler kept waiting after its client went away: it must return when r.Context() is done")
	r := testReceive(t, answer, testPromptly, "the cancelled request did not return")
	require.ErrorIs(t, r.Err, context.Canceled, "the client cancelled its request")

	// httptest.Server.Close waits for every running handler.
	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	testReceive(t, closed, time.Second, "closing the server did not finish: a handler is still running")
	client.CloseIdleConnections()
}
