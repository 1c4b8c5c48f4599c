package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// The HTTP long-polling transport (engine.io-protocol v4, "HTTP
// long-polling").
//
// The event layer reads and writes one packet at a time and expects to wait
// when there is nothing to read. Over long-polling there is no connection
// to wait on: packets for the client wait in an outbox until a GET comes
// and takes them all, and packets from the client arrive in the bodies of
// POSTs, which an inbox hands to the reader one at a time. Both are
// bounded, so a client that neither polls nor stops posting cannot make
// the server hold more than about two payloads for it:
//
//   - the outbox holds at most MaxPayload bytes (more only for a single
//     bigger packet); a write beyond that waits for the next GET, so the
//     session's send queue fills up behind it and, in the end, cuts off a
//     client that does not poll (events.ReasonSendQueueFull);
//   - a POST waits until the reader has taken the previous one's packets,
//     and only one POST at a time reads its body, at most MaxPayload bytes.
//
// After an upgrade (upgrade.go) the same pollTransport forwards reads and
// writes to the WebSocket, so the session moves without noticing.

// closeLinger is how long a session that the server ended while no GET was
// waiting stays known, so that the client's next poll learns why: it gets
// what was still queued and the close packet "1", where it would otherwise
// get "Session ID unknown". A session that the client closed, broke (a bad
// packet, a second GET, a cancelled poll) or let time out is forgotten at
// once, and its next request gets 400: the client either knows already or
// is gone.
//
// The protocol leaves this choice open; the reference server, engine.io,
// makes the same one (its socket is deleted when it closes on an error or
// a ping timeout, while a close of the server's waits for the next poll),
// and the official test suite checks it. engine.io waits up to 30 s for
// that poll; 5 s is plenty, since a polling client is back within a round
// trip, and it bounds what a server that ends many sessions at once keeps.
const closeLinger = 5 * time.Second

var (
	closeFrame = Frame{Data: []byte{byte(events.EIOClose)}}
	noopFrame  = Frame{Data: []byte{byte(events.EIONoop)}}
)

// What the reader gets when a request ends the session. Those that break
// the protocol wrap events.ErrBadPacket: the session then ends with
// events.ReasonTransportError, as engine.io's does.
var (
	errPollOverlap = fmt.Errorf("%w: a second GET while one is waiting", events.ErrBadPacket)
	errPayloadSize = fmt.Errorf("%w: POST body over the size limit", events.ErrBadPacket)
	errRequestGone = errors.New("long-polling request ended before it was answered")
)

// pollTransport is an events.Transport over HTTP long-polling, which can
// later switch to a WebSocket.
type pollTransport struct {
	e *Engine

	// wmu orders the writes to the WebSocket: the writer's, and the
	// upgrade's flush of the outbox, which must come first.
	wmu sync.Mutex

	mu      sync.Mutex
	changed chan struct{} // closed (and replaced) whenever the fields below change
	sid     string
	limit   int       // MaxPayload: a POST body; the outbox (soft)
	outbox  []Frame   // written, not yet polled
	outSize int       // encoded bytes in outbox
	inbox   []Frame   // posted, not yet read
	polling bool      // a GET is waiting
	posting bool      // a POST is reading its body or handing it over
	err     error     // what ends the session: the reader returns it
	closed  bool      // Close was called: the session is over
	linger  bool      // the server ended it: known until a GET tells the client (closeLinger)
	byPeer  bool      // the client posted the close packet "1"
	told    bool      // a GET has sent the close packet: the client knows
	polled  time.Time // when the last GET was answered

	// The upgrade (upgrade.go).
	probing   bool             // an upgrade is under way
	probe     events.Transport // its WebSocket, once the handshake is done
	upgrading bool             // the probe is answered: polls are answered with a noop
	ws        events.Transport // the session's transport since the upgrade

	// The read deadline, as net.Conn's: expired is closed once it passes.
	deadline time.Time
	timer    *time.Timer
	expired  chan struct{}
}

func newPollTransport(e *Engine) *pollTransport {
	return &pollTransport{
		e:       e,
		changed: make(chan struct{}),
		limit:   e.eopt.MaxPayload,
		expired: make(chan struct{}),
	}
}

