package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes a swarm.
type Config struct {
	// URL is the server's base URL, "http://127.0.0.1:PORT"; the swarm
	// connects to /socket.io/?EIO=4&transport=websocket on it. Only
	// loopback addresses are accepted.
	URL string `json:"url"`
	// Clients is how many clients connect.
	Clients int `json:"clients"`
	// Event is the name of the counted event; default "tick".
	Event string `json:"event,omitempty"`
	// Dialers bounds how many clients are in their handshake at once;
	// default 64 (well under the listen backlogs of Go and Node).
	Dialers int `json:"dialers,omitempty"`
	// Timeout bounds connecting the whole swarm; default 2 minutes.
	Timeout time.Duration `json:"timeout,omitempty"`

	// Rooms, when set, makes the swarm a chat (see Send): client i joins
	// the room "r<i mod Rooms>", acknowledged, before it counts as
	// connected, and Event is "msg".
	Rooms int `json:"rooms,omitempty"`
	// Slow makes the swarm's last client the slow one: SetSlowRate bounds
	// how fast it reads, and its deliveries are counted apart. The server
	// may cut it off; that is reported, not a failure.
	Slow bool `json:"slow,omitempty"`
}

func (c *Config) defaults() error {
	if c.Rooms > 0 {
		c.Event = "msg"
	}
	if c.Event == "" {
		c.Event = "tick"
	}
	if c.Dialers <= 0 {
		c.Dialers = 64
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Minute
	}
	if c.Clients <= 0 {
		return fmt.Errorf("loadgen: Clients is %d", c.Clients)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("loadgen: %q is not a loopback address: the swarm only connects over loopback", u.Host)
	}
	return nil
}

// A Swarm is Clients connected Socket.IO clients in this process.
type Swarm struct {
	cfg    Config
	host   string
	prefix []byte // `42["<event>"` as it starts a counted EVENT packet

	clients []*client
	wg      sync.WaitGroup // one per client goroutine

	total     atomic.Int64 // counted events received by all clients
	target    atomic.Int64 // what WaitTotal waits for; 0 when nobody waits
	reached   chan struct{}
	connected atomic.Int64

	failOnce sync.Once
	failed   chan struct{} // closed when a connected client ends before Close
	failErr  error         // set before failed is closed

	closing atomic.Bool

	// The chat workload's (chat.go).
	epoch     time.Time // the swarm's clock: senders and receivers read it
	lat       latencyBuckets
	slowTotal atomic.Int64
	slowGap   atomic.Int64 // ns the slow client waits after each message
	slowLost  atomic.Bool
}

// Connect connects cfg.Clients clients and returns once every one of them
// has joined the namespace "/" (it has received "40{...}"). If one fails,
// or ctx or cfg.Timeout ends first, the clients connected so far are closed
// and the error is returned.
func Connect(ctx context.Context, cfg Config) (*Swarm, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.URL)
	s := &Swarm{
		cfg:     cfg,
		host:    u.Host,
		prefix:  []byte(`42["` + cfg.Event + `"`),
		reached: make(chan struct{}, 1),
		failed:  make(chan struct{}),
		clients: make([]*client, 0, cfg.Clients),
		epoch:   time.Now(),
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	sem := make(chan struct{}, cfg.Dialers)
	errc := make(chan error, 1)
	// acquire takes a slot of the semaphore; it fails when a client has
	// failed or ctx is done, and says what was being waited for.
	acquire := func(waiting func() string) error {
		select {
		case sem <- struct{}{}:
			return nil
		case err := <-errc:
			return err
		case <-ctx.Done():
			return fmt.Errorf("loadgen: %s: %w", waiting(), ctx.Err())
		}
	}
	var dialer net.Dialer
	for i := 0; i < cfg.Clients; i++ {
		if err := acquire(func() string { return fmt.Sprintf("connecting client %d of %d", i+1, cfg.Clients) }); err != nil {
			s.Close()
			return nil, err
		}
		conn, err := dialer.DialContext(ctx, "tcp", s.host)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("loadgen: dialing client %d of %d: %w", i+1, cfg.Clients, err)
		}
		c := &client{s: s, conn: conn, key: uint32(i)*2654435761 + 1}
		if cfg.Rooms > 0 {
			c.room = []byte("r" + strconv.Itoa(i%cfg.Rooms))
			c.slow = cfg.Slow && i == cfg.Clients-1
		}
		s.clients = append(s.clients, c)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c.run(ctx, sem, errc)
		}()
	}
	// Wait for the last handshakes: when the semaphore is all ours again,
	// every client has joined (or one has failed).
	for i := 0; i < cfg.Dialers; i++ {
		if err := acquire(func() string { return fmt.Sprintf("%d of %d clients joined", s.connected.Load(), cfg.Clients) }); err != nil {
			s.Close()
			return nil, err
		}
	}
	select {
	case err := <-errc:
		s.Close()
		return nil, err
	default:
	}
	return s, nil
}

