package login

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Client's HTTP side: one request to the login API and what its
// answer means.

// do sends req and decodes the JSON answer into v when its status is
// want; any other status is an *APIError.
func (c *Client) do(req *http.Request, want int, v any) error {
	op := strings.TrimPrefix(req.URL.Path, "/api/")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s: reading the answer: %w", op, err)
	}
	if resp.StatusCode != want {
		ae := &APIError{Status: resp.StatusCode}
		var e struct {
			Error string `json:"error"`
		}
		if isJSON(resp.Header.Get("Content-Type")) && json.Unmarshal(body, &e) == nil {
			ae.Message = e.Error
		}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			ae.RetryAfter = time.Duration(secs) * time.Second
		}
		return ae
	}
	if v == nil {
		return nil
	}
	if !isJSON(resp.Header.Get("Content-Type")) {
		return fmt.Errorf("%s: the answer is %q, not JSON", op, resp.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: the answer: %w", op, err)
	}
	return nil
}

// isJSON reports whether a Content-Type is JSON.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// An APIError is an answer of the server's API that is not the one asked
// for: its HTTP status and the "error" text of its JSON body.
type APIError struct {
	Status     int
	Message    string
	RetryAfter time.Duration // from Retry-After on 429 Too Many Requests
	// Err is what the answer means in this package's terms, for
	// errors.Is: ErrBadCredentials for a 401 to Login.
	Err error
}

// Error says what the server answered.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.RetryAfter > 0 {
		return fmt.Sprintf("login: server answered %d: %s (retry after %v)", e.Status, msg, e.RetryAfter)
	}
	return fmt.Sprintf("login: server answered %d: %s", e.Status, msg)
}

// Unwrap returns Err.
func (e *APIError) Unwrap() error { return e.Err }
