package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"math/bits"
	"strconv"
	"sync/atomic"
	"time"
)

// The chat workload: with Config.Rooms set, client i joins the room
// "r<i mod Rooms>" as it connects (it emits `421["join","r<k>"]` and is
// connected once the server acknowledges it), and Send makes some clients
// send chat messages, `42["msg",{"r":"r<k>","t":<ns>,"p":"..."}]`, which
// the server under test broadcasts to the room. Every client that receives
// a "msg" reads its t, the send time on the swarm's own monotonic clock,
// and records how long the message took: sender and receivers are in one
// process, so the latency is end to end, one clock, no skew.

// latencyBuckets is a log-linear histogram of latencies in microseconds:
// 64 powers of two, each cut in 32, so a bucket is at most about 3 % wide.
type latencyBuckets [64 * 32]atomic.Int64

func bucketOf(us uint64) int {
	if us < 32 {
		return int(us)
	}
	e := bits.Len64(us) - 6 // us >> e is in [32, 64): six significant bits, the first always 1
	return 32 + e*32 + int(us>>uint(e))&31
}

// upperOf is the largest latency (µs) bucket b holds.
func upperOf(b int) uint64 {
	if b < 32 {
		return uint64(b)
	}
	e := (b - 32) / 32
	m := uint64((b-32)%32) | 32
	return (m+1)<<uint(e) - 1
}

func (h *latencyBuckets) add(us uint64) {
	b := bucketOf(us)
	if b >= len(h) {
		b = len(h) - 1
	}
	h[b].Add(1)
}

func (h *latencyBuckets) reset() {
	for i := range h {
		h[i].Store(0)
	}
}

// quantiles returns the latencies (µs) below which fractions qs of the
// recorded ones lie, and how many there were.
func (h *latencyBuckets) quantiles(qs ...float64) ([]uint64, int64) {
	var counts [len(latencyBuckets{})]int64
	var n int64
	for i := range h {
		counts[i] = h[i].Load()
		n += counts[i]
	}
	out := make([]uint64, len(qs))
	if n == 0 {
		return out, 0
	}
	for qi, q := range qs {
		want := int64(q * float64(n))
		if want >= n {
			want = n - 1
		}
		var seen int64
		for i, c := range counts {
			seen += c
			if seen > want {
				out[qi] = upperOf(i)
				break
			}
		}
	}
	return out, n
}

// A SendResult is what one Send step measured.
type SendResult struct {
	Sent      int64         `json:"sent"`      // messages the senders wrote
	Received  int64         `json:"received"`  // deliveries to the clients that read at full speed
	Slow      int64         `json:"slow"`      // deliveries to the slow client
	SlowDue   int64         `json:"slowDue"`   // messages sent to the slow client's room
	SlowLost  bool          `json:"slowLost"`  // whether the server cut the slow client off
	P50, P99  time.Duration `json:"-"`         // of the full-speed clients' deliveries
	P999, Max time.Duration `json:"-"`         //
	Elapsed   time.Duration `json:"elapsedNs"` // from the first send to the end of the drain
	CPU       time.Duration `json:"cpuNs"`     // the swarm's CPU time during the step
	P50us     uint64        `json:"p50us"`
	P99us     uint64        `json:"p99us"`
	P999us    uint64        `json:"p999us"`
	MaxUs     uint64        `json:"maxUs"`
}

