// Command chatload measures what a chat operator asks of a Socket.IO
// server: how many messages a second it delivers before its latency
// becomes noticeable. It runs the course's chat workload against lesson
// 03's Go server (on gorilla/websocket, and on lesson 02's Conn) and
// against Node's socket.io, in the same run:
//
//	go run ./solutions/03-events/cmd/chatload -runs 3 -svg docs/img/chat-load.svg
//
// A workload is clients spread over rooms (1 room of 1,000; 100 rooms of
// 10; 100 rooms of 100 at 10,000 clients). A tenth of the clients send
// chat messages, `42["msg",{"r":room,"t":sent,"p":text}]`, at a fixed
// offered rate between them; the server broadcasts each to its room, the
// sender included (`io.to(room).emit("msg", m)`). Every receiver records
// how long the message took, on the swarm's one monotonic clock: senders
// and receivers are the same child process (internal/loadgen), so the
// latency is end to end, send to delivery.
//
// The offered rate goes up in steps (by default each 1.5× the one before,
// 1.5 s each)
// until the p99 of the deliveries' latency passes the bound (-p99, 50 ms)
// or fewer than 97 % of the deliveries arrive. A server's figure is the
// highest delivered rate (deliveries a second) of a step within the bound.
// Each run measures every server on every workload; the table gives the
// median of the runs, and the chart (-svg) each server's median p99
// against its median delivered rate, step by step.
//
// The server's CPU time per delivered message is reported beside it (Go:
// this process, which holds the Go server and nothing busy; Node: its
// process), and so is the swarm's: where the two keep every core busy,
// the machine, not the server, bounds the figure. -cpuprofile writes a
// CPU profile of this process, for go tool pprof.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/websocket-workbook/workbook/internal/loadgen"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "chatload:", err)
		os.Exit(1)
	}
}

// A workload is Rooms rooms of Size clients each.
type workload struct{ Rooms, Size int }

func (w workload) String() string { return fmt.Sprintf("%d×%d", w.Rooms, w.Size) }

// Title is the workload in words, for the table and the chart.
func (w workload) Title() string {
	if w.Rooms == 1 {
		return fmt.Sprintf("1 room of %d", w.Size)
	}
	return fmt.Sprintf("%d rooms of %d", w.Rooms, w.Size)
}

// A step is one offered rate's outcome.
type step struct {
	Offered   float64       // messages sent a second
	Delivered float64       // deliveries a second
	P99       time.Duration // of the deliveries
	Complete  float64       // deliveries that arrived ÷ deliveries due
	CPUPerMsg time.Duration // server CPU per delivery
	OK        bool          // within the bounds
	Refine    bool          // a step of the search between the last good rate and the first bad one
	Lost      string        `json:",omitempty"` // why the swarm lost clients in this step, if it did

	// SwarmCPU is the swarm's CPU time per delivery. With CPUPerMsg it
	// says how much of the machine the step took: a machine whose cores
	// are all busy bounds every server alike.
	SwarmCPU time.Duration `json:",omitempty"`

	// The slow-consumer step: at the best rate, one client of the swarm
	// reads 10 times slower than its room-mates receive.
	SlowStep     bool  `json:",omitempty"`
	SlowReceived int64 `json:",omitempty"` // what the slow client read
	SlowDue      int64 `json:",omitempty"` // what was sent to its room
	SlowLost     bool  `json:",omitempty"` // whether the server cut it off
	// BaseP99 is the p99 at the same rate without the slow client.
	BaseP99 time.Duration `json:",omitempty"`
}

// options are the command's flags.
type options struct {
	runs      int
	workloads []workload
	servers   []string
	stepTime  time.Duration
	factor    float64
	p99       time.Duration
	payload   int
	svg       string
	jsonOut   string
	slow      time.Duration
	maxSteps  int
}