// Clients returns how many clients the swarm has.
func (s *Swarm) Clients() int { return len(s.clients) }

// Total returns how many counted events all clients together have received.
func (s *Swarm) Total() int64 { return s.total.Load() }

// Counts returns the smallest and the largest number of counted events one
// client has received: after k broadcasts to everyone, both are k.
func (s *Swarm) Counts() (lo, hi int64) {
	for i, c := range s.clients {
		n := c.count.Load()
		if i == 0 || n < lo {
			lo = n
		}
		if n > hi {
			hi = n
		}
	}
	return lo, hi
}

// WaitTotal waits until Total is at least n, ctx ends, or a client is lost
// (the server closed its connection). Only one WaitTotal may run at a time.
func (s *Swarm) WaitTotal(ctx context.Context, n int64) error {
	s.target.Store(n)
	defer s.target.Store(0)
	for {
		if s.total.Load() >= n {
			return nil
		}
		select {
		case <-s.reached:
		case <-s.failed:
			return s.failErr
		case <-ctx.Done():
			return fmt.Errorf("loadgen: %d of %d events received: %w", s.total.Load(), n, ctx.Err())
		}
	}
}

// Err returns why a client was lost, or nil.
func (s *Swarm) Err() error {
	select {
	case <-s.failed:
		return s.failErr
	default:
		return nil
	}
}

// Close closes every connection and waits for the client goroutines (at
// most 10 s, which only a stuck kernel would need). It may be called more
// than once.
func (s *Swarm) Close() {
	s.closing.Store(true)
	for _, c := range s.clients {
		_ = c.conn.Close()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
}

// got counts one received event.
func (s *Swarm) got() {
	v := s.total.Add(1)
	if t := s.target.Load(); t > 0 && v >= t {
		select {
		case s.reached <- struct{}{}:
		default:
		}
	}
}

func (s *Swarm) fail(err error) {
	if s.closing.Load() {
		return
	}
	s.failOnce.Do(func() {
		s.failErr = err
		close(s.failed)
	})
}

// ---------------------------------------------------------------------------
// One client.

// readBuffer is a client's read buffer: a broadcast event of a few hundred
// bytes fits many times, so a burst is read with few system calls.
const readBuffer = 4096

// maxMessage bounds a message the client accepts (the open packet, an
// event): anything larger means the swarm is pointed at the wrong server.
const maxMessage = 1 << 20

type client struct {
	s     *Swarm
	conn  net.Conn
	key   uint32       // masking key (RFC 6455 §5.3); any value is valid
	count atomic.Int64 // counted events this client received

	joined bool
	frag   []byte // a fragmented message being put together
	wbuf   [64]byte

	room []byte // the chat room it joins, with Config.Rooms
	slow bool   // the slow reader, with Config.Slow
	wmu  sync.Mutex
}

// run is the client's goroutine: handshake, join, then read until the
// connection ends. The first client error goes to errc while connecting,
// to the swarm's failure afterwards.
func (c *client) run(ctx context.Context, sem <-chan struct{}, errc chan<- error) {
	released := false
	release := func() {
		if !released {
			released = true
			<-sem
		}
	}
	defer release()
	defer c.conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Now()) })
	r := bufio.NewReaderSize(c.conn, readBuffer)
	err := c.handshake(r)
	for err == nil && !c.joined {
		err = c.readMessage(r)
	}
	stop()
	if err != nil {
		select {
		case errc <- fmt.Errorf("loadgen: client on %s: %w", c.conn.LocalAddr(), err):
		default:
		}
		return
	}
	c.s.connected.Add(1)
	release()
	for err == nil {
		err = c.readMessage(r)
	}
	// A connection that ends before Close is a lost client (fail ignores
	// the ends that Close causes), but for the slow one, which a server
	// may rightly cut off.
	if c.slow {
		c.s.slowLost.Store(true)
		return
	}
	c.s.fail(fmt.Errorf("loadgen: client on %s lost after %d events: %w", c.conn.LocalAddr(), c.count.Load(), err))
}

