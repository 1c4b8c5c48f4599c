package events

import (
	"container/list"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RecoveryOptions turns on connection state recovery, socket.io's
// connectionStateRecovery (socket.io 4.6 and later): a client whose
// connection drops and that comes back within MaxDisconnectionDuration gets
// its old socket back, with the same ID, the same rooms and the same
// Handshake.Data, and the packets it missed meanwhile. Socket.Recovered
// tells a connection handler which case it has.
//
// # On the wire
//
// With recovery on, the CONNECT answer carries a private session ID, pid,
// beside the socket's ID; the client keeps it and never shows it:
//
//	← 40{"sid":"fT3…","pid":"Qm9…"}
//
// Every EVENT the server sends without asking for an ack, whether to one
// socket or broadcast, gets one more argument, last: its offset, a string
// that orders it in the Server's log.
//
//	← 42["message-saved",{"success":true},"k3Vd9a.2s"]
//
// socket.io-client remembers the last string argument of every event as
// its offset (it leaves the argument in place: a handler that counts its
// arguments sees one more). When it reconnects, it puts both in its
// CONNECT's auth. The server sends what the client missed, oldest first,
// and then the answer, with the same pid when the session was recovered:
//
//	→ 40{"token":"t","pid":"Qm9…","offset":"k3Vd9a.2s"}
//	← 42["message-saved",{"success":true},"k3Vd9a.2t"]   missed while away
//	← 40{"sid":"fT3…","pid":"Qm9…"}
//
// That is socket.io's order: socket.io-client holds the events that come
// before the answer, and hands them to its listeners just before
// "connect"; so does Client. What is broadcast after that follows. A
// client that had received nothing yet sends only its pid, and gets
// everything since it first connected.
//
// # What is kept, and for how long
//
// A socket is kept when its connection was lost (ReasonTransportClose,
// ReasonTransportError, ReasonPingTimeout): not when either side ended it
// on purpose, not when it was cut off for reading too slowly (it would
// fall behind again), and not at Server.Close, after which nobody could
// reconnect to this Server. The log holds the packets sent in all
// namespaces, each with where it went (its rooms, except rooms and
// sender), so that a kept session's missed packets are picked out when its
// client comes back. Both are bounded (the defaults in brackets):
//
//   - a kept session expires MaxDisconnectionDuration after its connection
//     was lost [2 minutes], and so does a packet after it was sent;
//   - at most MaxSessions sessions are kept [10,000]; past that, the oldest
//     goes;
//   - the log holds at most BufferPackets packets [10,000] and
//     BufferBytes bytes [16 MiB], for all namespaces together; past that,
//     the oldest go;
//   - a session that missed more than MaxMissed packets [1,000] or
//     MaxMissedBytes bytes [1 MiB] is not recovered: the replay must fit
//     in the socket's send queue, and a client that far behind is better
//     served by a fresh start (lesson 04's chat reloads its history).
//
// A session that is unknown (a forged pid, another Server's, one already
// recovered), expired, or whose packets the log no longer has all of,
// gets a fresh socket: the client sees a plain connect with a new ID and
// Socket.Recovered false, never an error.
//
// # One process
//
// The store is in the Server's memory: the client must come back to the
// same process. With several servers behind a load balancer that takes
// sticky sessions, and a restart loses every kept session (the clients
// get fresh ones). Sharing the servers' broadcasts through Redis pub/sub,
// as @socket.io/redis-adapter does, does not change that: pub/sub keeps
// no message, so no other node could replay what a client missed. In
// socket.io, only adapters that store the packets (the Redis Streams and
// MongoDB adapters) recover across nodes.
//
// # Middleware
//
// Middleware runs on a recovering connection as on any other, unless
// SkipMiddlewares is set (socket.io's skipMiddlewares, which there is true
// by default): a token that was revoked while the client was away must
// not get the session back. A refused recovery loses the session.
type RecoveryOptions struct {
	MaxDisconnectionDuration time.Duration // default 2m
	SkipMiddlewares          bool          // recovered connections skip Use's middleware
	MaxMissed                int           // default 1,000; at most Options.SendQueue - 16
	MaxMissedBytes           int           // default 1 MiB
	BufferPackets            int           // default 10,000
	BufferBytes              int           // default 16 MiB
	MaxSessions              int           // default 10,000
}

// Defaults of RecoveryOptions.
const (
	DefaultMaxDisconnectionDuration = 2 * time.Minute
	DefaultMaxMissed                = 1000
	DefaultMaxMissedBytes           = 1 << 20
	DefaultBufferPackets            = 10_000
	DefaultBufferBytes              = 16 << 20
	DefaultMaxSessions              = 10_000
)

// RecoveryStats is what Server.RecoveryStats reports.
type RecoveryStats struct {
	Sessions  int    // disconnected sessions kept for their clients
	Packets   int    // packets in the log
	Bytes     int    // their size, frames and attachments
	Recovered uint64 // connections that recovered their session, since NewServer
	Fresh     uint64 // connections that asked to recover and got a fresh socket
}

// RecoveryStats reports the state of connection state recovery; all zero
// when Options.Recovery is nil.
func (s *Server) RecoveryStats() RecoveryStats {
	if s.rec == nil {
		return RecoveryStats{}
	}
	return s.rec.stats()
}

// Recovered reports whether the socket is a recovered session: the same ID,
// rooms and Handshake.Data as before its connection dropped, and the
// packets it missed are on their way (see RecoveryOptions).
func (s *Socket) Recovered() bool { return s.recovered }

// recoverable are the reasons after which a socket is kept for its client.
var recoverable = map[string]bool{
	ReasonTransportClose: true,
	ReasonTransportError: true,
	ReasonPingTimeout:    true,
}

// recovery is a Server's log of packets and its kept sessions. Its lock
// is taken inside a namespace's: a packet is logged, given its offset and
// queued to its recipients under the namespace's lock, so that every
// socket's queue holds the packets of its namespace in offset order, and
// the offset a client last saw says exactly which it has.
type recovery struct {
	opts  RecoveryOptions
	epoch string        // prefix of every offset: an earlier Server's offsets are not ours
	every time.Duration // how often the sweep looks for what expired

	mu        sync.Mutex
	seq       uint64   // the last offset given
	log       []logged // oldest first, offsets consecutive
	bytes     int
	kept      map[string]*list.Element // by pid
	order     *list.List               // of *keptSession, oldest disconnection first
	sweep     *time.Timer              // set while there is something to expire
	closed    bool
	recovered uint64
	fresh     uint64
}

// A logged packet: its item, as every recipient got it, and where it went.
type logged struct {
	seq    uint64
	nsp    string
	rooms  []string // a Broadcast's: never changed after it is made
	except []string
	skip   string // a sender left out (Socket.Broadcast); "" for none
	item   *outItem
	size   int
	at     time.Time
}

// A keptSession is a disconnected socket waiting for its client.
type keptSession struct {
	pid, id, nsp string
	rooms        map[string]struct{}
	data         any
	at           time.Time // when its connection was lost
	from         uint64    // the client has every packet up to this offset; set by take
	joined       uint64    // the last offset given when the socket was added
}

func newRecovery(o RecoveryOptions, sendQueue int) *recovery {
	if o.MaxDisconnectionDuration <= 0 {
		o.MaxDisconnectionDuration = DefaultMaxDisconnectionDuration
	}
	if o.MaxMissed <= 0 {
		o.MaxMissed = DefaultMaxMissed
	}
	o.MaxMissed = max(min(o.MaxMissed, sendQueue-16), 1)
	if o.MaxMissedBytes <= 0 {
		o.MaxMissedBytes = DefaultMaxMissedBytes
	}
	if o.BufferPackets <= 0 {
		o.BufferPackets = DefaultBufferPackets
	}
	if o.BufferBytes <= 0 {
		o.BufferBytes = DefaultBufferBytes
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	return &recovery{
		opts:  o,
		epoch: newID()[:8],
		every: max(o.MaxDisconnectionDuration/2, 10*time.Millisecond),
		kept:  make(map[string]*list.Element),
		order: list.New(),
	}
}

// record gives p its offset, logs it as going to rooms minus except and
// skip, and returns the item to queue. The namespace's lock is held.
func (r *recovery) record(nsp string, rooms, except []string, skip string, p Packet) *outItem {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	p.Data = appendOffset(p.Data, r.offset(r.seq))
	it := messageItem(p)
	if r.closed {
		return it
	}
	size := len(it.text)
	for _, b := range it.bins {
		size += len(b)
	}
	now := time.Now()
	r.log = append(r.log, logged{seq: r.seq, nsp: nsp, rooms: rooms, except: except, skip: skip, item: it, size: size, at: now})
	r.bytes += size
	r.trimLocked(now)
	r.armLocked()
	return it
}

// appendOffset returns data, a JSON array, with offset as its last
// element, in a new array (data may be shared).
func appendOffset(data json.RawMessage, offset string) json.RawMessage {
	out := make(json.RawMessage, 0, len(data)+len(offset)+3)
	out = append(out, data[:len(data)-1]...)
	out = append(out, ',', '"')
	out = append(out, offset...) // base64url and base 36: nothing to escape
	return append(out, '"', ']')
}

// offset is the text of offset seq: the epoch, a dot, seq in base 36.
func (r *recovery) offset(seq uint64) string {
	return r.epoch + "." + strconv.FormatUint(seq, 36)
}

// parseOffset is the inverse of offset; ok is false for another Server's
// offset, or text that is none.
func (r *recovery) parseOffset(s string) (seq uint64, ok bool) {
	rest, ok := strings.CutPrefix(s, r.epoch+".")
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseUint(rest, 36, 64)
	return seq, err == nil
}

// current is the last offset given; the namespace's lock is held by the
// caller who needs it to mean "everything after this is still to come".
func (r *recovery) current() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq
}

// keep stores a socket whose connection was lost; the namespace's lock is
// held (the socket has just left it).
func (r *recovery) keep(ks *keptSession) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if old := r.kept[ks.pid]; old != nil {
		r.order.Remove(old)
	}
	r.kept[ks.pid] = r.order.PushBack(ks)
	for r.order.Len() > r.opts.MaxSessions {
		r.dropLocked(r.order.Front())
	}
	r.trimLocked(ks.at)
	r.armLocked()
}

