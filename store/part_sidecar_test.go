package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestPartSidecarNamesItsBytes checks the invariant that makes resume
// safe after kill -9: the sidecar on disk names the version of the bytes in
// the part, or is absent. A part that is reset (the file changed on the
// server) drops its sidecar at once, so a process killed before it holds
// persistAt bytes of the new version starts over instead of resuming with
// the old validator (which would append the old version to the new one if
// the server went back to it).
func TestPartSidecarNamesItsBytes(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	meta := filepath.Join(root, "v.bin.part.meta")

	p, err := d.OpenPart(ctx, "v.bin")
	if err != nil {
		t.Fatal(err)
	}
	p.SetValidator(`"1"`)
	if _, err := p.Write(make([]byte, persistAt+10)); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, meta); got != `"1"` {
		t.Fatalf("sidecar %q, want \"1\"", got)
	}

	// The server answers 200 with version 2: start over.
	if err := p.Reset(); err != nil {
		t.Fatal(err)
	}
	if exists(meta) {
		t.Error("Reset kept the sidecar of the bytes it threw away")
	}
	if p.Validator() != `"1"` {
		t.Errorf("Reset changed the validator in memory to %q", p.Validator())
	}
	p.SetValidator(`"2"`)
	p.Write([]byte("version 2"))
	if exists(meta) {
		t.Error("a small part of version 2 has a sidecar") // "kill -9" here must not resume
	}

	// Closed for a later resume: the sidecar now names version 2.
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, meta); got != `"2"` {
		t.Errorf("sidecar after Close %q, want \"2\"", got)
	}

	// Reopened, then told of another validator while still small: the
	// sidecar of the old one goes.
	if p, err = d.OpenPart(ctx, "v.bin"); err != nil {
		t.Fatal(err)
	}
	if p.Validator() != `"2"` || p.Size() != int64(len("version 2")) {
		t.Fatalf("reopened: validator %q, %d bytes", p.Validator(), p.Size())
	}
	if err := p.SetValidator(`"3"`); err != nil {
		t.Fatal(err)
	}
	if exists(meta) {
		t.Error("SetValidator kept a sidecar naming another version")
	}
	if _, _, err := p.Commit(-1); err != nil {
		t.Fatal(err)
	}
	if exists(meta) {
		t.Error("Commit left a sidecar")
	}
}

// TestPartOrphanSidecar: a sidecar without its part (the part deleted by
// hand) is not taken for the validator of a new part's bytes.
func TestPartOrphanSidecar(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	meta := filepath.Join(root, "o.bin.part.meta")
	if err := os.WriteFile(meta, []byte(`"old"`), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := d.OpenPart(ctx, "o.bin")
	if err != nil {
		t.Fatal(err)
	}
	if p.Validator() != "" || exists(meta) {
		t.Errorf("new part: validator %q, orphan sidecar kept: %v", p.Validator(), exists(meta))
	}
	p.Write([]byte("new bytes, no validator"))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if p, err = d.OpenPart(ctx, "o.bin"); err != nil {
		t.Fatal(err)
	}
	defer p.Remove()
	if p.Validator() != "" {
		t.Errorf("reopened part has validator %q, want none", p.Validator())
	}
}