var errServerClosed = errors.New("the server closed the connection")

// handshakeKey is a valid Sec-WebSocket-Key (16 bytes, base64); every
// client may use the same one (RFC 6455 §4.1 asks for randomness only to
// defeat caching intermediaries, of which loopback has none).
const (
	handshakeKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	handshakeAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" // RFC 6455 §1.3's example
)

func (c *client) handshake(r *bufio.Reader) error {
	req := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
		"Host: " + c.s.host + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + handshakeKey + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c.conn, req); err != nil {
		return err
	}
	status, err := r.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("reading the handshake response: %w", err)
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 101 ")) {
		return fmt.Errorf("handshake refused: %q", bytes.TrimSpace(status))
	}
	accepted := false
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("reading the handshake response: %w", err)
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Sec-WebSocket-Accept")) {
			accepted = string(bytes.TrimSpace(v)) == handshakeAccept
		}
	}
	if !accepted {
		return errors.New("handshake: missing or wrong Sec-WebSocket-Accept (RFC 6455 §4.2.2)")
	}
	return nil
}

// header parses a frame header (RFC 6455 §5.2) at the start of h: the
// header's length hdr and the payload's length n. hdr is 0 when h is too
// short to tell.
func (c *client) header(h []byte) (fin bool, op byte, hdr int, n int64, err error) {
	if len(h) < 2 {
		return false, 0, 0, 0, nil
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0f
	if h[1]&0x80 != 0 {
		return false, 0, 0, 0, errors.New("a masked frame from the server (RFC 6455 §5.1)")
	}
	n, hdr = int64(h[1]&0x7f), 2
	switch n {
	case 126:
		if len(h) < 4 {
			return false, 0, 0, 0, nil
		}
		n, hdr = int64(h[2])<<8|int64(h[3]), 4
	case 127:
		if len(h) < 10 {
			return false, 0, 0, 0, nil
		}
		n = 0
		for _, b := range h[2:10] {
			n = n<<8 | int64(b)
		}
		hdr = 10
	}
	if n > maxMessage || int64(len(c.frag))+n > maxMessage {
		return false, 0, 0, 0, fmt.Errorf("a message over %d bytes", maxMessage)
	}
	return fin, op, hdr, n, nil
}

// readMessage reads one frame from r and handles it.
func (c *client) readMessage(r *bufio.Reader) error {
	var (
		fin bool
		op  byte
		hdr int
		n   int64
	)
	for want := 2; hdr == 0; want += 2 {
		h, err := r.Peek(want)
		if err != nil {
			return err
		}
		if fin, op, hdr, n, err = c.header(h); err != nil {
			return err
		}
	}
	if _, err := r.Discard(hdr); err != nil {
		return err
	}
	// The payload: in the read buffer when it fits (no copy), else read
	// into a slice of its own.
	var p []byte
	if n <= readBuffer {
		var err error
		if p, err = r.Peek(int(n)); err != nil {
			return err
		}
		defer r.Discard(int(n))
	} else {
		p = make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			return err
		}
	}
	return c.frame(fin, op, p)
}

