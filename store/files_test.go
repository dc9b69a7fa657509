package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestAckFileAndRecords(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	urls := []string{"http://h/b.jpg", "http://h/a.jpg", "http://h/c.jpg"}
	var tasks []Task
	for _, u := range urls {
		tasks = append(tasks, Task{Queue: "download", Key: u})
	}
	if _, err := db.Put(ctx, tasks...); err != nil {
		t.Fatal(err)
	}
	leased, err := db.Lease(ctx, "download", 3, "w", time.Minute)
	if err != nil || len(leased) != 3 {
		t.Fatal(leased, err)
	}
	files := []File{
		{URL: urls[0], Path: "b.jpg", Bytes: 10, SHA256: sum("b"), ContentType: "image/jpeg", Source: "http://h/p1"},
		{URL: urls[1], Path: "sub/a.jpg", Bytes: 20, SHA256: sum("a"), ContentType: "image/png", Source: "list.txt"},
	}
	for i, f := range files {
		if err := db.AckFile(ctx, leased[i].ID, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AckFile(ctx, leased[2].ID, File{URL: urls[2]}); err == nil {
		t.Error("AckFile without a path succeeded")
	}
	c, _ := db.Counts(ctx)
	if c["download"] != (QueueCounts{Done: 2, Leased: 1}) {
		t.Errorf("counts %+v", c["download"])
	}

	tests := []struct {
		url  string
		want File
		ok   bool
	}{
		{urls[0], files[0], true},
		{urls[1], files[1], true},
		{urls[2], File{}, false},
	}
	for _, tt := range tests {
		got, ok, err := db.FileByURL(ctx, tt.url)
		if err != nil || ok != tt.ok || got != tt.want {
			t.Errorf("FileByURL(%s) = %+v, %v, %v; want %+v, %v", tt.url, got, ok, err, tt.want, tt.ok)
		}
	}

	// Recording a URL again (--overwrite) replaces its record in place.
	if err := db.Restart(ctx, "download"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Put(ctx, Task{Queue: "download", Key: urls[0]}); err != nil {
		t.Fatal(err)
	}
	again, _ := db.Lease(ctx, "download", 1, "w", time.Minute)
	newer := files[0]
	newer.Bytes, newer.SHA256 = 11, sum("b2")
	if err := db.AckFile(ctx, again[0].ID, newer); err != nil {
		t.Fatal(err)
	}
	all, err := db.Files(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []File{newer, files[1]}; !slices.Equal(all, want) {
		t.Errorf("Files() = %+v, want %+v", all, want)
	}
}

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
		l, err := db.Lease(ctx, "download", 1, "w", time.Minute)
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

// TestAckFiles stores several records in one go; a task that is gone is
// reported on its own and the others are stored.
func TestAckFiles(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var tasks []Task
	for _, k := range []string{"u1", "u2", "u3"} {
		tasks = append(tasks, Task{Queue: "download", Key: k})
	}
	if _, err := db.Put(ctx, tasks...); err != nil {
		t.Fatal(err)
	}
	leased, err := db.Lease(ctx, "download", 3, "w", time.Minute)
	if err != nil || len(leased) != 3 {
		t.Fatal(leased, err)
	}
	acks := []FileAck{
		{leased[0].ID, File{URL: "http://h/1", Path: "1", Bytes: 1}},
		{leased[2].ID + 100, File{URL: "http://h/gone", Path: "gone", Bytes: 2}},
		{leased[1].ID, File{URL: "http://h/2", Path: "2", Bytes: 2}},
		{leased[2].ID, File{URL: "http://h/3", Path: "3", Bytes: 3}},
	}
	errs, err := db.AckFiles(ctx, acks)
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || !errors.Is(errs[1], ErrNoTask) || errs[2] != nil || errs[3] != nil {
		t.Errorf("errs %v", errs)
	}
	for _, tt := range []struct{ url, path string }{{"http://h/1", "1"}, {"http://h/2", "2"}, {"http://h/3", "3"}} {
		if f, ok, err := db.FileByURL(ctx, tt.url); err != nil || !ok || f.Path != tt.path {
			t.Errorf("FileByURL(%s) = %+v, %v, %v; want path %s", tt.url, f, ok, err, tt.path)
		}
	}
	if _, ok, _ := db.FileByURL(ctx, "http://h/gone"); ok {
		t.Error("the gone task's file was recorded")
	}
	if c, _ := db.Counts(ctx); c["download"] != (QueueCounts{Done: 3}) {
		t.Errorf("counts %+v", c["download"])
	}
}