// take hands out the kept session pid of namespace nsp if it can be
// recovered from offset (the client's; "" when it had received nothing),
// and forgets it either way: a session is tried once. nil means a fresh
// socket.
func (r *recovery) take(nsp, pid, offset string) *keptSession {
	r.mu.Lock()
	defer r.mu.Unlock()
	ks := r.takeLocked(nsp, pid, offset)
	if ks == nil {
		r.fresh++
	}
	return ks
}

func (r *recovery) takeLocked(nsp, pid, offset string) *keptSession {
	el := r.kept[pid]
	if el == nil {
		return nil
	}
	ks := el.Value.(*keptSession)
	r.dropLocked(el)
	if ks.nsp != nsp || time.Since(ks.at) > r.opts.MaxDisconnectionDuration {
		return nil
	}
	ks.from = ks.joined
	if offset != "" {
		seq, ok := r.parseOffset(offset)
		if !ok || seq < ks.joined {
			return nil
		}
		ks.from = seq
	}
	if _, ok := r.missedLocked(ks); !ok {
		return nil
	}
	return ks
}

// missed returns the packets ks has missed, oldest first, or false when
// they cannot all be had (the log lost some, or there are more than the
// caps allow). The namespace's lock is held: nothing is logged for it
// meanwhile, so the list is complete until the socket is back in it.
func (r *recovery) missed(ks *keptSession) ([]*outItem, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	items, ok := r.missedLocked(ks)
	if ok {
		r.recovered++
	} else {
		r.fresh++
	}
	return items, ok
}

