package events

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// This file is given: it is not an exercise.

// A Transport is one WebSocket connection as the event layer sees it: whole
// messages in, whole messages out. The event layer reads from one goroutine
// and writes from one goroutine, so an implementation needs no locking of its
// own for ReadMessage and WriteMessage; Close and SetReadDeadline may be
// called from any goroutine.
//
// A Transport may also have a method SetReadLimit(n int64): the Server calls
// it with Options.MaxPayload, so that an oversized message fails the read
// before it is buffered.
type Transport interface {
	// ReadMessage returns the next message and whether it was binary.
	ReadMessage() (p []byte, binary bool, err error)
	// WriteMessage sends one text or binary message.
	WriteMessage(p []byte, binary bool) error
	// Close ends the connection (with a close frame where it can); a
	// blocked write returns an error. It is called by the reader goroutine
	// once it has stopped reading.
	Close() error
	// SetReadDeadline makes reads fail after t; the zero time means never.
	SetReadDeadline(t time.Time) error
}

// A ReasonCloser is a Transport that is told why its session ended: the
// session calls CloseWithReason, with one of the Reason constants, instead
// of Close. Lesson 04's long-polling transport is one. A client that polls
// has no connection to be closed, so the transport decides what the
// client's next request gets: a session the server ended stays known until
// that poll has carried the close packet, and one that the client closed,
// broke or let time out is forgotten at once (engine.io does the same).
type ReasonCloser interface {
	Transport
	CloseWithReason(reason string) error
}

// errMessageTooBig is what a Transport's ReadMessage returns (wrapped) for a
// message over its read limit: the Server then ends the session with
// ReasonTransportError rather than ReasonTransportClose.
var errMessageTooBig = errors.New("events: message over the read limit")

// An Upgrader turns an HTTP request into a Transport. GorillaUpgrader is the default.
type Upgrader interface {
	Upgrade(w http.ResponseWriter, r *http.Request) (Transport, error)
}

// GorillaUpgrader upgrades with github.com/gorilla/websocket. CheckOrigin, as
// in gorilla's Upgrader, decides which origins may connect; nil means
// gorilla's default: no Origin header, or one whose host is the request's
// Host.
type GorillaUpgrader struct{ CheckOrigin func(r *http.Request) bool }

// By default gorilla keeps net/http's two 4 KiB buffers of the upgraded
// connection for as long as it lives, 8 KiB per connection that an idle
// one does not use. The upgrader here gives each connection a smaller read
// buffer of its own (a message longer than it is read past it), and lends
// it a write buffer from a pool only while it writes a message.
const gorillaReadBuffer = 1024

var gorillaWriteBuffers sync.Pool

// Upgrade answers the WebSocket handshake. On failure gorilla has already
// answered the request with an HTTP error.
func (u GorillaUpgrader) Upgrade(w http.ResponseWriter, r *http.Request) (Transport, error) {
	up := websocket.Upgrader{
		CheckOrigin:     u.CheckOrigin,
		ReadBufferSize:  gorillaReadBuffer,
		WriteBufferPool: &gorillaWriteBuffers,
	}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return nil, err
	}
	t := &gorillaTransport{c: c}
	t.serverFrames()
	return t, nil
}

// gorillaTransport adapts a *websocket.Conn to Transport. On the server
// side it writes its frames itself (see transport_frames.go).
type gorillaTransport struct {
	c      *websocket.Conn
	out    *frameOut // the server side's writes; nil on a Client's
	tooBig bool      // the reader stopped at a message over the limit; set before Close

	// What the last tryWrite left, for flushPending (the writer's alone):
	// the frames not written, with frameOut's token held when part of a
	// frame is out, and the batchBufs buffer they are in, if any.
	pending     net.Buffers
	pendingHeld bool
	pendingBuf  *[]byte
}

func (t *gorillaTransport) ReadMessage() ([]byte, bool, error) {
	typ, p, err := t.c.ReadMessage()
	if errors.Is(err, websocket.ErrReadLimit) {
		t.tooBig = true
		err = errors.Join(errMessageTooBig, err)
	}
	return p, typ == websocket.BinaryMessage, err
}

func (t *gorillaTransport) WriteMessage(p []byte, binary bool) error {
	if t.out != nil {
		op := byte(opText)
		if binary {
			op = opBinary
		}
		return t.out.writeFrame(op, p)
	}
	typ := websocket.TextMessage
	if binary {
		typ = websocket.BinaryMessage
	}
	return t.c.WriteMessage(typ, p)
}

// lingerTime bounds how long Close drains what the peer still sends.
const lingerTime = time.Second

// Close sends a close frame (1000, best effort: at most one second) and
// closes the TCP connection. Either may happen while the writer writes: on
// the server side the close frame waits for the writer's turn on the
// connection to end, and gorilla allows WriteControl concurrently with the
// one writer.
//
// After a message over the read limit (gorilla has sent 1009), the peer may
// still be sending the rest of it, and closing a TCP connection with unread
// data resets it: the peer's write fails and it may lose what it had not
// read yet. So Close then shuts down the sending half, reads and drops what
// comes until the peer closes its end (at most lingerTime), and only then
// closes the connection. Close is called after the last ReadMessage.
func (t *gorillaTransport) Close() error {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if t.out != nil {
		_ = t.out.control(opClose, msg)
	} else {
		_ = t.c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(controlWait))
	}
	if tcp, ok := t.c.NetConn().(*net.TCPConn); ok && t.tooBig {
		_ = tcp.CloseWrite()
		_ = tcp.SetReadDeadline(time.Now().Add(lingerTime))
		_, _ = io.Copy(io.Discard, tcp)
	}
	return t.c.Close()
}

func (t *gorillaTransport) SetReadDeadline(tm time.Time) error { return t.c.SetReadDeadline(tm) }

// SetReadLimit makes a longer message fail the read (gorilla answers it with
// close 1009).
func (t *gorillaTransport) SetReadLimit(n int64) { t.c.SetReadLimit(n) }
