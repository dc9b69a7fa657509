package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestFreeListed reserves new names against the listing of their folder,
// read once: what was on disk then (with its .part), and, for what appears
// later, the commit that replaces nothing.
func TestFreeListed(t *testing.T) {
	if !renameGuarded() {
		t.Skip("no atomic rename guard here: new names are looked at one by one")
	}
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, openTest(t))
	put := func(rel, data string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reserve := func(wants ...string) []string {
		t.Helper()
		var ws []NameWant
		for _, w := range wants {
			ws = append(ws, NameWant{URL: "http://h/" + w, Want: w})
		}
		res, err := d.ReserveMany(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, r := range res {
			paths = append(paths, r.Path)
		}
		return paths
	}
	put("a.jpg", "theirs")
	put("b.jpg.part", "theirs")
	put("sub/c.jpg", "theirs")
	got := reserve("a.jpg", "b.jpg", "sub/c.jpg", "d.jpg")
	if want := []string{"a-2.jpg", "b-2.jpg", "sub/c-2.jpg", "d.jpg"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reserved %v, want %v", got, want)
	}

	// e.jpg appears after the root was listed: it is given out, but its
	// commit replaces nothing, and the root is looked at name by name since.
	put("e.jpg", "theirs")
	if got := reserve("e.jpg", "e0.jpg"); got[0] != "e.jpg" {
		t.Fatalf("reserved %v", got)
	}
	p, err := d.CreatePart(ctx, "e.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write([]byte("ours")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Commit(4); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("commit over a file that appeared: %v", err)
	}
	p.Remove()
	if b, _ := os.ReadFile(filepath.Join(root, "e.jpg")); string(b) != "theirs" {
		t.Errorf("e.jpg holds %q", b)
	}
	put("f.jpg", "theirs")
	if got := reserve("f.jpg", "f0.jpg"); got[0] != "f-2.jpg" {
		t.Errorf("after the refused commit: reserved %v, want f-2.jpg first", got)
	}

	// A folder too large to list is looked at name by name.
	for i := range maxListed + 1 {
		put(fmt.Sprintf("big/%d", i), "")
	}
	reserve("big/y.jpg", "big/y0.jpg")
	put("big/z.jpg", "theirs")
	if got := reserve("big/z.jpg", "big/z0.jpg"); got[0] != "big/z-2.jpg" {
		t.Errorf("in a large folder: reserved %v, want big/z-2.jpg first", got)
	}
}

// TestPlaceFresh puts a file made elsewhere in place under a new name,
// which replaces nothing, and under a name of the URL's, which does.
func TestPlaceFresh(t *testing.T) {
	root := t.TempDir()
	d := NewDir(root, nil)
	made := filepath.Join(t.TempDir(), "made")
	for _, c := range []struct {
		fresh bool
		want  string
	}{{true, "theirs"}, {false, "made"}} {
		if err := os.WriteFile(filepath.Join(root, "x.mp4"), []byte("theirs"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(made, []byte("made"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := d.Place(made, "x.mp4", c.fresh)
		if c.fresh != errors.Is(err, ErrNameTaken) || !c.fresh && err != nil {
			t.Errorf("fresh %v: %v", c.fresh, err)
		}
		if b, _ := os.ReadFile(filepath.Join(root, "x.mp4")); string(b) != c.want {
			t.Errorf("fresh %v: x.mp4 holds %q, want %q", c.fresh, b, c.want)
		}
	}
}

// TestListingsBounded keeps at most maxListings listings, however many
// folders a crawl writes into, and still finds what was on disk.
func TestListingsBounded(t *testing.T) {
	root := t.TempDir()
	d := NewDir(root, nil)
	for i := range 3 * maxListings {
		rel := fmt.Sprintf("page%d", i)
		if i%10 == 0 {
			if err := os.MkdirAll(filepath.Join(root, rel), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, rel, "x.jpg"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if l := d.listing(rel); l == nil || l["x.jpg"] != (i%10 == 0) {
			t.Fatalf("listing of %s: %v", rel, l)
		}
	}
	n := 0
	d.listed.Range(func(any, any) bool { n++; return true })
	if n > maxListings {
		t.Errorf("%d listings kept", n)
	}
}
