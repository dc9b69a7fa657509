package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestWriteManifest(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	root := filepath.Join(t.TempDir(), "out")
	d := NewDir(root, db)
	records := []File{
		{URL: "http://h/1.jpg", Path: "1.jpg", Bytes: 1, SHA256: sum("1"), ContentType: "image/jpeg", Source: "http://h/list?page=1"},
		{URL: "http://h/gone.jpg", Path: "gone.jpg", Bytes: 2, SHA256: sum("2"), ContentType: "image/jpeg", Source: "x"},
		{URL: "http://h/图.jpg?a=1,b=2", Path: "标题 \"引号\"/图.jpg", Bytes: 3, SHA256: sum("3"), ContentType: "", Source: "list.csv"},
	}
	for i, f := range records {
		if _, err := db.Put(ctx, Task{Queue: "download", Key: f.URL}); err != nil {
			t.Fatal(err)
		}
		l, err := db.Lease(ctx, "download", 1, "w")
		if err != nil || len(l) != 1 {
			t.Fatal(l, err)
		}
		if err := db.AckFile(ctx, l[0].ID, f); err != nil {
			t.Fatal(err)
		}
		if i != 1 { // gone.jpg is recorded but not on disk
			p := filepath.Join(root, filepath.FromSlash(f.Path))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := "url,path,bytes,sha256,content_type,source\n" +
		"http://h/1.jpg,1.jpg,1," + sum("1") + ",image/jpeg,http://h/list?page=1\n" +
		"\"http://h/图.jpg?a=1,b=2\",\"标题 \"\"引号\"\"/图.jpg\",3," + sum("3") + ",,list.csv\n"
	for range 2 { // writing it again replaces it
		if err := d.WriteManifest(ctx); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(root, "manifest.csv")); got != want {
			t.Errorf("manifest.csv:\n%s\nwant:\n%s", got, want)
		}
	}
	fi, err := os.Stat(filepath.Join(root, ManifestName))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("manifest mode: %v %v", fi.Mode(), err)
	}
	left, _ := filepath.Glob(filepath.Join(root, ".manifest-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// An empty crawl still gets a manifest with its header.
	empty := NewDir(filepath.Join(t.TempDir(), "new"), openTest(t))
	if err := empty.WriteManifest(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(empty.Root(), ManifestName)); got != "url,path,bytes,sha256,content_type,source\n" {
		t.Errorf("empty manifest %q", got)
	}
}

// TestManifestStreamed writes the manifest of more records than one batch
// of readAhead, in their order, leaving out those not on disk, and writes
// one again after an error from the records left the old one in place.
func TestManifestStreamed(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	root := t.TempDir()
	d := NewDir(root, db)
	const n = 700
	var acks []FileAck
	var want strings.Builder
	want.WriteString("url,path,bytes,sha256,content_type,source\n")
	for i := range n {
		url, name := fmt.Sprintf("http://h/%d", i), fmt.Sprintf("%d.jpg", i)
		if _, err := db.Put(ctx, Task{Queue: "download", Key: url}); err != nil {
			t.Fatal(err)
		}
		f := File{URL: url, Path: name, Bytes: 1, SHA256: sum("x"), ContentType: "image/jpeg", Source: "list"}
		if i%7 != 3 { // the others are recorded but gone
			if err := os.WriteFile(filepath.Join(root, name), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&want, "%s,%s,1,%s,image/jpeg,list\n", url, name, sum("x"))
		}
		acks = append(acks, FileAck{File: f})
	}
	leased, err := db.Lease(ctx, "download", n, "w")
	if err != nil || len(leased) != n {
		t.Fatal(len(leased), err)
	}
	for i := range acks {
		acks[i].ID = leased[i].ID
	}
	if _, err := db.AckFiles(ctx, acks); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteManifest(ctx); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, ManifestName)
	if got := readFile(t, path); got != want.String() {
		t.Fatalf("manifest.csv has %d lines, want %d", strings.Count(got, "\n"), strings.Count(want.String(), "\n"))
	}

	// Records that fail half-way leave the manifest as it was.
	broken := func(yield func(File, error) bool) {
		for f, err := range db.Files(ctx) {
			if f.Path == "400.jpg" {
				err = errors.New("disk on fire")
			}
			if !yield(f, err) {
				return
			}
		}
	}
	if err := d.WriteManifestOf(ctx, broken, false, ""); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("manifest from broken records: %v", err)
	}
	if got := readFile(t, path); got != want.String() {
		t.Errorf("manifest.csv changed by a write that failed")
	}
	if tmps, _ := filepath.Glob(filepath.Join(root, ".manifest-*")); len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}

// TestReadAhead checks that readAhead yields what it reads in order, ends
// at an error, and stops reading when its reader stops early.
func TestReadAhead(t *testing.T) {
	count := func(n, failAt int, read *atomic.Int64) iter.Seq2[int, error] {
		return func(yield func(int, error) bool) {
			for i := range n {
				read.Add(1)
				var err error
				if i == failAt {
					err = errors.New("bad")
				}
				if !yield(i, err) || err != nil {
					return
				}
			}
		}
	}
	var read atomic.Int64
	var got []int
	for v, err := range readAhead(count(1000, -1, &read), 64) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if len(got) != 1000 || got[0] != 0 || got[999] != 999 {
		t.Fatalf("read %d values", len(got))
	}
	got = got[:0]
	for v, err := range readAhead(count(1000, 500, &read), 64) {
		if err != nil {
			if v != 500 || len(got) != 500 {
				t.Fatalf("error at %d after %d values", v, len(got))
			}
			break
		}
		got = append(got, v)
	}
	read.Store(0)
	for v := range readAhead(count(100000, -1, &read), 64) {
		if v == 10 {
			break
		}
	}
	// Stopped at once: the batch in hand, two queued, one being read.
	if n := read.Load(); n > 4*64 {
		t.Errorf("%d values read after the reader stopped at 11", n)
	}
}
