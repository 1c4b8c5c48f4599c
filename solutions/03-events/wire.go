package events

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// An outItem is what the writer sends as a unit: one text frame and the
// binary frames of its attachments, which must follow it with nothing in
// between (a plain Engine.IO binary message, EngineSession.Send, is an
// item with no text frame and one binary frame). A broadcast shares one outItem among all its recipients, so it
// is never changed after it is made, but for prep.
type outItem struct {
	text   []byte   // an Engine.IO text packet: "4…" or "2"
	bins   [][]byte // binary frames after it
	final  string   // not "": write nothing, end the wire with this reason (a Client's Close)
	shared bool     // several wires write it: worth encoding once for all (see preparer)

	prepOnce sync.Once
	prep     any // text as the first preparer that wrote it encoded it
}

// messageItem encodes a Socket.IO packet as an outItem: "4" + the packet,
// then one binary frame per attachment.
func messageItem(p Packet) *outItem {
	text := make([]byte, 1, 17+len(p.Namespace)+len(p.Data))
	text[0] = byte(EIOMessage)
	return &outItem{text: appendPacket(text, p), bins: p.Attachments}
}

// pingItem is the Engine.IO ping the server sends every PingInterval.
var pingItem = &outItem{text: []byte{byte(EIOPing)}, shared: true}

// A preparer is a Transport that can encode a text message once for all
// the connections of its kind that send it: a server's frames are not
// masked, so a broadcast's frame is the same for every recipient, and
// only the first writer needs to build it.
type preparer interface {
	prepare(text []byte) any
	// writePrepared writes what prepare returned. It returns false, having
	// written nothing, when p came from another kind of Transport.
	writePrepared(p any) (bool, error)
}

// A batchWriter is a Transport that can write several items in one go:
// their frames, in order, with one system call instead of one each.
type batchWriter interface {
	writeBatch(items []*outItem) error
}

// writeBatch is the most queued items a batchWriter's writer takes at once.
const writeBatch = 64

// keepQueue is the most queue slots a wire keeps while it is idle.
const keepQueue = 8

// A tryWriter is a Transport that can write without ever waiting: it
// writes what the connection takes at once and keeps the rest, which
// flushPending writes later, waiting as long as it takes. A broadcast's
// shared writers (see writeShared) use it, so that a client that does not
// read holds none of them up.
type tryWriter interface {
	// canTryWrite reports whether tryWrite can write at all on this
	// connection (a Client's frames, or a connection without a file
	// descriptor, cannot).
	canTryWrite() bool
	// tryWrite writes items' frames, in order, as far as the connection
	// takes them now, and reports whether it took all of them.
	tryWrite(items []*outItem) (bool, error)
	// flushPending writes what the last tryWrite left, before anything
	// else.
	flushPending() error
}

// A wire is one Transport with the machinery both ends need: a bounded
// queue drained by a writer goroutine, and a shutdown that any goroutine
// may start without blocking. The reader goroutine is the owner's (session
// or Client); it ends the wire by calling finish.
//
// An idle wire costs little: its queue is a slice that grows while items
// wait and is dropped when the writer has emptied it, and the writer
// goroutine runs only while there is something to write. send starts it
// when it queues onto an idle wire; it exits when the queue is empty, and
// the next send starts another. The heartbeat is a timer, not a goroutine:
// when a ping is due it wakes the writer the same way. A broadcast does
// not start a writer for each idle recipient: its shared writers write to
// them, a few goroutines for all (sendShared, writeShared).
type wire struct {
	t     Transport
	limit int           // most items waiting in q; one more cuts the peer off
	done  chan struct{} // closed by shutdown

	mu       sync.Mutex
	q        []*outItem // waiting for the writer, oldest first, from q[head]
	head     int
	writing  bool        // a writer goroutine is running; only it takes from q
	pingDue  bool        // the heartbeat asks the writer for a ping
	ping     *time.Timer // the heartbeat; nil on a Client
	closed   bool
	reason   string
	pongDue  bool           // a ping is out and its pong has not come yet
	writer   sync.WaitGroup // the writer goroutine, for finish
	writeFn  func()         // w.writeLoop, made once: go w.writeLoop() would allocate every time
	resumeFn func()         // w.resume, made once
	tw       tryWriter      // t, if it is one
	final    string         // for resume: the end of the wire, after what tryWrite left
	finished chan struct{}  // closed by finish once the transport is closed

	pingEvery, pongWait time.Duration
}

