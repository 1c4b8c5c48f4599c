package scaling

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

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
	pub  *redis.Client
	sub  *redis.PubSub
	log  *limitedLog

	ctx    context.Context
	cancel context.CancelFunc

	// The receiver's own: whether the subscription is lost, and how long it
	// waits before it tries again.
	down    bool
	backoff time.Duration
	queue   chan outgoing
	pubEnd  chan struct{} // closed when the publisher has returned
	wg      sync.WaitGroup

	mu       sync.Mutex
	nsps     map[string]*Namespace   // by namespace name
	channels map[string]channelRoute // subscribed channel (or pattern) → what it is
	pending  map[string]*pending     // requests this server made, by requestId
	closed   bool

	stats stats
}

// An outgoing message waits in the publish queue.
type outgoing struct {
	channel string
	payload []byte
}

// channelRoute says what a channel carries, and for which namespace.
type channelRoute struct {
	ns   *Namespace
	kind int
}

const (
	routeBroadcast = iota
	routeRequest
	routeResponse
)

// Connect connects to Redis, checks that it answers, and starts the
// goroutines that publish and receive. It fails if Redis cannot be
// reached now; once connected, a Cluster survives Redis going away.
func Connect(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Key == "" {
		opts.Key = DefaultKey
	}
	if opts.RequestsTimeout <= 0 {
		opts.RequestsTimeout = DefaultRequestsTimeout
	}
	if opts.PublishQueue <= 0 {
		opts.PublishQueue = DefaultPublishQueue
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ro, err := redis.ParseURL(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("scaling: %w", err)
	}
	ro.DialTimeout = time.Second // loopback or a LAN: a second is long
	// No retries: a pipeline whose answer was lost may have been published,
	// and publishing it again would deliver it twice. Pub/sub is at most
	// once; what failed is counted as unpublished instead.
	ro.MaxRetries = -1
	pub := redis.NewClient(ro)
	if err := pub.Ping(ctx).Err(); err != nil {
		_ = pub.Close()
		return nil, fmt.Errorf("scaling: Redis at %s: %w", ro.Addr, err)
	}
	c := &Cluster{
		opts:     opts,
		uid:      newUID(),
		pub:      pub,
		sub:      pub.Subscribe(ctx),
		log:      &limitedLog{l: opts.Logger.With("cluster", "redis")},
		queue:    make(chan outgoing, opts.PublishQueue),
		pubEnd:   make(chan struct{}),
		nsps:     make(map[string]*Namespace),
		channels: make(map[string]channelRoute),
		pending:  make(map[string]*pending),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(2)
	go c.publishLoop()
	go c.receiveLoop()
	return c, nil
}

// newUID names this server in the cluster, as the Node adapter's uid2(6).
func newUID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// UID is the name this server goes by on the channels.
func (c *Cluster) UID() string { return c.uid }

// Adapter is an events.Options.Adapter: it links the namespace ns to the
// same namespace on every other server, subscribing to its channels. The
// event layer calls it once per namespace, as the namespace is created.
func (c *Cluster) Adapter(ns *events.Namespace) events.Adapter {
	n := &Namespace{c: c, ns: ns, name: ns.Name(), handlers: make(map[string][]ServerHandler)}
	n.broadcast = BroadcastChannel(c.opts.Key, n.name)
	n.request = RequestChannel(c.opts.Key, n.name)
	n.response = ResponseChannel(c.opts.Key, n.name)
	own := n.response + c.uid + "#"
	c.mu.Lock()
	c.nsps[n.name] = n
	c.channels[n.broadcast+"*"] = channelRoute{n, routeBroadcast}
	c.channels[n.request] = channelRoute{n, routeRequest}
	c.channels[n.response] = channelRoute{n, routeResponse}
	c.channels[own] = channelRoute{n, routeResponse}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestsTimeout)
	defer cancel()
	// go-redis records the channels before it sends the commands and sends
	// them again on every reconnection, so an error here (Redis down right
	// now) is only logged: the subscriptions are made when Redis is back.
	if err := c.sub.PSubscribe(ctx, n.broadcast+"*"); err != nil {
		c.log.warn("subscribe", "could not subscribe yet; will on reconnection", "namespace", n.name, "err", err)
	}
	if err := c.sub.Subscribe(ctx, n.request, n.response, own); err != nil {
		c.log.warn("subscribe", "could not subscribe yet; will on reconnection", "namespace", n.name, "err", err)
	}
	return n
}

// Of returns the cluster side of the namespace name, or nil if the event
// layer has not made it (events.Server.Of makes it).
func (c *Cluster) Of(name string) *Namespace {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nsps[name]
}

// Close stops publishing and receiving and closes the Redis connections.
// What is still queued is published first, for up to a second.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	close(c.queue) // the publisher drains it, then returns
	select {
	case <-c.pubEnd:
	case <-time.After(time.Second):
	}
	c.cancel()
	err := c.sub.Close()
	c.wg.Wait()
	return errors.Join(err, c.pub.Close())
}

// publish queues a message; it never blocks. A message that finds the
// queue full, or the Cluster closed, is dropped and counted.
func (c *Cluster) publish(channel string, payload []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		c.stats.dropped.Add(1)
		return
	}
	select {
	case c.queue <- outgoing{channel, payload}:
	default:
		c.stats.dropped.Add(1)
		c.log.warn("queue", "publish queue full; message dropped", "queue", cap(c.queue))
	}
}

