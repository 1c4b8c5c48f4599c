package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A short run on two small rooms, against the floor and the Go server:
// every server climbs, the table has a row for each, and the chart is
// well-formed SVG that names them.
func TestAShortRunMeasuresAndDraws(t *testing.T) {
	dir := t.TempDir()
	svg := filepath.Join(dir, "chat.svg")
	var out bytes.Buffer
	err := run([]string{"-runs", "1", "-workloads", "2x5", "-servers", "floor,go", "-step", "200ms", "-steps", "3", "-slow", "300ms", "-svg", svg}, &out)
	require.NoError(t, err, out.String())
	text := out.String()
	for _, want := range []string{"| 2 rooms of 5 | floor |", "| 2 rooms of 5 | go |", "with a slow client"} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, "best         0 msgs/s", "every server delivers something within the bound:\n%s", text)
	b, err := os.ReadFile(svg)
	require.NoError(t, err)
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := d.Token(); err != nil {
			require.ErrorContains(t, err, "EOF", "the chart is well-formed XML")
			break
		}
	}
	assert.True(t, strings.Contains(string(b), "Go, gorilla/websocket") && strings.Contains(string(b), "floor: a bare write loop"))
}

func TestBadFlagsAreErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-workloads", "ten"},
		{"-workloads", "0x10"},
		{"-servers", "go,deno"},
	} {
		assert.Error(t, run(args, &bytes.Buffer{}), "%q", args)
	}
}
