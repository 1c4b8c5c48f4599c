package scaling

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/websocket-workbook/workbook/internal/exercise"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// Options configures a Cluster. The zero value of a field means its
// default.
type Options struct {
	// URL is the Redis server, "redis://HOST:PORT" (go-redis's ParseURL
	// takes a password, a database number and rediss:// for TLS too).
	URL string

	// Key is the prefix of every channel; default "socket.io", as the Node
	// adapter's "key" option. Servers of one cluster use the same.
	Key string

	// RequestsTimeout bounds how long a request to the other servers
	// (FetchSockets, AllRooms, ServerSideEmitWithAck) waits for their
	// answers; default 5s, as the Node adapter's.
	RequestsTimeout time.Duration

	// PublishQueue is how many messages may wait to be published; default
	// 10,000. A broadcast that finds it full is dropped and counted, so that
	// a slow or absent Redis never blocks the server.
	PublishQueue int

	// Logger receives what the cluster could not do (publish, decode,
	// reconnect); default slog.Default(). It says each kind of failure at
	// most once a second, with the count since.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultKey             = "socket.io"
	DefaultRequestsTimeout = 5 * time.Second
	DefaultPublishQueue    = 10_000
)

// A Cluster is this server's link to the others through one Redis: it
// publishes what this server broadcasts, delivers what the others publish,
// and asks and answers the requests between them, on the channels and in
// the format of @socket.io/redis-adapter 8.x, so that Go servers and Node
// servers with that adapter form one cluster.
//
// Make one per process, and give its Adapter to the event layer:
//
//	cl, err := scaling.Connect(ctx, scaling.Options{URL: "redis://127.0.0.1:6379"})
//	if err != nil { ... }
//	defer cl.Close() // second: publishes what is still queued, then closes the connections
//	srv := events.NewServer(events.Options{Adapter: cl.Adapter})
//	defer srv.Close() // first: ends every session
//
// Redis pub/sub keeps nothing: what is published while a server is not
// subscribed (Redis down, the connection being re-made) is lost for it.
// The Cluster reconnects by itself and counts what it could not publish
// (Stats), and each server keeps serving its own clients meanwhile.
type Cluster struct {
	opts Options
	uid  string
	pub  *redis.Client // publishes, and asks PUBSUB NUMSUB
	sub  *redis.PubSub // one connection for every subscription
	log  *limitedLog

	ctx    context.Context
	cancel context.CancelFunc

	// The receiver's own: whether the subscription is lost, and how long it
	// waits before it tries again.
	down    bool
	backoff time.Duration
	queue   chan outgoing // what waits to be published, in order
	wg      sync.WaitGroup

	mu      sync.Mutex
	nsps    map[string]*Namespace // by namespace name
	pending map[string]*pending   // requests this server made, by requestId
	closed  bool
}

// An outgoing message waits in the publish queue.
type outgoing struct {
	channel string
	payload []byte
}

// Connect connects to Redis, checks that it answers, and starts the
// goroutines that publish and receive. It fails if Redis cannot be
// reached now; once connected, a Cluster survives Redis going away.
//
// The publisher takes the queue in order and publishes as many messages
// per round trip (a pipeline) as are waiting. The receiver reads the
// subscriptions (sub.ReceiveTimeout) and routes each message by its
// channel, or for the broadcast pattern by its pattern, to its namespace.
// When a read fails, the receiver calls c.lost and tries again: go-redis
// makes a new connection, and subscribes again, on the next read.
func Connect(ctx context.Context, opts Options) (*Cluster, error) {
	return nil, exercise.TODO("6.2")
}

// lost is what the receiver does when reading the subscriptions failed:
// count the loss once per outage (Stats.Disconnects), log it through
// c.log, and wait before the next try, longer each time up to a second,
// or until the Cluster closes (it returns false then). The first message
// after an outage counts as a reconnection (Stats.Reconnects).
func (c *Cluster) lost(err error) bool {
	_ = exercise.TODO("6.4")
	return false
}

// UID is the name this server goes by on the channels, as the Node
// adapter's uid2(6): random, and the same for all the Cluster's
// namespaces.
func (c *Cluster) UID() string {
	_ = exercise.TODO("6.2")
	return ""
}

// Adapter is an events.Options.Adapter: it links the namespace ns to the
// same namespace on every other server, subscribing to its channels. The
// event layer calls it once per namespace, as the namespace is created.
func (c *Cluster) Adapter(ns *events.Namespace) events.Adapter {
	_ = exercise.TODO("6.2")
	return &Namespace{c: c, ns: ns}
}

// Of returns the cluster side of the namespace name, or nil if the event
// layer has not made it (events.Server.Of makes it).
func (c *Cluster) Of(name string) *Namespace {
	_ = exercise.TODO("6.2")
	return nil
}

// Close stops publishing and receiving and closes the Redis connections.
// What is still queued is published first, for up to a second.
func (c *Cluster) Close() error {
	return exercise.TODO("6.2")
}

// Stats counts what the Cluster did, since Connect.
type Stats struct {
	Published   int64 // messages Redis took
	Unpublished int64 // messages Redis could not take (it was down): lost
	Dropped     int64 // messages dropped before publishing: the queue was full, or the Cluster closed
	Delivered   int64 // broadcasts from other servers handed to the event layer
	Malformed   int64 // messages on the channels that were not what the adapter sends: logged and dropped
	Disconnects int64 // times the subscription to Redis was lost
	Reconnects  int64 // times it was made again
}

// Stats returns the counts so far. Published and Delivered are 6.2's;
// the others are counted in 6.4.
func (c *Cluster) Stats() Stats {
	_ = exercise.TODO("6.2")
	return Stats{}
}

// malformed counts and logs (through c.log) a message that could not be
// used: the receiver calls it, and never panics, for whatever came.
func (c *Cluster) malformed(channel string, err error) {
	_ = exercise.TODO("6.4")
}

// A limitedLog says each kind of failure at most once a second, with how
// many times it happened since: a Redis that is down for a minute under a
// thousand broadcasts a second must not write sixty thousand lines.
type limitedLog struct {
	l     *slog.Logger
	mu    sync.Mutex
	last  map[string]time.Time
	count map[string]int
}

// warn and info log msg at most once a second for each kind, adding how
// many times it happened since the last line.
func (g *limitedLog) warn(kind, msg string, args ...any) {
	_ = exercise.TODO("6.4")
}

func (g *limitedLog) info(kind, msg string, args ...any) {
	_ = exercise.TODO("6.4")
}
