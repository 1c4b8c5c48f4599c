package loadgen

import (
	"context"
	"testing"
	"time"
)

// The swarm against Node's socket.io, in this process and in a child.
func TestSwarmAgainstNode(t *testing.T) {
	srv, err := StartNodeServer(t)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Connect(ctx, Config{URL: srv.URL, Clients: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := StartProcess(Config{URL: srv.URL, Clients: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	if r, err := srv.Mem(true); err != nil || r.Clients != 100 {
		t.Fatalf("mem: %+v, %v; want 100 clients", r, err)
	}
	if err := p.Expect(150, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Emit(3, 1, "hello", true); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitTotal(ctx, 150); err != nil {
		t.Fatal(err)
	}
	if err := p.Await(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if lo, hi := s.Counts(); lo != 3 || hi != 3 {
		t.Fatalf("in-process counts %d..%d, want 3", lo, hi)
	}
	if lo, hi, total, err := p.Counts(); err != nil || lo != 3 || hi != 3 || total != 150 {
		t.Fatalf("child counts %d..%d total %d (%v), want 3, 150", lo, hi, total, err)
	}
	if _, err := srv.Drain(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigRefusesOtherAddresses(t *testing.T) {
	for _, u := range []string{"http://10.0.0.1:80", "http://example.com:80"} {
		c := Config{URL: u, Clients: 1}
		if err := c.defaults(); err == nil {
			t.Errorf("%s: accepted", u)
		}
	}
}

func TestLatencyBucketsAreOrderedAndTight(t *testing.T) {
	prev := -1
	for _, us := range []uint64{0, 1, 31, 32, 33, 63, 64, 65, 100, 1000, 12345, 1 << 20, 1 << 40} {
		b := bucketOf(us)
		if b < prev {
			t.Fatalf("bucketOf(%d) = %d, below the bucket of a smaller latency (%d)", us, b, prev)
		}
		prev = b
		if up := upperOf(b); up < us || float64(up) > float64(us)*1.04+1 {
			t.Fatalf("latency %d µs is in a bucket that ends at %d: more than 4 %% wide", us, up)
		}
	}
	var h latencyBuckets
	for us := uint64(1); us <= 1000; us++ {
		h.add(us)
	}
	q, n := h.quantiles(0.5, 0.99)
	if n != 1000 || q[0] < 500 || q[0] > 520 || q[1] < 990 || q[1] > 1023 {
		t.Fatalf("quantiles of 1..1000 µs: p50 %d, p99 %d, n %d", q[0], q[1], n)
	}
}
