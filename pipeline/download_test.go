package pipeline

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"crawl/store"
)

func TestNeedsExt(t *testing.T) {
	for _, c := range []struct {
		tmpl, url string
		want      bool
	}{
		{"{name}{ext}", "http://h/csv/ab12cd", true},
		{"{name}{ext}", "http://h/", true},
		{"{name}{ext}", "http://h/a.jpg", false},
		{"{name}{ext}", "http://h/a.jpg?x=1", false},
		{"{name}", "http://h/csv/ab12cd", false},
		{"{title}/{n}{ext}", "http://h/img?id=3", true},
		{"{name}{ext}", "http://h/a.this-is-no-extension", true},
	} {
		if got := needsExt(c.tmpl, FileTask{URL: c.url}); got != c.want {
			t.Errorf("needsExt(%q, %q) = %v, want %v", c.tmpl, c.url, got, c.want)
		}
	}
}

func TestExpandNameExt(t *testing.T) {
	for _, c := range []struct {
		tmpl  string
		ft    FileTask
		found string
		want  string
	}{
		{"{name}{ext}", FileTask{URL: "http://h/csv/ab12cd", Name: "张三"}, ".jpg", "张三.jpg"},
		{"{name}{ext}", FileTask{URL: "http://h/csv/ab12cd"}, ".jpg", "ab12cd.jpg"},
		{"{name}{ext}", FileTask{URL: "http://h/csv/ab12cd", Name: "photo.jpg"}, ".jpg", "photo.jpg"},
		{"{name}{ext}", FileTask{URL: "http://h/csv/ab12cd", Name: "photo.JPEG"}, ".jpg", "photo.JPEG"},
		{"{name}{ext}", FileTask{URL: "http://h/csv/ab12cd", Name: "photo.png"}, ".jpg", "photo.png.jpg"},
		{"{name}{ext}", FileTask{URL: "http://h/csv/ab12cd", Name: "x"}, "", "x"},
		// The URL's own extension wins over what the response says.
		{"{name}{ext}", FileTask{URL: "http://h/a.png", Name: "x"}, ".jpg", "x.png"},
		{"{1}/{name}{ext}", FileTask{URL: "http://h/v", Cells: []string{"album"}}, ".mp4", "album/v.mp4"},
	} {
		if got := expandNameExt(c.tmpl, c.ft, c.found); got != c.want {
			t.Errorf("expandNameExt(%q, %+v, %q) = %q, want %q", c.tmpl, c.ft, c.found, got, c.want)
		}
	}
}

func TestFillExt(t *testing.T) {
	m := store.ExtMark
	for _, c := range []struct{ kept, ext, want string }{
		{"迟到" + m, ".gif", "迟到.gif"},
		{"迟到" + m, "", "迟到"},
		{"a/photo.jpg" + m, ".jpg", "a/photo.jpg"},
		{"photo.jpeg" + m, ".jpg", "photo.jpeg"},
		{"{x}" + m + "/y" + m, ".png", "{x}.png/y"},
		{"no-mark", ".png", "no-mark"},
	} {
		if got := fillExt(c.kept, c.ext); got != c.want {
			t.Errorf("fillExt(%q, %q) = %q, want %q", c.kept, c.ext, got, c.want)
		}
	}
}

// TestMeterThrottles: a meter reports at most every progressEvery, with
// the bytes so far and the size; a download done sooner never reports.
func TestMeterThrottles(t *testing.T) {
	var buf bytes.Buffer
	m := newMeter(newEmitter(&buf), "http://h/big")
	m.set(100, 10000)
	w := m.writer(&bytes.Buffer{})
	w.Write(make([]byte, 50))
	if buf.Len() != 0 {
		t.Fatalf("reported before progressEvery: %s", buf.String())
	}
	time.Sleep(progressEvery + 20*time.Millisecond)
	for range 100 {
		w.Write(make([]byte, 10))
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d reports, want 1: %s", len(lines), buf.String())
	}
	var ev Event
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Kind != EvBytes || ev.URL != "http://h/big" || ev.Bytes != 160 || ev.Total != 10000 {
		t.Errorf("report %+v", ev)
	}
}

func TestTransfers(t *testing.T) {
	var ts Transfers
	t0 := time.Now()
	ts.Track(Event{Kind: EvBytes, URL: "a", Bytes: 100, Total: 1000}, t0)
	ts.Track(Event{Kind: EvBytes, URL: "b", Bytes: 50, Total: -1}, t0)
	ts.Track(Event{Kind: EvBytes, URL: "a", Bytes: 300, Total: 1000}, t0.Add(time.Second))
	f := ts.InFlight(t0.Add(time.Second))
	if f.Files != 2 || f.Bytes != 350 || f.Sized != 1 || f.SizedBytes != 300 || f.SizedTotal != 1000 || f.Rate != 200 {
		t.Errorf("in flight %+v", f)
	}
	ts.Track(Event{Kind: EvFile, URL: "a"}, t0.Add(2*time.Second))
	if f := ts.InFlight(t0.Add(2 * time.Second)); f.Files != 1 || f.Sized != 0 {
		t.Errorf("after a's end: %+v", f)
	}
	// b's stage went quiet (or died): b is forgotten.
	if f := ts.InFlight(t0.Add(transferStale + time.Second)); f.Files != 0 {
		t.Errorf("stale transfer kept: %+v", f)
	}
}

// TestDownloadAhead checks how far the download stage leases ahead: 256
// on the embedded queue (32n if fewer, 2n if more), and 2n on a shared one.
func TestDownloadAhead(t *testing.T) {
	for _, c := range []struct {
		n      int
		shared bool
		want   int
	}{
		{1, false, 32}, {4, false, 128}, {10, false, 256}, {100, false, 256}, {200, false, 400}, {1000, false, 2000},
		{10, true, 20}, {100, true, 200},
	} {
		if got := downloadAhead(c.n, c.shared); got != c.want {
			t.Errorf("downloadAhead(%d, %v) = %d, want %d", c.n, c.shared, got, c.want)
		}
	}
}