// frame handles one frame's payload p.
func (c *client) frame(fin bool, op byte, p []byte) error {
	switch op {
	case 0x8: // close (§5.5.1): answer it and end
		_ = c.writeFrame(0x8, p[:min(len(p), 2)])
		return errServerClosed
	case 0x9: // ping (§5.5.2)
		return c.writeFrame(0xA, p)
	case 0xA: // pong
		return nil
	case 0x0: // continuation
		if c.frag == nil {
			return errors.New("a continuation frame with nothing to continue (RFC 6455 §5.4)")
		}
		c.frag = append(c.frag, p...)
		if fin {
			msg := c.frag
			c.frag = nil
			return c.handle(msg)
		}
		return nil
	case 0x1, 0x2:
		if c.frag != nil {
			return errors.New("a new message inside a fragmented one (RFC 6455 §5.4)")
		}
		if !fin {
			c.frag = append(make([]byte, 0, 2*len(p)), p...)
			return nil
		}
		return c.handle(p)
	default:
		return fmt.Errorf("reserved opcode %#x (RFC 6455 §5.2)", op)
	}
}

// handle acts on one Engine.IO packet (engine.io-protocol v4), which for
// Socket.IO messages holds one Socket.IO packet (socket.io-protocol v5).
func (c *client) handle(m []byte) error {
	if len(m) == 0 {
		return errors.New("an empty Engine.IO packet")
	}
	switch m[0] {
	case '0': // open: join the main namespace
		return c.writeFrame(0x1, []byte("40"))
	case '1': // close
		return errServerClosed
	case '2': // ping: pong, with the same data
		c.wbuf[0] = '3'
		if len(m) > len(c.wbuf)-16 {
			return errors.New("a ping with too much data")
		}
		pong := append(c.wbuf[:1:1], m[1:]...)
		return c.writeFrame(0x1, pong)
	case '4':
		switch {
		case bytes.HasPrefix(m, c.s.prefix) && c.joined:
			c.count.Add(1)
			if c.room != nil {
				c.chatMessage(m)
			} else {
				c.s.got()
			}
		case bytes.HasPrefix(m, []byte("40")):
			if c.room == nil {
				c.joined = true
				return nil
			}
			join := append(append(c.wbuf[:0:0], `421["join","`...), c.room...)
			return c.writeFrame(0x1, append(join, `"]`...))
		case bytes.HasPrefix(m, []byte("431")) && c.room != nil:
			c.joined = true // the server acknowledged the join
		case bytes.HasPrefix(m, []byte("44")):
			return fmt.Errorf("CONNECT_ERROR: %s", m[2:])
		case bytes.HasPrefix(m, []byte("41")):
			return errServerClosed
		}
	}
	return nil
}

// writeFrame writes one masked frame (RFC 6455 §5.2, §5.3) with a payload
// of at most 125 bytes: "40", "3", a join and control frames.
func (c *client) writeFrame(op byte, p []byte) error {
	if len(p) > 125 {
		return fmt.Errorf("writeFrame: %d bytes", len(p))
	}
	return c.write(op, p)
}

// write writes one masked frame of up to 64 KiB, under the client's write
// lock: the chat's sender writes from its own goroutine while the client's
// reader answers pings.
func (c *client) write(op byte, p []byte) error {
	if len(p) > 0xffff {
		return fmt.Errorf("write: %d bytes", len(p))
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var small [2 + 4 + 125]byte // the reader's frames: on its stack, which stays small
	var f []byte
	if len(p) <= 125 {
		f = small[:]
	} else {
		f = make([]byte, 4+4+len(p)) // the chat's messages, from the sender's goroutine
	}
	f[0] = 0x80 | op
	h := 2
	if len(p) <= 125 {
		f[1] = 0x80 | byte(len(p))
	} else {
		f[1], f[2], f[3] = 0x80|126, byte(len(p)>>8), byte(len(p))
		h = 4
	}
	c.key = c.key*1664525 + 1013904223
	k := [4]byte{byte(c.key >> 24), byte(c.key >> 16), byte(c.key >> 8), byte(c.key)}
	copy(f[h:h+4], k[:])
	for i, b := range p {
		f[h+4+i] = b ^ k[i&3]
	}
	_, err := c.conn.Write(f[:h+4+len(p)])
	return err
}
