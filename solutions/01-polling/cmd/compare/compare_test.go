package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	polling "github.com/websocket-workbook/workbook/solutions/01-polling"
)

// The scenario of this test is small, so it runs in seconds, even under
// -race: 5 clients, 10 messages a second for 0.8 s, 8 messages.
//
// The fast poller asks every 10 ms, far more often than a message comes
// (every 100 ms). That is the situation polling is criticised for, and the
// one where long polling pays off: a short poller keeps asking whether or
// not there is news, while a long poller only asks again after an answer,
// so at most once per message. (When messages come faster than the short
// poller asks, the balance turns: the short poller collects several per
// request, while the long poller still pays a request for each. Run the
// command with the defaults to see it; docs/benchmarks.md discusses it.)
var testArgs = []string{
	"-clients", "5",
	"-rate", "10",
	"-duration", "800ms",
	"-slow", "200ms",
	"-fast", "10ms",
	"-longpoll-timeout", "5s",
	"-grace", "5s",
}

// TestCompare runs the whole command, every strategy, and checks what it
// measured, the table it printed, and the JSON and SVG it wrote.
func TestCompare(t *testing.T) {
	defer goleak.VerifyNone(t)

	dir := t.TempDir()
	svgPath := filepath.Join(dir, "compare.svg")
	jsonPath := filepath.Join(dir, "compare.json")
	var stdout, stderr bytes.Buffer
	status := run(append(testArgs, "-svg", svgPath, "-json", jsonPath), &stdout, &stderr)
	require.Equal(t, 0, status, "exit status; stderr:\n%s\nstdout:\n%s", stderr.String(), stdout.String())
	t.Log("\n" + stdout.String())
	assert.NotContains(t, stderr.String(), "goroutines still running", "nothing may be left running between strategies")

	raw, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	var rep struct{ Results []Result }
	require.NoError(t, json.Unmarshal(raw, &rep), "the -json output must decode")
	byName := map[string]Result{}
	for _, r := range rep.Results {
		byName[r.Strategy] = r
	}
	require.Len(t, byName, 4, "one result per strategy: %v", byName)
	slow, fast, long, ws := byName["short-slow"], byName["short-fast"], byName["long"], byName["ws"]

	t.Run("every client got every message exactly once, in order", func(t *testing.T) {
		for _, r := range rep.Results {
			assert.Equal(t, 8, r.Published, "%s: messages published", r.Label)
			assert.Equal(t, int64(5*8), r.Delivered, "%s: deliveries", r.Label)
			assert.Empty(t, r.Problems(), "%s: problems", r.Label)
		}
	})

	t.Run("bytes and requests are counted", func(t *testing.T) {
		for _, r := range rep.Results {
			assert.Positive(t, r.BytesIn, "%s: bytes from the clients", r.Label)
			assert.Positive(t, r.BytesOut, "%s: bytes to the clients", r.Label)
			assert.Positive(t, r.BytesPerMessage, "%s: bytes per message", r.Label)
			// Each delivered message is at least its own JSON on the wire.
			assert.Greater(t, r.BytesPerMessage, float64(len(messageText(1))), "%s: bytes per message", r.Label)
			assert.GreaterOrEqual(t, r.Requests, int64(5), "%s: every client made a request", r.Label)
			assert.Positive(t, r.LatencyP50, "%s: p50", r.Label)
			assert.GreaterOrEqual(t, r.LatencyP99, r.LatencyP50, "%s: p99 >= p50", r.Label)
		}
	})

	t.Run("a WebSocket is one request per client, ever", func(t *testing.T) {
		assert.Equal(t, int64(5), ws.Requests)
		assert.Equal(t, int64(5), ws.Connections)
	})

	t.Run("long polling asks at most about once per message", func(t *testing.T) {
		// One request per message per client, plus the first one, plus the
		// one cut short when the client stops.
		assert.LessOrEqual(t, long.Requests, int64(5*(8+2)), "long polling requests")
	})

	t.Run("long polling and WebSocket make far fewer requests than fast short polling", func(t *testing.T) {
		assert.Less(t, 2*long.Requests, fast.Requests, "long polling vs short polling every 10ms")
		assert.Less(t, 2*ws.Requests, fast.Requests, "WebSocket vs short polling every 10ms")
	})

	t.Run("a WebSocket costs fewer bytes per message than short polling", func(t *testing.T) {
		assert.Less(t, ws.BytesPerMessage, slow.BytesPerMessage, "WebSocket vs short polling every 200ms")
		assert.Less(t, ws.BytesPerMessage, fast.BytesPerMessage, "WebSocket vs short polling every 10ms")
	})

	t.Run("short polling's latency follows its interval", func(t *testing.T) {
		assert.Greater(t, slow.LatencyP50, ws.LatencyP50, "slow short polling vs WebSocket, p50")
		assert.Greater(t, slow.LatencyP99, fast.LatencyP99, "slow vs fast short polling, p99")
	})

	t.Run("the table names every strategy", func(t *testing.T) {
		for _, r := range rep.Results {
			assert.Contains(t, stdout.String(), r.Label)
		}
		assert.Contains(t, stdout.String(), "bytes/msg")
	})

	t.Run("the chart is well-formed SVG with every strategy's label", func(t *testing.T) {
		f, err := os.Open(svgPath)
		require.NoError(t, err)
		defer f.Close()
		text, root := parseXML(t, f)
		assert.Equal(t, "svg", root, "root element")
		for _, r := range rep.Results {
			assert.Contains(t, text, r.Label)
		}
		for _, want := range []string{"Bytes on the wire per delivered message", "Delivery latency", "HTTP requests served", "p50", "p99"} {
			assert.Contains(t, text, want)
		}
	})
}

