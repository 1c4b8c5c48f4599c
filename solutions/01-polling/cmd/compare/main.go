package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command; it returns the exit status: 0 when every
// strategy delivered every message exactly once and in order, 1 when one did
// not or the measurement failed, 2 for bad flags.
func run(args []string, stdout, stderr io.Writer) int {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.Clients, "clients", cfg.Clients, "number of clients following the log")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "messages the publisher appends per `second`")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long the publisher publishes, per strategy")
	fs.DurationVar(&cfg.Slow, "slow", cfg.Slow, "interval of the slow short poller")
	fs.DurationVar(&cfg.Fast, "fast", cfg.Fast, "interval of the fast short poller")
	fs.DurationVar(&cfg.LongPollTimeout, "longpoll-timeout", cfg.LongPollTimeout, "how long the server holds a long poll that has no news")
	fs.DurationVar(&cfg.Grace, "grace", cfg.Grace, "after publishing stops, how long clients may take to catch up before the strategy is stopped")
	fs.IntVar(&cfg.Queue, "queue", cfg.Queue, "WebSocket hub: messages queued per client before a slow client is dropped")
	only := fs.String("only", "", "run only these strategies, comma-separated: short-slow,short-fast,long,ws")
	svgPath := fs.String("svg", "compare.svg", "write the chart to this `file` (empty: no chart)")
	jsonPath := fs.String("json", "", "write the raw results as JSON to this `file` (\"-\": standard output)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: go run ./solutions/01-polling/cmd/compare [flags]

Runs one chat scenario over four delivery strategies, one after another,
each on a fresh loopback server (127.0.0.1, a free port):

  short-slow   short polling every -slow        (Poller.ShortPoll)
  short-fast   short polling every -fast        (Poller.ShortPoll)
  long         long polling                     (LongPollHandler, Poller.LongPoll)
  ws           a WebSocket per client           (gorilla/websocket, a hub following Log.Wait)

-clients clients follow the log while a publisher appends -rate messages a
second for -duration, directly to the server's Log in this process. For each
strategy it reports the HTTP requests served, the bytes on the wire per
delivered message (both directions, headers included), delivery latency p50
and p99, and the CPU time of the process, checks that every client got every
message exactly once and in order (exit status 1 if not), prints a table and
writes an SVG chart.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "compare: unexpected argument %q (flags only; see -h)\n", fs.Arg(0))
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 2
	}
	strategies, err := pick(Strategies(cfg), *only)
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	rep := Report{
		Go: runtime.Version(), CPUs: runtime.NumCPU(),
		Clients: cfg.Clients, Rate: cfg.Rate, Duration: Duration(cfg.Duration),
		Slow: Duration(cfg.Slow), Fast: Duration(cfg.Fast), Messages: cfg.Messages(),
	}
	fmt.Fprintf(stdout, "%d clients, %g messages/s for %v per strategy (%d messages), %d CPUs, %s\n",
		cfg.Clients, cfg.Rate, cfg.Duration, cfg.Messages(), rep.CPUs, rep.Go)
	fmt.Fprintln(stdout, "The publisher appends to each server's Log directly, in this process, so every strategy is measured on the same delivery path.")
	fmt.Fprintln(stdout)

	status := 0
	width := 0
	for _, s := range strategies {
		width = max(width, len(s.Label))
	}
	baseline := runtime.NumGoroutine()
	for _, s := range strategies {
		fmt.Fprintf(stdout, "running %-*s ", width+4, s.Label+" ...")
		res, err := Run(ctx, cfg, s)
		fmt.Fprintf(stdout, "%.1f s\n", res.Wall.Seconds())
		if err != nil {
			fmt.Fprintf(stderr, "compare: %s: %v\n", s.Label, err)
			return 1
		}
		rep.Results = append(rep.Results, res)
		if left := settle(baseline, 3*time.Second); left > baseline {
			fmt.Fprintf(stderr, "compare: warning: %d goroutines still running after %s (%d before)\n", left, s.Label, baseline)
		}
	}
	fmt.Fprintln(stdout)
	if err := WriteTable(stdout, rep.Results); err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	if ratios := Ratios(rep.Results); len(ratios) > 0 {
		fmt.Fprintln(stdout)
		for _, r := range ratios {
			fmt.Fprintln(stdout, "  "+r)
		}
	}

	for _, r := range rep.Results {
		if problems := r.Problems(); len(problems) > 0 {
			status = 1
			fmt.Fprintf(stderr, "\nFAIL: %s did not deliver every message exactly once and in order:\n", r.Label)
			for _, p := range problems {
				fmt.Fprintln(stderr, "  -", p)
			}
		}
	}

	if *svgPath != "" {
		if err := writeFile(*svgPath, func(w io.Writer) error {
			return WriteSVG(w, chartTitle(), chartSubtitle(rep), rep.Results)
		}); err != nil {
			fmt.Fprintln(stderr, "compare:", err)
			return 1
		}
		fmt.Fprintln(stdout, "\nchart:", *svgPath)
	}
	if *jsonPath != "" {
		write := func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		if *jsonPath == "-" {
			err = write(stdout)
		} else {
			err = writeFile(*jsonPath, write)
		}
		if err != nil {
			fmt.Fprintln(stderr, "compare:", err)
			return 1
		}
	}
	return status
}

// pick returns the strategies named in only (all of them when only is
// empty), in their usual order.
func pick(all []Strategy, only string) ([]Strategy, error) {
	if strings.TrimSpace(only) == "" {
		return all, nil
	}
	var names []string
	for _, s := range all {
		names = append(names, s.Name)
	}
	want := strings.Split(only, ",")
	for i, n := range want {
		want[i] = strings.TrimSpace(n)
		if !slices.Contains(names, want[i]) {
			return nil, fmt.Errorf("-only: unknown strategy %q; the strategies are %s", want[i], strings.Join(names, ","))
		}
	}
	var out []Strategy
	for _, s := range all {
		if slices.Contains(want, s.Name) {
			out = append(out, s)
		}
	}
	return out, nil
}

// writeFile writes a file through write, and reports the first error of
// either.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
