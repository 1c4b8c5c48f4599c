package scaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// A Namespace is the cluster side of one namespace: the events.Adapter that
// publishes its broadcasts, and the requests socket.io makes across servers
// (fetchSockets, socketsJoin, socketsLeave, disconnectSockets,
// serverSideEmit, allRooms). Cluster.Of returns it.
type Namespace struct {
	c    *Cluster
	ns   *events.Namespace
	name string

	broadcast, request, response string // channels

	mu       sync.Mutex
	handlers map[string][]ServerHandler
}

// The request types of @socket.io/redis-adapter (its RequestType enum).
const (
	reqSockets          = 0
	reqAllRooms         = 1
	reqRemoteJoin       = 2
	reqRemoteLeave      = 3
	reqRemoteDisconnect = 4
	reqRemoteFetch      = 5
	reqServerSideEmit   = 6
	reqBroadcast        = 7 // a broadcast with acknowledgements
)

// Broadcast publishes a broadcast this server made (events.Adapter). A
// broadcast to exactly one room goes on that room's channel, as the Node
// adapter does, so that a server with nobody in it can ignore it unread.
func (n *Namespace) Broadcast(m events.BroadcastMessage) {
	payload, err := EncodeBroadcast(n.c.uid, m)
	if err != nil {
		n.c.stats.dropped.Add(1)
		n.c.log.warn("encode", "could not encode a broadcast for Redis", "err", err)
		return
	}
	channel := n.broadcast
	if len(m.Rooms) == 1 {
		channel = RoomChannel(n.c.opts.Key, n.name, m.Rooms[0])
	}
	n.c.publish(channel, payload)
}

// Close is called by events.Server.Close. The subscriptions stay until the
// Cluster closes: it is the Cluster that owns the Redis connections.
func (n *Namespace) Close() error { return nil }

// onBroadcast delivers what another server broadcast.
func (n *Namespace) onBroadcast(channel string, payload []byte) {
	if room := channelRoom(n.broadcast, channel); room != "" && !n.ns.HasRoom(room) {
		return // nobody here is in the room: no need to decode it
	}
	b, err := DecodeBroadcast(payload)
	if err != nil {
		n.c.malformed(channel, err)
		return
	}
	if b.UID == n.c.uid || b.Local || b.Message.Packet.Namespace != n.name {
		return
	}
	n.c.stats.delivered.Add(1)
	n.ns.Deliver(b.Message)
}

// A Selector picks sockets, as socket.io's io.in(rooms).except(rooms): the
// sockets in any of Rooms (every socket when empty), minus those in any of
// Except.
type Selector struct {
	Rooms  []string
	Except []string
}

// local returns the sockets of this server that sel picks.
func (n *Namespace) local(sel Selector) []*events.Socket {
	return n.ns.To(sel.Rooms...).Except(sel.Except...).Local().Sockets()
}