func (r *recovery) missedLocked(ks *keptSession) ([]*outItem, bool) {
	first := r.seq + 1
	if len(r.log) > 0 {
		first = r.log[0].seq
	}
	if ks.from > r.seq || ks.from+1 < first {
		return nil, false // an offset from the future, or the log has lost what came after it
	}
	var items []*outItem
	bytes := 0
	for i := int(ks.from + 1 - first); i < len(r.log); i++ {
		e := &r.log[i]
		if e.nsp != ks.nsp || !ks.wants(e) {
			continue
		}
		bytes += e.size
		if len(items) == r.opts.MaxMissed || bytes > r.opts.MaxMissedBytes {
			return nil, false
		}
		items = append(items, e.item)
	}
	return items, true
}

// wants reports whether e went to the socket ks was: socket.io-adapter's
// rule, in any To room (or no To rooms) and in no Except room.
func (ks *keptSession) wants(e *logged) bool {
	if e.skip == ks.id {
		return false
	}
	for _, room := range e.except {
		if _, in := ks.rooms[room]; in {
			return false
		}
	}
	if len(e.rooms) == 0 {
		return true
	}
	for _, room := range e.rooms {
		if _, in := ks.rooms[room]; in {
			return true
		}
	}
	return false
}

func (r *recovery) dropLocked(el *list.Element) {
	ks := r.order.Remove(el).(*keptSession)
	delete(r.kept, ks.pid)
}

