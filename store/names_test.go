package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"
)

// windowsNames makes SafePath keep Windows' device names out for the test.
func windowsNames(t *testing.T) {
	was := deviceNames
	deviceNames = true
	t.Cleanup(func() { deviceNames = was })
}

func TestSafePath(t *testing.T) {
	windowsNames(t)
	long := strings.Repeat("a", 300)
	longCJK := strings.Repeat("图", 100) // 300 bytes, 3 per rune
	tests := []struct{ in, want string }{
		{"a.jpg", "a.jpg"},
		{"dir/sub/a.jpg", "dir/sub/a.jpg"},
		{"", "file"},
		{"/", "file"},
		{".", "file"},
		{"..", "file"},
		{"../../etc/passwd", "etc/passwd"},
		{"/etc/passwd", "etc/passwd"},
		{"a/../b", "a/b"},
		{"a//b/./c", "a/b/c"},
		{`C:\Windows\win.ini`, "C__Windows_win.ini"},
		{`a\..\b`, `a_.._b`},
		{"a:b*c?d\"e<f>g|h", "a_b_c_d_e_f_g_h"},
		{"nul\x00byte\ttab\nnl\x7fdel\u0085c1", "nul_byte_tab_nl_del_c1"},
		{"bad\xffutf8\xc3", "bad_utf8_"},
		{"photo\u202egpj.exe", "photo_gpj.exe"},
		{"a\u2028b\u2066c", "a_b_c"},
		{"trailing. . ", "trailing"},
		{"dots.../x", "dots/x"},
		{"...", "file"},
		{" lead", " lead"},
		{"CON", "_CON"},
		{"con.txt", "_con.txt"},
		{"Nul.tar.gz", "_Nul.tar.gz"},
		{"LPT9/COM1.jpg", "_LPT9/_COM1.jpg"},
		{"com¹", "_com¹"},
		{"CON .txt", "_CON .txt"},
		{"console", "console"},
		{"COM10", "COM10"},
		{"aux-1.jpg", "aux-1.jpg"},
		{"图片/标题 第1页.jpg", "图片/标题 第1页.jpg"},
		{long, strings.Repeat("a", maxLeaf)},
		{long + ".jpeg", strings.Repeat("a", maxLeaf-5) + ".jpeg"},
		{long + "/x", strings.Repeat("a", 255) + "/x"},
		{longCJK + ".jpg", strings.Repeat("图", (maxLeaf-4)/3) + ".jpg"},
		{"a." + long, "a." + strings.Repeat("a", maxLeaf-2)}, // an "extension" that long is part of the name
		{strings.Repeat("a", 244) + " " + strings.Repeat("b", 20), strings.Repeat("a", 244)},
	}
	for _, tt := range tests {
		got := SafePath(tt.in)
		if got != tt.want {
			t.Errorf("SafePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := SafePath(got); again != got {
			t.Errorf("SafePath not idempotent on %q: %q then %q", tt.in, got, again)
		}
		checkSafe(t, tt.in, got)
	}
}

// TestSafePathDeviceNames: off Windows, its device names are names like
// any other.
func TestSafePathDeviceNames(t *testing.T) {
	was := deviceNames
	deviceNames = false
	defer func() { deviceNames = was }()
	for _, in := range []string{"CON", "Nul.jpg", "LPT9/COM1.jpg", "aux.tar.gz"} {
		if got := SafePath(in); got != in {
			t.Errorf("SafePath(%q) = %q, want it as it is", in, got)
		}
	}
}

// checkSafe fails t if out (SafePath's answer for in) breaks a promise.
func checkSafe(t testing.TB, in, out string) {
	t.Helper()
	if out == "" || !utf8.ValidString(out) || !filepath.IsLocal(filepath.FromSlash(out)) || strings.HasPrefix(out, "/") {
		t.Fatalf("SafePath(%q) = %q: empty, invalid UTF-8 or not local", in, out)
	}
	segs := strings.Split(out, "/")
	for i, s := range segs {
		limit := 255
		if i == len(segs)-1 {
			limit = 245
		}
		if s == "" || s == "." || s == ".." || len(s) > limit {
			t.Fatalf("SafePath(%q) = %q: bad segment %q (%d bytes)", in, out, s, len(s))
		}
		if strings.HasSuffix(s, ".") || strings.HasSuffix(s, " ") {
			t.Fatalf("SafePath(%q) = %q: segment %q ends in a dot or space", in, out, s)
		}
		if strings.ContainsFunc(s, func(r rune) bool {
			return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || strings.ContainsRune(`\:*?"<>|`, r)
		}) {
			t.Fatalf("SafePath(%q) = %q: segment %q holds a forbidden character", in, out, s)
		}
		base, _, _ := strings.Cut(s, ".")
		switch b := strings.ToUpper(strings.TrimRight(base, " ")); {
		case !deviceNames:
		case b == "CON" || b == "PRN" || b == "AUX" || b == "NUL",
			len(b) == 4 && (strings.HasPrefix(b, "COM") || strings.HasPrefix(b, "LPT")) && b[3] >= '0' && b[3] <= '9':
			t.Fatalf("SafePath(%q) = %q: segment %q is a reserved name", in, out, s)
		}
	}
	root := filepath.FromSlash("/out")
	rel, err := filepath.Rel(root, filepath.Join(root, filepath.FromSlash(out)))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		t.Fatalf("SafePath(%q) = %q escapes the root: %q", in, out, rel)
	}
}

