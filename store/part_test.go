package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func TestPartResumeCommit(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	rel := "图集/第1页/a.jpg"
	final := filepath.Join(root, filepath.FromSlash(rel))

	p, err := d.OpenPart(ctx, rel)
	if err != nil {
		t.Fatal(err)
	}
	if p.Size() != 0 || p.Validator() != "" {
		t.Fatalf("new part: size %d validator %q", p.Size(), p.Validator())
	}
	if _, err := io.WriteString(p, "hello "); err != nil {
		t.Fatal(err)
	}
	if err := p.SetValidator(`"etag-1"`); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil { // interrupted
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := p.Write([]byte("x")); err == nil {
		t.Error("write after close succeeded")
	}
	if exists(final) || readFile(t, final+".part") != "hello " {
		t.Fatal("interrupted part not left as NAME.part")
	}

	p, err = d.OpenPart(ctx, rel) // resume
	if err != nil {
		t.Fatal(err)
	}
	if p.Size() != 6 || p.Validator() != `"etag-1"` {
		t.Fatalf("resumed part: size %d validator %q", p.Size(), p.Validator())
	}
	if _, err := io.WriteString(p, "world"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Commit(12); !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("commit with a wrong size: %v, want ErrSizeMismatch", err)
	}
	if exists(final) || !exists(final+".part") {
		t.Fatal("a failed commit moved the part")
	}
	size, sha, err := p.Commit(11)
	if err != nil {
		t.Fatal(err)
	}
	if size != 11 || sha != sum("hello world") {
		t.Errorf("commit: %d %s, want 11 %s", size, sha, sum("hello world"))
	}
	if readFile(t, final) != "hello world" || exists(final+".part") || exists(final+".part.meta") {
		t.Error("after commit: want only the final file")
	}
	if err := p.Close(); err != nil {
		t.Errorf("close after commit: %v", err)
	}
	if err := p.Remove(); err != nil || !exists(final) {
		t.Errorf("remove after commit touched the file: %v", err)
	}
	if n, h, err := d.HashFile(rel); err != nil || n != 11 || h != sum("hello world") {
		t.Errorf("HashFile: %d %s %v", n, h, err)
	}
}

func TestPartResetAndOverwrite(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	final := filepath.Join(root, "v.mp4")
	if err := os.WriteFile(final, []byte("old version"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(final+".part", []byte("stale bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := d.OpenPart(ctx, "v.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if p.Size() != 11 {
		t.Fatalf("size %d", p.Size())
	}
	if err := p.Reset(); err != nil { // the server sent 200 to the Range request
		t.Fatal(err)
	}
	if p.Size() != 0 {
		t.Fatalf("size after reset %d", p.Size())
	}
	io.WriteString(p, "new")
	size, sha, err := p.Commit(-1) // unknown length: no check
	if err != nil || size != 3 || sha != sum("new") {
		t.Fatalf("commit: %d %s %v", size, sha, err)
	}
	if readFile(t, final) != "new" {
		t.Error("commit did not replace the old file")
	}
}

func TestPartValidatorAndRemove(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	p, err := d.OpenPart(ctx, "x.bin")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(p, "held") // an empty part keeps no validator: nothing to resume
	steps := []struct{ set, want string }{
		{`W/"weak"`, `W/"weak"`},
		{"Mon, 02 Jan 2006 15:04:05 GMT", "Mon, 02 Jan 2006 15:04:05 GMT"},
		{"", ""},
	}
	for _, s := range steps {
		if err := p.SetValidator(s.set); err != nil {
			t.Fatal(err)
		}
		p.Close()
		if p, err = d.OpenPart(ctx, "x.bin"); err != nil {
			t.Fatal(err)
		}
		if p.Validator() != s.want {
			t.Errorf("validator after reopen %q, want %q", p.Validator(), s.want)
		}
	}
	if exists(filepath.Join(root, "x.bin.part.meta")) {
		t.Error("empty validator left a sidecar")
	}
	p.SetValidator("v")
	io.WriteString(p, "data")
	if err := p.Remove(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"x.bin", "x.bin.part", "x.bin.part.meta"} {
		if exists(filepath.Join(root, n)) {
			t.Errorf("%s exists after Remove", n)
		}
	}
}

// TestPartValidatorWithoutClose checks that a large part's validator is on
// disk as soon as it is set, so a process killed mid-download can resume.
func TestPartValidatorWithoutClose(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	p, err := d.OpenPart(ctx, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetValidator(`"v1"`); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(root, "big.bin.part.meta")) {
		t.Error("a small part wrote its sidecar at once")
	}
	if _, err := p.Write(make([]byte, persistAt)); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(root, "big.bin.part.meta")); got != `"v1"` {
		t.Errorf("sidecar %q after %d bytes", got, persistAt)
	}
	if _, _, err := p.Commit(persistAt); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(root, "big.bin.part.meta")) {
		t.Error("commit left the sidecar")
	}
}

func TestPartBusyAndPaths(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	p, err := d.OpenPart(ctx, "a/b.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.OpenPart(ctx, "a/b.jpg"); !errors.Is(err, ErrPartBusy) {
		t.Errorf("second writer: %v, want ErrPartBusy", err)
	}
	io.WriteString(p, "abc")
	if _, _, err := p.Commit(3); err != nil {
		t.Fatal(err)
	}
	q, err := d.OpenPart(ctx, "a/b.jpg") // free again, and a new, empty part
	if err != nil {
		t.Fatal(err)
	}
	if q.Size() != 0 {
		t.Errorf("part after commit has %d bytes", q.Size())
	}
	q.Remove()

	for _, bad := range []string{"../x", "/etc/x", "", "a/../../x"} {
		if _, err := d.OpenPart(ctx, bad); err == nil || !strings.Contains(err.Error(), "not inside") {
			t.Errorf("OpenPart(%q): %v, want refusal", bad, err)
		}
		if _, _, err := d.HashFile(bad); err == nil {
			t.Errorf("HashFile(%q) succeeded", bad)
		}
	}
	if _, _, err := d.HashFile("missing"); err == nil {
		t.Error("HashFile of a missing file succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	os.WriteFile(filepath.Join(root, "c.part"), []byte("x"), 0o644)
	if _, err := d.OpenPart(cctx, "c"); !errors.Is(err, context.Canceled) {
		t.Errorf("OpenPart with a canceled context: %v", err)
	}
}

func TestPartTruncate(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	p, err := d.OpenPart(ctx, "v.ts")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(p, "segment1segm")
	if err := p.Truncate(20); err == nil {
		t.Error("truncate beyond the end: no error")
	}
	if err := p.Truncate(8); err != nil {
		t.Fatal(err)
	}
	io.WriteString(p, "segment2")
	size, sha, err := p.Commit(16)
	if err != nil || size != 16 || sha != sum("segment1segment2") {
		t.Fatalf("commit: %d %s %v", size, sha, err)
	}
	if got := readFile(t, filepath.Join(root, "v.ts")); got != "segment1segment2" {
		t.Errorf("file %q", got)
	}
}
