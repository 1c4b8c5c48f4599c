// Package netcut lets a test cut its clients' connections the way a
// network that goes away does: the TCP connection closes under the
// WebSocket, with no close frame and no Engine.IO close packet, so the
// client sees its reads fail and the server sees the connection end.
//
// Connection state recovery (lesson 03's exercise 3.9) is about exactly
// that moment, and a test of it needs to make it happen on demand:
//
//	var link netcut.Link
//	c, _ := events.NewClient(url, events.ClientOptions{Dialer: link.Dialer(5 * time.Second)})
//	...
//	link.Cut() // every connection dialled so far drops
package netcut

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// A Link remembers the connections its Dialer made, so that Cut can close
// them. The zero value is ready to use; it is safe for concurrent use.
type Link struct {
	mu    sync.Mutex
	conns []net.Conn
}

// Dialer returns a gorilla/websocket Dialer whose TCP connections the Link
// keeps, with handshakeTimeout as its HandshakeTimeout.
func (l *Link) Dialer(handshakeTimeout time.Duration) *websocket.Dialer {
	return &websocket.Dialer{
		HandshakeTimeout: handshakeTimeout,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				l.mu.Lock()
				l.conns = append(l.conns, c)
				l.mu.Unlock()
			}
			return c, err
		},
	}
}

// Cut closes every connection dialled so far and forgets them; later
// dials are kept again, for the next Cut.
func (l *Link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.conns = nil
}
