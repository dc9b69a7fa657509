package store

import (
	"context"
	"os"
	"path/filepath"
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
