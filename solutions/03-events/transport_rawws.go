package events

import (
	"io"
	"math"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	rawws "github.com/websocket-workbook/workbook/solutions/02-raw-websocket"
)

// rawwsUpgrader runs the event layer on lesson 02's Conn
// (solutions/02-raw-websocket) instead of gorilla/websocket: the proof that
// the hand-written framer carries a real protocol. It is not part of the
// lesson's API (lesson 03 does not build on lesson 02's code): the tests and
// benchmarks choose it with EVENTS_TRANSPORT=rawws, through
// TransportFromEnv. It applies rawws's same-origin rule.
type rawwsUpgrader struct{}

// rawwsCloseTimeout bounds the closing handshake of a rawws Transport, so
// that a peer that does not answer delays Server.Close by at most this.
const rawwsCloseTimeout = time.Second

// Upgrade answers the WebSocket handshake with rawws. On failure rawws has
// already answered the request with an HTTP error.
func (rawwsUpgrader) Upgrade(w http.ResponseWriter, r *http.Request) (Transport, error) {
	var up rawws.Upgrader // CheckOrigin nil: the same-origin rule
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return nil, err
	}
	c.SetCloseTimeout(rawwsCloseTimeout)
	return &rawwsTransport{c: c}, nil
}

// rawwsTransport adapts a *rawws.Conn to Transport.
//
// It enforces the read limit itself, streaming each message through a
// LimitReader, rather than with rawws's SetReadLimit: rawws fails an
// oversized message by closing the TCP connection at once, which resets a
// peer that is still sending it. Here the rest of the message stays unread,
// and Close's closing handshake (close code 1009) drains it first.
type rawwsTransport struct {
	c      *rawws.Conn
	limit  int64       // 0: rawws's default limit
	tooBig atomic.Bool // the last read was over the limit: close with 1009
}

func (t *rawwsTransport) ReadMessage() ([]byte, bool, error) {
	op, r, err := t.c.NextReader()
	if err != nil {
		return nil, false, err
	}
	if t.limit > 0 {
		r = io.LimitReader(r, t.limit+1)
	}
	p, err := io.ReadAll(r)
	if err != nil {
		return nil, false, err
	}
	if t.limit > 0 && int64(len(p)) > t.limit {
		t.tooBig.Store(true)
		return nil, false, errMessageTooBig
	}
	return p, op == rawws.OpBinary, nil
}

func (t *rawwsTransport) WriteMessage(p []byte, binary bool) error {
	op := rawws.OpText
	if binary {
		op = rawws.OpBinary
	}
	return t.c.WriteMessage(op, p)
}

// writeBatch writes the frames of items, in order, with one WriteMessages:
// a single system call for all of them.
func (t *rawwsTransport) writeBatch(items []*outItem) error {
	n := 0
	for _, it := range items {
		n += 1 + len(it.bins)
	}
	msgs := make([]rawws.Message, 0, n)
	for _, it := range items {
		if it.text != nil {
			msgs = append(msgs, rawws.Message{Op: rawws.OpText, Data: it.text})
		}
		for _, b := range it.bins {
			msgs = append(msgs, rawws.Message{Op: rawws.OpBinary, Data: b})
		}
	}
	return t.c.WriteMessages(msgs)
}

// Close runs the closing handshake (at most rawwsCloseTimeout).
func (t *rawwsTransport) Close() error {
	code := rawws.CloseNormal
	if t.tooBig.Load() {
		code = rawws.CloseMessageTooBig
	}
	return t.c.Close(code, "")
}

func (t *rawwsTransport) SetReadDeadline(tm time.Time) error { return t.c.SetReadDeadline(tm) }

// SetReadLimit sets the largest message; a longer one fails the read with
// errMessageTooBig, and Close then sends 1009.
func (t *rawwsTransport) SetReadLimit(n int64) {
	t.limit = n
	t.c.SetReadLimit(math.MaxInt64)
}

// transportEnv is the environment variable TransportFromEnv reads.
const transportEnv = "EVENTS_TRANSPORT"

// TransportFromEnv returns the Upgrader the lesson's tests use:
// rawwsUpgrader{} when EVENTS_TRANSPORT=rawws, GorillaUpgrader{} otherwise.
func TransportFromEnv() Upgrader {
	if os.Getenv(transportEnv) == "rawws" {
		return rawwsUpgrader{}
	}
	return GorillaUpgrader{}
}
