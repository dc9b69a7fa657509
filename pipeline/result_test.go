package pipeline

import (
	"reflect"
	"testing"
	"time"
)

// TestTally: the events of the stage processes add up to the run's
// progress; a file's bytes are followed until the file is done.
func TestTally(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	events := []Event{
		{Kind: EvStarted},
		{Kind: EvPage, URL: "http://h/list/1"},
		{Kind: EvPage, URL: "http://h/a.html"},
		{Kind: EvBytes, URL: "http://h/a.png", Bytes: 100, Total: 1000},
		{Kind: EvBytes, URL: "http://h/b.mp4", Bytes: 50, Total: -1},
		{Kind: EvRetry, URL: "http://h/c.png", Reason: "503"},
		{Kind: EvBytes, URL: "http://h/a.png", Bytes: 600, Total: 1000},
		{Kind: EvSkip, URL: "http://h/d.png"},
		{Kind: EvTooBig, URL: "http://h/e.png", Reason: "60 MB over --max-size"},
		{Kind: EvFail, URL: "http://h/c.png", Reason: "http 404"},
	}
	var r Result
	for i, ev := range events {
		r.tally(ev, start.Add(time.Duration(i)*time.Second))
	}
	want := Progress{Pages: 2, Skipped: 1, TooBig: 1, Failed: 1}
	got := r.Progress
	got.Transfers = Transfers{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("progress %+v, want %+v", got, want)
	}
	if want := []string{"http://h/e.png: 60 MB over --max-size"}; !reflect.DeepEqual(r.TooBigURLs, want) {
		t.Errorf("too big %q, want %q", r.TooBigURLs, want)
	}
	now := start.Add(time.Duration(len(events)) * time.Second)
	if f := r.Transfers.InFlight(now); f.Files != 2 || f.Bytes != 650 || f.Sized != 1 || f.SizedBytes != 600 || f.SizedTotal != 1000 {
		t.Errorf("in flight %+v, want a.png at 600 of 1000 and b.mp4 at 50", f)
	}

	// The end of a file forgets it and counts it.
	r.tally(Event{Kind: EvFile, URL: "http://h/a.png", Bytes: 1000}, now)
	r.tally(Event{Kind: EvFile, URL: "http://h/b.mp4", Bytes: 70}, now)
	if r.Downloaded != 2 || r.Bytes != 1070 {
		t.Errorf("downloaded %d files of %d bytes, want 2 of 1070", r.Downloaded, r.Bytes)
	}
	if f := r.Transfers.InFlight(now); f.Files != 0 {
		t.Errorf("in flight after the end: %+v", f)
	}
}