func run(args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("chatload", flag.ContinueOnError)
	flags.SetOutput(stdout)
	var o options
	flags.IntVar(&o.runs, "runs", 3, "runs of every server on every workload; the table gives medians")
	wl := flags.String("workloads", "1x1000,100x10,100x100", "rooms×size, comma-separated")
	srv := flags.String("servers", "floor,go,go-rawws,node", "servers to measure: floor (a bare write loop), go (gorilla/websocket), go-rawws (lesson 02's Conn), node (socket.io 4.8.4)")
	flags.DurationVar(&o.stepTime, "step", 1500*time.Millisecond, "how long each offered rate is held")
	flags.Float64Var(&o.factor, "factor", 1.5, "each step's offered rate ÷ the one before")
	flags.DurationVar(&o.p99, "p99", 50*time.Millisecond, "the latency bound")
	flags.IntVar(&o.maxSteps, "steps", 24, "the most steps of the climb")
	flags.IntVar(&o.payload, "payload", 64, "bytes of text in each chat message")
	flags.StringVar(&o.svg, "svg", "", "write the chart (delivered msgs/s against p99) here")
	flags.StringVar(&o.jsonOut, "json", "", "write every step of every run here, as JSON")
	cpuProfile := flags.String("cpuprofile", "", "write a CPU profile of this process (the Go servers and the floor) here, for go tool pprof")
	flags.DurationVar(&o.slow, "slow", 6*time.Second, "after the climb, hold half the best rate this long, without and then with one client reading 10× slower than the rest; 0: skip")
	if err := flags.Parse(args); err != nil {
		return err
	}
	for _, w := range strings.Split(*wl, ",") {
		r, s, ok := strings.Cut(strings.TrimSpace(w), "x")
		rooms, err1 := strconv.Atoi(r)
		size, err2 := strconv.Atoi(s)
		if !ok || err1 != nil || err2 != nil || rooms <= 0 || size <= 0 {
			return fmt.Errorf("-workloads: %q is not ROOMSxSIZE", w)
		}
		o.workloads = append(o.workloads, workload{rooms, size})
	}
	o.servers = strings.Split(*srv, ",")
	for _, s := range o.servers {
		if s != "go" && s != "go-rawws" && s != "node" && s != "floor" {
			return fmt.Errorf("-servers: unknown %q", s)
		}
	}
	if _, err := loadgen.RaiseFileLimit(); err != nil {
		return fmt.Errorf("raising the file limit: %w", err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	// results[workload][server][run] is that run's steps.
	results := map[string]map[string][][]step{}
	for r := 0; r < o.runs; r++ {
		for _, w := range o.workloads {
			for _, s := range o.servers {
				steps, err := measure(o, w, s)
				if err != nil {
					return fmt.Errorf("run %d, %s, %s: %w", r+1, w, s, err)
				}
				if results[w.String()] == nil {
					results[w.String()] = map[string][][]step{}
				}
				results[w.String()][s] = append(results[w.String()][s], steps)
				best := bestStep(steps)
				fmt.Fprintf(stdout, "run %d  %-8s %-9s best %9.0f msgs/s  p99 %6.1f ms  cpu %5.2f µs/msg, swarm %5.2f µs/msg: %.1f cores busy  (%d steps; %s)\n",
					r+1, w, s, best.Delivered, ms(best.P99), us(best.CPUPerMsg), us(best.SwarmCPU), best.coresBusy(), len(steps), firstBad(steps))
				if sl, ok := slowStep(steps); ok {
					fmt.Fprintf(stdout, "        at %.0f msgs/s offered, p99 %6.1f ms; with a slow client, the others' p99 %6.1f ms; the slow one read %d of its %d messages, cut off: %v\n",
						sl.Offered, ms(sl.BaseP99), ms(sl.P99), sl.SlowReceived, sl.SlowDue, sl.SlowLost)
				}
			}
		}
	}
	report(stdout, o, results)
	if o.jsonOut != "" {
		b, err := json.MarshalIndent(results, "", " ")
		if err == nil {
			err = os.WriteFile(o.jsonOut, b, 0o644)
		}
		if err != nil {
			return err
		}
	}
	if o.svg != "" {
		if err := os.WriteFile(o.svg, []byte(chart(o, results)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// coresBusy is the cores the server and the swarm kept busy between them
// in the step: their CPU time over the step's wall time.
func (s step) coresBusy() float64 {
	return float64(s.CPUPerMsg+s.SwarmCPU) / 1e9 * s.Delivered
}

// bestStep is the step with the highest delivered rate within the bounds
// (the zero step if none was).
func bestStep(steps []step) step {
	var best step
	for _, s := range steps {
		if s.OK && !s.SlowStep && s.Delivered > best.Delivered {
			best = s
		}
	}
	return best
}

// A server under test.
type server struct {
	url   string
	cpu   func() time.Duration
	close func()
}

func startServer(name string) (*server, error) {
	if name == "floor" {
		return startFloor()
	}
	if name == "node" {
		var tb failTB
		ns, err := loadgen.StartNodeServer(&tb)
		if tb.msg != "" {
			return nil, errors.New(tb.msg)
		}
		if err != nil {
			return nil, err
		}
		return &server{
			url: ns.URL,
			cpu: func() time.Duration {
				r, err := ns.Mem(false)
				if err != nil {
					return 0
				}
				return time.Duration(r.Mem.CPUNs)
			},
			close: func() { _ = ns.Close() },
		}, nil
	}
	if name == "go-rawws" {
		os.Setenv("EVENTS_TRANSPORT", "rawws")
	} else {
		os.Unsetenv("EVENTS_TRANSPORT")
	}
	srv := events.NewServer(events.Options{Upgrader: events.TransportFromEnv()})
	srv.OnConnection(func(s *events.Socket) {
		s.On("join", func(e *events.Event) {
			var room string
			if e.Decode(0, &room) == nil {
				s.Join(room)
			}
			if e.HasAck() {
				_ = e.Ack()
			}
		})
		s.On("msg", func(e *events.Event) {
			var m struct {
				R string `json:"r"`
			}
			if e.Decode(0, &m) == nil {
				_ = srv.To(m.R).Emit("msg", e.Args[0])
			}
		})
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(l) }()
	return &server{
		url: "http://" + l.Addr().String(),
		cpu: loadgen.ProcessCPU,
		close: func() {
			_ = srv.Close()
			_ = hs.Close()
		},
	}, nil
}

// failTB is the peer.TB StartNodeServer wants: a missing Node is an error
// of the command, not a skip.
type failTB struct{ msg string }

func (*failTB) Helper()                        {}
func (t *failTB) Skipf(f string, args ...any)  { t.msg = fmt.Sprintf(f, args...) }
func (t *failTB) Fatalf(f string, args ...any) { t.msg = fmt.Sprintf(f, args...) }

// measure steps the offered rate up on one server and workload until the
// bounds break.
func measure(o options, w workload, name string) ([]step, error) {
	clients := w.Rooms * w.Size
	senders := max(1, clients/10)
	// The server and its swarm, started again after a step in which the
	// server cut clients off (a full send queue): that step failed, and
	// the next one needs every client back.
	var srv *server
	var swarm *loadgen.Process
	stop := func() {
		if swarm != nil {
			_ = swarm.Close()
		}
		if srv != nil {
			srv.close()
		}
		srv, swarm = nil, nil
	}
	defer stop()
	withSlow := false
	start := func() error {
		var err error
		if srv, err = startServer(name); err != nil {
			return err
		}
		swarm, err = loadgen.StartProcess(loadgen.Config{URL: srv.url, Clients: clients, Rooms: w.Rooms, Slow: withSlow, Timeout: 3 * time.Minute})
		return err
	}
	try := func(rate float64) (step, error) {
		if swarm == nil {
			if err := start(); err != nil {
				return step{}, err
			}
		}
		cpu0 := srv.cpu()
		r, err := swarm.Send(rate, senders, o.stepTime, 2*time.Second, int64(w.Size), o.payload)
		if err != nil {
			// A client was lost: the server cut it off. The step fails.
			stop()
			return step{Offered: rate, P99: time.Hour, Lost: err.Error()}, nil
		}
		cpu := srv.cpu() - cpu0
		due := float64(r.Sent) * float64(w.Size)
		st := step{
			Offered:   float64(r.Sent) / o.stepTime.Seconds(),
			Delivered: float64(r.Received) / o.stepTime.Seconds(),
			P99:       r.P99,
			Complete:  float64(r.Received) / max(due, 1),
		}
		if r.Received > 0 {
			st.CPUPerMsg = cpu / time.Duration(r.Received)
			st.SwarmCPU = r.CPU / time.Duration(r.Received)
		}
		st.OK = st.P99 < o.p99 && st.Complete >= 0.97
		time.Sleep(500 * time.Millisecond) // let the queues empty before the next step
		return st, nil
	}
	// Up by o.factor from about 5,000 deliveries a second until a step
	// breaks the bounds; then three steps of bisection (geometric) between
	// the last good rate and the bad one.
	rate := 5000 / float64(w.Size)
	var steps []step
	lo, hi := 0.0, 0.0
	for i := 0; i < o.maxSteps; i++ {
		st, err := try(rate)
		if err == nil && !st.OK {
			// One bad step on a shared machine may be someone else's
			// doing: a rate fails only if it fails twice in a row.
			st, err = try(rate)
		}
		if err != nil {
			return steps, err
		}
		steps = append(steps, st)
		if !st.OK {
			hi = rate
			break
		}
		lo = rate
		rate *= o.factor
	}
	for k := 0; k < 3 && lo > 0 && hi > 0; k++ {
		mid := math.Sqrt(lo * hi)
		st, err := try(mid)
		if err != nil {
			return steps, err
		}
		st.Refine = true
		steps = append(steps, st)
		if st.OK {
			lo = mid
		} else {
			hi = mid
		}
	}
	best := bestStep(steps)
	if o.slow <= 0 || best.Delivered == 0 {
		return steps, nil
	}
	// The slow consumer, at half the best rate, held for o.slow: first as
	// it is, then with a swarm whose last client reads at a tenth of what
	// each of the others receives. The others' p99 should not move. Both
	// holds run on a server and a swarm started for them, so that the two
	// differ in the slow client alone (not in what the climb left behind).
	half := best.Offered / 2
	hold := func() (loadgen.SendResult, time.Duration, error) {
		cpu0 := srv.cpu()
		r, err := swarm.Send(half, senders, o.slow, 2*time.Second, int64(w.Size), o.payload)
		return r, srv.cpu() - cpu0, err
	}
	stop()
	if err := start(); err != nil {
		return steps, err
	}
	base, _, err := hold()
	if err != nil {
		return steps, err
	}
	stop()
	withSlow = true
	if err := start(); err != nil {
		return steps, err
	}
	perClient := half * float64(w.Size) / float64(clients)
	if err := swarm.SetSlowRate(perClient / 10); err != nil {
		return steps, err
	}
	r, cpu, err := hold()
	if err != nil {
		return steps, err
	}
	st := step{
		Offered: float64(r.Sent) / o.slow.Seconds(), Delivered: float64(r.Received) / o.slow.Seconds(),
		P99: r.P99, Complete: float64(r.Received+r.Slow) / max(float64(r.Sent)*float64(w.Size), 1),
		SlowStep: true, SlowReceived: r.Slow, SlowDue: r.SlowDue, SlowLost: r.SlowLost, Refine: true, BaseP99: base.P99,
	}
	if r.Received > 0 {
		st.CPUPerMsg = cpu / time.Duration(r.Received)
	}
	st.OK = st.P99 < o.p99
	steps = append(steps, st)
	return steps, nil
}

// slowStep is the slow-consumer step of a run, if there is one.
func slowStep(steps []step) (step, bool) {
	for _, s := range steps {
		if s.SlowStep {
			return s, true
		}
	}
	return step{}, false
}

// firstBad is the step that stopped the climb, for the log.
func firstBad(steps []step) string {
	for _, s := range steps {
		if !s.OK && !s.Refine {
			if s.Lost != "" {
				return fmt.Sprintf("stopped at %.0f msgs/s offered: the server cut clients off (%s)", s.Offered, s.Lost)
			}
			return fmt.Sprintf("stopped at %.0f msgs/s offered: p99 %.1f ms, %.1f%% delivered", s.Offered, ms(s.P99), 100*s.Complete)
		}
	}
	return "never stopped"
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// report prints the medians as a markdown table.
func report(w io.Writer, o options, results map[string]map[string][][]step) {
	fmt.Fprintf(w, "\nhighest delivered rate with p99 < %v (median of %d runs)\n\n", o.p99, o.runs)
	fmt.Fprintf(w, "| workload | server | msgs/s | ÷ node | p99 at it | server CPU per msg | ÷ floor | p99 at half the rate → with a slow client | the slow client |\n")
	fmt.Fprintf(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, wl := range o.workloads {
		byServer := results[wl.String()]
		med := func(s string, f func(steps []step) float64) float64 {
			var xs []float64
			for _, steps := range byServer[s] {
				xs = append(xs, f(steps))
			}
			return median(xs)
		}
		bestOf := func(steps []step) float64 { return bestStep(steps).Delivered }
		cpuOf := func(steps []step) float64 { return float64(bestStep(steps).CPUPerMsg.Nanoseconds()) / 1000 }
		nodeBest := med("node", bestOf)
		floorCPU := med("floor", cpuOf)
		for _, s := range o.servers {
			ratio, cpuRatio := "–", "–"
			if nodeBest > 0 {
				ratio = fmt.Sprintf("%.1f×", med(s, bestOf)/nodeBest)
			}
			if floorCPU > 0 {
				cpuRatio = fmt.Sprintf("%.2f×", med(s, cpuOf)/floorCPU)
			}
			slowP99, fate := "–", "–"
			var lost, kept int
			var p99s, bases, behind []float64
			for _, steps := range byServer[s] {
				if sl, ok := slowStep(steps); ok {
					p99s, bases = append(p99s, ms(sl.P99)), append(bases, ms(sl.BaseP99))
					behind = append(behind, float64(sl.SlowDue-sl.SlowReceived))
					if sl.SlowLost {
						lost++
					} else {
						kept++
					}
				}
			}
			if len(p99s) > 0 {
				slowP99 = fmt.Sprintf("%.1f → %.1f ms", median(bases), median(p99s))
				fate = fmt.Sprintf("cut off in %d of %d runs; %.0f messages behind at the end", lost, lost+kept, median(behind))
			}
			fmt.Fprintf(w, "| %s | %s | %.0f | %s | %.1f ms | %.2f µs | %s | %s | %s |\n",
				wl.Title(), s, med(s, bestOf), ratio, med(s, func(st []step) float64 { return ms(bestStep(st).P99) }),
				med(s, cpuOf), cpuRatio, slowP99, fate)
		}
	}
}
