package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"slices"
	"strings"
)

// peerSummary is one row of the summary of a side-by-side run (the
// shared benchmark's --json): a tool's medians on a workload.
type peerSummary struct {
	Workload string  `json:"workload"`
	Tool     string  `json:"tool"`
	Ours     bool    `json:"ours"`
	WallS    float64 `json:"wall_s"`
	CPUS     float64 `json:"cpu_s"`
	Complete bool    `json:"complete"`
}

// ratio is crawl against one peer on one workload: wall and CPU time,
// crawl's over the peer's (below 1: crawl took less).
type ratio struct {
	Workload, Peer string
	Wall, CPU      float64
}

// readRatios reads a side-by-side run's JSON and returns crawl's ratios
// against every peer whose output was complete, in the file's order of
// workloads, peers by name, and a title naming the run (its date, host
// and CPUs).
func readRatios(r io.Reader) ([]ratio, string, error) {
	var doc struct {
		Meta struct {
			Date string `json:"date"`
			Host string `json:"host"`
			CPUs int    `json:"cpus"`
			Runs int    `json:"runs"`
		} `json:"meta"`
		Summary []peerSummary `json:"summary"`
	}
	dec := json.NewDecoder(io.LimitReader(r, 64<<20))
	if err := dec.Decode(&doc); err != nil {
		return nil, "", fmt.Errorf("read results: %w", err)
	}
	m := doc.Meta
	title := fmt.Sprintf("crawl against its peers: %s, %s, %d CPUs, medians of %d runs", m.Date, m.Host, m.CPUs, m.Runs)
	ours := map[string]peerSummary{}
	var order []string
	for _, s := range doc.Summary {
		if !slices.Contains(order, s.Workload) {
			order = append(order, s.Workload)
		}
		if s.Ours && s.Complete {
			ours[s.Workload] = s
		}
	}
	var out []ratio
	for _, w := range order {
		o, ok := ours[w]
		if !ok {
			continue
		}
		var rs []ratio
		for _, s := range doc.Summary {
			if s.Workload == w && !s.Ours && s.Complete && s.WallS > 0 && s.CPUS > 0 {
				rs = append(rs, ratio{Workload: w, Peer: s.Tool, Wall: o.WallS / s.WallS, CPU: o.CPUS / s.CPUS})
			}
		}
		slices.SortFunc(rs, func(a, b ratio) int { return strings.Compare(a.Peer, b.Peer) })
		out = append(out, rs...)
	}
	if len(out) == 0 {
		return nil, "", errors.New("read results: no workload with both crawl (\"ours\") and a peer that completed")
	}
	return out, title, nil
}

// Chart geometry, in SVG user units.
const (
	chartLabelW = 150 // the labels left of the bars
	chartBarW   = 420 // the longest bar
	chartRowH   = 22
	chartHeadH  = 26 // a workload's heading
	chartTopH   = 56 // title and legend
)

// writeChart writes rs as an SVG of horizontal bars: per workload, one
// row per peer, a bar for the wall-time ratio and a thinner one for the
// CPU ratio, with a line at 1× (as fast as the peer). title heads it.
func writeChart(w io.Writer, rs []ratio, title string) error {
	top := 1.0
	for _, r := range rs {
		top = max(top, r.Wall, r.CPU)
	}
	scale := chartBarW / (top * 1.1)
	var b strings.Builder
	y := chartTopH
	last := ""
	for _, r := range rs {
		if r.Workload != last {
			last = r.Workload
			y += chartHeadH
			fmt.Fprintf(&b, "<text x=\"8\" y=\"%d\" font-weight=\"bold\">%s</text>\n", y-8, html.EscapeString(r.Workload))
		}
		fmt.Fprintf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">vs %s</text>\n", chartLabelW-8, y+15, html.EscapeString(r.Peer))
		fmt.Fprintf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"12\" fill=\"%s\"/>\n", chartLabelW, y+3, r.Wall*scale, barColor(r.Wall))
		fmt.Fprintf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"4\" fill=\"#555\"/>\n", chartLabelW, y+16, r.CPU*scale)
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%d\">%.2f× wall, %.2f× CPU</text>\n", float64(chartLabelW)+max(r.Wall, r.CPU)*scale+6, y+15, r.Wall, r.CPU)
		y += chartRowH
	}
	width := chartLabelW + chartBarW + 170
	height := y + 12
	one := float64(chartLabelW) + scale
	_, err := fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">
<rect width="100%%" height="100%%" fill="white"/>
<text x="8" y="18" font-size="14" font-weight="bold">%s</text>
<text x="8" y="38">crawl's time over each peer's (medians): bar = wall, thin bar = CPU; left of the 1× line is faster</text>
%s<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-dasharray="4 3"/>
<text x="%.1f" y="%d" text-anchor="middle">1×</text>
</svg>
`, width, height, width, height, html.EscapeString(title), b.String(), one, chartTopH, one, y, one, chartTopH-4)
	return err
}

// barColor is green for a ratio at or under 1 (crawl at least as fast),
// orange up to 1.3, red beyond.
func barColor(r float64) string {
	switch {
	case r <= 1:
		return "#2e8b57"
	case r <= 1.3:
		return "#e69500"
	}
	return "#c0392b"
}

// chartMain writes the chart of the side-by-side results in the JSON file
// in to the SVG file out, atomically.
func chartMain(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	rs, title, err := readRatios(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	tmp := out + ".tmp"
	g, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := writeChart(g, rs, title); err != nil {
		g.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := g.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", out, err)
	}
	return os.Rename(tmp, out)
}
