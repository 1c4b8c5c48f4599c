package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// inboxSize is how many incoming events may wait for a socket's handler
// goroutine. When that many wait the connection's reader waits: a client
// that sends faster than its handlers run is slowed down, not buffered
// without bound.
const inboxSize = 128

// An endpoint is what a server Socket and a Client share: the event
// handlers, the goroutine that runs them in order, and the table of acks
// waited for. Every packet it sends goes to its wire, in namespace nsp.
//
// The handler goroutine runs only while there is work: post starts it when
// it queues onto an empty inbox, and it returns when the inbox is empty
// again, so an idle socket has none. There is never more than one, so the
// handlers still run one at a time, in the order they were posted. After
// end, the last one runs what is queued, then the OnDisconnect functions.
type endpoint struct {
	nsp  string
	w    *wire
	self *Socket         // Event.Socket; nil on a Client
	wg   *sync.WaitGroup // counts the handler goroutines (the Server's); nil on a Client

	done      chan struct{} // closed by end
	loopDone  chan struct{} // closed when the OnDisconnect functions have run
	inHandler atomic.Bool   // the handler goroutine is running a handler

	mu           sync.Mutex
	inbox        []func()      // waiting for the handler goroutine, oldest first
	running      bool          // a handler goroutine is running; only it takes from inbox
	room         chan struct{} // made by a post that waits for room in the inbox, closed when there is
	handlers     map[string]Handler
	onDisconnect []func(reason string)
	acks         map[int64]chan []json.RawMessage
	nextAck      int64
	ended        bool // Emit and post refuse from here on
	finished     bool // done is closed: the handler goroutine may run the OnDisconnect functions
	reason       string

	disconnectsRan bool // the OnDisconnect functions have been taken and run
}

func (e *endpoint) init(nsp string, w *wire, self *Socket) {
	e.nsp, e.w, e.self = nsp, w, self
	e.done = make(chan struct{})
	e.loopDone = make(chan struct{})
	e.handlers = make(map[string]Handler)
	e.acks = make(map[int64]chan []json.RawMessage)
}

func (e *endpoint) on(event string, h Handler) {
	if reserved[event] {
		panic(fmt.Sprintf("events: %q is a reserved event name; use OnDisconnect", event))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if h == nil {
		delete(e.handlers, event)
		return
	}
	e.handlers[event] = h
}

// addOnDisconnect registers fn. Registered after the disconnect functions
// have run, fn runs at once, on the caller's goroutine, with the reason:
// whoever registers late still learns that the endpoint is gone.
func (e *endpoint) addOnDisconnect(fn func(reason string)) {
	e.mu.Lock()
	if e.disconnectsRan {
		reason := e.reason
		e.mu.Unlock()
		e.safely("disconnect", func() { fn(reason) })
		return
	}
	e.onDisconnect = append(e.onDisconnect, fn)
	e.mu.Unlock()
}

func (e *endpoint) connected() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.ended
}

// eventPacket encodes an EVENT of this endpoint's namespace.
func (e *endpoint) eventPacket(event string, id int64, args []any) (Packet, error) {
	if reserved[event] {
		return Packet{}, fmt.Errorf("events: %q is a reserved event name", event)
	}
	data, atts, err := EncodeArgs(event, args...)
	if err != nil {
		return Packet{}, err
	}
	return Packet{Type: PacketEvent, Namespace: e.nsp, ID: id, Data: data, Attachments: atts}, nil
}

func (e *endpoint) emit(event string, args []any) error {
	p, err := e.eventPacket(event, -1, args)
	if err != nil {
		return err
	}
	if !e.connected() {
		return ErrDisconnected
	}
	return e.w.send(messageItem(p))
}

func (e *endpoint) emitWithAck(ctx context.Context, event string, args []any) ([]json.RawMessage, error) {
	p, err := e.eventPacket(event, 0, args)
	if err != nil {
		return nil, err
	}
	ch := make(chan []json.RawMessage, 1)
	e.mu.Lock()
	if e.ended {
		e.mu.Unlock()
		return nil, ErrDisconnected
	}
	p.ID = e.nextAck
	e.nextAck++
	e.acks[p.ID] = ch
	e.mu.Unlock()
	forget := func() {
		e.mu.Lock()
		delete(e.acks, p.ID)
		e.mu.Unlock()
	}
	if err := e.w.send(messageItem(p)); err != nil {
		forget()
		return nil, err
	}
	select {
	case res := <-ch:
		return res, nil
	case <-ctx.Done():
		forget()
		return nil, ctx.Err()
	case <-e.done:
		forget()
		return nil, ErrDisconnected
	}
}

// handleAck delivers an ACK to the EmitWithAck waiting for it; an ACK that
// nobody waits for (any more) is dropped.
func (e *endpoint) handleAck(p *Packet) {
	e.mu.Lock()
	ch := e.acks[p.ID]
	delete(e.acks, p.ID)
	e.mu.Unlock()
	if ch == nil {
		return
	}
	var args []json.RawMessage
	_ = json.Unmarshal(p.Data, &args) // DecodePacket checked it is an array
	ch <- args
}

