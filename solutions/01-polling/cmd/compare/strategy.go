package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	polling "github.com/websocket-workbook/workbook/solutions/01-polling"
)

// A Strategy is one way of getting new messages from the server's Log to
// the clients: a server side and a client side.
type Strategy struct {
	Name  string // short and stable, for -only and the JSON output: "short-slow"
	Label string // for people, in the table and the chart: "short poll, 1s"

	// serve builds the server side over log. It calls ready(key) when the
	// client identified by key is following the log, and returns the
	// handler and a function that stops whatever the handler started and
	// waits for it.
	serve func(log *polling.Log, cfg Config, ready func(key any)) (http.Handler, func())

	// follow is client number i (0 to cfg.Clients-1): it follows the log at
	// baseURL, handing each message to deliver, until ctx is done.
	follow func(ctx context.Context, i int, baseURL string, cfg Config, deliver func(polling.Message)) error
}

// Strategies returns the four strategies, in the order they run: from the
// one that wastes the least traffic but makes people wait, through the
// one that wastes the most, to the ones that push.
func Strategies(cfg Config) []Strategy {
	return []Strategy{
		{
			Name:  "short-slow",
			Label: "short poll, " + cfg.Slow.String(),
			serve: servePolling,
			follow: func(ctx context.Context, i int, url string, cfg Config, deliver func(polling.Message)) error {
				return followShort(ctx, stagger(i, cfg.Clients, cfg.Slow), url, cfg.Slow, deliver)
			},
		},
		{
			Name:  "short-fast",
			Label: "short poll, " + cfg.Fast.String(),
			serve: servePolling,
			follow: func(ctx context.Context, i int, url string, cfg Config, deliver func(polling.Message)) error {
				return followShort(ctx, stagger(i, cfg.Clients, cfg.Fast), url, cfg.Fast, deliver)
			},
		},
		{
			Name:   "long",
			Label:  "long poll",
			serve:  servePolling,
			follow: followLong,
		},
		{
			Name:   "ws",
			Label:  "WebSocket",
			serve:  serveWebSocket,
			follow: followWebSocket,
		},
	}
}

// servePolling is the server side of all three polling strategies: the
// lesson's own NewMux, unchanged. A polling client counts as following the
// log as soon as its first request reaches the handler; each client has a
// connection of its own, so the connection tells clients apart.
func servePolling(log *polling.Log, cfg Config, ready func(any)) (http.Handler, func()) {
	mux := polling.NewMux(log, cfg.LongPollTimeout)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := connOf(r.Context()); c != nil {
			ready(c)
		}
		mux.ServeHTTP(w, r)
	})
	return h, func() {}
}

// followShort is a short-polling client: the lesson's Poller asking
// GET /messages?since= every interval, from its first poll at delay on.
func followShort(ctx context.Context, delay time.Duration, baseURL string, interval time.Duration, deliver func(polling.Message)) error {
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
		}
	}
	client, done := newHTTPClient()
	defer done()
	p := &polling.Poller{BaseURL: baseURL, Client: client}
	return quiet(ctx, p.ShortPoll(ctx, interval, deliver))
}

// stagger is when short poller i of n makes its first request: the
// pollers spread evenly over one interval, as people who opened the page at
// different moments would be. Started all at once they would poll in step,
// and in step with a publisher whose period is the interval, which would
// make the delay before a message is picked up an accident of timing
// instead of the half interval it is on average.
func stagger(i, n int, interval time.Duration) time.Duration {
	return interval * time.Duration(i) / time.Duration(max(n, 1))
}

// followLong is a long-polling client: the lesson's Poller asking
// GET /messages/wait?since= again as soon as each answer is in.
func followLong(ctx context.Context, _ int, baseURL string, cfg Config, deliver func(polling.Message)) error {
	client, done := newHTTPClient()
	defer done()
	p := &polling.Poller{BaseURL: baseURL, Client: client}
	return quiet(ctx, p.LongPoll(ctx, deliver))
}

// newHTTPClient gives a client its own transport, and so its own
// keep-alive connection, as separate browsers would have. The returned
// function closes the connection it leaves idle.
func newHTTPClient() (*http.Client, func()) {
	tr := &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: tr}, tr.CloseIdleConnections
}

// quiet turns the error a follower returns because the scenario stopped it
// into nil.
func quiet(ctx context.Context, err error) error {
	if ctx.Err() != nil && (err == nil || errors.Is(err, ctx.Err())) {
		return nil
	}
	return err
}
