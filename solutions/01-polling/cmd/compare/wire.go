package main

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
)

// A countingListener counts every byte that crosses the connections it
// accepts: what the server reads (requests, WebSocket frames from clients)
// and what it writes (responses, frames to clients). Counting below HTTP is
// the only honest way to compare HTTP polling with WebSockets: it includes
// request lines, headers, chunked encoding, the upgrade handshake and frame
// headers, everything a real network would carry (except TCP/IP headers,
// which the kernel adds).
//
// A WebSocket upgrade hijacks the connection from net/http, but what
// Hijack hands over is the net.Conn this listener returned, so the bytes
// of the WebSocket stay counted.
type countingListener struct {
	net.Listener
	in    atomic.Int64 // bytes read by the server: client to server
	out   atomic.Int64 // bytes written by the server: server to client
	conns atomic.Int64 // connections accepted
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.conns.Add(1)
	return &countingConn{Conn: c, l: l}, nil
}

// A countingConn adds what it reads and writes to its listener's totals.
type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.in.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.l.out.Add(int64(n))
	return n, err
}

// countRequests is middleware that counts every request the server serves,
// whatever the answer. A WebSocket upgrade is one request, like any other.
func countRequests(n *atomic.Int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		next.ServeHTTP(w, r)
	})
}

// connKey is the context key under which withConn stores a request's
// connection.
type connKey struct{}

// withConn is the http.Server's ConnContext: it makes a request's
// connection known to handlers, which use it to tell clients apart (each
// client of the scenario has a connection of its own).
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// connOf returns the connection a request came in on, or nil.
func connOf(ctx context.Context) net.Conn {
	c, _ := ctx.Value(connKey{}).(net.Conn)
	return c
}
