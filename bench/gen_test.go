package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// tiny keeps the tests fast: a few files of a few KiB.
var tiny = profile{
	Name:    "tiny",
	W1Pages: 2, W1Details: 2, W1Images: 3,
	W2Pages: 2, W2Details: 2, W2Images: 2,
	ImgMin: 1 * kib, ImgMax: 8 * kib,
	W3Files: 5, W3Min: 1 * kib, W3Max: 2 * kib,
	BigSize: 300 * kib,
	MURLs:   50,
}

func TestGenerateIsDeterministic(t *testing.T) {
	for _, name := range []string{"w1", "w2", "w3", "w4", "m"} {
		a, err := generate(t.TempDir(), name, 7, tiny)
		if err != nil {
			t.Fatal(err)
		}
		b, err := generate(t.TempDir(), name, 7, tiny)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two generations with one seed differ", name)
		}
		c, err := generate(t.TempDir(), name, 8, tiny)
		if err != nil {
			t.Fatal(err)
		}
		if c.Files[0].SHA == a.Files[0].SHA {
			t.Errorf("%s: seeds 7 and 8 gave the same first file", name)
		}
	}
}

func TestGeneratedShape(t *testing.T) {
	site := t.TempDir()
	g, err := generate(site, "w1", 1, tiny)
	if err != nil {
		t.Fatal(err)
	}
	if want := tiny.W1Pages * tiny.W1Details * tiny.W1Images; len(g.Files) != want {
		t.Fatalf("w1: %d files, want %d", len(g.Files), want)
	}
	outs := map[string]bool{}
	for _, f := range g.Files {
		if f.Size < tiny.ImgMin || f.Size > tiny.ImgMax {
			t.Errorf("%s: %d bytes, out of [%d, %d]", f.URL, f.Size, tiny.ImgMin, tiny.ImgMax)
		}
		if outs[f.Out] {
			t.Errorf("two files named %s", f.Out)
		}
		outs[f.Out] = true
		b, err := os.ReadFile(filepath.Join(site, f.URL))
		if err != nil || int64(len(b)) != f.Size || !strings.HasPrefix(string(b), "\xff\xd8\xff") {
			t.Errorf("%s: not a %d-byte JPEG-looking file (%v)", f.URL, f.Size, err)
		}
	}
	// Page 1 is only at its own URL; the template's page 1 does not exist.
	if _, err := os.Stat(filepath.Join(site, w1First, "index.html")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(site, strings.Replace(w1Template, "{page}", "1", 1))); err == nil {
		t.Error("the template's page 1 exists")
	}
	page2, err := os.ReadFile(filepath.Join(site, strings.Replace(w1Template, "{page}", "2", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(page2), `<li><h2><a href="/w1/post/`); n != tiny.W1Details {
		t.Errorf("page 2 links %d detail pages, want %d", n, tiny.W1Details)
	}

	g3, err := generate(site, "w3", 1, tiny)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range g3.Files {
		if filepath.Ext(f.URL) != "" || f.Out != f.Name+".jpg" {
			t.Errorf("w3 file %+v: want an extensionless URL named <name>.jpg", f)
		}
	}
}

func TestW2IsGBKWithMetaCharset(t *testing.T) {
	site := t.TempDir()
	g, err := generate(site, "w2", 1, tiny)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Titles) != tiny.W2Pages*tiny.W2Details {
		t.Fatalf("%d titles", len(g.Titles))
	}
	// The first detail page of page 1 carries the first title.
	list, err := os.ReadFile(filepath.Join(site, w2First, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if utf8.Valid(list) {
		t.Error("listing page is valid UTF-8; want GBK")
	}
	dec, err := simplifiedchinese.GBK.NewDecoder().Bytes(list)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dec), `charset=gb2312"`) || !strings.Contains(string(dec), g.Titles[0]) {
		t.Errorf("decoded listing lacks the meta charset or the first title:\n%.400s", dec)
	}
	for _, f := range g.Files {
		title, _, _ := strings.Cut(f.Out, "/")
		found := false
		for _, t := range g.Titles {
			found = found || t == title
		}
		if !found {
			t.Errorf("%s is not under a title folder", f.Out)
		}
	}
}

func TestEnsureGroupReuses(t *testing.T) {
	site := t.TempDir()
	if _, made, err := ensureGroup(site, "w3", 1, tiny); err != nil || !made {
		t.Fatalf("first: made=%v err=%v", made, err)
	}
	if _, made, err := ensureGroup(site, "w3", 1, tiny); err != nil || made {
		t.Fatalf("same seed: made=%v err=%v, want reuse", made, err)
	}
	if _, made, err := ensureGroup(site, "w3", 2, tiny); err != nil || !made {
		t.Fatalf("other seed: made=%v err=%v, want a new generation", made, err)
	}
}

func TestVerify(t *testing.T) {
	site := t.TempDir()
	g, err := generate(site, "w3", 1, tiny)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, f := range g.Files {
		b, err := os.ReadFile(filepath.Join(site, f.URL))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, f.Out), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(out, ".crawl"), 0o755)
	os.WriteFile(filepath.Join(out, ".crawl", "state.db"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(out, "manifest.csv"), []byte("x"), 0o644)
	v, err := verify(out, g.Files)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK != len(g.Files) || v.Bad+v.Missing+v.Extra+v.Parts != 0 {
		t.Fatalf("all right: %+v", v)
	}

	// A .jpeg extension counts; a changed byte, a missing file, an extra
	// file and a .part do not.
	f0, f1, f2 := g.Files[0], g.Files[1], g.Files[2]
	os.Rename(filepath.Join(out, f0.Out), filepath.Join(out, f0.Name+".jpeg"))
	os.WriteFile(filepath.Join(out, f1.Out), []byte("not it"), 0o644)
	os.Remove(filepath.Join(out, f2.Out))
	os.WriteFile(filepath.Join(out, "stray.bin"), nil, 0o644)
	os.WriteFile(filepath.Join(out, "x.jpg.part"), nil, 0o644)
	os.WriteFile(filepath.Join(out, "x.jpg.part.meta"), nil, 0o644)
	v, err = verify(out, g.Files)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK != len(g.Files)-2 || v.Bad != 1 || v.Missing != 1 || v.Extra != 1 || v.Parts != 2 {
		t.Fatalf("got %+v", v)
	}
}

func TestParseStat(t *testing.T) {
	line := "4242 (a (weird) name) S 17 4242 4242 0 -1 4194304 900 0 0 0 250 75 0 0 20 0 5 0 12345 800000000 3000 18446744073709551615"
	st, ok := parseStat(4242, []byte(line))
	if !ok {
		t.Fatal("not parsed")
	}
	want := procStat{pid: 4242, ppid: 17, utime: 250, stime: 75, start: 12345, rss: 3000}
	if st != want {
		t.Fatalf("got %+v, want %+v", st, want)
	}
}

// TestNginxServes starts the real server on a tiny site and checks the
// Content-Types the workloads rely on.
func TestNginxServes(t *testing.T) {
	if _, err := os.Stat(nginxBin); err != nil {
		t.Skip("no nginx")
	}
	site := t.TempDir()
	for _, name := range []string{"w2", "w3", "w4", "m"} {
		if _, err := generate(site, name, 1, tiny); err != nil {
			t.Fatal(err)
		}
	}
	g3, _ := loadGroup(filepath.Join(site, "w3"))
	ngx, err := startNginx(context.Background(), t.TempDir(), site)
	if err != nil {
		t.Fatal(err)
	}
	defer ngx.stop()
	for _, c := range []struct{ path, ctype string }{
		{w2First, "text/html"}, // no charset: it is only in <meta>
		{g3.Files[0].URL, "image/jpeg"},
		{bigURL, "video/mp4"},
		{slowURL, "video/mp4"},
		{"/m/0000123.jpg", "image/jpeg"},
	} {
		resp, err := http.Get(ngx.base + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != c.ctype {
			t.Errorf("%s: %d %q, want 200 %q", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.ctype)
		}
	}
	resp, err := http.Get(ngx.base + "/m/nope.jpg")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("/m/nope.jpg: %d, want 404", resp.StatusCode)
	}
}