// notifyLocked wakes every goroutine waiting for a change.
func (t *pollTransport) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// waitLocked waits for a change or for ctx, with t.mu held on entry and on
// return; false means ctx is done.
func (t *pollTransport) waitLocked(ctx context.Context) bool {
	ch := t.changed
	t.mu.Unlock()
	defer t.mu.Lock()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// fail ends the session from the HTTP side: the reader returns err.
func (t *pollTransport) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil && !t.closed {
		t.err = err
		t.notifyLocked()
	}
}

// ReadMessage returns the next posted packet (a text frame with its type
// digit, or a binary frame), waiting for a POST if there is none; after the
// upgrade it reads from the WebSocket.
func (t *pollTransport) ReadMessage() ([]byte, bool, error) {
	t.mu.Lock()
	for {
		select {
		case <-t.expired: // as net.Conn: a passed deadline wins over data
			t.mu.Unlock()
			return nil, false, os.ErrDeadlineExceeded
		default:
		}
		switch {
		case t.err != nil:
			err := t.err
			t.mu.Unlock()
			return nil, false, err
		case len(t.inbox) > 0:
			f := t.inbox[0]
			t.inbox[0] = Frame{}
			t.inbox = t.inbox[1:]
			if len(t.inbox) == 0 {
				t.inbox = nil
				t.notifyLocked() // the next POST may hand its packets over
			}
			t.mu.Unlock()
			return f.Data, f.Binary, nil
		case t.ws != nil:
			// Whatever was posted before the upgrade has been read.
			ws := t.ws
			t.mu.Unlock()
			return ws.ReadMessage()
		case t.closed:
			t.mu.Unlock()
			return nil, false, net.ErrClosed
		}
		ch, expired := t.changed, t.expired
		t.mu.Unlock()
		select {
		case <-ch:
		case <-expired:
		}
		t.mu.Lock()
	}
}

// WriteMessage queues one packet for the next poll, waiting while the
// outbox is full; after the upgrade it writes to the WebSocket.
func (t *pollTransport) WriteMessage(p []byte, binary bool) error {
	size := 1 + len(p)
	if binary {
		size = 2 + base64EncodedLen(len(p))
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.mu.Lock()
	for {
		switch {
		case t.closed:
			t.mu.Unlock()
			return net.ErrClosed
		case t.ws != nil:
			ws := t.ws
			t.mu.Unlock()
			return ws.WriteMessage(p, binary)
		case !binary && bytes.IndexByte(p, recordSeparator) >= 0:
			t.mu.Unlock()
			return errors.New("long-polling: a text packet contains the record separator 0x1e")
		case t.outSize == 0 || t.outSize+size <= t.limit:
			t.outbox = append(t.outbox, Frame{Data: bytes.Clone(p), Binary: binary})
			t.outSize += size
			t.notifyLocked()
			t.mu.Unlock()
			return nil
		}
		// Full: wait for a poll (or the upgrade, or the end) without
		// holding wmu, which the upgrade needs.
		ch := t.changed
		t.mu.Unlock()
		t.wmu.Unlock()
		<-ch
		t.wmu.Lock()
		t.mu.Lock()
	}
}

// takeOutboxLocked empties the outbox and returns what it held.
func (t *pollTransport) takeOutboxLocked() []Frame {
	frames := t.outbox
	t.outbox, t.outSize = nil, 0
	t.notifyLocked() // a writer may be waiting for room
	return frames
}

// Close ends the transport as the server's own close would: it is
// CloseWithReason(events.ReasonServerDisconnect).
func (t *pollTransport) Close() error { return t.CloseWithReason(events.ReasonServerDisconnect) }

// CloseWithReason ends the transport; the session's reader calls it once
// the session is over, with why (events.ReasonCloser). After the upgrade it
// closes the WebSocket. Before it, what the client's next GET gets depends
// on who ended the session:
//
//   - the client, with the close packet "1": a GET waiting gets a noop "6"
//     (the client knows; the poll only has to end), and so does one that
//     comes within closeWait (the client sent it before its close, but it
//     took longer on the way); then the session is forgotten;
//   - the client, by breaking the protocol or letting the heartbeat time
//     out: a GET waiting gets the close packet, and the session is
//     forgotten at once;
//   - the server (a shutdown, a disconnect, the connect timeout): a GET
//     waiting gets what is queued and the close packet "1"; with none
//     waiting, the next GET within closeLinger gets them, and Close waits a
//     little for it (awaitTold).
func (t *pollTransport) CloseWithReason(reason string) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.linger = t.err == nil && !t.byPeer && reason != events.ReasonPingTimeout
	t.inbox = nil
	if t.timer != nil && t.timer.Stop() {
		t.timer = nil // (one that has fired must stay: SetReadDeadline waits for its function)
	}
	if t.probe != nil {
		_ = t.probe.SetReadDeadline(time.Now()) // the upgrade gives up
	}
	ws, linger, byPeer := t.ws, t.linger, t.byPeer
	t.notifyLocked()
	t.mu.Unlock()
	switch {
	case ws != nil:
		t.e.forget(t)
		return ws.Close()
	case byPeer:
		// A GET the client sent just before its close may reach the
		// server after it: for closeWait it still ends with a noop.
		time.AfterFunc(closeWait, func() { t.e.forget(t) })
		return nil
	case !linger:
		t.e.forget(t)
		return nil
	}
	time.AfterFunc(closeLinger, func() { t.e.forget(t) })
	t.awaitTold()
	return nil
}