func FuzzSafePath(f *testing.F) {
	for _, s := range []string{"a.jpg", "../x", "/abs", "CON.txt", "a\x00b", strings.Repeat("长", 200) + ".jpg", "x/./../y", "a. ", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := SafePath(in)
		checkSafe(t, in, out)
		if again := SafePath(out); again != out {
			t.Fatalf("SafePath(%q) = %q, but SafePath of that = %q", in, out, again)
		}
	})
}

func TestReserve(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "crawl.db")
	root := t.TempDir()
	d := NewDir(root, openAt(t, dbPath))

	// Things already on disk that are not ours.
	for _, p := range []string{"foreign.jpg", "partial.jpg.part", "blocked", ".crawl/crawl.db"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct{ url, want, path string }{
		{"http://a/1", "img.jpg", "img.jpg"},
		{"http://a/2", "img.jpg", "img-2.jpg"},
		{"http://a/3", "img.jpg", "img-3.jpg"},
		{"http://a/1", "other.jpg", "img.jpg"}, // same URL, same name
		{"http://a/4", "IMG.JPG", "IMG-4.JPG"}, // case-insensitive, numbered on from the last one
		{"http://a/5", "img-2.jpg", "img-2-2.jpg"},
		{"http://a/6", "noext", "noext"},
		{"http://a/7", "noext", "noext-2"},
		{"http://a/8", "foreign.jpg", "foreign-2.jpg"}, // a file on disk
		{"http://a/9", "partial.jpg", "partial-2.jpg"}, // someone's .part on disk
		{"http://a/10", "../../escape.jpg", "escape.jpg"},
		{"http://a/11", "manifest.csv", "manifest-2.csv"},
		{"http://a/12", "Failed.CSV", "Failed-2.CSV"},
		{"http://a/13", ".crawl/crawl.db", ".crawl-2/crawl.db"},
		{"http://a/14", "sub/x.jpg", "sub/x.jpg"},
		{"http://a/15", "sub", "sub-2"},                     // "sub" is a folder of a reservation
		{"http://a/16", "img.jpg/y.jpg", "img.jpg-2/y.jpg"}, // "img.jpg" is a file
		{"http://a/17", "blocked/z.jpg", "blocked-2/z.jpg"}, // a file on disk
		{"http://a/18", "adir/z.jpg", "adir/z.jpg"},         // a folder on disk is fine
		{"http://a/19", "adir", "adir-2"},
		{"http://a/20", "img.jpg.part", "img.jpg-2.part"}, // would be img.jpg's .part
		{"http://a/21", "t", "t"},
		{"http://a/22", "t.part/q.jpg", "t.part-2/q.jpg"}, // t.part is t's .part
		{"http://a/23", "Straße/ä.jpg", "Straße/ä.jpg"},
		{"http://a/24", "STRASSE/ä.jpg", "STRASSE/ä.jpg"},
		{"http://a/25", "straße/a\u0308.jpg", "straße/a\u0308-2.jpg"}, // NFD of the same name
		{"http://a/26", "", "file"},
		{"http://a/27", "r.part", "r.part"},
		{"http://a/28", "r", "r-2"},                                         // its .part would be the file r.part
		{"http://a/29", "img.jpg.part.meta", "img.jpg.part-2.meta"},         // would be img.jpg's sidecar
		{"http://a/30", "r.part.meta/z.jpg", "r.part.meta/z.jpg"},           // r's sidecar, but r is not reserved
		{"http://a/31", "r.part/z.jpg", "r.part-2/z.jpg"},                   // the file r.part
		{"http://a/32", "img-2.jpg.part.meta/z", "img-2.jpg.part.meta-2/z"}, // img-2.jpg's sidecar
	}
	for _, tt := range tests {
		got, err := d.Reserve(ctx, tt.url, tt.want)
		if err != nil {
			t.Fatalf("Reserve(%s, %q): %v", tt.url, tt.want, err)
		}
		if got != tt.path {
			t.Errorf("Reserve(%s, %q) = %q, want %q", tt.url, tt.want, got, tt.path)
		}
	}

	// After a reopen, the same URLs get the same names and taken names stay taken.
	d2 := NewDir(root, openAt(t, dbPath))
	for _, tt := range tests {
		if got, err := d2.Reserve(ctx, tt.url, "whatever.jpg"); err != nil || got != tt.path {
			t.Errorf("after reopen: Reserve(%s) = %q, %v; want %q", tt.url, got, err, tt.path)
		}
	}
	if got, err := d2.Reserve(ctx, "http://a/new", "img.jpg"); err != nil || got != "img-5.jpg" {
		t.Errorf("new URL after reopen: %q, %v; want img-5.jpg", got, err)
	}

	// A long name stays within bounds when numbered.
	long := strings.Repeat("长", 100) + ".jpg"
	first, _ := d2.Reserve(ctx, "http://long/1", long)
	second, err := d2.Reserve(ctx, "http://long/2", long)
	if err != nil || first == second || len(second) > maxLeaf || !strings.HasSuffix(second, "-2.jpg") || !utf8.ValidString(second) {
		t.Errorf("long names: %q (%d bytes) then %q (%d bytes), %v", first, len(first), second, len(second), err)
	}

	if _, err := NewDir(root, nil).Reserve(ctx, "u", "x"); err == nil {
		t.Error("Reserve without a database succeeded")
	}
}

