package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReserve gives Reserve hostile wanted names (as a --name template
// filled from a page could hold) and checks its promises: every path is
// safe (all of SafePath's promises: inside the output folder, no control
// characters, no reserved names, short enough) and is none of crawl's own
// names (.crawl, manifest.csv, failed.csv), two URLs never get one name
// (compared as a case-insensitive file system would), and a URL gets the
// same name again, also through a new Dir on the same database (the next
// run), whatever it asks for the second time.
func FuzzReserve(f *testing.F) {
	for _, s := range [][2]string{
		{"a.jpg", "A.JPG"},
		{"../../etc/passwd", "etc/passwd"},
		{"/abs/x.png", "abs/x.png"},
		{"CON.txt", "con.TXT"},
		{"dir/x.jpg", "dir"},
		{"x", "x/y"},
		{"a\x00b.jpg", "a_b.jpg"},
		{"manifest.csv", ".crawl/state.db"},
		{strings.Repeat("长", 100) + ".jpg", strings.Repeat("长", 100) + ".jpg"},
		{"Café.jpg", "Cafe\u0301.jpg"},
		{"x.jpg.part", "x.jpg"},
		{"a. /b .jpg", "a/b.jpg"},
	} {
		f.Add(s[0], s[1])
	}
	root := f.TempDir()
	db := openAt(f, filepath.Join(f.TempDir(), "state.db"))
	d := NewDir(root, db)
	owner := map[string]string{} // folded path → the URL that has it
	folders := map[string]bool{} // folded folders on the way to those paths
	n := 0
	f.Fuzz(func(t *testing.T, want1, want2 string) {
		ctx := context.Background()
		n++
		urls := []string{fmt.Sprintf("http://h/%d/a", n), fmt.Sprintf("http://h/%d/b", n)}
		for i, want := range []string{want1, want2} {
			p, err := d.Reserve(ctx, urls[i], want)
			if err != nil {
				t.Fatalf("Reserve(%q): %v", want, err)
			}
			checkSafe(t, want, p)
			key := fold(p)
			if prev, ok := owner[key]; ok {
				t.Fatalf("%s and %s share the name %q", prev, urls[i], p)
			}
			if first, _, _ := strings.Cut(key, "/"); rootNames[first] {
				t.Fatalf("%s got %q, one of crawl's own names", urls[i], p)
			}
			// A file's name is never a folder on the way to another's.
			if folders[key] {
				t.Fatalf("%s got %q, a folder of another file", urls[i], p)
			}
			for j := strings.IndexByte(key, '/'); j >= 0; j = nextSlash(key, j) {
				if prev, ok := owner[key[:j]]; ok {
					t.Fatalf("%s got %q, under %s's file %q", urls[i], p, prev, key[:j])
				}
				folders[key[:j]] = true
			}
			owner[key] = urls[i]
			if again, err := NewDir(root, db).Reserve(ctx, urls[i], want1+want2); err != nil || again != p {
				t.Fatalf("%s: %q the first time, then %q (%v)", urls[i], p, again, err)
			}
		}
	})
}

// nextSlash returns the index of the first '/' in s after i, or -1.
func nextSlash(s string, i int) int {
	k := strings.IndexByte(s[i+1:], '/')
	if k < 0 {
		return -1
	}
	return i + 1 + k
}

// FuzzReserveManyAsReserve checks that ReserveMany, which reserves a
// batch in a few statements, gives every URL the name that Reserve, one
// URL at a time, gives it: wants (separated by '|') asked for by URLs
// (some asked twice, a few of them in one batch), in batches of size.
func FuzzReserveManyAsReserve(f *testing.F) {
	for _, s := range []string{
		"a.jpg|A.JPG|a.jpg.part|a.jpg|b/c.jpg|b|b/c.jpg.part.meta|manifest.csv",
		"x|x/y|x/y/z|X|x-2|x",
		"Café.jpg|Cafe\u0301.jpg|café.JPG|.crawl|d/e.png|d/e.png|D/E.PNG",
		"t/a.jpg|t/b.jpg|t|t/c.jpg|u/v/w.jpg|U/V/x.jpg|u/v|u.part/y.jpg|u|t.part.meta/z",
		"g/1.jpg|g/2.jpg|g/3.jpg|h/1.jpg|g/1.jpg|h/1.jpg|h|g/h/1.jpg|g.part|.crawl/x",
	} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, list string, size uint8) {
		ctx := context.Background()
		wants := strings.Split(list, "|")
		if len(wants) > 64 {
			wants = wants[:64]
		}
		batch := max(int(size%8), 1)
		one := NewDir(t.TempDir(), openTest(t))
		many := NewDir(t.TempDir(), openTest(t))
		for i := 0; i < len(wants); i += batch {
			var ws []NameWant
			for j := i; j < min(i+batch, len(wants)); j++ {
				// Every third URL is asked for again later.
				ws = append(ws, NameWant{URL: fmt.Sprintf("http://h/%d", j-j%3*(j%2)), Want: wants[j]})
			}
			got, err := many.ReserveMany(ctx, ws)
			if err != nil {
				t.Fatalf("ReserveMany: %v", err)
			}
			for k, w := range ws {
				p, err := one.Reserve(ctx, w.URL, w.Want)
				if err != nil {
					t.Fatalf("Reserve(%q): %v", w.Want, err)
				}
				if got[k].Path != p {
					t.Fatalf("%s wants %q: ReserveMany gave %q, Reserve %q", w.URL, w.Want, got[k].Path, p)
				}
			}
		}
	})
}