func newWire(t Transport, queue int) *wire {
	w := &wire{t: t, limit: queue, done: make(chan struct{}), finished: make(chan struct{})}
	w.writeFn, w.resumeFn = w.writeLoop, w.resume
	w.tw, _ = t.(tryWriter)
	return w
}

// startHeartbeat makes the writer send a ping every pingEvery (the
// server's heartbeat). The deadline for the pong is set just before a ping
// is written, to pongWait from then (engine.io-protocol v4, "Heartbeat":
// the pong must come within pingTimeout of the ping), unless an earlier
// ping is still waiting for its pong (see pingSentLocked); the reader moves it
// again when the pong comes.
func (w *wire) startHeartbeat(pingEvery, pongWait time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.pingEvery, w.pongWait = pingEvery, pongWait
	w.ping = time.AfterFunc(pingEvery, w.heartbeat)
}

// heartbeat runs on the ping timer: it asks the writer for a ping and sets
// the timer for the next one.
func (w *wire) heartbeat() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.pingDue = true
	w.wakeLocked()
	w.ping.Reset(w.pingEvery)
}

// wakeLocked starts the writer unless it runs; w.mu is held and the wire
// is open, so finish (which waits for the writer) comes after.
func (w *wire) wakeLocked() {
	if w.writing {
		return
	}
	w.writing = true
	w.writer.Add(1)
	go w.writeFn()
}

// send queues it without blocking. A full queue means the peer does not
// read fast enough: the wire is shut down with ReasonSendQueueFull.
func (w *wire) send(it *outItem) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.roomLocked() {
		return ErrDisconnected
	}
	w.pushLocked(it)
	return nil
}

// roomLocked reports whether one more item may be queued: the wire is
// open, and its queue is not full (else it shuts the wire down).
func (w *wire) roomLocked() bool {
	if w.closed {
		return false
	}
	if len(w.q)-w.head >= w.limit {
		w.shutdownLocked(ReasonSendQueueFull)
		return false
	}
	return true
}

// sendShared is send for one recipient of a broadcast. When the wire is
// idle and its transport can try writes (tryWriter), no writer goroutine
// is started for it: the wire is marked as writing, and sendShared
// reports true; the caller must then pass the wire to writeShared.
func (w *wire) sendShared(it *outItem) bool {
	try := w.tw != nil && w.tw.canTryWrite()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.roomLocked() {
		return false
	}
	if !try || w.writing {
		w.pushLocked(it)
		return false
	}
	w.appendLocked(it)
	w.writing = true
	w.writer.Add(1)
	return true
}

// sharedPerWriter is how many idle recipients of a broadcast one of its
// shared writers takes on. Starting a goroutine costs about what a small
// write does; with one for every 16 recipients that cost is a few percent
// of the writes, and a large room's broadcast still runs on every core.
const sharedPerWriter = 16

// tryRounds is how many times a shared writer writes one wire's queue
// before it leaves the wire to a goroutine of its own: a wire that keeps
// getting items must not keep a shared writer from the others.
const tryRounds = 4

// writeShared writes a broadcast to its idle recipients, the wires that
// sendShared marked: one goroutine for every sharedPerWriter of them
// instead of one each. They share the list, each taking the next wire
// until none is left, and write with tryWrite, which never waits: a wire
// whose connection does not take all at once (its client reads slowly,
// or not at all) gets a writer goroutine of its own, which writes the
// rest, waiting as the writer always does, while the shared writers go on
// to the next wire.
func writeShared(ws []*wire) {
	if len(ws) == 0 {
		return
	}
	next := new(atomic.Int64)
	for range (len(ws) + sharedPerWriter - 1) / sharedPerWriter {
		go sharedWriter(ws, next)
	}
}

// sharedWriter is one of writeShared's goroutines.
func sharedWriter(ws []*wire, next *atomic.Int64) {
	arr := batchArrays.Get().(*[writeBatch]*outItem)
	defer batchArrays.Put(arr)
	for {
		i := next.Add(1) - 1
		if i >= int64(len(ws)) {
			return
		}
		ws[i].writeTried(arr)
		clear(arr[:])
	}
}

