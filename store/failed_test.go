package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFailed(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	fails := []Failure{
		{Queue: "download", URL: "http://h/a.png", Reason: "404 Not Found", Source: "in.csv"},
		{Queue: "download", URL: "", Reason: "decode task", Source: ""}, // no URL: not listed
		{Queue: "download", URL: "http://h/b,c.png", Reason: "body ended, \"early\"\nreally", Source: "http://h/page.html"},
	}
	want := "url,reason,source\n" +
		"http://h/a.png,404 Not Found,in.csv\n" +
		"\"http://h/b,c.png\",\"body ended, \"\"early\"\"\nreally\",http://h/page.html\n"
	for range 2 { // writing it again replaces it
		path, err := WriteFailed(ctx, out, fails)
		if err != nil || path != filepath.Join(out, FailedName) {
			t.Fatalf("WriteFailed = %q, %v", path, err)
		}
		if got := readFile(t, path); got != want {
			t.Errorf("failed.csv:\n%s\nwant:\n%s", got, want)
		}
	}
	fi, err := os.Stat(filepath.Join(out, FailedName))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("failed.csv mode: %v %v", fi.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".failed-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// Nothing to list: a stale failed.csv goes, and none is written.
	for _, none := range [][]Failure{nil, {{Queue: "download", Reason: "decode task"}}} {
		if path, err := WriteFailed(ctx, out, none); err != nil || path != "" {
			t.Fatalf("WriteFailed(%v) = %q, %v", none, path, err)
		}
		if _, err := os.Stat(filepath.Join(out, FailedName)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stale failed.csv kept: %v", err)
		}
	}

	// A folder that is not there is an error naming the file, and leaves
	// nothing behind.
	gone := filepath.Join(out, "gone")
	if path, err := WriteFailed(ctx, gone, fails); err == nil || path != "" {
		t.Errorf("WriteFailed into a missing folder = %q, %v", path, err)
	} else if want := filepath.Join(gone, FailedName); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
}
