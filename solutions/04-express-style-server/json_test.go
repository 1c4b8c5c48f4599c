package server

import (
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 4.2: JSON bodies and static files (lessons/04-express-style-server.md).
// The tests of DecodeJSON and WriteJSON.

// jsonTestMessage is the body of a chat message, as a client posts it.
type jsonTestMessage struct {
	Author string `json:"author"`
	Text   string `json:"text"`
}

// jsonTestRequest is a POST with body and, unless it is "", contentType.
func jsonTestRequest(contentType string, body io.Reader) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/messages", body)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

// jsonTestBodyOfSize is a valid message body of exactly n bytes (n >= 30).
func jsonTestBodyOfSize(n int) string {
	head, tail := `{"author":"ana","text":"`, `"}`
	return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
}

// jsonTestRequireHTTPError checks that err is an *HTTPError with status.
func jsonTestRequireHTTPError(t *testing.T, err error, status int, what string) *HTTPError {
	t.Helper()
	require.Error(t, err, "%s: DecodeJSON should refuse it", what)
	var he *HTTPError
	require.True(t, errors.As(err, &he), "%s: the error should be an *HTTPError, so the App answers it with its status; got %T: %v", what, err, err)
	assert.Equal(t, status, he.Status, "%s: the status (%v)", what, err)
	assert.NotEmpty(t, he.Message, "%s: the message says what was wrong", what)
	return he
}

func TestJSONDecodeReadsOneValue(t *testing.T) {
	exercise.Start(t, "4.2")
	for _, c := range []struct{ contentType, body string }{
		{"application/json", `{"author":"ana","text":"hi"}`},
		{"application/json; charset=utf-8", `{"author":"ana","text":"hi"}`},
		{"Application/JSON; charset=UTF-8", `{"author":"ana","text":"hi"}`},
		{"application/json", "\n  {\"text\": \"hi\",\n   \"author\": \"ana\"}\n\n"},
	} {
		var m jsonTestMessage
		err := DecodeJSON(jsonTestRequest(c.contentType, strings.NewReader(c.body)), MaxJSONBody, &m)
		require.NoError(t, err, "Content-Type %q, body %q", c.contentType, c.body)
		assert.Equal(t, jsonTestMessage{Author: "ana", Text: "hi"}, m, "Content-Type %q, body %q", c.contentType, c.body)
	}
}

func TestJSONDecodeRefusesBodiesItCannotTrust(t *testing.T) {
	exercise.Start(t, "4.2")
	// Strict on purpose: a body half understood is a bug later. Every
	// refusal is an *HTTPError whose message says what was wrong.
	const ok = `{"author":"ana","text":"hi"}`
	for _, c := range []struct {
		name, contentType, body string
		status                  int
		mentions                string // the message should say this (case aside)
	}{
		{"no Content-Type", "", ok, http.StatusUnsupportedMediaType, ""},
		{"text/plain, as a cross-site form can send", "text/plain", ok, http.StatusUnsupportedMediaType, ""},
		{"a form", "application/x-www-form-urlencoded", "author=ana&text=hi", http.StatusUnsupportedMediaType, ""},
		{"a charset that is not UTF-8", "application/json; charset=iso-8859-1", ok, http.StatusUnsupportedMediaType, ""},
		{"an empty body", "application/json", "", http.StatusBadRequest, "empty"},
		{"only white space", "application/json", " \n\t ", http.StatusBadRequest, "empty"},
		{"malformed JSON", "application/json", `{"author": "ana", "text": }`, http.StatusBadRequest, ""},
		{"JSON cut short", "application/json", `{"author": "ana", "text": "hi"`, http.StatusBadRequest, ""},
		{"an unknown field", "application/json", `{"author":"ana","text":"hi","admin":true}`, http.StatusBadRequest, "admin"},
		{"a field of the wrong type", "application/json", `{"author":5,"text":"hi"}`, http.StatusBadRequest, "author"},
		{"an array, not an object", "application/json", `["ana","hi"]`, http.StatusBadRequest, ""},
		{"a second value after the first", "application/json", ok + ` {"author":"eve","text":"x"}`, http.StatusBadRequest, ""},
		{"garbage after the value", "application/json", ok + `x`, http.StatusBadRequest, ""},
	} {
		var m jsonTestMessage
		err := DecodeJSON(jsonTestRequest(c.contentType, strings.NewReader(c.body)), MaxJSONBody, &m)
		he := jsonTestRequireHTTPError(t, err, c.status, c.name)
		if he != nil && c.mentions != "" {
			assert.Contains(t, strings.ToLower(he.Message), c.mentions, "%s: the message should say what was wrong", c.name)
		}
	}
}

// jsonTestCountingReader is a body of 16 MiB of spaces that counts what was
// read of it.
type jsonTestCountingReader struct{ n int64 }

func (r *jsonTestCountingReader) Read(p []byte) (int, error) {
	const size = 16 << 20
	if r.n >= size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), size-r.n)]
	for i := range p {
		p[i] = ' '
	}
	r.n += int64(len(p))
	return len(p), nil
}