// writeTried is a shared writer's work on w: what is queued, written by
// writeSome with tryWrite. It ends when the queue is empty (w is
// idle again), when the connection took less than all (w's own writer
// goroutine, resume, writes the rest and goes on), or after tryRounds
// rounds (w's own writer goes on).
func (w *wire) writeTried(arr *[writeBatch]*outItem) {
	for range tryRounds {
		goOn, left := w.writeSome(arr[:0], w.tw.tryWrite)
		switch {
		case left:
			go w.resumeFn()
			return
		case !goOn:
			w.writer.Done()
			return
		}
	}
	go w.writeFn()
}

// resume is a wire's own writer goroutine, started by a shared writer
// that left part of a write: it writes that part, then goes on as
// writeLoop does.
func (w *wire) resume() {
	if err := w.tw.flushPending(); err != nil {
		w.shutdown(ReasonTransportClose)
		w.writer.Done()
		return
	}
	if f := w.final; f != "" {
		w.final = ""
		w.shutdown(f)
		w.writer.Done()
		return
	}
	w.writeLoop()
}

// endAfter queues items and, after them, the end of the wire with reason:
// the writer writes what was queued before, then items, then ends the wire.
// A Client's Close ends after its DISCONNECT, Server.Close after what each
// session had queued. When the queue has no room, the wire ends at once.
func (w *wire) endAfter(reason string, items ...*outItem) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if len(w.q)-w.head+len(items)+1 > w.limit {
		w.shutdownLocked(reason)
		return
	}
	w.pushLocked(append(items, &outItem{final: reason})...)
}

// pushLocked appends items to the queue and wakes the writer. When the
// array is full it first moves the waiting items to its front, so that it
// grows with the items waiting, not with all those ever sent.
func (w *wire) pushLocked(items ...*outItem) {
	w.appendLocked(items...)
	w.wakeLocked()
}

// appendLocked is pushLocked without the wake.
func (w *wire) appendLocked(items ...*outItem) {
	if w.head > 0 && len(w.q)+len(items) > cap(w.q) {
		n := copy(w.q, w.q[w.head:])
		clear(w.q[n:])
		w.q, w.head = w.q[:n], 0
	}
	w.q = append(w.q, items...)
}

// shutdown ends the wire with reason, unless it has ended already; it
// reports whether this call did it. It never blocks: it closes done (the
// writer stops before its next item) and wakes the reader with a read
// deadline in the past; the reader then closes the transport (finish).
func (w *wire) shutdown(reason string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.shutdownLocked(reason)
}

