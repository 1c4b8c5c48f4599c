package scaling

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/websocket-workbook/workbook/internal/exercise"
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
	_ = exercise.TODO("6.2")
}

// Close is called by events.Server.Close. The subscriptions stay until the
// Cluster closes: it is the Cluster that owns the Redis connections.
func (n *Namespace) Close() error { return nil }

// ServerCount returns how many servers the namespace has in the cluster,
// this one included: the subscribers of its request channel (PUBSUB
// NUMSUB), as the Node adapter counts them.
func (n *Namespace) ServerCount(ctx context.Context) (int, error) {
	return 0, exercise.TODO("6.2")
}

// A Selector picks sockets, as socket.io's io.in(rooms).except(rooms): the
// sockets in any of Rooms (every socket when empty), minus those in any of
// Except.
type Selector struct {
	Rooms  []string
	Except []string
}

// A RemoteSocket is a socket as fetchSockets reports it, from any server:
// what socket.io's RemoteSocket has, as JSON.
type RemoteSocket struct {
	ID        string          `json:"id"`
	Handshake json.RawMessage `json:"handshake"` // {"headers", "time", "address", "xdomain", "secure", "issued", "url", "query", "auth"}
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data"` // socket.data in Node; Handshake().Data in Go
}

// A pending request waits for the other servers' answers.
type pending struct {
	typ  int
	want int // answers expected: the other servers
	got  int
	done chan struct{}
}

// FetchSockets returns the sockets sel picks on every server of the
// cluster (socket.io's io.in(room).fetchSockets()). If a server does not
// answer within RequestsTimeout, it returns what it has and an error.
func (n *Namespace) FetchSockets(ctx context.Context, sel Selector) ([]RemoteSocket, error) {
	return nil, exercise.TODO("6.3")
}

// AllRooms returns every room with members on any server, sorted.
func (n *Namespace) AllRooms(ctx context.Context) ([]string, error) {
	return nil, exercise.TODO("6.3")
}

// SocketsJoin makes the sockets sel picks, on every server, join rooms
// (socket.io's io.in(room).socketsJoin(rooms)). It does it here at once and
// publishes the request; the others do their part when it reaches them, and
// do not answer.
func (n *Namespace) SocketsJoin(sel Selector, rooms ...string) {
	_ = exercise.TODO("6.3")
}

// SocketsLeave makes the sockets sel picks, on every server, leave rooms.
func (n *Namespace) SocketsLeave(sel Selector, rooms ...string) {
	_ = exercise.TODO("6.3")
}

// DisconnectSockets disconnects the sockets sel picks, on every server.
// close asks the Node servers to close the whole connection rather than
// leave the namespace; the Go server leaves the namespace either way.
func (n *Namespace) DisconnectSockets(sel Selector, close bool) {
	_ = exercise.TODO("6.3")
}

// A ServerHandler handles an event another server sent with
// ServerSideEmit (socket.io's io.on(event) for server-side events). args
// are the event's arguments; ack is nil unless the sender waits for an
// answer, and then answers it with one value, once (later calls do
// nothing).
type ServerHandler func(args []json.RawMessage, ack func(reply any))

// OnServerSideEmit registers h for event.
func (n *Namespace) OnServerSideEmit(event string, h ServerHandler) {
	_ = exercise.TODO("6.3")
}

// ServerSideEmit sends an event to the other servers of the cluster (not to
// any client, and not to this server). Its arguments must encode as JSON.
func (n *Namespace) ServerSideEmit(event string, args ...any) error {
	return exercise.TODO("6.3")
}

// ServerSideEmitWithAck sends an event to the other servers and returns
// each one's answer (socket.io's io.serverSideEmitWithAck). With no other
// server it returns none at once; when one does not answer within
// RequestsTimeout, it returns the answers that came and an error.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	return nil, exercise.TODO("6.3")
}