// Send runs one step of the chat workload: senders clients, as many in
// each room, send rate messages a second between them for d, each to
// its own room, with a payload of payload bytes; then Send waits until
// expected deliveries per sent message (the room's size) have arrived, or
// drain has passed. The latency histogram starts empty for each step.
func (s *Swarm) Send(ctx context.Context, rate float64, senders int, d, drain time.Duration, perMessage int64, payload int) (SendResult, error) {
	if s.cfg.Rooms <= 0 {
		return SendResult{}, fmt.Errorf("loadgen: Send needs Config.Rooms")
	}
	if senders <= 0 || senders > len(s.clients) {
		return SendResult{}, fmt.Errorf("loadgen: %d senders of %d clients", senders, len(s.clients))
	}
	s.lat.reset()
	s.total.Store(0)
	s.slowTotal.Store(0)
	cpu0 := ProcessCPU()
	body := make([]byte, payload)
	for i := range body {
		body[i] = 'x'
	}
	// Client i is in room i mod Rooms, so the first senders clients are
	// spread evenly over the rooms: every room has its share of senders.
	pick := s.clients[:senders]
	var slowRoom []byte // the slow client's room, if the swarm has one
	if last := s.clients[len(s.clients)-1]; last.slow {
		slowRoom = last.room
	}
	var slowDue int64
	start := time.Now()
	var sent int64
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	next := 0
	frame := make([]byte, 0, 64+payload)
	for {
		now := time.Now()
		el := now.Sub(start)
		if el >= d {
			break
		}
		due := int64(el.Seconds() * rate)
		for ; sent < due; sent++ {
			c := pick[next]
			next = (next + 1) % len(pick)
			frame = append(frame[:0], `42["msg",{"r":"`...)
			frame = append(frame, c.room...)
			frame = append(frame, `","t":`...)
			frame = strconv.AppendInt(frame, time.Since(s.epoch).Nanoseconds(), 10)
			frame = append(frame, `,"p":"`...)
			frame = append(frame, body...)
			frame = append(frame, `"}]`...)
			if err := c.write(0x1, frame); err != nil {
				return SendResult{}, fmt.Errorf("loadgen: sending: %w", err)
			}
			if slowRoom != nil && bytes.Equal(c.room, slowRoom) {
				slowDue++
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return SendResult{}, ctx.Err()
		case <-s.failed:
			return SendResult{}, s.failErr
		}
	}
	want := sent * perMessage
	deadline := time.Now().Add(drain)
	for s.total.Load()+s.slowTotal.Load() < want && time.Now().Before(deadline) {
		select {
		case <-time.After(time.Millisecond):
		case <-s.failed:
			return SendResult{}, s.failErr
		}
	}
	r := SendResult{Sent: sent, Received: s.total.Load(), Slow: s.slowTotal.Load(), SlowDue: slowDue, Elapsed: time.Since(start), CPU: ProcessCPU() - cpu0}
	q, _ := s.lat.quantiles(0.50, 0.99, 0.999, 1)
	r.P50us, r.P99us, r.P999us, r.MaxUs = q[0], q[1], q[2], q[3]
	r.P50, r.P99, r.P999, r.Max = time.Duration(q[0])*time.Microsecond, time.Duration(q[1])*time.Microsecond, time.Duration(q[2])*time.Microsecond, time.Duration(q[3])*time.Microsecond
	r.SlowLost = s.slowLost.Load()
	return r, nil
}

// SetSlowRate makes the swarm's slow client (Config.Slow) read at most
// rate messages a second; 0 lets it read at full speed.
func (s *Swarm) SetSlowRate(rate float64) {
	if rate <= 0 {
		s.slowGap.Store(0)
		return
	}
	s.slowGap.Store(int64(time.Duration(float64(time.Second) / rate)))
}

// chatMessage handles a "msg" a client received: it records the latency
// from the t the sender wrote, or, for the slow client, reads slowly.
func (c *client) chatMessage(m []byte) {
	if c.slow {
		c.s.slowTotal.Add(1)
		if gap := c.s.slowGap.Load(); gap > 0 {
			time.Sleep(time.Duration(gap))
		}
		return
	}
	if t, ok := fieldInt(m, `"t":`); ok {
		now := time.Since(c.s.epoch).Nanoseconds()
		if d := now - t; d >= 0 {
			c.s.lat.add(uint64(d / 1000))
		}
	}
	c.s.got()
}

// fieldInt reads the decimal number after key in m, without allocating.
func fieldInt(m []byte, key string) (int64, bool) {
	for i := 0; i+len(key) <= len(m); i++ {
		if string(m[i:i+len(key)]) != key {
			continue
		}
		var v int64
		j := i + len(key)
		start := j
		for ; j < len(m) && m[j] >= '0' && m[j] <= '9'; j++ {
			v = v*10 + int64(m[j]-'0')
		}
		return v, j > start
	}
	return 0, false
}
