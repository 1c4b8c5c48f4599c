package scaling

// Benchmarks of lesson 06: a broadcast across a cluster of two servers on
// one Redis, half of the clients on each, the Go cluster (lesson 03's event
// server with this package's Cluster) against a Node cluster (npm
// socket.io 4.8.4 with @socket.io/redis-adapter 8.3.0) in the same run:
//
//	go test -run '^$' -bench BenchmarkClusterBroadcast -benchtime 100x ./solutions/06-scaling-out/
//
// One iteration broadcasts one event {"seq", "payload"} (a 100-byte
// payload) from the first server, io.emit, and waits until every client of
// both servers has it: the second server's clients get it through Redis.
// The clients are internal/loadgen's swarm, in two child processes (one
// per server). Reported:
//
//   - msgs/s: events delivered per second, clients × iterations ÷ time;
//   - p50-ms and p99-ms: the time from the emit to the last client's
//     receipt, over the iterations (the latency of a cluster-wide
//     broadcast, its slowest recipient);
//   - bytes/conn: what one idle connected client costs its server. Go:
//     HeapInuse+StackInuse of this process (both Go servers, their
//     Clusters and go-redis) after GC, with and without the clients, ÷
//     clients; Node: the two processes' resident sets after a full GC,
//     with and without, ÷ clients.
//
// Every server, Go and Node, runs in its own Redis-backed cluster (one
// redis-server per sub-benchmark, on loopback). The Go benchmarks are
// skipped while exercise 6.2 is not done; they and the Node ones need
// redis-server, and the Node ones Node with `npm ci`.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/websocket-workbook/workbook/internal/exercise"
	"github.com/websocket-workbook/workbook/internal/loadgen"
	"github.com/websocket-workbook/workbook/internal/redisserver"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// benchClusterClients are the sizes of the swarm, over both servers.
var benchClusterClients = []int{1000, 5000}

// benchClusterWait bounds the wait for one broadcast to reach everyone.
const benchClusterWait = 30 * time.Second

// benchClusterPayload is the 100-byte payload of every broadcast.
var benchClusterPayload = strings.Repeat("x", 100)

func BenchmarkClusterBroadcast(b *testing.B) {
	for _, n := range benchClusterClients {
		for _, impl := range []string{"go", "node"} {
			b.Run(fmt.Sprintf("clients=%d/%s", n, impl), func(b *testing.B) { benchCluster(b, impl, n) })
		}
	}
}

// A benchClusterNode is one server of the cluster under test.
type benchClusterNode struct {
	url   string
	emit  func(seq int) error // io.emit("tick", {seq, payload}) from this server
	close func()
}

func benchCluster(b *testing.B, impl string, n int) {
	if impl == "go" {
		exercise.Start(b, "6.2")
	}
	redisserver.Available(b)
	if _, err := loadgen.RaiseFileLimit(); err != nil {
		b.Logf("raising the file limit: %v", err)
	}
	rs := redisserver.Start(b)
	var nodes []*benchClusterNode
	var nodeServers []*loadgen.NodeServer
	for range 2 {
		switch impl {
		case "go":
			nodes = append(nodes, benchGoClusterNode(b, rs.URL()))
		case "node":
			ns, err := loadgen.StartClusterNode(b, rs.URL())
			if err != nil {
				b.Fatal(err)
			}
			if ns == nil {
				return // skipped
			}
			nodeServers = append(nodeServers, ns)
			nodes = append(nodes, &benchClusterNode{
				url: ns.URL,
				emit: func(seq int) error {
					_, err := ns.Emit(1, int64(seq), benchClusterPayload, false)
					return err
				},
				close: func() { _ = ns.Close() },
			})
		}
	}
	defer func() {
		for _, nd := range nodes {
			nd.close()
		}
	}()
	before := benchClusterMem(b, impl, nodeServers)
	// Wait until both servers subscribe: NUMSUB of the request channel.
	benchWaitSubscribed(b, rs, 2)

	var swarms []*loadgen.Process
	for i, nd := range nodes {
		p, err := loadgen.StartProcess(loadgen.Config{URL: nd.url, Clients: n / 2, Timeout: 3 * time.Minute})
		if err != nil {
			b.Fatalf("swarm %d: %v", i, err)
		}
		swarms = append(swarms, p)
	}
	defer func() {
		for _, p := range swarms {
			_ = p.Close()
		}
	}()
	with := benchClusterMem(b, impl, nodeServers)

	per := int64(n / 2)
	lat := make([]time.Duration, 0, b.N)
	seq := 0
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		seq++
		for _, p := range swarms {
			if err := p.Expect(int64(seq)*per, benchClusterWait); err != nil {
				b.Fatal(err)
			}
		}
		t0 := time.Now()
		if err := nodes[0].emit(seq); err != nil {
			b.Fatal(err)
		}
		for j, p := range swarms {
			if err := p.Await(benchClusterWait); err != nil {
				b.Fatalf("broadcast %d, swarm %d: %v\n%s", seq, j, err, p.Stderr())
			}
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))]) / 1e6 }
	b.ReportMetric(float64(int64(n)*int64(b.N))/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(with-before)/float64(n), "bytes/conn")
}

// benchGoClusterNode is a Go server with the Cluster as its adapter.
func benchGoClusterNode(b *testing.B, redisURL string) *benchClusterNode {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := Connect(ctx, Options{URL: redisURL})
	if err != nil {
		b.Fatal(err)
	}
	srv := events.NewServer(events.Options{Adapter: cl.Adapter, SendQueue: 4096})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewUnstartedServer(mux)
	hs.Start()
	return &benchClusterNode{
		url: hs.URL,
		emit: func(seq int) error {
			return srv.Emit("tick", map[string]any{"seq": seq, "payload": benchClusterPayload})
		},
		close: func() {
			_ = srv.Close()
			hs.Close()
			_ = cl.Close()
		},
	}
}

// benchWaitSubscribed waits until want servers listen on the request
// channel of "/".
func benchWaitSubscribed(b *testing.B, rs *redisserver.Server, want int) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if benchNumSub(rs) == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("the cluster has %d servers, want %d", benchNumSub(rs), want)
}

// benchClusterMem is what the servers hold in memory now: for Go, this
// process's heap and stacks in use after GC; for Node, the servers'
// resident sets after a full GC.
func benchClusterMem(b *testing.B, impl string, nodes []*loadgen.NodeServer) int64 {
	if impl == "node" {
		var sum int64
		for _, ns := range nodes {
			r, err := ns.Mem(true)
			if err != nil {
				b.Fatal(err)
			}
			sum += r.Mem.RSS
		}
		return sum
	}
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}

// benchNumSub is how many servers listen on the request channel of "/".
func benchNumSub(rs *redisserver.Server) int {
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer rdb.Close()
	ch := RequestChannel(DefaultKey, "/")
	n, err := rdb.PubSubNumSub(context.Background(), ch).Result()
	if err != nil {
		return -1
	}
	return int(n[ch])
}
