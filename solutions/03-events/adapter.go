package events

import "sort"

// An Adapter connects one namespace of this server to the same namespace on
// the other servers of a cluster, so that a broadcast made on any of them
// reaches the clients of all. It is socket.io's adapter, cut down to the
// part that crosses between processes: who is in which room stays in the
// Namespace, where the in-memory default keeps it, and costs nothing extra.
//
// Options.Adapter makes one for each namespace, as the namespace is
// created. From then on the Namespace calls Broadcast for every broadcast
// that is not Local, right after queueing it to its own recipients; the
// adapter publishes it, and on every other server hands it to
// Namespace.Deliver, which queues it to that server's recipients and never
// to its adapter (a delivered broadcast is not sent on again).
//
// An Adapter's methods are called from many goroutines at once (every
// handler may broadcast), often while the namespace's own work waits on
// them: they must not block. An adapter that publishes over a network
// queues and returns, and says what it could not publish.
type Adapter interface {
	// Broadcast sends m to the other servers. m's slices are not changed
	// afterwards, and must not be changed by the adapter.
	Broadcast(m BroadcastMessage)
	// Close is called once, by Server.Close, after every session ended.
	Close() error
}

// A BroadcastMessage is a broadcast as it travels between the servers of a
// cluster: the EVENT packet, encoded once, and who it is for.
type BroadcastMessage struct {
	Packet Packet   // the EVENT; Packet.Namespace is the namespace's name
	Rooms  []string // the sockets in any of these rooms; every socket when empty
	Except []string // minus the sockets in any of these (a sender is excluded by the room of its own ID)
}

// Local makes the broadcast stay on this server: it is not given to the
// namespace's Adapter (socket.io's io.local.emit). Without an Adapter every
// broadcast is local.
func (b *Broadcast) Local() *Broadcast {
	c := b.clone()
	c.local = true
	return c
}

// Sockets returns the sockets of this server the broadcast would reach if
// it were emitted now, in no particular order. It is what an adapter asks
// when another server wants to know who is here (socket.io's fetchSockets,
// socketsJoin and disconnectSockets are built on it).
func (b *Broadcast) Sockets() []*Socket { return b.ns.recipients(b) }

// Deliver queues m to this server's sockets that m is for, as Broadcast.Emit
// does, and does not give it to the Adapter: it is how an adapter hands on
// a broadcast that another server made. m.Packet must be an EVENT of this
// namespace (a packet for another namespace is dropped).
func (n *Namespace) Deliver(m BroadcastMessage) {
	if m.Packet.Namespace != n.name {
		return
	}
	b := &Broadcast{ns: n, rooms: m.Rooms, except: m.Except, local: true}
	b.send(m.Packet)
}

// Rooms returns the rooms that have members on this server, sorted. Each
// socket's own ID is a room too.
func (n *Namespace) Rooms() []string {
	n.mu.Lock()
	out := make([]string, 0, len(n.rooms))
	for r := range n.rooms {
		out = append(out, r)
	}
	n.mu.Unlock()
	sort.Strings(out)
	return out
}

// HasRoom reports whether room has members on this server: an adapter
// asks it before it decodes a broadcast for one room, which a server with
// nobody in that room can drop unread.
func (n *Namespace) HasRoom(room string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.rooms[room]) > 0
}

// forward gives a broadcast that was just queued locally to the namespace's
// Adapter, unless there is none or the broadcast is Local. The sender of a
// Socket.Broadcast travels as an Except room, its own ID, so that the
// other servers need not know it.
func (b *Broadcast) forward(p Packet) {
	a := b.ns.adapter
	if a == nil || b.local {
		return
	}
	except := b.except
	if b.skip != nil {
		except = append(append(make([]string, 0, len(except)+1), except...), b.skip.id)
	}
	a.Broadcast(BroadcastMessage{Packet: p, Rooms: b.rooms, Except: except})
}
