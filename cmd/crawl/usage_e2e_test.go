package main

import (
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCarelessUsage runs commands whose input is careless or hostile: each
// is bad usage (exit 2) with one line naming the problem, and leaves
// nothing under --out, not even OUT/.crawl.
func TestCarelessUsage(t *testing.T) {
	srv, cnt := serveDemo(t)
	crawlArgs := demoArgs(t, "gallery", srv.URL)
	without := func(flag string) []string {
		var out []string
		for i := 0; i < len(crawlArgs); i++ {
			if crawlArgs[i] == flag {
				i++
				continue
			}
			out = append(out, crawlArgs[i])
		}
		return out
	}
	with := func(args ...string) []string {
		return append(append([]string(nil), crawlArgs...), args...)
	}
	good := srv.URL + "/static/a.jpg"
	dir := t.TempDir()
	writeFile(t, dir, "empty-name.yaml", []byte("name: \"\"\n"))
	noise := make([]byte, 8192)
	rand.New(rand.NewSource(7)).Read(noise)
	writeFile(t, dir, "noise.csv", noise)
	writeFile(t, dir, "names.csv", []byte("name,age\nalice,31\nbob,27\ncarol,45\n"))
	writeFile(t, dir, "no-header-names.csv", []byte("alice\nbob\n"))
	writeFile(t, dir, "urls.csv", []byte("name,url\na,"+good+"\n"))

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"get javascript url", []string{"get", good, "javascript:alert(1)"}, "javascript:alert(1)"},
		{"get file url", []string{"get", "file:///etc/passwd", good}, "file:///etc/passwd"},
		{"get unclosed ipv6 host", []string{"get", "http://[::1"}, "http://[::1"},
		{"get ftp url", []string{"get", "ftp://x/y"}, "ftp://x/y"},
		{"get url without host", []string{"get", "http:///y.jpg"}, "http:///y.jpg"},
		{"get relative url", []string{"get", "a.jpg"}, "a.jpg"},
		{"list url javascript", append(without("--list-url"), "--list-url", "javascript:alert({page})"), "--list-url"},
		{"list url without host", append(without("--list-url"), "--list-url", "http:///list/{page}.html"), "--list-url"},
		{"first url file", with("--first-url", "file:///etc/passwd"), "--first-url"},
		{"first url bad host", with("--first-url", "http://[::1"), "--first-url"},
		{"too many workers", with("--workers", "1000000"), "--workers"},
		{"get too many workers", []string{"get", good, "--workers", "1001"}, "--workers"},
		{"too many per host", with("--per-host", "257"), "--per-host"},
		{"no per host", with("--per-host", "0"), "--per-host"},
		{"too many splits", []string{"get", good, "--split", "65"}, "--split"},
		{"zero split", []string{"get", good, "--split", "0"}, "--split"},
		{"negative split", []string{"get", good, "--split", "-1"}, "--split"},
		{"empty name", with("--name", ""), "--name"},
		{"get empty name", []string{"get", good, "--name", ""}, "--name"},
		{"csv of random bytes", []string{"get", "--csv", "noise.csv"}, "noise.csv"},
		{"csv of names", []string{"get", "--csv", "names.csv"}, "names.csv"},
		{"csv of names without header", []string{"get", "--csv", "no-header-names.csv"}, "no-header-names.csv"},
		{"csv url column of names", []string{"get", "--csv", "urls.csv", "--url-col", "1"}, "urls.csv"},
		{"max next zero", with("--max-next", "0"), "--max-next"},
		{"profile empty name", append(without("--name"), "--site", "empty-name.yaml"), "--name"},
		{"get stdin twice", []string{"get", "--list", "-", "--csv", "-"}, "standard input"},
		{"zero max page size", with("--max-page-size", "0"), "--max-page-size"},
		{"get bad limit rate", []string{"get", good, "--limit-rate", "fast"}, "--limit-rate"},
		{"get job without redis", []string{"get", good, "--job", "x"}, "--job"},
		{"get redis queue without host", []string{"get", good, "--queue", "redis:///0"}, "--queue"},
		{"url col without csv", []string{"get", good, "--url-col", "1"}, "--url-col needs --csv"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkBadUsage(t, dir, filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-")), tc.want, append(append([]string(nil), tc.args...), "--quiet")...)
		})
	}
	if hits := cnt.Snapshot(); len(hits) != 0 {
		t.Errorf("bad usage made requests: %v", hits)
	}
}

