package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
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
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	if limit <= 0 {
		limit = MaxJSONBody
	}
	// MaxBytesReader reads at most limit bytes, then fails with
	// *http.MaxBytesError. Given no ResponseWriter it cannot tell the
	// server to close the connection afterwards, but the server drains or
	// closes an unread body itself.
	src := r.Body
	if src == nil {
		src = http.NoBody // a request made by hand, not one a server received
	}
	body := http.MaxBytesReader(nil, src, limit)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonBodyError(err, limit)
	}
	// Decode stops at the end of the first value. Whatever comes after
	// it, another value or garbage, makes the body something other than
	// one JSON value; only white space may follow, which Token skips.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tooLarge(err, limit)
		}
		return &HTTPError{Status: http.StatusBadRequest,
			Message: "the body must hold one JSON value, but something follows it", Err: err}
	}
	return nil
}

// checkJSONContentType accepts application/json with no charset or UTF-8,
// the only one JSON may be sent in (RFC 8259, section 8.1).
func checkJSONContentType(ct string) error {
	if ct == "" {
		return &HTTPError{Status: http.StatusUnsupportedMediaType,
			Message: "the request has no Content-Type; send the body as application/json"}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &HTTPError{Status: http.StatusUnsupportedMediaType,
			Message: fmt.Sprintf("the Content-Type is %s; send the body as application/json", quoteInput(ct))}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &HTTPError{Status: http.StatusUnsupportedMediaType,
			Message: fmt.Sprintf("the body's charset is %s; JSON must be UTF-8", quoteInput(cs))}
	}
	return nil
}

// jsonBodyError turns an error of json.Decoder.Decode into the answer the
// client gets, saying what was wrong with the body.
func jsonBodyError(err error, limit int64) error {
	var (
		tooBig  *http.MaxBytesError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
		invalid *json.InvalidUnmarshalError
	)
	bad := func(format string, args ...any) error {
		return &HTTPError{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...), Err: err}
	}
	switch {
	case errors.As(err, &tooBig):
		return tooLarge(err, limit)
	case errors.As(err, &invalid):
		return err // the caller's bug, not the client's: a 500
	case errors.Is(err, io.EOF):
		return bad("the body is empty; send a JSON value")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bad("the body ends in the middle of a JSON value")
	case errors.As(err, &syntax):
		return bad("the body is not valid JSON: %v (at byte %d)", syntax, syntax.Offset)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return bad("the body is a JSON %s, which is not what this endpoint takes", typeErr.Value)
	case errors.As(err, &typeErr):
		return bad("field %q cannot be a JSON %s", typeErr.Field, typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no error type for this one; the field name
		// comes quoted.
		return bad("the body has an unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return err // the body could not be read: the connection, not the JSON
	}
}

func tooLarge(err error, limit int64) error {
	return &HTTPError{Status: http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("the body is larger than %d bytes", limit), Err: err}
}

// quoteInput quotes a piece of the request for an error message, cut short
// so that an error never grows with the input.
func quoteInput(s string) string {
	const max = 40
	if len(s) > max {
		return fmt.Sprintf("%q…", strings.ToValidUTF8(s[:max], ""))
	}
	return fmt.Sprintf("%q", s)
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
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding the response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}
