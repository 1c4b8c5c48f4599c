package events

import "github.com/websocket-workbook/workbook/internal/exercise"

// A Broadcast is an emit to a set of sockets of one namespace, built by
// Namespace.To, Namespace.Except, Socket.Broadcast and Socket.To and chained:
//
//	ns.To("room1", "room2").Except("muted").Emit("news", item)
//
// The recipients are the sockets in any of the To rooms (every socket of the
// namespace when there are none), minus those in any Except room. Who is in
// a room is decided when Emit runs.
type Broadcast struct {
	ns     *Namespace
	rooms  []string
	except []string
	local  bool // not given to the namespace's Adapter
}

// To adds rooms: the recipients are the union of all To rooms.
func (b *Broadcast) To(rooms ...string) *Broadcast {
	_ = exercise.TODO("3.5")
	return b
}

// Except removes the sockets of rooms from the recipients.
func (b *Broadcast) Except(rooms ...string) *Broadcast {
	_ = exercise.TODO("3.5")
	return b
}

// Emit encodes the event once and queues it to each recipient. It never
// blocks on a slow one: a recipient whose queue is full is disconnected with
// ReasonSendQueueFull, as with Socket.Emit. With an Adapter, the encoded
// event then goes to the other servers too, unless the broadcast is Local.
func (b *Broadcast) Emit(event string, args ...any) error {
	return exercise.TODO("3.5")
}

// Join puts the socket in rooms. Rooms exist while they have members.
func (s *Socket) Join(rooms ...string) {
	_ = exercise.TODO("3.5")
}

// Leave takes the socket out of room.
func (s *Socket) Leave(room string) {
	_ = exercise.TODO("3.5")
}

// Rooms returns the socket's rooms, sorted; it always includes the socket's
// own ID.
func (s *Socket) Rooms() []string {
	_ = exercise.TODO("3.5")
	return nil
}

// Broadcast starts a broadcast to everyone in the namespace but s:
// socket.broadcast.emit of socket.io.
func (s *Socket) Broadcast() *Broadcast {
	_ = exercise.TODO("3.5")
	return &Broadcast{ns: s.ns}
}

// To starts a broadcast to the sockets in rooms, except s.
func (s *Socket) To(rooms ...string) *Broadcast {
	_ = exercise.TODO("3.5")
	return &Broadcast{ns: s.ns}
}
