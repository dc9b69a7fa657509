package main

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sideBySide is the summary of a side-by-side run as the shared benchmark
// writes it: crawl ("ours") and peers, one of which did not finish.
const sideBySide = `{"meta": {"date": "2026-12-06 03:16:25", "host": "vm", "cpus": 2, "runs": 3},
 "summary": [
  {"workload": "w3", "tool": "wget2", "ours": false, "wall_s": 0.5, "cpu_s": 0.4, "complete": true},
  {"workload": "w3", "tool": "ours", "ours": true, "wall_s": 0.6, "cpu_s": 0.8, "complete": true},
  {"workload": "w3", "tool": "aria2c", "ours": false, "wall_s": 1.2, "cpu_s": 1.0, "complete": true},
  {"workload": "w1", "tool": "colly", "ours": false, "wall_s": 0.8, "cpu_s": 0.5, "complete": false},
  {"workload": "w1", "tool": "ours", "ours": true, "wall_s": 0.7, "cpu_s": 0.5, "complete": true},
  {"workload": "w1", "tool": "scrapy", "ours": false, "wall_s": 1.4, "cpu_s": 2.0, "complete": true}
 ],
 "runs": []}`

// TestChart draws the chart of a side-by-side run: one bar per complete
// peer and workload, with crawl's ratios written out, in an SVG file
// that parses as XML.
func TestChart(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "peers.json"), filepath.Join(dir, "ratios.svg")
	if err := os.WriteFile(in, []byte(sideBySide), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chartMain(in, out); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(string(svg)))
	var texts []string
	bars := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG does not parse: %v\n%s", err, svg)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			if v.Name.Local == "rect" {
				bars++
			}
		case xml.CharData:
			texts = append(texts, string(v))
		}
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"w3", "vs aria2c", "0.50× wall, 0.80× CPU", "vs wget2", "1.20× wall, 2.00× CPU",
		"w1", "vs scrapy", "0.50× wall, 0.25× CPU", "2 CPUs"} {
		if !strings.Contains(all, want) {
			t.Errorf("the chart lacks %q: %s", want, all)
		}
	}
	if strings.Contains(all, "colly") {
		t.Errorf("the chart shows colly, whose output was not complete: %s", all)
	}
	if bars != 1+2*3 { // the background, then two bars a peer
		t.Errorf("%d rects, want 7", bars)
	}
}

// TestChartNoCrawl refuses results without crawl's rows, and writes no
// SVG.
func TestChartNoCrawl(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "peers.json"), filepath.Join(dir, "ratios.svg")
	peersOnly := strings.ReplaceAll(sideBySide, `"ours": true`, `"ours": false`)
	if err := os.WriteFile(in, []byte(peersOnly), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chartMain(in, out); err == nil || !strings.Contains(err.Error(), "no workload") {
		t.Fatalf("chartMain = %v, want an error naming the missing rows", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an SVG was written: %v", err)
	}
}