// A request is a message on the request channel, JSON as the Node adapter
// writes most of them. Rooms may be numbers in JavaScript; rooms reads
// them as names.
type request struct {
	UID       string          `json:"uid"`
	RequestID string          `json:"requestId,omitempty"`
	Type      int             `json:"type"`
	Rooms     []any           `json:"rooms,omitempty"`
	Opts      *requestOpts    `json:"opts,omitempty"`
	SID       string          `json:"sid,omitempty"`
	Room      any             `json:"room,omitempty"`
	Close     bool            `json:"close,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

type requestOpts struct {
	Rooms  []any `json:"rooms"`
	Except []any `json:"except"`
}

func (o *requestOpts) selector() (Selector, error) {
	if o == nil {
		return Selector{}, nil
	}
	r, err := rooms(o.Rooms)
	if err != nil {
		return Selector{}, err
	}
	e, err := rooms(o.Except)
	return Selector{Rooms: r, Except: e}, err
}

// A response is a message on the response channel.
type response struct {
	RequestID string            `json:"requestId"`
	Type      *int              `json:"type,omitempty"`
	Sockets   []json.RawMessage `json:"sockets,omitempty"`
	Rooms     []any             `json:"rooms,omitempty"`
	Data      json.RawMessage   `json:"data,omitempty"`
}

// decodeMessage reads a request or a response: JSON when it starts with
// "{", as the Node adapter sends most of them, MessagePack otherwise (its
// broadcasts with acknowledgements).
func decodeMessage(payload []byte, v any) error {
	if len(payload) > MaxMessage {
		return fmt.Errorf("scaling: a message of %d bytes (at most %d)", len(payload), MaxMessage)
	}
	if len(payload) > 0 && payload[0] == '{' {
		return json.Unmarshal(payload, v)
	}
	m, err := decode(payload)
	if err != nil {
		return err
	}
	js, _, err := toJSON(m) // binary values (none in requests) would become placeholders
	if err != nil {
		return err
	}
	return json.Unmarshal(js, v)
}

// onRequest answers another server's request.
func (n *Namespace) onRequest(payload []byte) {
	var r request
	if err := decodeMessage(payload, &r); err != nil {
		n.c.malformed(n.request, err)
		return
	}
	if r.UID == n.c.uid {
		return // this server's own request: it did its part when it asked
	}
	sel, err := r.Opts.selector()
	if err != nil {
		n.c.malformed(n.request, err)
		return
	}
	switch r.Type {
	case reqSockets:
		rs, err := rooms(r.Rooms)
		if err != nil {
			n.c.malformed(n.request, err)
			return
		}
		ids := []string{}
		for _, s := range n.local(Selector{Rooms: rs}) {
			ids = append(ids, s.ID())
		}
		n.respond(map[string]any{"requestId": r.RequestID, "sockets": ids})
	case reqAllRooms:
		n.respond(map[string]any{"requestId": r.RequestID, "rooms": n.ns.Rooms()})
	case reqRemoteFetch:
		out := []RemoteSocket{}
		for _, s := range n.local(sel) {
			out = append(out, describe(s))
		}
		n.respond(map[string]any{"requestId": r.RequestID, "sockets": out})
	case reqRemoteJoin, reqRemoteLeave, reqRemoteDisconnect:
		n.remote(r, sel)
	case reqServerSideEmit:
		n.onServerSideEmit(r)
	case reqBroadcast:
		// A broadcast whose sender waits for every client's ack; the event
		// layer has no broadcast with acks to give it to.
		n.c.malformed(n.request, errors.New("a broadcast with acknowledgements is not supported; dropped"))
	default:
		n.c.malformed(n.request, fmt.Errorf("unknown request type %d", r.Type))
	}
}

// remote carries out socketsJoin, socketsLeave and disconnectSockets, in
// their two forms: for the sockets a selector picks (opts), or for one
// socket by ID (sid), which is answered.
func (n *Namespace) remote(r request, sel Selector) {
	var targets []*events.Socket
	if r.Opts != nil {
		targets = n.local(sel)
	} else {
		targets = n.local(Selector{Rooms: []string{r.SID}})
		if len(targets) == 0 {
			return // not here: the server that has it answers
		}
	}
	var roomList []string
	if r.Opts != nil {
		var err error
		if roomList, err = rooms(r.Rooms); err != nil {
			n.c.malformed(n.request, err)
			return
		}
	} else if r.Room != nil {
		rs, err := rooms([]any{r.Room})
		if err != nil {
			n.c.malformed(n.request, err)
			return
		}
		roomList = rs
	}
	apply(r.Type, targets, roomList)
	if r.Opts == nil {
		n.respond(map[string]any{"requestId": r.RequestID})
	}
}

// apply joins, leaves or disconnects sockets.
func apply(typ int, sockets []*events.Socket, roomList []string) {
	for _, s := range sockets {
		switch typ {
		case reqRemoteJoin:
			s.Join(roomList...)
		case reqRemoteLeave:
			for _, room := range roomList {
				s.Leave(room)
			}
		case reqRemoteDisconnect:
			s.Disconnect()
		}
	}
}

// respond publishes an answer on the response channel.
func (n *Namespace) respond(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		n.c.log.warn("encode", "could not encode a response", "err", err)
		return
	}
	n.c.publish(n.response, b)
}

// A RemoteSocket is a socket as fetchSockets reports it, from any server:
// what socket.io's RemoteSocket has, as JSON.
type RemoteSocket struct {
	ID        string          `json:"id"`
	Handshake json.RawMessage `json:"handshake"` // {"headers", "time", "address", "xdomain", "secure", "issued", "url", "query", "auth"}
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data"` // socket.data in Node; Handshake().Data in Go
}

// describe is a local socket as a RemoteSocket, its handshake in the
// shape socket.io gives it.
func describe(s *events.Socket) RemoteSocket {
	h := s.Handshake()
	headers := map[string]string{}
	for k, v := range h.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	query := map[string]string{}
	for k, v := range h.Query {
		if len(v) > 0 {
			query[k] = v[0]
		}
	}
	auth := h.Auth
	if len(auth) == 0 {
		auth = json.RawMessage("{}")
	}
	address := h.RemoteAddr // Node gives the IP alone
	if host, _, err := net.SplitHostPort(address); err == nil {
		address = host
	}
	hs, _ := json.Marshal(map[string]any{
		"headers": headers,
		"time":    h.Time.UTC().Format("Mon Jan 02 2006 15:04:05 GMT+0000 (Coordinated Universal Time)"),
		"address": address,
		"xdomain": h.Header.Get("Origin") != "",
		"secure":  h.Header.Get("X-Forwarded-Proto") == "https", // the Handshake does not say whether TLS was used
		"issued":  h.Time.UnixMilli(),
		"url":     "/socket.io/?" + h.Query.Encode(),
		"query":   query,
		"auth":    auth,
	})
	data, err := json.Marshal(h.Data)
	if err != nil {
		data = json.RawMessage("null")
	}
	return RemoteSocket{ID: s.ID(), Handshake: hs, Rooms: s.Rooms(), Data: data}
}