// closeWait bounds how long Close waits for the close packet to be polled.
const closeWait = time.Second

// awaitTold waits until a GET has sent the close packet, at most
// closeWait. The session's reader calls Close, and events.Server.Close
// waits for the reader: so a server that shuts down keeps its listener open
// until each polling client has read why its session ended. Without the
// wait the client's next poll could find the listener closed, and
// socket.io-client would report "transport error" instead of the clean
// "transport close" a WebSocket client gets.
//
// Only a client that is polling is waited for: one with a GET waiting, or
// answered within closeWait. A client that broke the protocol (t.err) gets
// a 400 on its next request anyway, and one that stopped polling (a ping
// timeout) is gone.
func (t *pollTransport) awaitTold() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.awaitToldLocked(context.Background())
}

// awaitToldLocked is awaitTold with t.mu held, for a request whose answer
// must not overtake the close packet; it gives up early when ctx ends.
func (t *pollTransport) awaitToldLocked(ctx context.Context) {
	if t.told || !t.linger || !t.polling && time.Since(t.polled) > closeWait {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, closeWait)
	defer cancel()
	for !t.told && t.waitLocked(ctx) {
	}
}

// SetReadDeadline makes ReadMessage fail with os.ErrDeadlineExceeded (a
// net.Error whose Timeout is true) once tm has passed; the session sets it
// for the heartbeat (no pong within PingTimeout: "ping timeout") and to a
// past time to stop its reader.
func (t *pollTransport) SetReadDeadline(tm time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil && !t.timer.Stop() {
		<-t.expired // the timer has fired: its function closes expired
	}
	t.timer = nil
	t.deadline = tm
	fired := isClosed(t.expired)
	switch d := time.Until(tm); {
	case tm.IsZero() || d > 0:
		if fired {
			t.expired = make(chan struct{})
		}
		if !tm.IsZero() {
			expired := t.expired
			t.timer = time.AfterFunc(d, func() { close(expired) })
		}
	case !fired:
		close(t.expired)
	}
	if t.ws != nil {
		return t.ws.SetReadDeadline(tm)
	}
	return nil
}

