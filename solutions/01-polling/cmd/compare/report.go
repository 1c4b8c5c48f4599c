package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// A Result is what one strategy cost in one run. Durations are in
// nanoseconds in the JSON output.
type Result struct {
	Strategy string `json:"strategy"` // Strategy.Name
	Label    string `json:"label"`    // Strategy.Label
	Clients  int    `json:"clients"`

	Published int   `json:"published"`           // messages the publisher appended
	Expected  int64 `json:"expected_deliveries"` // Published × Clients
	Delivered int64 `json:"delivered"`           // distinct messages the clients received

	// What went wrong, if anything. All zero on a good run.
	Lost          int64    `json:"lost"`       // messages a client never received
	Duplicates    int64    `json:"duplicates"` // messages a client received more than once
	Reordered     int64    `json:"reordered"`  // messages a client received after a later one
	Unknown       int64    `json:"unknown"`    // messages nobody published
	FirstProblems []string `json:"first_problems,omitempty"`
	ClientErrors  []string `json:"client_errors,omitempty"`

	Requests        int64   `json:"requests"`    // HTTP requests served
	Connections     int64   `json:"connections"` // TCP connections accepted
	BytesIn         int64   `json:"bytes_in"`    // read by the server: client to server
	BytesOut        int64   `json:"bytes_out"`   // written by the server: server to client
	BytesPerMessage float64 `json:"bytes_per_message"`

	LatencyP50 time.Duration `json:"latency_p50_ns"`
	LatencyP99 time.Duration `json:"latency_p99_ns"`
	LatencyMax time.Duration `json:"latency_max_ns"`
	CPU        time.Duration `json:"cpu_ns"`  // user+system time of the whole process
	Wall       time.Duration `json:"wall_ns"` // from the clients' start to the end of the drain
}

// Problems lists, in words, everything that makes this result a failure:
// a message lost, repeated, reordered or invented, or a client that gave up.
func (r Result) Problems() []string {
	var p []string
	if r.Lost > 0 {
		p = append(p, fmt.Sprintf("%d deliveries lost (%d of %d arrived)", r.Lost, r.Delivered, r.Expected))
	}
	if r.Duplicates > 0 {
		p = append(p, fmt.Sprintf("%d duplicate deliveries", r.Duplicates))
	}
	if r.Reordered > 0 {
		p = append(p, fmt.Sprintf("%d deliveries out of order", r.Reordered))
	}
	if r.Unknown > 0 {
		p = append(p, fmt.Sprintf("%d messages that were never published", r.Unknown))
	}
	p = append(p, r.FirstProblems...)
	p = append(p, r.ClientErrors...)
	return p
}

// OK reports whether every client received every message exactly once, in
// order, and no client failed.
func (r Result) OK() bool { return len(r.Problems()) == 0 }

// A Report is one run of the command: the scenario and a Result per
// strategy. It is what -json writes.
type Report struct {
	Go       string   `json:"go"`
	CPUs     int      `json:"cpus"`
	Clients  int      `json:"clients"`
	Rate     float64  `json:"rate_per_second"`
	Duration Duration `json:"duration"`
	Slow     Duration `json:"slow_interval"`
	Fast     Duration `json:"fast_interval"`
	Messages int      `json:"messages"`
	Results  []Result `json:"results"`
}

// Duration is a time.Duration that reads "8s" in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// notes is printed under the table: what the columns mean, so that the
// output can be read without the source.
var notes = []string{
	"Every strategy delivers the same way: the publisher calls Log.Append in this process; the strategy carries the message from the server to the clients over loopback TCP.",
	"requests: HTTP requests the server served (a WebSocket upgrade is one).",
	"bytes/msg: every byte the server's TCP connections read and wrote, headers and framing included, both directions, divided by messages delivered.",
	"p50, p99: delivery latency, from just before Log.Append to the client's deliver callback, over every delivery to every client.",
	"CPU: user+system time of this whole process during the strategy; the server and all clients share it.",
}

// WriteTable prints results as an aligned table, then the notes.
func WriteTable(w io.Writer, results []Result) error {
	width := 0
	for _, r := range results {
		width = max(width, len(r.Label))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\trequests\tconns\tbytes\tbytes/msg\tdelivered\tp50\tp99\tCPU\tok\t\n", width, "strategy")
	for _, r := range results {
		ok := "yes"
		if !r.OK() {
			ok = "NO"
		}
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t%s\t%.0f\t%d/%d\t%s\t%s\t%s\t%s\t\n",
			width, r.Label, r.Requests, r.Connections, bytesText(r.BytesIn+r.BytesOut),
			r.BytesPerMessage, r.Delivered, r.Expected,
			msText(r.LatencyP50), msText(r.LatencyP99), cpuText(r.CPU), ok)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, n := range notes {
		fmt.Fprintln(w, "  "+n)
	}
	return nil
}

// Ratios are the comparisons that matter, in sentences: how many times the
// bytes, the latency and the requests of each polling strategy are those of
// the WebSocket. It returns nothing when there is no WebSocket result.
func Ratios(results []Result) []string {
	var ws *Result
	for i := range results {
		if results[i].Strategy == "ws" {
			ws = &results[i]
		}
	}
	if ws == nil || ws.BytesPerMessage == 0 {
		return nil
	}
	var out []string
	for _, r := range results {
		if r.Strategy == "ws" {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s the bytes per message, %s the p50 latency, %s the p99 latency, %s the requests of the WebSocket",
			r.Label,
			times(r.BytesPerMessage, ws.BytesPerMessage),
			times(float64(r.LatencyP50), float64(ws.LatencyP50)),
			times(float64(r.LatencyP99), float64(ws.LatencyP99)),
			times(float64(r.Requests), float64(ws.Requests))))
	}
	return out
}

// times says "3.2×" for a/b, with sensible precision.
func times(a, b float64) string {
	if b == 0 {
		return "n/a×"
	}
	x := a / b
	if x >= 10 {
		return fmt.Sprintf("%.0f×", x)
	}
	return fmt.Sprintf("%.1f×", x)
}

func msText(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.2f ms", ms)
	}
}

func cpuText(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

// bytesText is a byte count in kB or MB (powers of 1000), or bytes.
func bytesText(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	case n >= 1_000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// thousands writes n with thousands separators: 12,345.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
