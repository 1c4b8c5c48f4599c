package main

import (
	"fmt"
	"math"
	"strings"
)

// seriesColors are the servers' colours in the chart.
var seriesColors = map[string]string{"floor": "#7f7f7f", "go": "#1f77b4", "go-rawws": "#2ca02c", "node": "#d62728"}

// chart draws, for each workload, each server's median p99 (log scale)
// against its median delivered rate, step by step: the median over the
// runs of the i-th step, over the runs that reached it.
func chart(o options, results map[string]map[string][][]step) string {
	const pw, ph, left, top, gap = 300.0, 220.0, 60.0, 40.0, 70.0
	width := left + float64(len(o.workloads))*(pw+gap)
	height := top + ph + 90
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="20" font-size="14" font-weight="bold">Delivered messages a second against p99 latency, each step of the offered rate (median of %d runs)</text>`+"\n", left, o.runs)
	yMin, yMax := 1.0, 1000.0 // ms, log scale
	for wi, w := range o.workloads {
		x0 := left + float64(wi)*(pw+gap)
		byServer := results[w.String()]
		xMax := 0.0
		series := map[string][][2]float64{}
		for _, s := range o.servers {
			var runs [][]step
			for _, steps := range byServer[s] {
				var ladder []step // the climb's steps, the same rates in every run
				for _, st := range steps {
					if !st.Refine {
						ladder = append(ladder, st)
					}
				}
				runs = append(runs, ladder)
			}
			for i := 0; ; i++ {
				var del, p99 []float64
				for _, steps := range runs {
					if i < len(steps) {
						del, p99 = append(del, steps[i].Delivered), append(p99, ms(steps[i].P99))
					}
				}
				if len(del) == 0 || len(del)*2 < len(runs) { // fewer than half the runs got here
					break
				}
				pt := [2]float64{median(del), math.Max(median(p99), yMin)}
				series[s] = append(series[s], pt)
				xMax = math.Max(xMax, pt[0])
			}
		}
		xMax = niceCeil(xMax)
		px := func(v float64) float64 { return x0 + v/xMax*pw }
		py := func(v float64) float64 {
			v = math.Min(math.Max(v, yMin), yMax)
			return top + ph - (math.Log10(v)-math.Log10(yMin))/(math.Log10(yMax)-math.Log10(yMin))*ph
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", x0, top, pw, ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-weight="bold">%s</text>`+"\n", x0, top-6, w.Title())
		for _, t := range []float64{1, 10, 100, 1000} {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%g ms</text>`+"\n", x0-4, py(t)+4, t)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", x0, x0+pw, py(t), py(t))
		}
		bound := ms(o.p99)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="4 3"/>`+"\n", x0, x0+pw, py(bound), py(bound))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#555">p99 %g ms</text>`+"\n", x0+pw-60, py(bound)-4, bound)
		for i := 0; i <= 4; i++ {
			v := xMax * float64(i) / 4
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", px(v), top+ph+14, thousands(v))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">delivered msgs/s</text>`+"\n", x0+pw/2, top+ph+30)
		for _, s := range o.servers {
			pts := series[s]
			if len(pts) == 0 {
				continue
			}
			var path []string
			for _, p := range pts {
				path = append(path, fmt.Sprintf("%.1f,%.1f", px(p[0]), py(p[1])))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", seriesColors[s], strings.Join(path, " "))
			for _, p := range pts {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`+"\n", px(p[0]), py(p[1]), seriesColors[s])
			}
		}
	}
	ly := top + ph + 60
	for i, s := range o.servers {
		lx := left + float64(i)*140
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", lx, lx+24, ly, ly, seriesColors[s])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+30, ly+4, label(s))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func label(s string) string {
	switch s {
	case "go":
		return "Go, gorilla/websocket"
	case "go-rawws":
		return "Go, lesson 02's Conn"
	case "floor":
		return "floor: a bare write loop"
	}
	return "Node socket.io"
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// thousands writes v with thousands separators.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