// A pending request waits for the other servers' answers.
type pending struct {
	typ       int
	want      int // answers expected
	got       int
	sockets   []json.RawMessage
	rooms     []string
	responses []json.RawMessage
	done      chan struct{}
}

// onResponse counts an answer to one of this server's requests.
func (n *Namespace) onResponse(payload []byte) {
	var r response
	if err := decodeMessage(payload, &r); err != nil {
		n.c.malformed(n.response, err)
		return
	}
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	p := n.c.pending[r.RequestID]
	if p == nil {
		return // another server's request, or one that timed out
	}
	switch p.typ {
	case reqRemoteFetch, reqSockets:
		if r.Sockets == nil {
			return
		}
		p.sockets = append(p.sockets, r.Sockets...)
	case reqAllRooms:
		rs, err := rooms(r.Rooms)
		if err != nil {
			return
		}
		p.rooms = append(p.rooms, rs...)
	case reqServerSideEmit:
		data := r.Data
		if data == nil {
			data = json.RawMessage("null")
		}
		p.responses = append(p.responses, data)
	}
	p.got++
	if p.got == p.want {
		delete(n.c.pending, r.RequestID)
		close(p.done)
	}
}

// ask publishes a request to the other servers and waits for want answers,
// or until ctx ends or RequestsTimeout passes. It returns what came.
func (n *Namespace) ask(ctx context.Context, typ, want int, req map[string]any) (*pending, error) {
	id := newUID() + newUID()
	req["uid"], req["requestId"], req["type"] = n.c.uid, id, typ
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("scaling: %w", err)
	}
	p := &pending{typ: typ, want: want, done: make(chan struct{})}
	n.c.mu.Lock()
	n.c.pending[id] = p
	n.c.mu.Unlock()
	n.c.publish(n.request, b)
	timer := time.NewTimer(n.c.opts.RequestsTimeout)
	defer timer.Stop()
	var waitErr error
	select {
	case <-p.done:
		return p, nil
	case <-ctx.Done():
		waitErr = ctx.Err()
	case <-timer.C:
		waitErr = errTimeout
	}
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	delete(n.c.pending, id)
	select {
	case <-p.done: // the last answer came just now
		return p, nil
	default:
	}
	return p, fmt.Errorf("scaling: %d of %d servers answered: %w", p.got, p.want, waitErr)
}

var errTimeout = errors.New("timed out")

// ServerCount returns how many servers the namespace has in the cluster,
// this one included: the subscribers of its request channel (PUBSUB
// NUMSUB), as the Node adapter counts them.
func (n *Namespace) ServerCount(ctx context.Context) (int, error) {
	m, err := n.c.pub.PubSubNumSub(ctx, n.request).Result()
	if err != nil {
		return 0, fmt.Errorf("scaling: %w", err)
	}
	return int(m[n.request]), nil
}

// others is ServerCount minus this server.
func (n *Namespace) others(ctx context.Context) (int, error) {
	count, err := n.ServerCount(ctx)
	return max(count-1, 0), err
}

// FetchSockets returns the sockets sel picks on every server of the
// cluster (socket.io's io.in(room).fetchSockets()). If a server does not
// answer within RequestsTimeout, it returns what it has and an error.
func (n *Namespace) FetchSockets(ctx context.Context, sel Selector) ([]RemoteSocket, error) {
	var out []RemoteSocket
	for _, s := range n.local(sel) {
		out = append(out, describe(s))
	}
	others, err := n.others(ctx)
	if err != nil || others == 0 {
		return out, err
	}
	p, err := n.ask(ctx, reqRemoteFetch, others, map[string]any{
		"opts": map[string]any{"rooms": stringsOrEmpty(sel.Rooms), "except": stringsOrEmpty(sel.Except)},
	})
	if p != nil {
		for _, raw := range p.sockets {
			var rs RemoteSocket
			if json.Unmarshal(raw, &rs) == nil {
				out = append(out, rs)
			}
		}
	}
	return out, err
}

// AllRooms returns every room with members on any server, sorted.
func (n *Namespace) AllRooms(ctx context.Context) ([]string, error) {
	all := n.ns.Rooms()
	others, err := n.others(ctx)
	if err != nil || others == 0 {
		return all, err
	}
	p, err := n.ask(ctx, reqAllRooms, others, map[string]any{})
	if p != nil {
		all = append(all, p.rooms...)
	}
	slices.Sort(all)
	return slices.Compact(all), err
}

