package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestFolderSwappedForLink: a folder made (and remembered) earlier in the
// run, then swapped for a link to elsewhere, is not written through.
func TestFolderSwappedForLink(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	elsewhere := t.TempDir()
	d := NewDir(root, nil)
	p, err := d.OpenPart(ctx, "sub/a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("a"))
	if _, _, err := p.Commit(1); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "sub")
	if err := os.RemoveAll(sub); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, sub); err != nil {
		t.Fatal(err)
	}
	for _, open := range []func(context.Context, string) (*Part, error){d.OpenPart, d.CreatePart} {
		p, err := open(ctx, "sub/b.jpg")
		if err == nil {
			p.Close()
			t.Fatal("opened through a folder swapped for a link")
		}
		wantSymlink(t, err, sub)
	}
	if _, _, err := d.HashFile("sub/a.jpg"); err == nil {
		t.Error("HashFile read through a folder swapped for a link")
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) > 0 {
		t.Errorf("written through the link: %v", ents)
	}
}