// TestReserveManySameName checks the numbering stays sequential and unique
// for many URLs wanting one name, across two handles reserving at once.
func TestReserveManySameName(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "crawl.db")
	root := t.TempDir()
	dirs := []*Dir{NewDir(root, openAt(t, dbPath)), NewDir(root, openAt(t, dbPath))}
	const n = 300
	paths := make([]string, n)
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for g := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 10 {
				p, err := dirs[i%2].Reserve(ctx, fmt.Sprintf("http://h/%d", i), "gallery/1.jpg")
				if err != nil {
					errc <- err
					return
				}
				paths[i] = p
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			t.Fatalf("path %q given twice", p)
		}
		seen[p] = true
	}
	for i := 2; i <= n; i++ {
		if !seen[fmt.Sprintf("gallery/1-%d.jpg", i)] {
			t.Errorf("gallery/1-%d.jpg not given out: numbering has a gap", i)
		}
	}
	if !seen["gallery/1.jpg"] {
		t.Error("gallery/1.jpg not given out")
	}
}

// TestReserveMany reserves as Reserve does, in one transaction, and tells
// the names reserved just now, for which CreatePart makes the part.
func TestReserveMany(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, openTest(t))
	if _, err := d.Reserve(ctx, "http://a/0", "x.jpg"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "disk.jpg"), []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := d.ReserveMany(ctx, []NameWant{
		{URL: "http://a/0", Want: "other.jpg"}, {URL: "http://a/1", Want: "x.jpg"},
		{URL: "http://a/2", Want: "disk.jpg"}, {URL: "http://a/1", Want: "y.jpg"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Reservation{{Path: "x.jpg"}, {Path: "x-2.jpg", Fresh: true}, {Path: "disk-2.jpg", Fresh: true}, {Path: "x-2.jpg"}}
	if !slices.Equal(res, want) {
		t.Errorf("ReserveMany = %+v, want %+v", res, want)
	}
	p, err := d.CreatePart(ctx, res[1].Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	if n, _, err := p.Commit(4); err != nil || n != 4 {
		t.Fatalf("commit: %d, %v", n, err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "x-2.jpg")); err != nil || string(b) != "data" {
		t.Errorf("x-2.jpg: %q, %v", b, err)
	}
}

// TestReserveManyNewFolders reserves a batch whose files go into folders
// not known yet, some of which cannot be folders as named (a file on disk,
// a file reserved in the batch), as Reserve gives them one at a time.
func TestReserveManyNewFolders(t *testing.T) {
	ctx := context.Background()
	var wants []NameWant
	add := func(want string) {
		wants = append(wants, NameWant{URL: fmt.Sprintf("http://h/%d", len(wants)), Want: want})
	}
	for i := range 30 {
		add(fmt.Sprintf("t/%d.jpg", i))
	}
	add("u/1.jpg")
	add("u")
	add("u/2.jpg")
	for i := range 5 {
		add(fmt.Sprintf("x/%d.jpg", i))
	}
	add("y/1.jpg")
	add("z/a/b/c.jpg")
	add("Z/A/d.jpg")
	add("z.part/e.jpg")
	add("z/a")
	dirs := func() *Dir {
		root := t.TempDir()
		// On disk: a file where a folder is wanted, and a folder.
		if err := os.WriteFile(filepath.Join(root, "x"), []byte("not ours"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(root, "y"), 0o755); err != nil {
			t.Fatal(err)
		}
		return NewDir(root, openTest(t))
	}
	one, many := dirs(), dirs()
	got, err := many.ReserveMany(ctx, wants)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range wants {
		p, err := one.Reserve(ctx, w.URL, w.Want)
		if err != nil {
			t.Fatal(err)
		}
		if got[i].Path != p || !got[i].Fresh {
			t.Errorf("%q: ReserveMany gave %+v, Reserve %q", w.Want, got[i], p)
		}
	}
	if got[0].Path != "t/0.jpg" || got[31].Path != "u-2" || got[33].Path != "x-2/0.jpg" || got[42].Path != "z/a-2" {
		t.Errorf("names: %v, %v, %v, %v", got[0], got[31], got[33], got[42])
	}
	// The folders are known now: the next batch finds them.
	again, err := many.ReserveMany(ctx, []NameWant{{URL: "http://h/next", Want: "t/next.jpg"}, {URL: "http://h/t", Want: "t"}})
	if err != nil || again[0].Path != "t/next.jpg" || again[1].Path != "t-2" {
		t.Errorf("next batch: %+v, %v", again, err)
	}
}
