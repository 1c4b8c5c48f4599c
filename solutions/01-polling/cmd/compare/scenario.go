package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	polling "github.com/websocket-workbook/workbook/solutions/01-polling"
)

// Config is one scenario: how many clients, how fast the publisher writes,
// for how long, and the knobs of the strategies.
type Config struct {
	Clients         int           // clients following the log
	Rate            float64       // messages appended per second
	Duration        time.Duration // how long the publisher publishes, per strategy
	Slow            time.Duration // interval of the slow short poller
	Fast            time.Duration // interval of the fast short poller
	LongPollTimeout time.Duration // how long the server holds a long poll with no news
	Grace           time.Duration // how long clients may catch up after publishing stops
	ReadyTimeout    time.Duration // how long clients may take to connect before publishing starts
	Queue           int           // per-client send queue of the WebSocket hub, in messages
}

// DefaultConfig is the scenario of `go run ./solutions/01-polling/cmd/compare`
// with no flags: a busy chat room, 50 people, 20 messages a second.
func DefaultConfig() Config {
	return Config{
		Clients:         50,
		Rate:            20,
		Duration:        8 * time.Second,
		Slow:            time.Second,
		Fast:            100 * time.Millisecond,
		LongPollTimeout: 25 * time.Second,
		Grace:           3 * time.Second,
		ReadyTimeout:    10 * time.Second,
		Queue:           256,
	}
}

// Messages is how many messages the publisher appends: Rate × Duration,
// rounded, and at least one.
func (c Config) Messages() int {
	n := int(math.Round(c.Rate * c.Duration.Seconds()))
	return max(n, 1)
}

// Validate reports a configuration that cannot run.
func (c Config) Validate() error {
	switch {
	case c.Clients < 1:
		return errors.New("-clients must be at least 1")
	case !(c.Rate > 0) || math.IsInf(c.Rate, 0):
		return errors.New("-rate must be a positive number of messages per second")
	case c.Duration <= 0:
		return errors.New("-duration must be positive")
	case c.Slow <= 0 || c.Fast <= 0:
		return errors.New("-slow and -fast must be positive")
	case c.LongPollTimeout <= 0:
		return errors.New("-longpoll-timeout must be positive")
	case c.Grace < 0:
		return errors.New("-grace must not be negative")
	case c.ReadyTimeout <= 0:
		return errors.New("the ready timeout must be positive")
	case c.Queue < 1:
		return errors.New("-queue must be at least 1")
	}
	return nil
}

// messageText is what the publisher writes as message id: a short line of
// chat, about the size people type, the same length for every strategy.
func messageText(id int64) string {
	return fmt.Sprintf("message %06d: the quick brown fox jumps over the lazy dog", id)
}

// publisherName is the Author of every message.
const publisherName = "publisher"

