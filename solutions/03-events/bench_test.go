package events

// Benchmarks of lesson 03: broadcasting one event to thousands of connected
// clients, the Go server against Node's socket.io server (npm socket.io
// 4.8.4) in the same run:
//
//	go test -run '^$' -bench . -benchtime 20x -benchmem ./solutions/03-events/
//
// Every benchmark name ends in /go (this package's Server) or /node (Node's
// socket.io in its own process, js/bcastserver.js of internal/loadgen), so
// each pair sits on adjacent lines. The clients are internal/loadgen's
// swarm: lean Engine.IO/Socket.IO WebSocket clients that answer pings and
// count the "tick" events they receive. The swarm runs in a child process
// (this test binary, started again), so that this process holds only the
// Go server's connections (10,000 clients and their 10,000 server ends
// would not fit in one process's file limit here) and so that the Go
// server's memory figures are the server's alone.
//
//   - BenchmarkBroadcast/clients=N/...: one iteration broadcasts one event
//     {"seq", "payload"} (a 100-byte payload) to every client and waits
//     until every client has received it. Reported: ns/broadcast (the same
//     as ns/op), ns/recipient (ns/broadcast ÷ N) and msgs/s (events
//     delivered per second, N ÷ the time per broadcast). For /go, B/op and
//     allocs/op (with -benchmem) are the server's (and this loop's); for
//     /node, only this loop's.
//   - BenchmarkBurst/clients=1000/...: one iteration emits 100 events in a row,
//     as fast as the server takes them, and waits until every client has
//     all of them. Reported: msgs/s, and burst-bytes/conn: how much the
//     server's memory grew above idle during the bursts, per connection
//     (Go: the largest heap+stack in use seen by a sampler every
//     millisecond; Node: the resident set right after its emit loop, when
//     everything the kernel did not take yet is queued in the process).
//   - Both also report server-cpu-ns/msg and swarm-cpu-ns/msg: the CPU
//     time (user+system) the server and the swarm used during the timed
//     loop, per delivered message. For /go "server" is this whole process,
//     the benchmark loop included; for /node it is the Node process. The
//     two share the machine's cores, so this says where the time goes.
//   - BenchmarkIdleMemory/clients=10000/...: bytes/conn, what one connected,
//     idle client costs the server: Go: HeapInuse+StackInuse after GC,
//     with and without the clients, ÷ N; Node: the resident set (RSS)
//     after a full GC, with and without the clients, ÷ N. Go's resident
//     set grows too, reported as rss-bytes/conn. One iteration is one more
//     GC and reading of the figures; the median reading is reported.
//
// The Go server runs with the default Options but for the transport, which
// is TransportFromEnv's: in the solution, EVENTS_TRANSPORT=rawws puts it on
// lesson 02's Conn instead of gorilla/websocket.
//
// The broadcasts are timed with a fixed number of iterations, so that the
// whole set runs in a few minutes (most of it connecting 10,000 clients):
// use -benchtime 20x (or another count), not a duration.
//
// The file is in package events, like the tests, so that the same file
// benchmarks the lesson's code and the solution's. The /go benchmarks are
// skipped while exercise 3.5 (broadcast) is not done; the /node ones run
// whenever Node and `npm ci` are there (and fail with CI=true if not). Every
// helper's name starts with "bench", to stay clear of the tests' helpers.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/websocket-workbook/workbook/internal/exercise"
	"github.com/websocket-workbook/workbook/internal/loadgen"
)

// benchClients are the sizes of the swarm.
var benchClients = []int{1000, 10000}

// benchPayload is the text every tick carries: about a chat message.
var benchPayload = strings.Repeat("0123456789", 10)

// benchBurst is how many events one iteration of BenchmarkBurst emits.
const benchBurst = 100

// benchWait bounds every wait for the clients.
const benchWait = 60 * time.Second