func (w *wire) shutdownLocked(reason string) bool {
	if w.closed {
		return false
	}
	w.closed, w.reason = true, reason
	close(w.done)
	if w.ping != nil {
		w.ping.Stop()
	}
	w.q, w.head = nil, 0
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

// pingSentLocked starts the wait for a pong: the reader's deadline becomes
// pongWait from now. While an earlier ping is still unanswered the deadline
// stays where that ping set it, so a client that stops answering is caught
// pongWait after the first unanswered ping, even when pongWait is longer
// than the ping interval. w.mu is held.
func (w *wire) pingSentLocked() {
	if !w.closed && !w.pongDue {
		w.pongDue = true
		_ = w.t.SetReadDeadline(time.Now().Add(w.pongWait))
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

// finish closes the transport (a write in progress fails) and waits for
// the writer goroutine to return; the reader calls it when it is done,
// after the wire was shut down.
func (w *wire) finish() {
	if rc, ok := w.t.(ReasonCloser); ok {
		_ = rc.CloseWithReason(w.closeReason())
	} else {
		_ = w.t.Close()
	}
	w.writer.Wait()
	close(w.finished)
}

// writeLoop is the writer goroutine: it writes queued items in order, with
// a ping first whenever the heartbeat asks for one, and returns when there
// is nothing left to write, the wire is shut down or a write fails. On a
// batchWriter it takes up to writeBatch items at a time and writes them
// together.
func (w *wire) writeLoop() {
	defer w.writer.Done()
	if bw, ok := w.t.(batchWriter); ok {
		arr := batchArrays.Get().(*[writeBatch]*outItem)
		defer batchArrays.Put(arr)
		write := func(batch []*outItem) (bool, error) {
			if len(batch) > 1 {
				return true, bw.writeBatch(batch)
			}
			return true, w.write(batch[0])
		}
		for {
			goOn, _ := w.writeSome(arr[:0], write)
			clear(arr[:])
			if !goOn {
				return
			}
		}
	}
	// One item at a time, taken into an array of one on this goroutine's
	// stack.
	var one [1]*outItem
	for {
		batch := w.take(one[:0], 1)
		if len(batch) == 0 {
			return
		}
		it := batch[0]
		one[0] = nil
		if it.final != "" {
			w.shutdown(it.final)
			return
		}
		if err := w.write(it); err != nil {
			w.shutdown(ReasonTransportClose)
			return
		}
	}
}

// batchArrays lends batch writers the array they take items into, which
// would otherwise be allocated each time a writer starts.
var batchArrays = sync.Pool{New: func() any { return new([writeBatch]*outItem) }}

// writeSome takes what to write next into batch (as many items as it has
// room for) and writes it with write, which reports whether it wrote all.
// It reports whether the writer should go on, and whether write left part
// of the batch (then the transport holds it, for flushPending, and w.final
// the end of the wire that must follow it, if any).
func (w *wire) writeSome(batch []*outItem, write func([]*outItem) (bool, error)) (goOn, left bool) {
	batch = w.take(batch, cap(batch))
	if len(batch) == 0 {
		return false, false
	}
	final := ""
	if last := batch[len(batch)-1]; last.final != "" {
		final, batch = last.final, batch[:len(batch)-1]
	}
	all := true
	var err error
	if len(batch) > 0 {
		all, err = write(batch)
	}
	switch {
	case err != nil:
		w.shutdown(ReasonTransportClose)
		return false, false
	case !all:
		w.final = final
		return false, true
	case final != "":
		w.shutdown(final)
		return false, false
	}
	return true, false
}

// take appends to batch what to write next, at most most items: a ping if
// one is due, then the oldest queued items, up to and including an item
// that ends the wire. With nothing to write, or once the wire is shut
// down, it returns batch empty, and the writer goroutine ends (w.writing
// is cleared under the same lock that send checks it with, so an item
// queued after this always finds a writer).
func (w *wire) take(batch []*outItem, most int) []*outItem {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.writing = false
		return batch
	}
	if w.pingDue {
		w.pingDue = false
		w.pingSentLocked()
		batch = append(batch, pingItem)
	}
	for len(batch) < most && w.head < len(w.q) {
		it := w.q[w.head]
		w.q[w.head] = nil
		w.head++
		batch = append(batch, it)
		if it.final != "" {
			break
		}
	}
	if w.head == len(w.q) {
		// Empty: keep a small array for the next item, drop a large one,
		// so that an idle wire holds at most keepQueue slots.
		if cap(w.q) > keepQueue {
			w.q = nil
		}
		w.q, w.head = w.q[:0], 0
	}
	if len(batch) == 0 {
		w.writing = false
	}
	return batch
}

// write sends one item: its text frame, then its binary frames. A shared
// item's text frame is encoded once, by the first preparer that writes it.
func (w *wire) write(it *outItem) error {
	done := false
	if pr, ok := w.t.(preparer); ok && it.shared {
		it.prepOnce.Do(func() { it.prep = pr.prepare(it.text) })
		var err error
		if done, err = pr.writePrepared(it.prep); err != nil {
			return err
		}
	}
	if done {
		return writeBins(w.t, it)
	}
	return writeItem(w.t, it)
}

// writeItem writes an item's frames on t one message at a time: its text
// frame, then its binary frames.
func writeItem(t Transport, it *outItem) error {
	if it.text != nil {
		if err := t.WriteMessage(it.text, false); err != nil {
			return err
		}
	}
	return writeBins(t, it)
}

// writeBins writes an item's binary frames on t, one message each.
func writeBins(t Transport, it *outItem) error {
	for _, b := range it.bins {
		if err := t.WriteMessage(b, true); err != nil {
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
