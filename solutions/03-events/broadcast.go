package events

import "sort"

// A Broadcast is an emit to a set of sockets of one namespace, built by
// Namespace.To, Namespace.Except, Socket.Broadcast and Socket.To and chained:
//
//	ns.To("room1", "room2").Except("muted").Emit("news", item)
//
// The recipients are the sockets in any of the To rooms (every socket of the
// namespace when there are none), minus those in any Except room. Who is in
// a room is decided when Emit runs. A Broadcast is immutable: To and Except
// return a new one, so a value may be kept and reused.
type Broadcast struct {
	ns     *Namespace
	rooms  []string
	except []string
	skip   *Socket // the sender, for Socket.Broadcast and Socket.To
	local  bool    // not given to the namespace's Adapter
}

func (b *Broadcast) clone() *Broadcast {
	c := *b
	c.rooms = append([]string(nil), b.rooms...)
	c.except = append([]string(nil), b.except...)
	return &c
}

// To adds rooms: the recipients are the union of all To rooms.
func (b *Broadcast) To(rooms ...string) *Broadcast {
	c := b.clone()
	c.rooms = append(c.rooms, rooms...)
	return c
}

// Except removes the sockets of rooms from the recipients.
func (b *Broadcast) Except(rooms ...string) *Broadcast {
	c := b.clone()
	c.except = append(c.except, rooms...)
	return c
}

// Emit encodes the event once and queues it to each recipient. It never
// blocks on a slow one: a recipient whose queue is full is disconnected with
// ReasonSendQueueFull, as with Socket.Emit. The error is about the event
// (a reserved name, arguments that do not encode), never about a recipient.
// With an Adapter, the encoded event then goes to the other servers too,
// unless the broadcast is Local.
func (b *Broadcast) Emit(event string, args ...any) error {
	ep := endpoint{nsp: b.ns.name}
	p, err := ep.eventPacket(event, -1, args)
	if err != nil {
		return err
	}
	b.send(p)
	b.forward(p)
	return nil
}

// send queues p to this server's recipients of b.
func (b *Broadcast) send(p Packet) {
	if b.ns.server.rec != nil {
		b.ns.emitLogged(b, p)
		return
	}
	it := messageItem(p)
	to := b.ns.recipients(b)
	it.shared = len(to) > 1
	var idle []*wire // marked by sendShared, for writeShared
	for _, s := range to {
		if s.w.sendShared(it) {
			if idle == nil {
				idle = make([]*wire, 0, len(to))
			}
			idle = append(idle, s.w)
		}
	}
	writeShared(idle)
}

// Join puts the socket in rooms. Rooms exist while they have members. Join
// on a disconnected socket does nothing.
func (s *Socket) Join(rooms ...string) {
	n := s.ns
	n.mu.Lock()
	defer n.mu.Unlock()
	if !s.inRoom {
		return
	}
	for _, r := range rooms {
		n.addToRoom(r, s)
	}
}

// Leave takes the socket out of room. A socket stays in the room of its own
// ID.
func (s *Socket) Leave(room string) {
	if room == s.id {
		return
	}
	n := s.ns
	n.mu.Lock()
	defer n.mu.Unlock()
	n.removeFromRoom(room, s)
}

// Rooms returns the socket's rooms, sorted; it always includes the socket's
// own ID.
func (s *Socket) Rooms() []string {
	n := s.ns
	n.mu.Lock()
	out := make([]string, 0, len(s.rooms)+1)
	hasOwn := false
	for r := range s.rooms {
		out = append(out, r)
		hasOwn = hasOwn || r == s.id
	}
	n.mu.Unlock()
	if !hasOwn {
		out = append(out, s.id)
	}
	sort.Strings(out)
	return out
}

// Broadcast starts a broadcast to everyone in the namespace but s:
// socket.broadcast.emit of socket.io.
func (s *Socket) Broadcast() *Broadcast { return &Broadcast{ns: s.ns, skip: s} }

// To starts a broadcast to the sockets in rooms, except s.
func (s *Socket) To(rooms ...string) *Broadcast {
	return &Broadcast{ns: s.ns, rooms: append([]string(nil), rooms...), skip: s}
}