// dispatch hands an EVENT to the handler goroutine, waiting while the inbox
// is full. A reserved event name from the peer is a malformed packet
// (socket.io-parser refuses it too).
func (e *endpoint) dispatch(p *Packet) error {
	ev, err := e.event(p)
	if err != nil {
		return err
	}
	e.post(func() { e.handle(ev) })
	return nil
}

// event decodes an EVENT for the handlers.
func (e *endpoint) event(p *Packet) (*Event, error) {
	name, args, err := DecodeArgs(p.Data)
	if err != nil {
		return nil, err
	}
	if reserved[name] {
		return nil, badPacket("reserved event name %q", name)
	}
	return &Event{Name: name, Args: args, Socket: e.self, attachments: p.Attachments, ackID: p.ID, ep: e}, nil
}

// post queues fn for the handler goroutine, starting it if it is not
// running. While inboxSize functions wait, post waits for room; it gives
// up (fn never runs) when the endpoint has ended or its wire ends.
func (e *endpoint) post(fn func()) {
	e.mu.Lock()
	for len(e.inbox) >= inboxSize && !e.ended {
		if e.room == nil {
			e.room = make(chan struct{})
		}
		room := e.room
		e.mu.Unlock()
		select {
		case <-room:
		case <-e.done:
		case <-e.w.done:
			return
		}
		e.mu.Lock()
	}
	defer e.mu.Unlock()
	if e.ended {
		return
	}
	e.inbox = append(e.inbox, fn)
	e.startLocked()
}

// startLocked starts the handler goroutine unless it is running; e.mu is
// held.
func (e *endpoint) startLocked() {
	if e.running {
		return
	}
	e.running = true
	if e.wg != nil {
		e.wg.Add(1)
	}
	go e.loop()
}

func (e *endpoint) handle(ev *Event) {
	e.mu.Lock()
	h := e.handlers[ev.Name]
	e.mu.Unlock()
	if h != nil {
		e.safely("event "+ev.Name, func() { h(ev) })
	}
}

// safely runs fn, turning a panic into a log line: one handler's bug does
// not take the server down.
func (e *endpoint) safely(what string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("events: panic in %s handler (namespace %s): %v\n%s", what, e.nsp, r, debug.Stack())
		}
	}()
	fn()
}

// loop is the handler goroutine: it runs the inbox's functions in order
// and returns when the inbox is empty. After end, it runs the OnDisconnect
// functions once the inbox is empty, and no handler goroutine starts again.
func (e *endpoint) loop() {
	if e.wg != nil {
		defer e.wg.Done()
	}
	run := func(fn func()) {
		e.inHandler.Store(true)
		fn()
		e.inHandler.Store(false)
	}
	for {
		e.mu.Lock()
		if len(e.inbox) > 0 {
			fn := e.inbox[0]
			e.inbox[0] = nil
			e.inbox = e.inbox[1:]
			if e.room != nil {
				close(e.room)
				e.room = nil
			}
			e.mu.Unlock()
			run(fn)
			continue
		}
		e.inbox = nil
		if !e.finished {
			e.running = false
			e.mu.Unlock()
			return
		}
		fns, reason := e.onDisconnect, e.reason
		e.onDisconnect, e.disconnectsRan = nil, true
		e.mu.Unlock()
		for _, fn := range fns {
			run(func() { e.safely("disconnect", func() { fn(reason) }) })
		}
		close(e.loopDone)
		return // running stays set: nothing is posted after end
	}
}

// end disconnects the endpoint with reason; it reports whether this call
// did it. EmitWithAck calls waiting return ErrDisconnected.
//
// detach, when not nil, runs after the endpoint is marked ended (Emit
// already refuses) and before the OnDisconnect functions can start: a
// socket leaves its namespace there, so that a disconnect handler never
// finds its own socket still listed. It runs without e.mu held, because
// it takes the namespace's lock, which a broadcast holds while it emits.
func (e *endpoint) end(reason string, detach func()) bool {
	e.mu.Lock()
	if e.ended {
		e.mu.Unlock()
		return false
	}
	e.ended, e.reason = true, reason
	e.mu.Unlock()
	if detach != nil {
		detach()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	close(e.done)
	e.finished = true
	e.startLocked() // to run the OnDisconnect functions
	return true
}

// An Event is one incoming event, as a handler sees it.
type Event struct {
	Name   string
	Args   []json.RawMessage // placeholders not resolved; use Bytes
	Socket *Socket

	attachments [][]byte
	ackID       int64 // -1: no ack asked for
	ep          *endpoint
	acked       atomic.Bool
}

// Decode is json.Unmarshal of Args[i] into v. A missing argument or one that
// does not decode is an error that names the event and the index.
func (e *Event) Decode(i int, v any) error {
	if i < 0 || i >= len(e.Args) {
		return fmt.Errorf("event %q: argument %d is missing (the event has %d)", e.Name, i, len(e.Args))
	}
	if err := json.Unmarshal(e.Args[i], v); err != nil {
		return fmt.Errorf("event %q: argument %d: %w", e.Name, i, err)
	}
	return nil
}

// Bytes returns Args[i] as a binary attachment, if it is one: a placeholder
// {"_placeholder":true,"num":N} with N one of the packet's attachments.
func (e *Event) Bytes(i int) ([]byte, bool) {
	if i < 0 || i >= len(e.Args) {
		return nil, false
	}
	return resolvePlaceholder(e.Args[i], e.attachments)
}