// SetReadLimit is the largest POST body and the outbox's bound; the Server
// sets it to MaxPayload. It also applies to the WebSocket after the upgrade.
func (t *pollTransport) SetReadLimit(n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.limit = int(min(n, 1<<40))
	if rl, ok := t.ws.(interface{ SetReadLimit(int64) }); ok {
		rl.SetReadLimit(n)
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// servePoll answers a GET: everything queued, waiting until something is
// (engine.io-protocol v4, "Receiving data"). A session that is over gets
// what was left and the close packet "1" (a noop "6" if the client closed
// it); a session that is upgrading gets a noop "6", so that the client can
// pause polling; a second GET while one waits breaks the protocol: 400 code
// 3, and the session ends, as engine.io ends it. After the upgrade, and
// once the session has failed, a GET is refused with 400.
func (t *pollTransport) servePoll(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	if t.upgrading && !t.polling {
		t.awaitSwitchLocked(r.Context())
	}
	switch {
	case t.ws != nil:
		t.mu.Unlock()
		engineError(w, codeBadRequest)
		return
	case t.err != nil:
		// The session is ending: its reader has not closed it yet.
		t.mu.Unlock()
		engineError(w, codeUnknownSID)
		return
	case t.polling:
		t.mu.Unlock()
		t.fail(errPollOverlap)
		engineError(w, codeBadRequest)
		return
	}
	t.polling = true
	var frames []Frame
	final := false
	for {
		if t.closed && t.byPeer {
			frames, final = []Frame{noopFrame}, true // the client knows: end its poll
			break
		}
		if t.closed {
			frames, final = append(t.takeOutboxLocked(), closeFrame), true
			break
		}
		if len(t.outbox) > 0 {
			frames = t.takeOutboxLocked()
			break
		}
		if t.ws != nil || t.upgrading {
			frames = []Frame{noopFrame}
			break
		}
		if !t.waitLocked(r.Context()) {
			// The client went away with its poll unanswered.
			t.polling = false
			t.notifyLocked()
			t.mu.Unlock()
			t.fail(errRequestGone)
			return
		}
	}
	t.polling = false
	t.polled = time.Now()
	t.notifyLocked()
	t.mu.Unlock()
	body := EncodePayload(frames)
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	if final {
		// The close packet (or, after the client's own close, the noop)
		// is on its way: now a refused POST, or the listener closing, can
		// no longer overtake it (see awaitTold), and the sid is done.
		_ = http.NewResponseController(w).Flush()
		t.mu.Lock()
		t.told = true
		t.notifyLocked()
		t.mu.Unlock()
		t.e.forget(t)
	}
}

// serveData takes a POST: its body is a payload of packets for the server
// (engine.io-protocol v4, "Sending data"), at most MaxPayload bytes (413
// otherwise). The packets go to the session's reader in order and the
// answer is "ok". A body too big or malformed ends the session, and none of
// its packets is read.
func (t *pollTransport) serveData(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t.mu.Lock()
	for t.posting && !t.closed && t.ws == nil {
		if !t.waitLocked(ctx) {
			t.mu.Unlock()
			return
		}
	}
	if code, refused := t.refusePostLocked(ctx); refused {
		t.mu.Unlock()
		engineError(w, code)
		return
	}
	t.posting = true
	limit := t.limit
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.posting = false
		t.notifyLocked()
		t.mu.Unlock()
	}()

	if r.ContentLength > int64(limit) {
		t.fail(errPayloadSize)
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	if err != nil {
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			t.fail(errPayloadSize)
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return
		}
		t.fail(errRequestGone)
		engineError(w, codeBadRequest)
		return
	}
	frames, err := DecodePayload(body)
	if err != nil {
		t.fail(err)
		engineError(w, codeBadRequest)
		return
	}

	t.mu.Lock()
	for len(t.inbox) > 0 && t.err == nil && !t.closed && t.ws == nil {
		if !t.waitLocked(ctx) {
			t.mu.Unlock()
			t.fail(errRequestGone)
			return
		}
	}
	if code, refused := t.refusePostLocked(ctx); refused {
		t.mu.Unlock()
		engineError(w, code)
		return
	}
	t.inbox = frames
	t.byPeer = t.byPeer || hasClosePacket(frames)
	t.notifyLocked()
	t.mu.Unlock()

	h := w.Header()
	h.Set("Content-Type", "text/html") // as engine.io: text/plain makes some browsers offer a download
	h.Set("Content-Length", "2")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
}

// refusePostLocked says whether a POST can no longer be taken, and with
// which code: the session is over (1), has moved to the WebSocket or is
// failing (3).
//
// A POST refused because the session is over waits first, as Close does
// (awaitTold), until a GET has sent the close packet. socket.io-client
// reads a refused POST as a transport error, and the close packet as the
// server's clean close, "transport close"; whichever it reads first is the
// reason its application sees. So the close packet goes first, as it does
// on a WebSocket, and the refusal, read after it, is ignored.
func (t *pollTransport) refusePostLocked(ctx context.Context) (code int, refused bool) {
	if t.closed && t.ws == nil {
		t.awaitToldLocked(ctx)
	}
	switch {
	case t.closed:
		return codeUnknownSID, true
	case t.ws != nil, t.err != nil:
		return codeBadRequest, true
	}
	return 0, false
}

// hasClosePacket reports whether frames hold the close packet "1".
func hasClosePacket(frames []Frame) bool {
	for _, f := range frames {
		if !f.Binary && len(f.Data) == 1 && f.Data[0] == byte(events.EIOClose) {
			return true
		}
	}
	return false
}

// base64EncodedLen is the length of n bytes in padded base64.
func base64EncodedLen(n int) int { return (n + 2) / 3 * 4 }
