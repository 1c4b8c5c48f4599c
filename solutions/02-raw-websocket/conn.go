package rawws

import (
	"bufio"
	"net"
	"sync"
	"sync/atomic"
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

// Buffer sizes. 4 KiB, like net/http's and gorilla/websocket's defaults: a
// small message goes out as one write, and a server with many connections
// does not pay much per connection.
const (
	readBufferSize  = 4096
	writeBufferSize = 4096
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

	// Writing (write.go). Two locks: msgSem is held for a whole data
	// message, from NextWriter to the writer's Close (or for one
	// WriteMessage), so that two messages never interleave; wmu is held
	// for one frame, so that a control frame can go out between two frames
	// of a message but never inside one. msgSem is a channel so that a
	// writer waiting for it can give up when the connection closes.
	msgSem   chan struct{}
	wmu      sync.Mutex
	wbuf     []byte      // guarded by wmu: scratch space for header + payload
	iov      net.Buffers // guarded by wmu: header and payload for one writev
	iovArr   [2][]byte   // guarded by wmu: the backing array of iov
	keys     maskKeys    // guarded by wmu: masking keys from crypto/rand
	writeErr error       // guarded by wmu: the first failed write, for good
	ctrlOut  [2 + 123]byte
	mw       messageWriter // what NextWriter returns, reused message after message

	// Reading (read.go). readMu is held by whichever goroutine reads from
	// br: the application's reader, or Close when nobody else reads.
	readMu    sync.Mutex
	rd        readState     // guarded by readMu
	readErr   error         // guarded by readMu; once set, every read returns it
	readCalls uint64        // guarded by readMu: how many read calls the application made
	readDone  chan struct{} // closed once readErr is set: reading is over
	ctrlIn    [125]byte     // guarded by readMu: the payload of a control frame
	mr        messageReader // what NextReader returns, reused message after message

	// Closing (close.go).
	closeSent atomic.Bool   // a close frame has been written (set under wmu)
	closeRecv atomic.Bool   // the peer's close frame has been read
	tcpOnce   sync.Once     // closes nc once
	tcpClosed chan struct{} // closed when nc is closed
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
	return newConn(nc, br, isServer, nil)
}

// newConn is NewConn with an optional write buffer to reuse (the one
// net/http allocated for the hijacked connection, say).
func newConn(nc net.Conn, br *bufio.Reader, isServer bool, wbuf []byte) *Conn {
	if br == nil {
		br = bufio.NewReaderSize(nc, readBufferSize)
	}
	if cap(wbuf) < writeBufferSize {
		wbuf = make([]byte, 0, writeBufferSize)
	}
	c := &Conn{
		nc:           nc,
		br:           br,
		isServer:     isServer,
		readLimit:    DefaultReadLimit,
		closeTimeout: DefaultCloseTimeout,
		msgSem:       make(chan struct{}, 1),
		wbuf:         wbuf[:0],
		readDone:     make(chan struct{}),
		tcpClosed:    make(chan struct{}),
	}
	c.mw.c = c
	c.mr.c = c
	return c
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
//
// The payload is valid only until the handler returns. The handler must not
// call Close: that would wait for the very goroutine it runs on.
func (c *Conn) SetPongHandler(h func(payload []byte)) { c.pongHandler = h }

// SetCloseHandler sets the function called when the peer's close frame
// arrives, with its code (1005 when it had none) and reason, before the Conn
// answers it. It runs on the reading goroutine.
//
// The handler may call Close to answer with a code of its own; otherwise
// the Conn echoes the peer's code (§5.5.1).
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