// maxBatch is the most messages one round trip to Redis publishes.
const maxBatch = 256

// publishLoop publishes the queue in order, as many messages per round
// trip (a pipeline) as are waiting. When Redis cannot take them, they are
// counted as unpublished and the loop goes on: pub/sub has no later.
func (c *Cluster) publishLoop() {
	defer c.wg.Done()
	defer close(c.pubEnd)
	batch := make([]outgoing, 0, maxBatch)
	for first := range c.queue {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case m, ok := <-c.queue:
				if !ok {
					break fill
				}
				batch = append(batch, m)
			default:
				break fill
			}
		}
		ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
		_, err := c.pub.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, m := range batch {
				p.Publish(ctx, m.channel, m.payload)
			}
			return nil
		})
		cancel()
		if err != nil {
			c.stats.unpublished.Add(int64(len(batch)))
			c.log.warn("publish", "could not publish to Redis", "messages", len(batch), "err", err)
			continue
		}
		c.stats.published.Add(int64(len(batch)))
	}
}

// pingEvery is how long the receiver waits in silence before it checks
// the connection with a PING.
const pingEvery = 5 * time.Second

// receiveLoop reads the subscriptions and routes each message. When the
// connection breaks, go-redis makes a new one and subscribes again on the
// next read; lost waits a little between failed attempts.
func (c *Cluster) receiveLoop() {
	defer c.wg.Done()
	for c.ctx.Err() == nil {
		m, err := c.sub.ReceiveTimeout(c.ctx, pingEvery)
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() && c.sub.Ping(c.ctx) == nil {
				continue // a quiet while, and the connection is fine
			}
			if !c.lost(err) {
				return
			}
			continue
		}
		if c.down {
			c.down = false
			c.backoff = 0
			c.stats.reconnects.Add(1)
			c.log.info("reconnect", "subscribed to Redis again")
		}
		if msg, ok := m.(*redis.Message); ok {
			c.route(msg)
		}
	}
}

// lost is what the receiver does when reading the subscriptions failed:
// count the loss once per outage, log it, and wait before the next try,
// longer each time up to a second. It returns false once the Cluster is
// closing.
func (c *Cluster) lost(err error) bool {
	if c.ctx.Err() != nil {
		return false
	}
	if !c.down {
		c.down = true
		c.stats.disconnects.Add(1)
	}
	c.log.warn("receive", "lost the subscription to Redis; reconnecting", "err", err)
	c.backoff = min(max(2*c.backoff, 50*time.Millisecond), time.Second)
	select {
	case <-c.ctx.Done():
		return false
	case <-time.After(c.backoff):
		return true
	}
}

// route hands a message to its namespace.
func (c *Cluster) route(msg *redis.Message) {
	key := msg.Channel
	if msg.Pattern != "" {
		key = msg.Pattern
	}
	c.mu.Lock()
	r, ok := c.channels[key]
	c.mu.Unlock()
	if !ok {
		return
	}
	payload := []byte(msg.Payload)
	switch r.kind {
	case routeBroadcast:
		r.ns.onBroadcast(msg.Channel, payload)
	case routeRequest:
		r.ns.onRequest(payload)
	case routeResponse:
		r.ns.onResponse(payload)
	}
}

// malformed counts and logs a message that could not be used.
func (c *Cluster) malformed(channel string, err error) {
	c.stats.malformed.Add(1)
	c.log.warn("malformed", "dropped a malformed message", "channel", channel, "err", err)
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

type stats struct {
	published, unpublished, dropped, delivered, malformed, disconnects, reconnects atomic.Int64
}

// Stats returns the counts so far.
func (c *Cluster) Stats() Stats {
	s := &c.stats
	return Stats{
		Published: s.published.Load(), Unpublished: s.unpublished.Load(), Dropped: s.dropped.Load(),
		Delivered: s.delivered.Load(), Malformed: s.malformed.Load(),
		Disconnects: s.disconnects.Load(), Reconnects: s.reconnects.Load(),
	}
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

func (g *limitedLog) warn(kind, msg string, args ...any) { g.say(slog.LevelWarn, kind, msg, args) }
func (g *limitedLog) info(kind, msg string, args ...any) { g.say(slog.LevelInfo, kind, msg, args) }

func (g *limitedLog) say(level slog.Level, kind, msg string, args []any) {
	g.mu.Lock()
	if g.last == nil {
		g.last, g.count = make(map[string]time.Time), make(map[string]int)
	}
	g.count[kind]++
	now := time.Now()
	if now.Sub(g.last[kind]) < time.Second {
		g.mu.Unlock()
		return
	}
	n := g.count[kind]
	g.last[kind], g.count[kind] = now, 0
	g.mu.Unlock()
	if n > 1 {
		args = append(args, "times", n)
	}
	g.l.Log(context.Background(), level, msg, args...)
}

// channelRoom is the room of a room channel, "" for the namespace's own.
func channelRoom(base, channel string) string {
	if !strings.HasPrefix(channel, base) || len(channel) <= len(base) {
		return ""
	}
	return strings.TrimSuffix(channel[len(base):], "#")
}