// benchTick is the event's argument; Node sends the same {seq, payload}.
type benchTick struct {
	Seq     int64  `json:"seq"`
	Payload string `json:"payload"`
}

// A benchServer is one of the two servers under test, with its swarm.
type benchServer struct {
	url   string
	emit  func(count int, seq int64) error // count ticks to everyone, seq counting up
	swarm *loadgen.Process
	sent  int64 // ticks emitted so far

	goSrv *Server             // /go only
	node  *loadgen.NodeServer // /node only
}

// benchFileLimit raises the soft limit of open files to the hard one, and
// skips when n server connections (and some to spare) do not fit.
func benchFileLimit(b *testing.B, n int) {
	b.Helper()
	limit, err := loadgen.RaiseFileLimit()
	if err != nil {
		b.Fatalf("raising RLIMIT_NOFILE: %v", err)
	}
	if limit < uint64(n)+256 {
		b.Skipf("RLIMIT_NOFILE is %d (hard limit): too low for %d connections; raise it (ulimit -Hn) as root", limit, n)
	}
}

// benchGoServer starts this package's Server on 127.0.0.1 with the default
// options, but for the transport: TransportFromEnv's (gorilla/websocket,
// or in the solution lesson 02's Conn with EVENTS_TRANSPORT=rawws), and
// connection state recovery when recovery is true. done is closed once n
// sockets have connected.
func benchGoServer(b *testing.B, n int, recovery bool) (*benchServer, <-chan struct{}) {
	b.Helper()
	exercise.Start(b, "3.5")
	benchFileLimit(b, n)
	opts := Options{Upgrader: TransportFromEnv()}
	if recovery {
		exercise.Start(b, "3.9")
		opts.Recovery = &RecoveryOptions{}
	}
	srv := NewServer(opts)
	var connected atomic.Int64
	done := make(chan struct{})
	srv.OnConnection(func(*Socket) {
		if connected.Add(1) == int64(n) {
			close(done)
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	ts := httptest.NewServer(mux)
	b.Cleanup(func() {
		_ = srv.Close()
		ts.Close()
	})
	return &benchServer{
		url:   ts.URL,
		goSrv: srv,
		emit: func(count int, seq int64) error {
			for i := range count {
				if err := srv.Emit("tick", benchTick{Seq: seq + int64(i), Payload: benchPayload}); err != nil {
					return err
				}
			}
			return nil
		},
	}, done
}

// benchNodeServer starts Node's socket.io server (js/bcastserver.js).
func benchNodeServer(b *testing.B) *benchServer {
	b.Helper()
	node, err := loadgen.StartNodeServer(b)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := node.Close(); err != nil {
			b.Logf("node: %v; stderr:\n%s", err, node.Stderr())
		}
	})
	return &benchServer{
		url:  node.URL,
		node: node,
		emit: func(count int, seq int64) error {
			_, err := node.Emit(count, seq, benchPayload, false)
			return err
		},
	}
}

// benchStart starts the server impl ("go", "go+recovery" or "node") and connects a swarm
// of n clients to it.
func benchStart(b *testing.B, impl string, n int) *benchServer {
	b.Helper()
	var s *benchServer
	var joined <-chan struct{}
	if impl != "node" {
		s, joined = benchGoServer(b, n, impl == "go+recovery")
	} else {
		s = benchNodeServer(b)
	}
	s.connect(b, n, joined)
	return s
}

// connect starts the swarm of n clients and waits until the server knows
// them all (for Go: until OnConnection ran n times).
func (s *benchServer) connect(b *testing.B, n int, joined <-chan struct{}) {
	b.Helper()
	swarm, err := loadgen.StartProcess(loadgen.Config{URL: s.url, Clients: n, Timeout: 3 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	s.swarm = swarm
	b.Cleanup(func() { _ = swarm.Close() })
	if joined != nil {
		select {
		case <-joined:
		case <-time.After(benchWait):
			b.Fatalf("the server saw fewer than %d connections within %v", n, benchWait)
		}
	}
	if s.node != nil {
		r, err := s.node.Mem(false)
		if err != nil {
			b.Fatal(err)
		}
		if r.Clients != n {
			b.Fatalf("node has %d clients, want %d", r.Clients, n)
		}
	}
}

// round emits count ticks and waits until all n clients have all of them.
func (s *benchServer) round(b *testing.B, n, count int) {
	target := (s.sent + int64(count)) * int64(n)
	if err := s.swarm.Expect(target, benchWait); err != nil {
		b.Fatal(err)
	}
	if err := s.emit(count, s.sent); err != nil {
		b.Fatal(err)
	}
	s.sent += int64(count)
	if err := s.swarm.Await(benchWait); err != nil {
		b.Fatal(err)
	}
}

// cpu returns the CPU time the server and the swarm have used so far: for
// /go the whole benchmark process (the server and this loop), for /node the
// Node process.
func (s *benchServer) cpu(b *testing.B) (server, swarm time.Duration) {
	b.Helper()
	swarm, err := s.swarm.CPU()
	if err != nil {
		b.Fatal(err)
	}
	if s.node == nil {
		return loadgen.ProcessCPU(), swarm
	}
	r, err := s.node.Mem(false)
	if err != nil {
		b.Fatal(err)
	}
	return time.Duration(r.Mem.CPUNs), swarm
}

// reportCPU reports the CPU time per delivered message since server0 and
// swarm0 (what cpu returned before the loop).
func (s *benchServer) reportCPU(b *testing.B, server0, swarm0 time.Duration, msgs int64) {
	b.Helper()
	server1, swarm1 := s.cpu(b)
	if server1 > 0 {
		b.ReportMetric(float64(server1-server0)/float64(msgs), "server-cpu-ns/msg")
	}
	if swarm1 > 0 {
		b.ReportMetric(float64(swarm1-swarm0)/float64(msgs), "swarm-cpu-ns/msg")
	}
}

// check fails b unless every client received every tick exactly once.
func (s *benchServer) check(b *testing.B, n int) {
	b.Helper()
	lo, hi, total, err := s.swarm.Counts()
	if err != nil {
		b.Fatal(err)
	}
	if lo != s.sent || hi != s.sent || total != s.sent*int64(n) {
		b.Fatalf("after %d ticks the clients received between %d and %d each, %d in all; want %d each",
			s.sent, lo, hi, total, s.sent)
	}
}

func benchImpls(b *testing.B, sizes []int, run func(b *testing.B, impl string, n int)) {
	for _, n := range sizes {
		for _, impl := range []string{"go", "go+recovery", "node"} {
			b.Run(fmt.Sprintf("clients=%d/%s", n, impl), func(b *testing.B) { run(b, impl, n) })
		}
	}
}

func BenchmarkBroadcast(b *testing.B) {
	benchImpls(b, benchClients, func(b *testing.B, impl string, n int) {
		s := benchStart(b, impl, n)
		s.round(b, n, 1) // a first broadcast, untimed
		b.ReportAllocs()
		server0, swarm0 := s.cpu(b)
		rounds := 0
		for b.Loop() {
			s.round(b, n, 1)
			rounds++
		}
		s.reportCPU(b, server0, swarm0, int64(rounds*n))
		s.check(b, n)
		per := float64(b.Elapsed().Nanoseconds()) / float64(rounds)
		b.ReportMetric(per, "ns/broadcast")
		b.ReportMetric(per/float64(n), "ns/recipient")
		b.ReportMetric(float64(n)*1e9/per, "msgs/s")
	})
}

func BenchmarkBurst(b *testing.B) {
	// 1,000 clients only: a burst of 100 to 10,000 clients is a million
	// messages, which takes Node long enough to miss its own heartbeat.
	benchImpls(b, []int{1000}, func(b *testing.B, impl string, n int) {
		s := benchStart(b, impl, n)
		s.round(b, n, 1)

		var idle int64
		var peak atomic.Int64
		stop := func() {}
		if s.node != nil {
			r, err := s.node.Mem(true)
			if err != nil {
				b.Fatal(err)
			}
			idle = r.Mem.RSS
		} else {
			runtime.GC()
			idle = benchInUse()
			stop = benchSampler(&peak)
		}
		server0, swarm0 := s.cpu(b)
		rounds := 0
		for b.Loop() {
			if s.node != nil {
				r, err := s.node.Emit(benchBurst, s.sent, benchPayload, true)
				if err != nil {
					b.Fatal(err)
				}
				target := (s.sent + benchBurst) * int64(n)
				s.sent += benchBurst
				if err := s.swarm.WaitTotal(target, benchWait); err != nil {
					b.Fatal(err)
				}
				peak.Store(max(peak.Load(), r.Mem.RSS))
			} else {
				s.round(b, n, benchBurst)
			}
			rounds++
		}
		stop()
		s.reportCPU(b, server0, swarm0, int64(rounds*n*benchBurst))
		s.check(b, n)
		per := float64(b.Elapsed().Nanoseconds()) / float64(rounds)
		b.ReportMetric(float64(n*benchBurst)*1e9/per, "msgs/s")
		b.ReportMetric(float64(max(0, peak.Load()-idle))/float64(n), "burst-bytes/conn")
	})
}

func BenchmarkIdleMemory(b *testing.B) {
	const n = 10000
	for _, impl := range []string{"go", "node"} {
		b.Run(fmt.Sprintf("clients=%d/%s", n, impl), func(b *testing.B) {
			if impl == "go" {
				benchIdleGo(b, n)
			} else {
				benchIdleNode(b, n)
			}
		})
	}
}

func benchIdleGo(b *testing.B, n int) {
	s, joined := benchGoServer(b, n, false)
	runtime.GC()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := benchRSS()
	s.connect(b, n, joined)
	rssAfter := benchRSS()
	var readings []float64
	for b.Loop() {
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		d := int64(after.HeapInuse+after.StackInuse) - int64(before.HeapInuse+before.StackInuse)
		readings = append(readings, float64(d)/float64(n))
	}
	b.ReportMetric(benchMedian(readings), "bytes/conn")
	if rssBefore > 0 && rssAfter > 0 {
		b.ReportMetric(float64(rssAfter-rssBefore)/float64(n), "rss-bytes/conn")
	}
}

func benchIdleNode(b *testing.B, n int) {
	s := benchNodeServer(b)
	before, err := s.node.Mem(true)
	if err != nil {
		b.Fatal(err)
	}
	s.connect(b, n, nil)
	var readings []float64
	for b.Loop() {
		after, err := s.node.Mem(true)
		if err != nil {
			b.Fatal(err)
		}
		readings = append(readings, float64(after.Mem.RSS-before.Mem.RSS)/float64(n))
	}
	b.ReportMetric(benchMedian(readings), "bytes/conn")
}

// benchMetrics are the runtime/metrics that add up to HeapInuse+StackInuse
// of runtime.MemStats; unlike ReadMemStats, reading them does not stop the
// world, so a sampler can read them often during a burst.
var benchMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/stacks:bytes",
}

// benchInUse returns the heap and stack memory in use, as benchMetrics say.
func benchInUse() int64 {
	samples := make([]metrics.Sample, len(benchMetrics))
	for i, name := range benchMetrics {
		samples[i].Name = name
	}
	metrics.Read(samples)
	var sum int64
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			sum += int64(s.Value.Uint64())
		}
	}
	return sum
}

// benchSampler keeps the largest benchInUse in peak, reading it every
// millisecond until the returned stop is called.
func benchSampler(peak *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if v := benchInUse(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// benchRSS returns this process's resident set in bytes (Linux), or 0.
func benchRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

func benchMedian(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