// SocketsJoin makes the sockets sel picks, on every server, join rooms
// (socket.io's io.in(room).socketsJoin(rooms)). It does it here at once and
// publishes the request; the others do their part when it reaches them, and
// do not answer.
func (n *Namespace) SocketsJoin(sel Selector, rooms ...string) {
	apply(reqRemoteJoin, n.local(sel), rooms)
	n.tell(reqRemoteJoin, sel, map[string]any{"rooms": stringsOrEmpty(rooms)})
}

// SocketsLeave makes the sockets sel picks, on every server, leave rooms.
func (n *Namespace) SocketsLeave(sel Selector, rooms ...string) {
	apply(reqRemoteLeave, n.local(sel), rooms)
	n.tell(reqRemoteLeave, sel, map[string]any{"rooms": stringsOrEmpty(rooms)})
}

// DisconnectSockets disconnects the sockets sel picks, on every server.
// close asks the Node servers to close the whole connection rather than
// leave the namespace; the Go server leaves the namespace either way.
func (n *Namespace) DisconnectSockets(sel Selector, close bool) {
	apply(reqRemoteDisconnect, n.local(sel), nil)
	n.tell(reqRemoteDisconnect, sel, map[string]any{"close": close})
}

// tell publishes a request nobody answers.
func (n *Namespace) tell(typ int, sel Selector, req map[string]any) {
	req["uid"], req["type"] = n.c.uid, typ
	req["opts"] = map[string]any{"rooms": stringsOrEmpty(sel.Rooms), "except": stringsOrEmpty(sel.Except)}
	b, err := json.Marshal(req)
	if err != nil {
		n.c.log.warn("encode", "could not encode a request", "err", err)
		return
	}
	n.c.publish(n.request, b)
}

// A ServerHandler handles an event another server sent with
// ServerSideEmit (socket.io's io.on(event) for server-side events). args
// are the event's arguments; ack is nil unless the sender waits for an
// answer, and then answers it with one value, once (later calls do
// nothing).
type ServerHandler func(args []json.RawMessage, ack func(reply any))

// OnServerSideEmit registers h for event.
func (n *Namespace) OnServerSideEmit(event string, h ServerHandler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.handlers[event] = append(n.handlers[event], h)
}

// ServerSideEmit sends an event to the other servers of the cluster (not to
// any client, and not to this server). Its arguments must encode as JSON.
func (n *Namespace) ServerSideEmit(event string, args ...any) error {
	data, err := json.Marshal(append([]any{event}, args...))
	if err != nil {
		return fmt.Errorf("scaling: %w", err)
	}
	b, err := json.Marshal(map[string]any{"uid": n.c.uid, "type": reqServerSideEmit, "data": json.RawMessage(data)})
	if err != nil {
		return fmt.Errorf("scaling: %w", err)
	}
	n.c.publish(n.request, b)
	return nil
}

// ServerSideEmitWithAck sends an event to the other servers and returns
// each one's answer (socket.io's io.serverSideEmitWithAck). With no other
// server it returns none at once; when one does not answer within
// RequestsTimeout, it returns the answers that came and an error.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	data, err := json.Marshal(append([]any{event}, args...))
	if err != nil {
		return nil, fmt.Errorf("scaling: %w", err)
	}
	others, err := n.others(ctx)
	if err != nil || others == 0 {
		return nil, err
	}
	p, err := n.ask(ctx, reqServerSideEmit, others, map[string]any{"data": json.RawMessage(data)})
	if p == nil {
		return nil, err
	}
	return p.responses, err
}

// onServerSideEmit runs the handlers of an event another server sent, and
// answers its ack once, with the first reply.
func (n *Namespace) onServerSideEmit(r request) {
	var data []json.RawMessage
	if err := json.Unmarshal(r.Data, &data); err != nil || len(data) == 0 {
		n.c.malformed(n.request, fmt.Errorf("serverSideEmit data: %v", err))
		return
	}
	var event string
	if err := json.Unmarshal(data[0], &event); err != nil {
		n.c.malformed(n.request, errors.New("serverSideEmit: the event name is not a string"))
		return
	}
	n.mu.Lock()
	hs := slices.Clone(n.handlers[event])
	n.mu.Unlock()
	var ack func(any)
	if r.RequestID != "" {
		var once sync.Once
		ack = func(reply any) {
			once.Do(func() {
				b, err := json.Marshal(reply)
				if err != nil {
					b = json.RawMessage("null")
				}
				n.respond(map[string]any{"type": reqServerSideEmit, "requestId": r.RequestID, "data": json.RawMessage(b)})
			})
		}
	}
	for _, h := range hs {
		h(data[1:], ack)
	}
}
