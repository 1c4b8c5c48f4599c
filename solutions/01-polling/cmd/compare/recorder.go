package main

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"

	polling "github.com/websocket-workbook/workbook/solutions/01-polling"
)

// A recorder is the clients' side of the measurement: it checks that each
// client receives messages 1..n exactly once and in order, and it measures
// how long each one took to arrive.
//
// Latency is measured on one monotonic clock: the publisher calls stamp(id)
// just before Log.Append, and a client's deliver notes the time it is
// called. Both are offsets from base, a time.Time with a monotonic reading,
// so a wall-clock step during the run changes nothing.
type recorder struct {
	base    time.Time
	want    int64          // messages every client must receive: IDs 1..want
	sent    []atomic.Int64 // sent[id-1]: offset from base when message id was appended, +1 (0 = not yet)
	clients []clientRecord

	remaining atomic.Int64  // deliveries still missing until every client has every message
	done      chan struct{} // closed when remaining reaches 0
}

func newRecorder(clients, messages int) *recorder {
	r := &recorder{
		base:    time.Now(),
		want:    int64(messages),
		sent:    make([]atomic.Int64, messages),
		clients: make([]clientRecord, clients),
		done:    make(chan struct{}),
	}
	r.remaining.Store(int64(clients) * int64(messages))
	for i := range r.clients {
		r.clients[i] = clientRecord{rec: r, seen: make([]bool, messages), latencies: make([]time.Duration, 0, messages)}
	}
	return r
}

// stamp notes that message id is about to be appended.
func (r *recorder) stamp(id int64) {
	r.sent[id-1].Store(int64(time.Since(r.base)) + 1)
}

// A clientRecord is what one client received. Its deliver method is called
// from that client's goroutine only, one message at a time, so it needs no
// lock; the recorder reads it after the client's goroutine has ended.
type clientRecord struct {
	rec       *recorder
	seen      []bool // seen[id-1]: message id has been delivered
	last      int64  // the highest ID delivered so far
	delivered int64  // distinct messages delivered
	dups      int64  // deliveries of a message already delivered
	reordered int64  // deliveries of an ID lower than one already delivered
	wrong     int64  // messages with an ID out of range or a text that is not ours
	first     string // the first problem, in words
	latencies []time.Duration
}

// deliver is the callback each client hands its strategy.
func (c *clientRecord) deliver(m polling.Message) {
	now := time.Since(c.rec.base)
	switch {
	case m.ID < 1 || m.ID > c.rec.want || m.Text != messageText(m.ID):
		c.wrong++
		c.note("received a message that was never published: id %d, text %q", m.ID, m.Text)
		return
	case c.seen[m.ID-1]:
		c.dups++
		c.note("received message %d twice", m.ID)
		return
	case m.ID < c.last:
		c.reordered++
		c.note("received message %d after message %d", m.ID, c.last)
	case m.ID > c.last+1:
		c.note("expected message %d, received %d", c.last+1, m.ID)
	}
	c.seen[m.ID-1] = true
	c.delivered++
	c.last = max(c.last, m.ID)
	if s := c.rec.sent[m.ID-1].Load(); s > 0 {
		c.latencies = append(c.latencies, now-time.Duration(s-1))
	}
	if c.rec.remaining.Add(-1) == 0 {
		close(c.rec.done)
	}
}

func (c *clientRecord) note(format string, args ...any) {
	if c.first == "" {
		c.first = fmt.Sprintf(format, args...)
	}
}

// fill adds what the clients received to res: deliveries, losses,
// duplicates, and the latency percentiles over every delivery of every
// client.
func (r *recorder) fill(res *Result) {
	var all []time.Duration
	res.Expected = r.want * int64(len(r.clients))
	for i := range r.clients {
		c := &r.clients[i]
		res.Delivered += c.delivered
		res.Lost += r.want - c.delivered
		res.Duplicates += c.dups
		res.Reordered += c.reordered
		res.Unknown += c.wrong
		if c.first == "" && c.delivered < r.want {
			c.first = fmt.Sprintf("received %d of %d messages", c.delivered, r.want)
		}
		if c.first != "" && len(res.FirstProblems) < 5 {
			res.FirstProblems = append(res.FirstProblems, fmt.Sprintf("client %d: %s", i, c.first))
		}
		all = append(all, c.latencies...)
	}
	slices.Sort(all)
	res.LatencyP50 = percentile(all, 50)
	res.LatencyP99 = percentile(all, 99)
	if len(all) > 0 {
		res.LatencyMax = all[len(all)-1]
	}
}

// percentile returns the p-th percentile of sorted by the nearest-rank
// method, or 0 when there are no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}
