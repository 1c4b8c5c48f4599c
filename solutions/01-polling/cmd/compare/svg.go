package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"time"
)

// The chart is plain SVG written by hand: no dependency, small enough to
// commit, and it renders on GitHub. It has one panel per measure, each a
// group of horizontal bars, one per strategy (two for latency: p50 and p99),
// every bar labelled with its value. Each panel has its own linear scale
// starting at zero, so a bar that is barely there really is that small.

// Layout, in pixels. The chart is drawn for about 800 px of width.
const (
	svgWidth     = 800
	svgLabelEnd  = 172 // strategy labels end here (right-aligned)
	svgBarStart  = 180 // bars start here
	svgBarMax    = 470 // the longest bar of a panel
	svgBarHeight = 16
	svgBarGap    = 3  // between the bars of one strategy
	svgRowGap    = 9  // between strategies
	svgPanelGap  = 22 // between panels
)

// strategyColors are the Okabe–Ito colours, which stay distinct for
// colour-blind readers, in the order of Strategies.
var strategyColors = []string{"#E69F00", "#0072B2", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"}

// A chartSeries is one bar per strategy: a measure, or one percentile of it.
type chartSeries struct {
	name    string  // shown in the legend when a panel has more than one series
	opacity float64 // of the strategy's colour
	value   func(Result) float64
	text    func(Result) string
}

// A chartPanel is one measure.
type chartPanel struct {
	title  string
	unit   string
	series []chartSeries
}

func chartPanels() []chartPanel {
	return []chartPanel{
		{
			title: "Bytes on the wire per delivered message",
			unit:  "bytes, both directions, headers and framing included; lower is better",
			series: []chartSeries{{
				opacity: 1,
				value:   func(r Result) float64 { return r.BytesPerMessage },
				text:    func(r Result) string { return fmt.Sprintf("%s B", thousands(int64(r.BytesPerMessage+0.5))) },
			}},
		},
		{
			title: "Delivery latency",
			unit:  "milliseconds from append to the client's callback; lower is better",
			series: []chartSeries{
				{
					name:    "p50",
					opacity: 1,
					value:   func(r Result) float64 { return float64(r.LatencyP50) },
					text:    func(r Result) string { return "p50 " + msText(r.LatencyP50) },
				},
				{
					name:    "p99",
					opacity: 0.45,
					value:   func(r Result) float64 { return float64(r.LatencyP99) },
					text:    func(r Result) string { return "p99 " + msText(r.LatencyP99) },
				},
			},
		},
		{
			title: "HTTP requests served",
			unit:  "for the whole run; a WebSocket upgrade counts as one",
			series: []chartSeries{{
				opacity: 1,
				value:   func(r Result) float64 { return float64(r.Requests) },
				text:    func(r Result) string { return thousands(r.Requests) },
			}},
		},
		{
			title: "CPU time of the process",
			unit:  "user + system, server and clients together; lower is better",
			series: []chartSeries{{
				opacity: 1,
				value:   func(r Result) float64 { return float64(r.CPU) },
				text:    func(r Result) string { return cpuText(r.CPU) },
			}},
		},
	}
}

// WriteSVG draws results as a chart. title and subtitle head it; the
// subtitle is the place for the scenario ("50 clients, 20 msg/s, ...").
func WriteSVG(w io.Writer, title, subtitle string, results []Result) error {
	panels := chartPanels()
	var body bytes.Buffer
	y := 34.0
	svgText(&body, 16, y, "start", 18, "bold", "#222", title)
	y += 20
	svgText(&body, 16, y, "start", 12, "normal", "#555", subtitle)
	y += 18

	for _, p := range panels {
		y += svgPanelGap
		svgText(&body, 16, y, "start", 15, "bold", "#222", p.title)
		if len(p.series) > 1 {
			// A legend: a swatch per series, in grey, top right.
			x := float64(svgWidth - 16)
			for i := len(p.series) - 1; i >= 0; i-- {
				s := p.series[i]
				svgText(&body, x, y, "end", 12, "normal", "#333", s.name)
				x -= float64(8*len(s.name)) + 4
				fmt.Fprintf(&body, `<rect x="%.1f" y="%.1f" width="14" height="12" fill="#555" fill-opacity="%.2f"/>`+"\n", x-14, y-10, s.opacity)
				x -= 28
			}
		}
		y += 16
		svgText(&body, 16, y, "start", 11.5, "normal", "#666", p.unit)
		y += 10

		top := y
		scale := 0.0
		for _, s := range p.series {
			for _, r := range results {
				scale = max(scale, s.value(r))
			}
		}
		for i, r := range results {
			color := strategyColors[i%len(strategyColors)]
			rowTop := y
			for _, s := range p.series {
				v := s.value(r)
				width := 0.0
				if scale > 0 {
					width = v / scale * svgBarMax
				}
				if v > 0 && width < 1.5 {
					width = 1.5 // still there, however small: see the value
				}
				fmt.Fprintf(&body, `<rect x="%d" y="%.1f" width="%.1f" height="%d" fill="%s" fill-opacity="%.2f"/>`+"\n",
					svgBarStart, y, width, svgBarHeight, color, s.opacity)
				svgText(&body, svgBarStart+width+6, y+svgBarHeight-4, "start", 12, "normal", "#222", s.text(r))
				y += svgBarHeight + svgBarGap
			}
			y -= svgBarGap
			rowMid := (rowTop + y) / 2
			svgText(&body, svgLabelEnd, rowMid+4.5, "end", 13, "normal", "#222", r.Label)
			y += svgRowGap
		}
		// The zero line the bars grow from.
		fmt.Fprintf(&body, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#444" stroke-width="1"/>`+"\n",
			svgBarStart, top-3, svgBarStart, y-svgRowGap+3)
	}
	y += 14
	svgText(&body, 16, y, "start", 11, "normal", "#666",
		"Loopback TCP, one process (server and clients), plain HTTP/1.1 and ws://, no TLS. Each panel has its own scale from zero.")
	y += 12

	height := int(y + 0.5)
	if _, err := fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<rect width="100%%" height="100%%" fill="#ffffff"/>
`, svgWidth, height, svgWidth, height); err != nil {
		return err
	}
	if _, err := w.Write(body.Bytes()); err != nil {
		return err
	}
	_, err := io.WriteString(w, "</svg>\n")
	return err
}

// svgText writes one <text> element; s is escaped, so any label is safe.
func svgText(w *bytes.Buffer, x, y float64, anchor string, size float64, weight, fill, s string) {
	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%g" font-weight="%s" fill="%s">`, x, y, anchor, size, weight, fill)
	xml.EscapeText(w, []byte(s))
	w.WriteString("</text>\n")
}

// chartTitle and chartSubtitle describe the scenario of a Report.
func chartTitle() string { return "Lesson 01: what polling costs" }

func chartSubtitle(rep Report) string {
	return fmt.Sprintf("%d clients, %g messages/s for %v per strategy (%d messages each), %d CPUs, %s",
		rep.Clients, rep.Rate, time.Duration(rep.Duration), rep.Messages, rep.CPUs, rep.Go)
}