// TestMaxNext: a gallery whose next link always leads to a new page is
// read for --max-next pages, and the cut is logged and recorded as a
// failure of the gallery's first page.
func TestMaxNext(t *testing.T) {
	g := genSite{pages: 1, details: 1, images: 1}
	mux := http.NewServeMux()
	mux.HandleFunc("/list/1.html", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><div class="post"><a href="/g/1.html">g</a></div></body></html>`)
	})
	mux.HandleFunc("/g/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if !sscan(r.URL.Path, "/g/%d.html", &n) || n < 1 {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `<html><head><title>endless</title></head><body>
<ul class="photos"><li><img src="/img/1-1-%d.jpg"></li></ul><a class="next" href="%d.html">next</a></body></html>`, n, n+1)
	})
	mux.Handle("/img/", g)
	srv, cnt := serve(t, mux)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := append(genArgs(srv.URL, g), "--out", out, "--quiet", "--next", `//a[@class="next"]/@href`, "--max-next", "5")
	r := runCrawl(t, dir, "", args...)
	mustCode(t, r, 1)
	if got := len(files(t, out)); got != 5 {
		t.Errorf("%d files, want the images of 5 pages", got)
	}
	for n := 1; n <= 6; n++ {
		want := 1
		if n == 6 {
			want = 0
		}
		if h := cnt.Hits(fmt.Sprintf("/g/%d.html", n)); h != want {
			t.Errorf("gallery page %d fetched %d times, want %d", n, h, want)
		}
	}
	first := srv.URL + "/g/1.html"
	logged := false
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.Contains(line, "gallery "+first) && strings.Contains(line, "cut at 5 pages") {
			logged = true
		}
	}
	if !logged {
		t.Errorf("stderr does not log the cut of %s at 5 pages:\n%s", first, r.stderr)
	}
	rows := reportRows(t, out, "failed.csv", failedHeader)
	if len(rows) != 1 || rows[0][0] != first || !strings.Contains(rows[0][1], "cut at 5 pages") || !strings.Contains(rows[0][1], "/g/6.html") {
		t.Errorf("failed.csv %q: want one row for %s cut at 5 pages before /g/6.html", rows, first)
	}
}

// TestOutIsAFile: an --out that names an existing file is bad usage for
// crawl, crawl get and crawl worker alike, and the file is left as it was.
func TestOutIsAFile(t *testing.T) {
	srv, cnt := serveDemo(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "taken", []byte("keep me"))
	for name, args := range map[string][]string{
		"crawl":  demoArgs(t, "gallery", srv.URL),
		"get":    {"get", srv.URL + "/static/a.jpg"},
		"worker": {"worker", "--queue", "redis://127.0.0.1:1/0"},
	} {
		t.Run(name, func(t *testing.T) {
			r := runCrawl(t, dir, "", append(args, "--out", file, "--quiet")...)
			mustCode(t, r, 2)
			if !strings.Contains(r.stderr, "--out") || !strings.Contains(r.stderr, "not a folder") {
				t.Errorf("stderr %q: want it to say --out is not a folder", r.stderr)
			}
			if b, err := os.ReadFile(file); err != nil || string(b) != "keep me" {
				t.Errorf("the file at --out became %q (%v)", b, err)
			}
		})
	}
	if hits := cnt.Snapshot(); len(hits) != 0 {
		t.Errorf("bad usage made requests: %v", hits)
	}
}