// parseXML reads a whole XML document, failing the test if it is not
// well-formed, and returns its character data and the name of its root.
func parseXML(t *testing.T, r io.Reader) (text, root string) {
	t.Helper()
	dec := xml.NewDecoder(r)
	var b strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "the SVG must be well-formed XML")
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
		case xml.CharData:
			b.Write(tok)
			b.WriteByte('\n')
		}
	}
	return b.String(), root
}

// TestSVGEscapesLabels: a label is text, never markup.
func TestSVGEscapesLabels(t *testing.T) {
	var buf bytes.Buffer
	results := []Result{{Strategy: "x", Label: `<script>&"'`, BytesPerMessage: 1, Requests: 1}}
	require.NoError(t, WriteSVG(&buf, "a < b", "c & d", results))
	text, _ := parseXML(t, &buf)
	assert.Contains(t, text, `<script>&"'`)
	assert.Contains(t, text, "a < b")
}

// TestRecorderReportsEveryKindOfProblem: the check that every client got
// every message exactly once and in order must itself be trusted, so here
// it is fed each kind of mistake.
func TestRecorderReportsEveryKindOfProblem(t *testing.T) {
	msg := func(id int64) polling.Message { return polling.Message{ID: id, Text: messageText(id)} }
	rec := newRecorder(4, 3)
	for id := int64(1); id <= 3; id++ {
		rec.stamp(id)
	}
	for _, id := range []int64{1, 2, 3} {
		rec.clients[0].deliver(msg(id)) // perfect
	}
	for _, id := range []int64{1, 2, 2, 3} {
		rec.clients[1].deliver(msg(id)) // a duplicate
	}
	for _, id := range []int64{1, 3, 2} {
		rec.clients[2].deliver(msg(id)) // out of order
	}
	rec.clients[3].deliver(msg(1)) // loses 2 and 3...
	rec.clients[3].deliver(polling.Message{ID: 2, Text: "forged"})

	var res Result
	rec.fill(&res)
	assert.Equal(t, int64(12), res.Expected)
	assert.Equal(t, int64(10), res.Delivered)
	assert.Equal(t, int64(2), res.Lost)
	assert.Equal(t, int64(1), res.Duplicates)
	assert.Equal(t, int64(1), res.Reordered)
	assert.Equal(t, int64(1), res.Unknown)
	assert.False(t, res.OK())
	problems := strings.Join(res.Problems(), "\n")
	for _, want := range []string{"client 1: received message 2 twice", "client 2: expected message 2, received 3", "client 3: received a message that was never published"} {
		assert.Contains(t, problems, want)
	}
	select {
	case <-rec.done:
		t.Fatal("done is closed although deliveries are missing")
	default:
	}
}

// TestFlags: -h explains and exits 0; nonsense is refused with status 2
// before anything runs.
func TestFlags(t *testing.T) {
	var out bytes.Buffer
	assert.Equal(t, 0, run([]string{"-h"}, &out, &out))
	for _, flag := range []string{"-clients", "-rate", "-duration", "-slow", "-fast", "-svg", "-json", "-only"} {
		assert.Contains(t, out.String(), flag)
	}
	for _, args := range [][]string{
		{"-clients", "0"},
		{"-rate", "-1"},
		{"-only", "carrier-pigeon"},
		{"extra"},
	} {
		out.Reset()
		assert.Equal(t, 2, run(args, &out, &out), "run %q; output:\n%s", args, out.String())
	}
}
