package login

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// The life of a Client's connection: one run per Connect, the dial with
// the token, the watch for its loss, the reconnection with backoff and
// jitter, and the Status reports on the way.

// A run is one Connect's connection, kept up across reconnections until
// Disconnect, Logout, the server's DISCONNECT or a refused token.
type run struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the run is over and its goroutine returned

	conn *events.Client // the connection; nil while reconnecting (Client.mu)

	// callbacks counts the OnStatus functions and event handlers of the
	// run that are running: Disconnect, called from one of them, must not
	// wait for the goroutine that runs it.
	callbacks atomic.Int32
}

// handler wraps h, an event handler, to count in callbacks.
func (r *run) handler(h events.Handler) events.Handler {
	if h == nil {
		return nil
	}
	return func(e *events.Event) {
		r.callbacks.Add(1)
		defer r.callbacks.Add(-1)
		h(e)
	}
}

// wait is the wait before attempt n (from 0): Jitter of its ceiling, kept
// within [0, ceiling].
func (c *Client) wait(n int) time.Duration {
	ceiling := c.backoff(n)
	return min(max(c.opts.Jitter(ceiling), 0), ceiling)
}

// fullJitter is a uniformly random duration in [0, ceiling].
func fullJitter(ceiling time.Duration) time.Duration {
	return rand.N(ceiling + 1)
}

// backoff is the ceiling of the wait before attempt n (from 0):
// min(MaxBackoff, MinBackoff·2ⁿ), without overflowing.
func (c *Client) backoff(n int) time.Duration {
	d := c.opts.MinBackoff
	for range n {
		if d >= c.opts.MaxBackoff/2 {
			return c.opts.MaxBackoff
		}
		d *= 2
	}
	return min(d, c.opts.MaxBackoff)
}

// dial makes one connection of r with token as the auth, asking for the
// session at point when it is set (the last connection's, after it was
// lost). The Client's handlers are registered on it before it connects,
// as socket.io-client has its listeners before its socket connects, so
// that an event the server emits at once (its welcome, the history, what
// a recovered session missed) is not lost; the returned channel gets the
// reason the connection ends.
func (c *Client) dial(ctx context.Context, r *run, token string, point events.RecoveryPoint) (*events.Client, <-chan string, error) {
	conn, err := events.NewClient(c.base.String(), events.ClientOptions{
		Namespace: "/",
		Auth:      map[string]string{"token": token},
		Header:    c.opts.Header,
		Dialer:    c.opts.Dialer,
		Recover:   point,
	})
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	c.setHandlersLocked(r, conn)
	c.mu.Unlock()
	lost := make(chan string, 1)
	conn.OnDisconnect(func(reason string) { lost <- reason })
	if err := conn.Connect(ctx); err != nil {
		return nil, nil, err
	}
	return conn, lost, nil
}

// attach makes conn the connection of r. It reports false, and leaves conn
// alone, when r has been stopped meanwhile. A handler set with On while
// conn was connecting is set on it here.
func (c *Client) attach(r *run, conn *events.Client) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.run != r || r.ctx.Err() != nil {
		return false
	}
	r.conn = conn
	c.setHandlersLocked(r, conn)
	return true
}

// setHandlersLocked sets every handler of the Client on conn, as r runs
// them; c.mu is held. Setting one twice replaces it, so it may be called
// again for handlers added meanwhile.
func (c *Client) setHandlersLocked(r *run, conn *events.Client) {
	for event, h := range c.handlers {
		conn.On(event, r.handler(h))
	}
}

