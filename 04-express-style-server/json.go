package server

import (
	"net/http"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// MaxJSONBody is the largest request body DecodeJSON reads when it is given
// no limit of its own: 1 MiB, ten times what Express's express.json()
// accepts by default ("100kb").
const MaxJSONBody = 1 << 20

// DecodeJSON reads the body of r, one JSON value, into v, which must be a
// non-nil pointer. It is the Go for what express.json() does before a
// handler runs, but called by the handler, with the type it wants:
//
//	var in struct {
//		Author string `json:"author"`
//		Text   string `json:"text"`
//	}
//	if err := server.DecodeJSON(r, server.MaxJSONBody, &in); err != nil {
//		return err // an *HTTPError: the App answers it
//	}
//
// It is strict, because a body it half understands is a bug waiting to
// happen. It refuses, with an *HTTPError whose message says what was wrong:
//
//   - a Content-Type other than application/json (parameters aside; a
//     charset must be UTF-8): 415 Unsupported Media Type. Requiring it is
//     also a defence: a cross-site HTML form can post text/plain or
//     form data, but not application/json without a CORS preflight.
//   - a body longer than limit bytes (limit <= 0 means MaxJSONBody): 413
//     Content Too Large. A body of exactly limit bytes is fine. DecodeJSON
//     stops reading at the limit, so a huge body costs no memory.
//   - an empty body, malformed JSON, a value of the wrong type for v, a
//     field v does not have, or anything but white space after the value:
//     400 Bad Request.
//
// A JSON null leaves v as it was; decode into a pointer to tell it apart.
// An error that is not the client's, such as a v that is not a pointer or a
// body that cannot be read, is returned as it is, and the App answers 500.
func DecodeJSON(r *http.Request, limit int64, v any) error {
	return exercise.TODO("4.2")
}

// WriteJSON answers with status and v encoded as JSON, Content-Type
// application/json: Express's res.status(status).json(v).
//
// v is encoded before anything is written, so when it cannot be (a channel,
// a NaN, a MarshalJSON that fails) WriteJSON returns the error with the
// response untouched, and a HandlerFunc that returns it gets a clean 500
// from the App. An error from writing (the client went away) is returned
// too; by then the response has begun and the App only logs it.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	return exercise.TODO("4.2")
}
