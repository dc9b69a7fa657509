package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSymlinkPartNotFollowed: a file downloaded, then deleted, and a
// symbolic link to a file outside --out planted as its .part. The next
// run, with or without --overwrite, does not write through the link: the
// download fails naming it, the other files are done.
func TestSymlinkPartNotFollowed(t *testing.T) {
	for _, overwrite := range []bool{false, true} {
		srv, _ := serveDemo(t)
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		args := []string{"get", "--out", out, "--quiet", "--retry-wait", "1ms",
			srv.URL + "/img/g1-1.png", srv.URL + "/img/g1-2.png"}
		mustCode(t, runCrawl(t, dir, "", args...), 0)

		victim := writeFile(t, t.TempDir(), "victim", []byte("not crawl's"))
		final := filepath.Join(out, "g1-1.png")
		if err := os.Remove(final); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(victim, final+".part"); err != nil {
			t.Fatal(err)
		}
		if overwrite {
			args = append(args, "--overwrite")
		}
		r := runCrawl(t, dir, "", args...)
		mustCode(t, r, 1)
		if b, err := os.ReadFile(victim); err != nil || string(b) != "not crawl's" {
			t.Errorf("overwrite=%v: the file outside --out was written: %q, %v", overwrite, b, err)
		}
		if want := final + ".part is a symbolic link"; !strings.Contains(r.stderr, want) {
			t.Errorf("overwrite=%v: the summary does not say %q:\n%s", overwrite, want, r.stderr)
		}
		got := files(t, out)
		if got["g1-2.png"] != demoFileSum(t, "img/g1-2.png") {
			t.Errorf("overwrite=%v: g1-2.png not done: %v\n%s", overwrite, got, r.stderr)
		}
		if fi, err := os.Lstat(final + ".part"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("overwrite=%v: the planted link is gone or changed: %v, %v", overwrite, fi, err)
		}
	}
}

// TestSymlinkFolderNotFollowed: a folder inside --out that is a symbolic
// link to a folder elsewhere is not written through.
func TestSymlinkFolderNotFollowed(t *testing.T) {
	for _, overwrite := range []bool{false, true} {
		srv, _ := serveDemo(t)
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		elsewhere := t.TempDir()
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(elsewhere, filepath.Join(out, "sub")); err != nil {
			t.Fatal(err)
		}
		args := []string{"get", "--out", out, "--quiet", "--retry-wait", "1ms", "--name", "sub/{name}{ext}",
			srv.URL + "/img/g1-1.png", srv.URL + "/img/g1-2.png"}
		if overwrite {
			args = append(args, "--overwrite")
		}
		r := runCrawl(t, dir, "", args...)
		mustCode(t, r, 1)
		if ents, err := os.ReadDir(elsewhere); err != nil || len(ents) > 0 {
			t.Errorf("overwrite=%v: written through the link: %v, %v", overwrite, ents, err)
		}
		if want := filepath.Join(out, "sub") + " is a symbolic link"; !strings.Contains(r.stderr, want) {
			t.Errorf("overwrite=%v: the summary does not say %q:\n%s", overwrite, want, r.stderr)
		}
	}
}
