package rawws

import (
	"bufio"
	"net"
	"time"
)

// Defaults for a new Conn.
const (
	// DefaultReadLimit is the largest message a Conn accepts unless
	// SetReadLimit says otherwise. A longer message fails the connection
	// with 1009 (message too big) before it is buffered.
	DefaultReadLimit = 1 << 20

	// DefaultCloseTimeout is how long Close waits for the peer's close frame
	// (and, on the client, for the server to close the TCP connection)
	// before closing the TCP connection anyway.
	DefaultCloseTimeout = 5 * time.Second
)

// A Conn is one end of a WebSocket connection, after the opening handshake.
// See the package documentation for how to read, write and close one, and
// for which methods may be called concurrently.
type Conn struct {
	nc           net.Conn
	br           *bufio.Reader // reads from nc; may hold bytes that followed the handshake
	isServer     bool          // a server reads masked frames and writes unmasked ones
	subprotocol  string
	readLimit    int64
	closeTimeout time.Duration
	pongHandler  func(payload []byte)
	closeHandler func(code int, reason string)

	// Exercises 2.6 to 2.9 add what reading, writing and closing need to
	// remember: the state of the message being read, locks for writers, and
	// whether a close frame has been sent or received.
}

// NewConn makes a Conn of a connection whose opening handshake is done. br,
// when not nil, is a reader of nc that may already hold the first bytes after
// the handshake (what http.Hijacker returns); nil means a new reader. A server
// Conn (isServer) expects masked frames and sends unmasked ones; a client
// Conn the reverse.
//
// Upgrader.Upgrade and Dialer.Dial call NewConn; call it yourself to speak
// WebSocket over a connection you set up another way.
func NewConn(nc net.Conn, br *bufio.Reader, isServer bool) *Conn {
	if br == nil {
		br = bufio.NewReaderSize(nc, 4096)
	}
	return &Conn{
		nc:           nc,
		br:           br,
		isServer:     isServer,
		readLimit:    DefaultReadLimit,
		closeTimeout: DefaultCloseTimeout,
	}
}

// SetReadLimit sets the largest message, in bytes, the Conn accepts. A
// message over the limit fails the connection with 1009 (§7.4.1), as soon as
// a frame header shows it is too long; nothing of it is buffered. n <= 0
// means DefaultReadLimit.
func (c *Conn) SetReadLimit(n int64) {
	if n <= 0 {
		n = DefaultReadLimit
	}
	c.readLimit = n
}

// SetCloseTimeout sets how long Close waits for the peer; d <= 0 means
// DefaultCloseTimeout.
func (c *Conn) SetCloseTimeout(d time.Duration) {
	if d <= 0 {
		d = DefaultCloseTimeout
	}
	c.closeTimeout = d
}

// SetPongHandler sets the function called with the payload of every pong the
// reader receives. It runs on the reading goroutine, inside NextReader or
// ReadMessage. nil means pongs are ignored.
func (c *Conn) SetPongHandler(h func(payload []byte)) { c.pongHandler = h }

// SetCloseHandler sets the function called when the peer's close frame
// arrives, with its code (1005 when it had none) and reason, before the Conn
// answers it. It runs on the reading goroutine.
func (c *Conn) SetCloseHandler(h func(code int, reason string)) { c.closeHandler = h }

// Subprotocol is the subprotocol chosen in the handshake, or "".
func (c *Conn) Subprotocol() string { return c.subprotocol }

// NetConn is the underlying connection. Reading from or writing to it
// directly corrupts the WebSocket stream; use it for addresses and deadlines.
func (c *Conn) NetConn() net.Conn { return c.nc }

// LocalAddr is the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr is the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetReadDeadline sets the deadline for reads; a read that times out fails
// the Conn for good (the stream may be mid-frame). The zero time means none.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline for writes. The zero time means none.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.nc.SetWriteDeadline(t) }
