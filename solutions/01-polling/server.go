package polling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// NewMux serves the whole API of the lesson on one handler:
//
//	GET  /messages?since=ID        ShortPollHandler
//	POST /messages                 ShortPollHandler
//	GET  /messages/wait?since=ID   LongPollHandler
//
// It is given; the two handlers it mounts are yours to write.
func NewMux(log *Log, longPollTimeout time.Duration) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/messages", ShortPollHandler(log))
	mux.Handle("/messages/wait", LongPollHandler(log, longPollTimeout))
	return mux
}

// ShortPollHandler serves /messages:
//
//	GET  /messages?since=ID  -> 200 and a Batch of what came after ID, at once
//	POST /messages           -> 201 and the stored Message
//
// since is a non-negative decimal integer; a missing, empty, non-numeric or
// negative since is 400. The POST body is one JSON object,
// {"author": "...", "text": "..."}, with no other fields and nothing after
// it; anything else is 400, and a body over MaxBodyBytes is 413. A message
// the Log refuses is 400. Any other method is 405 with an Allow header.
//
// Every answer is JSON (Content-Type: application/json); every error is
// {"error": "what was wrong"}. A refused request leaves the log unchanged.
func ShortPollHandler(log *Log) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			since, err := parseSince(r)
			if err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			msgs, err := log.Since(since, MaxBatch)
			if err != nil {
				writeLogError(w, err)
				return
			}
			writeBatch(w, since, msgs)
		case http.MethodPost:
			postMessage(w, r, log)
		default:
			methodNotAllowed(w, r, "GET, POST")
		}
	})
}

// LongPollHandler serves GET /messages/wait?since=ID: it holds the request
// until there is a message after ID, then answers 200 with a Batch, as the
// short poll does. When timeout passes first it answers 200 with an empty
// Batch whose cursor is since, and the client simply asks again.
//
// When the client goes away (the request's context is done) the handler
// returns at once, so a waiting request never outlives its client.
// since is checked as in ShortPollHandler (400), and any method but GET is
// 405 with an Allow header.
func LongPollHandler(log *Log, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			methodNotAllowed(w, r, "GET")
			return
		}
		since, err := parseSince(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}

		// One context for every way the wait can end: the client leaving
		// (r.Context() is done) or the timeout passing.
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		msgs, err := log.Wait(ctx, since, MaxBatch)
		switch {
		case err == nil:
		case r.Context().Err() != nil:
			return // the client is gone: there is nobody to answer
		case errors.Is(err, context.DeadlineExceeded):
			msgs = nil // no news: an empty batch, and the client asks again
		default:
			writeLogError(w, err)
			return
		}
		writeBatch(w, since, msgs)
	})
}

// postRequest is the body of POST /messages.
type postRequest struct {
	Author string `json:"author"`
	Text   string `json:"text"`
}

// postMessage decodes one message from the body, stores it and answers 201
// with it. Nothing reaches the log unless the whole body is acceptable.
func postMessage(w http.ResponseWriter, r *http.Request, log *Log) {
	// Bound what one request can make us read; past the limit every Read
	// fails with *http.MaxBytesError and the connection is closed after
	// the answer instead of being drained.
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()

	var in *postRequest // a pointer, so that a body of `null` can be told apart
	if err := dec.Decode(&in); err != nil {
		writeBodyError(w, err)
		return
	}
	if in == nil {
		writeError(w, http.StatusBadRequest, `the body must be a JSON object {"author": "...", "text": "..."}, got null`)
		return
	}
	// Decode stops after the first value; whatever follows it (another
	// object, garbage, or too much whitespace) makes the body wrong.
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if tooBig := new(http.MaxBytesError); errors.As(err, &tooBig) {
			writeTooLarge(w, tooBig)
			return
		}
		writeError(w, http.StatusBadRequest, "the body must hold exactly one JSON object, but something follows it")
		return
	}

	m, err := log.Append(in.Author, in.Text)
	if err != nil {
		writeLogError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

// writeBodyError answers a body that did not decode, saying why.
func writeBodyError(w http.ResponseWriter, err error) {
	var (
		tooBig  *http.MaxBytesError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	const shape = `{"author": "...", "text": "..."}`
	var msg string
	switch {
	case errors.As(err, &tooBig):
		writeTooLarge(w, tooBig)
		return
	case errors.Is(err, io.EOF):
		msg = "the body is empty; send a JSON object " + shape
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "the body ends in the middle of a JSON value"
	case errors.As(err, &syntax):
		msg = fmt.Sprintf("the body is not valid JSON: %v (at byte %d)", syntax, syntax.Offset)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		msg = fmt.Sprintf("the body must be a JSON object %s, got a JSON %s", shape, typeErr.Value)
	case errors.As(err, &typeErr):
		msg = fmt.Sprintf("field %q must be a JSON string, got a JSON %s", typeErr.Field, typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no error type for this one.
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		msg = fmt.Sprintf(`the body has an unknown field %s; only "author" and "text" are allowed`, field)
	default:
		msg = "the body could not be read: " + err.Error()
	}
	writeError(w, http.StatusBadRequest, msg)
}

func writeTooLarge(w http.ResponseWriter, err *http.MaxBytesError) {
	writeError(w, http.StatusRequestEntityTooLarge,
		fmt.Sprintf("the body is larger than %d bytes", err.Limit))
}

// writeLogError answers an error from the Log: bad input is the client's
// fault (400); anything else would be ours (500).
func writeLogError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrEmptyText), errors.Is(err, ErrTooLong),
		errors.Is(err, ErrInvalidUTF8), errors.Is(err, ErrBadCursor):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// parseSince reads the since parameter: exactly one non-negative decimal
// integer that fits in an int64.
func parseSince(r *http.Request) (int64, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, fmt.Errorf("the query string is malformed: %v", err)
	}
	vals, ok := q["since"]
	switch {
	case !ok:
		return 0, errors.New("since is missing: ask for ?since=0 to start from the beginning")
	case len(vals) > 1:
		return 0, fmt.Errorf("since is given %d times; give it once", len(vals))
	case vals[0] == "":
		return 0, errors.New("since is empty: it must be a non-negative integer")
	}
	s := vals[0]
	// ParseInt would also accept a sign ("+5", "-1"); only digits are a
	// cursor.
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("since must be a non-negative integer, got %s", quoteInput(s))
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("since must be a non-negative integer no larger than %d, got %s",
			int64(1<<63-1), quoteInput(s))
	}
	return n, nil
}

// quoteInput quotes a piece of the request for an error message, cut short so
// that an error never grows with the input.
func quoteInput(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(strings.ToValidUTF8(s[:max], "")) + "…"
	}
	return strconv.Quote(s)
}

// writeBatch answers 200 with the messages after since, and the cursor to
// send next time.
func writeBatch(w http.ResponseWriter, since int64, msgs []Message) {
	b := Batch{Messages: msgs, Cursor: since}
	if len(msgs) > 0 {
		b.Cursor = msgs[len(msgs)-1].ID
	} else {
		b.Messages = []Message{} // [] on the wire, never null
	}
	writeJSON(w, http.StatusOK, b)
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	// RFC 9110 §15.5.6: a 405 MUST list the methods that are allowed.
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed,
		fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, r.URL.Path, allow))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeJSON answers with v as JSON. Headers go before WriteHeader: set
// afterwards they would be silently dropped.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