// keep is the goroutine of a run: it reports StateConnected, waits for
// the connection to end, and reconnects, until the run is stopped.
func (c *Client) keep(r *run, conn *events.Client, lost <-chan string) {
	defer c.end(r)
	for {
		c.notify(r, Status{State: StateConnected, Recovered: conn.Recovered()})
		var reason string
		select {
		case reason = <-lost:
		case <-r.ctx.Done():
			c.detach(r)
			_ = conn.Close()
			c.finish(r, Status{State: StateDisconnected, Reason: reasonClientDisconnect})
			return
		}
		c.detach(r)
		_ = conn.Close() // ended already; this waits for its goroutines
		switch {
		case r.ctx.Err() != nil:
			c.finish(r, Status{State: StateDisconnected, Reason: reasonClientDisconnect})
			return
		case reason == reasonServerDisconnect || c.opts.DisableReconnect:
			c.finish(r, Status{State: StateDisconnected, Reason: reason})
			return
		}
		if conn, lost = c.reconnect(r, reason, conn.RecoveryPoint()); conn == nil {
			return
		}
	}
}

// reconnect dials again and again, with backoff, until it has a
// connection, which it returns attached to r, or until it must stop (nil,
// after reporting StateDisconnected). Every attempt asks for the session
// at point, the lost connection's: the server decides whether it can give
// it back, and checks the token either way.
func (c *Client) reconnect(r *run, reason string, point events.RecoveryPoint) (*events.Client, <-chan string) {
	var lastErr error
	for n := 0; ; n++ {
		delay := c.wait(n)
		c.notify(r, Status{State: StateReconnecting, Reason: reason, Err: lastErr, Attempt: n + 1, Delay: delay})
		timer := time.NewTimer(delay)
		select {
		case <-r.ctx.Done():
			timer.Stop()
			c.finish(r, Status{State: StateDisconnected, Reason: reasonClientDisconnect})
			return nil, nil
		case <-timer.C:
		}
		c.mu.Lock()
		token := c.token
		c.mu.Unlock()
		if token == "" { // Logout, from an event handler of the old connection
			c.finish(r, Status{State: StateDisconnected, Reason: reasonClientDisconnect, Err: ErrNotLoggedIn})
			return nil, nil
		}
		ctx, cancel := context.WithTimeout(r.ctx, attemptTimeout)
		conn, lost, err := c.dial(ctx, r, token, point)
		cancel()
		if err == nil {
			if c.attach(r, conn) {
				return conn, lost
			}
			_ = conn.Close()
		}
		if r.ctx.Err() != nil {
			c.finish(r, Status{State: StateDisconnected, Reason: reasonClientDisconnect})
			return nil, nil
		}
		if refused(err) {
			c.finish(r, Status{State: StateDisconnected, Reason: reason, Err: err})
			return nil, nil
		}
		lastErr = err
	}
}

// refused reports whether err is a refusal that the same token would get
// again: any CONNECT_ERROR, except the one that says the server could not
// check the token (its database did not answer), which is worth another
// attempt.
func refused(err error) bool {
	ce, ok := errors.AsType[*events.ConnectError](err)
	return ok && ce.Message != msgServerError
}

// detach forgets r's connection.
func (c *Client) detach(r *run) {
	c.mu.Lock()
	r.conn = nil
	c.mu.Unlock()
}

// end closes r: it is no longer the Client's run, and its goroutine (if it
// had one) is returning.
func (c *Client) end(r *run) {
	r.cancel()
	c.mu.Lock()
	if c.run == r {
		c.run = nil
	}
	delete(c.runs, r)
	c.mu.Unlock()
	close(r.done)
}

// finish reports st, the last status of r, once r is no longer the
// Client's run: an OnStatus function that calls Connect (after logging in
// again, say) starts a new one.
func (c *Client) finish(r *run, st Status) {
	c.mu.Lock()
	if c.run == r {
		c.run = nil
	}
	c.mu.Unlock()
	c.notify(r, st)
}

// notify gives st to the OnStatus functions, on r's goroutine.
func (c *Client) notify(r *run, st Status) {
	c.mu.Lock()
	fns := c.statusFn
	c.mu.Unlock()
	r.callbacks.Add(1)
	defer r.callbacks.Add(-1)
	for _, fn := range fns {
		fn(st)
	}
}

// conn is the connection, or nil.
func (c *Client) conn() *events.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.run == nil {
		return nil
	}
	return c.run.conn
}
