package main

import (
	"strings"
	"testing"
	"time"

	"crawl/pipeline"
)

func TestDescribeBytesAndETA(t *testing.T) {
	t0 := time.Now()
	var s pipeline.Progress
	s.Found = 1
	s.Transfers.Track(pipeline.Event{Kind: pipeline.EvBytes, URL: "u", Bytes: 100 << 20, Total: 1 << 30}, t0)
	s.Transfers.Track(pipeline.Event{Kind: pipeline.EvBytes, URL: "u", Bytes: 200 << 20, Total: 1 << 30}, t0.Add(time.Second))
	frac, desc := describe(s, t0.Add(time.Second), 2*time.Second)
	if frac < 0.19 || frac > 0.2 {
		t.Errorf("fraction %v, want 200 MiB of 1 GiB", frac)
	}
	for _, want := range []string{"0/1 files", "200.0 MiB of 1.0 GiB", "100.0 MiB/s", "ETA 8s"} {
		if !strings.Contains(desc, want) {
			t.Errorf("%q lacks %q", desc, want)
		}
	}

	// Many small files: no byte total, no ETA; the bar counts files.
	s = pipeline.Progress{Found: 40, Downloaded: 10, Bytes: 10 << 20}
	frac, desc = describe(s, t0, 2*time.Second)
	if frac != 0.25 || strings.Contains(desc, "ETA") || !strings.Contains(desc, "10/40 files") ||
		!strings.Contains(desc, "5.0 MiB/s") {
		t.Errorf("%v %q", frac, desc)
	}
}

func TestFormatETA(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second:            "45s",
		185 * time.Second:           "3m05s",
		2*time.Hour + 7*time.Minute: "2h07m",
		-time.Second:                "0s",
		1500 * time.Millisecond:     "2s",
	} {
		if got := formatETA(d); got != want {
			t.Errorf("formatETA(%v) = %q, want %q", d, got, want)
		}
	}
}
