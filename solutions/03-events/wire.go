package events

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// An outItem is what the writer sends as a unit: one text frame and the
// binary frames of its attachments, which must follow it with nothing in
// between. A broadcast shares one outItem among all its recipients, so it
// is never changed after it is made.
type outItem struct {
	text  []byte   // an Engine.IO text packet: "4…" or "2"
	bins  [][]byte // binary frames after it
	final string   // not "": write nothing, end the wire with this reason (a Client's Close)
}

// messageItem encodes a Socket.IO packet as an outItem: "4" + the packet,
// then one binary frame per attachment.
func messageItem(p Packet) *outItem {
	text := make([]byte, 1, 17+len(p.Namespace)+len(p.Data))
	text[0] = byte(EIOMessage)
	return &outItem{text: appendPacket(text, p), bins: p.Attachments}
}

// pingItem is the Engine.IO ping the server sends every PingInterval.
var pingItem = &outItem{text: []byte{byte(EIOPing)}}

// writeBatch is how many queued items the writer takes before it looks at
// its timers again.
const writeBatch = 64

// A wire is one Transport with the machinery both ends need: a bounded
// queue drained by one writer goroutine, and a shutdown that any goroutine
// may start without blocking. The reader goroutine is the owner's (session
// or Client); it ends the wire by calling finish.
type wire struct {
	t    Transport
	out  chan *outItem
	done chan struct{} // closed by shutdown

	mu       sync.Mutex
	closed   bool
	reason   string
	pongDue  bool          // a ping is out and its pong has not come yet
	finished chan struct{} // closed by finish once the transport is closed
}

func newWire(t Transport, queue int) *wire {
	return &wire{t: t, out: make(chan *outItem, queue), done: make(chan struct{}), finished: make(chan struct{})}
}

// send queues it without blocking. A full queue means the peer does not
// read fast enough: the wire is shut down with ReasonSendQueueFull.
func (w *wire) send(it *outItem) error {
	select {
	case <-w.done:
		return ErrDisconnected
	default:
	}
	select {
	case w.out <- it:
		return nil
	default:
		w.shutdown(ReasonSendQueueFull)
		return ErrDisconnected
	}
}

// shutdown ends the wire with reason, unless it has ended already; it
// reports whether this call did it. It never blocks: it closes done (the
// writer stops) and wakes the reader with a read deadline in the past; the
// reader then closes the transport (finish).
func (w *wire) shutdown(reason string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.closed, w.reason = true, reason
	close(w.done)
	_ = w.t.SetReadDeadline(time.Now())
	return true
}

// closeReason is the reason the wire was shut down with, "" while open.
func (w *wire) closeReason() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reason
}

// extendRead sets the reader's deadline to d from now, unless the wire is
// shut down (then the deadline that wakes the reader must stay).
func (w *wire) extendRead(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		_ = w.t.SetReadDeadline(time.Now().Add(d))
	}
}

// pingSent starts the wait for a pong: the reader's deadline becomes
// pongWait from now. While an earlier ping is still unanswered the deadline
// stays where that ping set it, so a client that stops answering is caught
// pongWait after the first unanswered ping, even when pongWait is longer
// than the ping interval.
func (w *wire) pingSent(pongWait time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed && !w.pongDue {
		w.pongDue = true
		_ = w.t.SetReadDeadline(time.Now().Add(pongWait))
	}
}

// pongReceived ends the wait for a pong: the next ping is due within the
// ping interval, and its pong within the timeout after that, so the
// reader's deadline becomes heartbeat (interval + timeout) from now.
func (w *wire) pongReceived(heartbeat time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pongDue = false
	if !w.closed {
		_ = w.t.SetReadDeadline(time.Now().Add(heartbeat))
	}
}

// readFailed shuts the wire down after the reader's error and returns the
// reason: the wire's own if it was shut down already, else one derived from
// the error.
func (w *wire) readFailed(err error) string {
	reason := ReasonTransportClose
	var ne net.Error
	switch {
	case errors.Is(err, errMessageTooBig), errors.Is(err, ErrBadPacket):
		reason = ReasonTransportError
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		reason = ReasonPingTimeout
	}
	w.shutdown(reason)
	return w.closeReason()
}

// finish closes the transport; the reader calls it when it is done.
func (w *wire) finish() {
	_ = w.t.Close()
	close(w.finished)
}

// writeLoop is the writer goroutine: it writes queued items in order, and
// a ping every pingEvery when that is not zero (the server's heartbeat).
// It returns when the wire is shut down or a write fails.
//
// The deadline for the pong is set just before a ping is written, to
// pongWait from then (engine.io-protocol v4, "Heartbeat": the pong must come
// within pingTimeout of the ping), unless an earlier ping is still waiting
// for its pong (see pingSent); the reader moves it again when the pong
// comes.
func (w *wire) writeLoop(pingEvery, pongWait time.Duration) {
	var tick <-chan time.Time
	if pingEvery > 0 {
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		var it *outItem
		select {
		case <-w.done:
			return
		case <-tick:
			it = pingItem
		case it = <-w.out:
		}
		// Write this item and whatever else is queued already, up to a
		// batch, before looking at the timers and done again.
		for n := 0; ; n++ {
			if it.final != "" {
				w.shutdown(it.final)
				return
			}
			if it == pingItem {
				w.pingSent(pongWait)
			}
			if err := w.write(it); err != nil {
				w.shutdown(ReasonTransportClose)
				return
			}
			if n == writeBatch {
				break
			}
			next, ok := w.next()
			if !ok {
				break
			}
			it = next
		}
	}
}

// next returns a queued item, if there is one, without waiting.
func (w *wire) next() (*outItem, bool) {
	select {
	case it := <-w.out:
		return it, true
	default:
		return nil, false
	}
}

// write sends one item: its text frame, then its binary frames.
func (w *wire) write(it *outItem) error {
	if err := w.t.WriteMessage(it.text, false); err != nil {
		return err
	}
	for _, b := range it.bins {
		if err := w.t.WriteMessage(b, true); err != nil {
			return err
		}
	}
	return nil
}

// An assembler collects the binary attachments that follow a BINARY_EVENT
// or BINARY_ACK (socket.io-protocol v5, "Packet format", binary).
type assembler struct {
	pending *Packet
	need    int
}

// packet turns one Engine.IO MESSAGE into a Socket.IO packet: a text frame
// is decoded (and may announce attachments to come), a binary frame is the
// next attachment. It returns a nil packet while one still waits for its
// attachments.
func (a *assembler) packet(ep EIOPacket) (*Packet, error) {
	if ep.Binary {
		return a.binary(ep.Data)
	}
	pkt, n, err := DecodePacket(ep.Data)
	if err != nil {
		return nil, err
	}
	return a.text(pkt, n)
}

// text takes a decoded text packet; it returns the packet when it is
// complete (no attachments).
func (a *assembler) text(p Packet, n int) (*Packet, error) {
	if a.pending != nil {
		return nil, badPacket("text packet while %d attachments are missing", a.need-len(a.pending.Attachments))
	}
	if n == 0 {
		return &p, nil
	}
	p.Attachments = make([][]byte, 0, n)
	a.pending, a.need = &p, n
	return nil, nil
}

// binary takes one attachment; it returns the packet once all have come.
func (a *assembler) binary(b []byte) (*Packet, error) {
	if a.pending == nil {
		return nil, badPacket("binary frame without a binary packet")
	}
	a.pending.Attachments = append(a.pending.Attachments, b)
	if len(a.pending.Attachments) < a.need {
		return nil, nil
	}
	p := a.pending
	a.pending, a.need = nil, 0
	return p, nil
}
