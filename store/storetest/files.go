package storetest

import (
	"errors"
	"slices"
	"testing"

	"crawl/store"
)

// testFiles: AckFile stores a record with its task's ack; records are read
// by URL or all in the order first recorded, through any handle and in
// any generation.
func testFiles(t *testing.T, f *fixture) {
	b := f.open(stable)
	other := f.open(stable)
	urls := []string{"http://h/b.jpg", "http://h/a.jpg", "http://h/c.jpg", "http://h/电影 d.jpg?x=1"}
	put(t, b, tasks("download", urls...)...)
	l := leaseKeys(t, b, "download", 4, "w", urls...)
	recs := []store.File{
		{URL: urls[0], Path: "b.jpg", Bytes: 10, SHA256: "5d41402abc4b2a76b9719d911017c592", ContentType: "image/jpeg",
			Source: "http://h/p1", Worker: "host1:/srv/out"},
		{URL: urls[1], Path: "sub/a 1:2.jpg", Bytes: 20, SHA256: "7d793037a0760186574b0282f2f435e7", ContentType: "image/png",
			Source: "list.txt", Worker: "host1:/srv/out"},
		{URL: urls[3], Path: "电影/d.jpg", Worker: "host2:/data/下载"},
	}
	for i, h := range []store.Backend{b, b, other} {
		if err := h.AckFile(f.ctx, l[[]int{0, 1, 3}[i]].ID, recs[i]); err != nil {
			t.Fatal(err)
		}
	}

	// A record needs a URL and a path; without, the task stays leased.
	for _, bad := range []store.File{{URL: urls[2]}, {Path: "c.jpg"}} {
		if err := b.AckFile(f.ctx, l[2].ID, bad); err == nil || errors.Is(err, store.ErrNoTask) {
			t.Errorf("ack file with the record %+v: %v, want an error other than ErrNoTask", bad, err)
		}
	}
	wantCounts(t, b, "after the acks", map[string]store.QueueCounts{"download": {Done: 3, Leased: 1}})

	for _, tt := range []struct {
		url  string
		want store.File
		ok   bool
	}{
		{urls[0], recs[0], true},
		{urls[1], recs[1], true},
		{urls[2], store.File{}, false},
		{urls[3], recs[2], true},
	} {
		for _, h := range []store.Backend{b, other} {
			if got, ok := fileByURL(t, h, tt.url); ok != tt.ok || got != tt.want {
				t.Errorf("FileByURL(%s) = %+v, %v; want %+v, %v", tt.url, got, ok, tt.want, tt.ok)
			}
		}
	}
	if got := files(t, other); !slices.Equal(got, recs) {
		t.Errorf("Files() = %+v, want %+v", got, recs)
	}

	// Recorded again (a new generation downloads it again), a URL's record
	// is replaced and keeps its place.
	if err := b.Restart(f.ctx, "download"); err != nil {
		t.Fatal(err)
	}
	if got, ok := fileByURL(t, b, urls[1]); !ok || got != recs[1] {
		t.Errorf("FileByURL after a restart = %+v, %v; want %+v", got, ok, recs[1])
	}
	put(t, b, tasks("download", urls[0])...)
	again := leaseKeys(t, b, "download", 1, "w", urls[0])
	newer := recs[0]
	newer.Bytes, newer.SHA256, newer.Worker = 11, "9a0364b9e99bb480dd25e1f0284c8555", "host2:/data/下载"
	if err := other.AckFile(f.ctx, again[0].ID, newer); err != nil {
		t.Fatal(err)
	}
	want := []store.File{newer, recs[1], recs[2]}
	if got := files(t, b); !slices.Equal(got, want) {
		t.Errorf("Files() after a record was replaced = %+v, want %+v", got, want)
	}
}

// testAckFiles: AckFiles is AckFile for a batch; each ack has its own
// outcome.
func testAckFiles(t *testing.T, f *fixture) {
	b := f.open(stable)
	put(t, b, tasks("other", "gone")...)
	gone := leaseKeys(t, b, "other", 1, "w", "gone")[0]
	ack(t, b, gone.ID)
	if err := b.Restart(f.ctx, "other"); err != nil {
		t.Fatal(err)
	}
	put(t, b, tasks("download", "u1", "u2", "u3", "u4")...)
	l := leaseKeys(t, b, "download", 4, "w", "u1", "u2", "u3", "u4")
	acks := []store.FileAck{
		{ID: l[3].ID, File: store.File{URL: "http://h/4", Path: "4", Bytes: 4, Worker: "w1"}},
		{ID: gone.ID, File: store.File{URL: "http://h/gone", Path: "gone"}},
		{ID: l[1].ID, File: store.File{URL: "http://h/2"}},
		{ID: l[0].ID, File: store.File{URL: "http://h/1", Path: "1", Bytes: 1}},
		{ID: l[2].ID, File: store.File{URL: "http://h/3", Path: "3", Bytes: 3}},
	}
	errs, err := b.AckFiles(f.ctx, acks)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != len(acks) {
		t.Fatalf("%d outcomes for %d acks", len(errs), len(acks))
	}
	for i, e := range errs {
		switch {
		case i == 1 && !errors.Is(e, store.ErrNoTask):
			t.Errorf("ack of a forgotten task: %v, want ErrNoTask", e)
		case i == 2 && (e == nil || errors.Is(e, store.ErrNoTask)):
			t.Errorf("ack with a record without a path: %v, want an error other than ErrNoTask", e)
		case i != 1 && i != 2 && e != nil:
			t.Errorf("ack %d: %v", i, e)
		}
	}
	var got []string
	for _, rec := range files(t, b) {
		got = append(got, rec.URL+" "+rec.Path+" "+rec.Worker)
	}
	if want := []string{"http://h/4 4 w1", "http://h/1 1 ", "http://h/3 3 "}; !slices.Equal(got, want) {
		t.Errorf("records %q, want %q", got, want)
	}
	wantCounts(t, b, "after the batch", map[string]store.QueueCounts{"download": {Done: 3, Leased: 1}})

	if errs, err := b.AckFiles(f.ctx, nil); err != nil || len(errs) != 0 {
		t.Errorf("AckFiles of nothing: %v, %v", errs, err)
	}
}