// Run measures one strategy: it starts a fresh server on 127.0.0.1:0 with a
// fresh Log, connects cfg.Clients clients, waits until every one of them is
// following the log, publishes, lets them catch up, and tears it all down
// again. The Result says what it cost and whether every message arrived.
//
// An error means the measurement itself could not be made (no listener,
// clients that never connected); lost or repeated messages are not errors
// but part of the Result (see Result.Problems).
func Run(ctx context.Context, cfg Config, s Strategy) (Result, error) {
	res := Result{Strategy: s.Name, Label: s.Label, Clients: cfg.Clients}
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	n := cfg.Messages()
	res.Published = n

	// The server: a fresh Log behind the strategy's handler, behind a
	// request counter, on a listener that counts every byte.
	log := polling.NewLog()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	wire := &countingListener{Listener: ln}
	ready := newReadiness(cfg.Clients)
	var requests atomic.Int64
	handler, stopHandler := s.serve(log, cfg, ready.mark)
	srv := &http.Server{
		Handler:           countRequests(&requests, handler),
		ConnContext:       withConn,
		ReadHeaderTimeout: 10 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(wire) }()
	baseURL := "http://" + ln.Addr().String()

	// The clients, one goroutine each.
	rec := newRecorder(cfg.Clients, n)
	clientCtx, stopClients := context.WithCancel(ctx)
	clientErrs := make([]error, cfg.Clients)
	var clients sync.WaitGroup
	cpu0, cpuOK := processCPU()
	start := time.Now()
	for i := range cfg.Clients {
		clients.Go(func() {
			clientErrs[i] = s.follow(clientCtx, i, baseURL, cfg, rec.clients[i].deliver)
		})
	}

	// Publish only once every client is following: a client still
	// connecting would see the first messages late for reasons that have
	// nothing to do with the strategy.
	runErr := waitReady(ctx, ready, cfg.ReadyTimeout)
	if runErr == nil {
		runErr = publish(ctx, log, rec, n, cfg.Rate)
	}
	if runErr == nil {
		// Drain: publishing has stopped; give the clients a bounded time to
		// receive what is still on its way, then stop whatever has arrived.
		grace := time.NewTimer(cfg.Grace)
		select {
		case <-rec.done:
		case <-grace.C:
		case <-ctx.Done():
		}
		grace.Stop()
	}
	res.Wall = time.Since(start)
	if cpu1, ok := processCPU(); ok && cpuOK {
		res.CPU = cpu1 - cpu0
	}

	// Tear down, clients first so that no request is cut by the server, and
	// wait for every goroutine we started.
	stopClients()
	clients.Wait()
	stopHandler()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
	}
	cancel()
	<-served

	res.Requests = requests.Load()
	res.Connections = wire.conns.Load()
	res.BytesIn = wire.in.Load()
	res.BytesOut = wire.out.Load()
	rec.fill(&res)
	for i, err := range clientErrs {
		if err != nil && !errors.Is(err, context.Canceled) {
			res.ClientErrors = append(res.ClientErrors, fmt.Sprintf("client %d: %v", i, err))
		}
	}
	if res.Delivered > 0 {
		res.BytesPerMessage = float64(res.BytesIn+res.BytesOut) / float64(res.Delivered)
	}
	return res, runErr
}

// waitReady waits until every client is following the log, or gives up
// after timeout.
func waitReady(ctx context.Context, r *readiness, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("only %d of %d clients were following the log after %v", r.count(), r.want, timeout)
	}
}

// publish appends n messages to log at rate messages per second. It keeps
// to a schedule (message i is due at start + i/rate) rather than sleeping a
// fixed period after each append, so a slow moment does not stretch the run.
// Before each append it stamps the message's ID with the monotonic clock.
func publish(ctx context.Context, log *polling.Log, rec *recorder, n int, rate float64) error {
	period := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for i := range n {
		t.Reset(time.Until(start.Add(time.Duration(i) * period)))
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		id := int64(i + 1)
		rec.stamp(id)
		m, err := log.Append(publisherName, messageText(id))
		if err != nil {
			return fmt.Errorf("append message %d: %w", id, err)
		}
		if m.ID != id {
			return fmt.Errorf("the log gave message %d the ID %d; the publisher must be its only writer", id, m.ID)
		}
	}
	return nil
}

// readiness counts the clients that are following the log. Strategies call
// mark with a key per client (its connection, or its hub registration);
// done is closed when want distinct keys have been marked.
type readiness struct {
	want int
	done chan struct{}

	mu   sync.Mutex
	seen map[any]struct{}
}

func newReadiness(want int) *readiness {
	return &readiness{want: want, done: make(chan struct{}), seen: make(map[any]struct{})}
}

func (r *readiness) mark(key any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seen[key]; ok || len(r.seen) >= r.want {
		return
	}
	r.seen[key] = struct{}{}
	if len(r.seen) == r.want {
		close(r.done)
	}
}

func (r *readiness) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// settle waits, up to within, for the number of goroutines to fall back to
// baseline, and returns how many are left. Between strategies nothing may be
// left running: a leftover goroutine would spend the next strategy's CPU.
func settle(baseline int, within time.Duration) int {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		n := runtime.NumGoroutine()
		if n <= baseline || time.Now().After(deadline) {
			return n
		}
		<-tick.C
	}
}