func TestJSONDecodeLimitsTheBody(t *testing.T) {
	exercise.Start(t, "4.2")
	// A body of exactly limit bytes is read; one byte more is 413. The
	// limit counts the whole body, white space after the value included,
	// and limit <= 0 means MaxJSONBody.
	for _, c := range []struct {
		name   string
		limit  int64
		body   string
		status int // 0: accepted
	}{
		{"exactly the limit", 100, jsonTestBodyOfSize(100), 0},
		{"one byte over the limit", 100, jsonTestBodyOfSize(101), http.StatusRequestEntityTooLarge},
		{"a value under the limit, then white space past it", 100, jsonTestBodyOfSize(60) + strings.Repeat(" ", 41), http.StatusRequestEntityTooLarge},
		{"exactly MaxJSONBody, with limit 0", 0, jsonTestBodyOfSize(MaxJSONBody), 0},
		{"one byte over MaxJSONBody, with limit 0", 0, jsonTestBodyOfSize(MaxJSONBody + 1), http.StatusRequestEntityTooLarge},
	} {
		var m jsonTestMessage
		err := DecodeJSON(jsonTestRequest("application/json", strings.NewReader(c.body)), c.limit, &m)
		if c.status == 0 {
			assert.NoError(t, err, "%s (%d bytes, limit %d)", c.name, len(c.body), c.limit)
			assert.Equal(t, "ana", m.Author, "%s: the body is decoded", c.name)
			continue
		}
		jsonTestRequireHTTPError(t, err, c.status, c.name)
	}

	// The limit bounds what is read, not only what is accepted: a client
	// cannot make the server read (or buffer) a body of any size.
	body := &jsonTestCountingReader{}
	var m jsonTestMessage
	err := DecodeJSON(jsonTestRequest("application/json", body), 1000, &m)
	jsonTestRequireHTTPError(t, err, http.StatusRequestEntityTooLarge, "a body of 16 MiB")
	assert.LessOrEqual(t, body.n, int64(10_000), "DecodeJSON with limit 1000 should stop reading a 16 MiB body soon after 1000 bytes")
}

func TestJSONWriteJSONSetsTheContentTypeAndStatus(t *testing.T) {
	exercise.Start(t, "4.2")
	w := httptest.NewRecorder()
	require.NoError(t, WriteJSON(w, http.StatusCreated, jsonTestMessage{Author: "ana", Text: "<hi>"}))
	assert.Equal(t, http.StatusCreated, w.Code, "WriteJSON writes the status it is given")
	mt, _, err := mime.ParseMediaType(w.Header().Get("Content-Type"))
	require.NoError(t, err, "the Content-Type %q", w.Header().Get("Content-Type"))
	assert.Equal(t, "application/json", mt, "the Content-Type")
	assert.JSONEq(t, `{"author":"ana","text":"<hi>"}`, w.Body.String(), "the body is v as JSON")

	// A value that cannot be encoded is an error before anything is
	// written, so that the App can still answer 500.
	w = httptest.NewRecorder()
	assert.Error(t, WriteJSON(w, http.StatusOK, math.Inf(1)), "+Inf is not JSON: WriteJSON should fail")
	assert.Empty(t, w.Body.String(), "when v cannot be encoded, nothing is written")
	assert.Empty(t, w.Header().Get("Content-Type"), "when v cannot be encoded, the response is left untouched")
}

func TestJSONRefusalsReachTheClientThroughTheApp(t *testing.T) {
	exercise.Start(t, "4.2")
	// DecodeJSON's errors are *HTTPError, so a handler just returns them
	// and the App answers with their status; WriteJSON's encoding error is
	// a plain error, a 500.
	logger, _ := appTestNewLog()
	app := NewApp(logger)
	app.Handle("POST /api/messages", func(w http.ResponseWriter, r *http.Request) error {
		var m jsonTestMessage
		if err := DecodeJSON(r, 200, &m); err != nil {
			return err
		}
		return WriteJSON(w, http.StatusCreated, m)
	})
	app.Handle("GET /api/broken", func(w http.ResponseWriter, r *http.Request) error {
		return WriteJSON(w, http.StatusOK, map[string]float64{"x": math.NaN()})
	})

	post := func(contentType, body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		app.ServeHTTP(w, jsonTestRequest(contentType, strings.NewReader(body)))
		return w
	}
	w := post("application/json", `{"author":"ana","text":"hi"}`)
	assert.Equal(t, http.StatusCreated, w.Code, "a good body: the handler's status")
	assert.JSONEq(t, `{"author":"ana","text":"hi"}`, w.Body.String(), "a good body: the handler's answer")

	for _, c := range []struct {
		name, contentType, body string
		status                  int
	}{
		{"text/plain", "text/plain", `{"author":"ana","text":"hi"}`, http.StatusUnsupportedMediaType},
		{"a body over the limit", "application/json", jsonTestBodyOfSize(201), http.StatusRequestEntityTooLarge},
		{"an unknown field", "application/json", `{"author":"ana","text":"hi","x":1}`, http.StatusBadRequest},
	} {
		w := post(c.contentType, c.body)
		assert.Equal(t, c.status, w.Code, "%s: the status", c.name)
		mt, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type"))
		assert.Equal(t, "application/json", mt, "%s: the error is JSON", c.name)
		assert.Contains(t, w.Body.String(), `"error"`, "%s: the body is {\"error\": ...}", c.name)
	}

	w = appTestDo(app, "GET", "/api/broken")
	assert.Equal(t, http.StatusInternalServerError, w.Code, "a value WriteJSON cannot encode is a 500")
	appTestRequireJSONError(t, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes(), "internal server error", "GET /api/broken")
}
