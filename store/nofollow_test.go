package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// outsideFile writes a file outside the output folder and returns its path
// and a check that it is unchanged.
func outsideFile(t *testing.T) (string, func()) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "victim")
	const content = "not yours"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, func() {
		t.Helper()
		if got := readFile(t, p); got != content {
			t.Errorf("the file outside the output folder was written: %q", got)
		}
	}
}

// wantSymlink checks that err is ErrSymlink naming path.
func wantSymlink(t *testing.T, err error, path string) {
	t.Helper()
	if !errors.Is(err, ErrSymlink) {
		t.Fatalf("err = %v, want ErrSymlink", err)
	}
	if want := path + " is a symbolic link"; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to say %q", err, want)
	}
}

func TestPartSymlinkRefused(t *testing.T) {
	ctx := context.Background()
	for _, create := range []bool{false, true} {
		root := t.TempDir()
		d := NewDir(root, nil)
		victim, unchanged := outsideFile(t)
		part := filepath.Join(root, "a.jpg.part")
		if err := os.Symlink(victim, part); err != nil {
			t.Fatal(err)
		}
		open := d.OpenPart
		if create {
			open = d.CreatePart
		}
		p, err := open(ctx, "a.jpg")
		if err == nil {
			p.Write([]byte("evil"))
			p.Commit(-1)
			t.Fatalf("create=%v: a .part that is a symbolic link was opened", create)
		}
		wantSymlink(t, err, part)
		unchanged()
	}
}

func TestSidecarSymlinkRefused(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	victim, unchanged := outsideFile(t)
	part := filepath.Join(root, "a.jpg.part")
	if err := os.WriteFile(part, make([]byte, persistAt), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, part+metaSuffix); err != nil {
		t.Fatal(err)
	}
	// A part with bytes reads its sidecar: not through a link.
	_, err := d.OpenPart(ctx, "a.jpg")
	wantSymlink(t, err, part+metaSuffix)
	unchanged()

	// A part whose sidecar becomes a link after it was opened does not
	// write its validator through it.
	if err := os.Remove(part + metaSuffix); err != nil {
		t.Fatal(err)
	}
	p, err := d.OpenPart(ctx, "a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := os.Symlink(victim, part+metaSuffix); err != nil {
		t.Fatal(err)
	}
	err = p.SetValidator(`"v1"`)
	wantSymlink(t, err, part+metaSuffix)
	unchanged()
}

func TestFolderSymlinkRefused(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(root, "sub")); err != nil {
		t.Fatal(err)
	}
	d := NewDir(root, nil)
	for _, rel := range []string{"sub/a.jpg", "sub/deeper/a.jpg"} {
		for _, open := range []func(context.Context, string) (*Part, error){d.OpenPart, d.CreatePart} {
			p, err := open(ctx, rel)
			if err == nil {
				p.Close()
				t.Fatalf("%s: opened through a folder that is a symbolic link", rel)
			}
			wantSymlink(t, err, filepath.Join(root, "sub"))
		}
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) > 0 {
		t.Errorf("written through the link: %v", ents)
	}
	// Other folders go on working.
	p, err := d.OpenPart(ctx, "other/a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("x"))
	if _, _, err := p.Commit(1); err != nil {
		t.Fatal(err)
	}
}

func TestRootSymlinkFollowed(t *testing.T) {
	ctx := context.Background()
	real := t.TempDir()
	root := filepath.Join(t.TempDir(), "out")
	if err := os.Symlink(real, root); err != nil {
		t.Fatal(err)
	}
	d := NewDir(root, nil)
	p, err := d.OpenPart(ctx, "sub/a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("x"))
	if _, _, err := p.Commit(1); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(real, "sub", "a.jpg")); got != "x" {
		t.Errorf("got %q", got)
	}
}

func TestCommitReplacesFinalSymlink(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	victim, unchanged := outsideFile(t)
	final := filepath.Join(root, "a.jpg")
	if err := os.Symlink(victim, final); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.HashFile("a.jpg"); !errors.Is(err, ErrSymlink) {
		t.Errorf("HashFile of a symbolic link: err = %v, want ErrSymlink", err)
	}
	p, err := d.OpenPart(ctx, "a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("new"))
	if _, _, err := p.Commit(3); err != nil {
		t.Fatal(err)
	}
	unchanged()
	if fi, err := os.Lstat(final); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("final is not a plain file: %v, %v", fi, err)
	}
	if got := readFile(t, final); got != "new" {
		t.Errorf("got %q", got)
	}
}

func TestFolderRemadeAfterRemoval(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	p, err := d.OpenPart(ctx, "a/b/c.jpg")
	if err != nil {
		t.Fatal(err)
	}
	p.Remove()
	if err := os.RemoveAll(filepath.Join(root, "a")); err != nil {
		t.Fatal(err)
	}
	p, err = d.OpenPart(ctx, "a/b/c.jpg")
	if err != nil {
		t.Fatal(err)
	}
	p.Remove()
}