// trimLocked drops the expired sessions and packets, and the oldest
// packets while the log is over its caps.
func (r *recovery) trimLocked(now time.Time) {
	limit := r.opts.MaxDisconnectionDuration
	for el := r.order.Front(); el != nil && now.Sub(el.Value.(*keptSession).at) > limit; el = r.order.Front() {
		r.dropLocked(el)
	}
	n := 0
	for n < len(r.log) && (len(r.log)-n > r.opts.BufferPackets || r.bytes > r.opts.BufferBytes || now.Sub(r.log[n].at) > limit) {
		r.bytes -= r.log[n].size
		r.log[n] = logged{}
		n++
	}
	r.log = r.log[n:]
	if len(r.log) == 0 {
		r.log = nil // let the array go
	}
}

// armLocked starts the sweep when there is something that will expire.
func (r *recovery) armLocked() {
	if r.sweep != nil || r.closed || (len(r.log) == 0 && r.order.Len() == 0) {
		return
	}
	r.sweep = time.AfterFunc(r.every, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.sweep = nil
		r.trimLocked(time.Now())
		r.armLocked()
	})
}

// close forgets everything (Server.Close): no client can come back to it.
func (r *recovery) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.sweep != nil {
		r.sweep.Stop()
		r.sweep = nil
	}
	r.log, r.bytes = nil, 0
	r.kept = make(map[string]*list.Element)
	r.order.Init()
}

func (r *recovery) stats() RecoveryStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RecoveryStats{Sessions: r.order.Len(), Packets: len(r.log), Bytes: r.bytes, Recovered: r.recovered, Fresh: r.fresh}
}

// recoveryAuth finds pid and offset in a CONNECT's auth. ok is false when
// the client does not ask to recover: no pid, or either not a string.
func recoveryAuth(auth json.RawMessage) (pid, offset string, ok bool) {
	if jsonKind(auth) != '{' {
		return "", "", false
	}
	var fields struct {
		PID    json.RawMessage `json:"pid"`
		Offset json.RawMessage `json:"offset"`
	}
	if json.Unmarshal(auth, &fields) != nil || jsonKind(fields.PID) != '"' {
		return "", "", false
	}
	if json.Unmarshal(fields.PID, &pid) != nil || pid == "" {
		return "", "", false
	}
	if fields.Offset != nil && (jsonKind(fields.Offset) != '"' || json.Unmarshal(fields.Offset, &offset) != nil) {
		return "", "", false
	}
	return pid, offset, true
}
