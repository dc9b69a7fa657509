package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sums gives, for each file name under out, the SHA-256 of the image
// at path of g.
func sums(g genSite, files map[string]string) map[string]string {
	m := map[string]string{}
	for name, path := range files {
		sum := sha256.Sum256(g.imageBody(path))
		m[name] = hex.EncodeToString(sum[:])
	}
	return m
}

// imageServer answers /img/... with the genSite bytes of the path.
func imageServer(g genSite) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(g.imageBody(r.URL.Path))
	}
}

// TestJSONAPI crawls a gallery whose listing is a JSON API and whose
// posts are JSON answers: links and images come from XPath over the JSON,
// relative URLs resolve against the answer's final URL, and {title} comes
// from the JSON.
func TestJSONAPI(t *testing.T) {
	var g genSite
	mux := http.NewServeMux()
	mux.HandleFunc("/api/posts", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("page") {
		case "1":
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			fmt.Fprint(w, `{"page":1,"data":[{"id":1,"url":"/api/post/1"},{"id":2,"url":"post/2"},{"id":3,"url":3}]}`)
		case "2":
			// The second page moved: its relative links resolve against
			// where it is now.
			http.Redirect(w, r, "/v2/posts?page=2", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("/v2/posts", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"page":2,"data":[{"id":4,"url":"post/4"}]}`)
	})
	post := func(w http.ResponseWriter, n int, contentType string) {
		w.Header().Set("Content-Type", contentType)
		fmt.Fprintf(w, `{"post":{"title":"Trip \u2116%d","images":[{"src":"/img/%d-a.jpg"},{"src":"../../img/%d-b.jpg?w=80"},{"src":123}]}}`, n, n, n)
	}
	mux.HandleFunc("/api/post/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if !sscan(r.URL.Path, "/api/post/%d", &n) || n > 2 {
			http.NotFound(w, r)
			return
		}
		post(w, n, "application/vnd.gallery+json")
	})
	mux.HandleFunc("/v2/post/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if !sscan(r.URL.Path, "/v2/post/%d", &n) {
			http.NotFound(w, r)
			return
		}
		post(w, n, "text/plain") // JSON found by its first byte
	})
	mux.Handle("/img/", imageServer(g))
	srv, cnt := serve(t, mux)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r := runCrawl(t, dir, "", "--list-url", srv.URL+"/api/posts?page={page}", "--pages", "1-2",
		"--links", "//data/*/url", "--images", "//images/*/src", "--title", "//post/title",
		"--strip-query", "--name", "{title}/{name}{ext}", "--out", out, "--quiet", "--retry-wait", "10ms")
	mustCode(t, r, 0)
	want := sums(g, map[string]string{
		"Trip №1/1-a.jpg": "/img/1-a.jpg", "Trip №1/1-b.jpg": "/img/1-b.jpg",
		"Trip №2/2-a.jpg": "/img/2-a.jpg", "Trip №2/2-b.jpg": "/img/2-b.jpg",
		"Trip №4/4-a.jpg": "/img/4-a.jpg", "Trip №4/4-b.jpg": "/img/4-b.jpg",
	})
	if got := files(t, out); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("files\n%v, want\n%v\n%s", got, want, r.stderr)
	}
	for _, p := range []string{"/api/post/1", "/api/post/2", "/v2/post/4", "/img/1-a.jpg"} {
		if n := cnt.Hits(p); n != 1 {
			t.Errorf("%s fetched %d times", p, n)
		}
	}

	// Without --title a JSON answer has no title: the name's fallback.
	// A CSS selector matches nothing on JSON, and -v says why.
	out2 := filepath.Join(dir, "out2")
	r = runCrawl(t, dir, "", "--list-url", srv.URL+"/api/posts?page={page}", "--pages", "1",
		"--links", "//data/*/url", "--images", "//images/*/src", "--next", "css:a.next",
		"--strip-query", "--name", "{title}/{name}{ext}", "--out", out2, "--quiet", "-v", "--retry-wait", "10ms")
	mustCode(t, r, 0)
	if _, err := os.Stat(filepath.Join(out2, "untitled", "1-a.jpg")); err != nil {
		t.Errorf("no title: %v", err)
	}
	if !strings.Contains(r.stderr, srv.URL+"/api/post/1: answer is JSON: css selectors such as \"css:a.next\" match nothing") {
		t.Errorf("-v does not say css: matches nothing on JSON:\n%s", r.stderr)
	}
}

// TestJSONInScripts takes images with json: from the JSON that pages hold
// in scripts: a __NEXT_DATA__ script, a window.__INITIAL_STATE__
// assignment followed by more code, and a page whose first JSON script is
// broken, which -v names.
func TestJSONInScripts(t *testing.T) {
	var g genSite
	pages := map[string]string{
		"/list/1.html": `<html><body><a href="/g/next.html">1</a><a href="/g/state.html">2</a><a href="/g/mixed.html">3</a></body></html>`,
		"/g/next.html": `<html><head><title>Next</title></head><body><div id="__next"></div>
<script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{"gallery":{"title":"Next gallery","photos":[{"url":"/img/n-1.jpg"},{"url":"/img/n-2.jpg"}]}}},"page":"/g/[id]"}</script></body></html>`,
		"/g/state.html": `<html><head><title>State</title><script>
window.__INITIAL_STATE__ = {"gallery":{"title":"State gallery","note":"<\/script>","photos":[{"url":"/img/s-1.jpg"},{"url":"//` + "HOST" + `/img/s-2.jpg"}]}};
(function () { var s = document.createElement("script"); document.head.appendChild(s); })();
</script></head><body></body></html>`,
		"/g/mixed.html": `<html><head><title>Mixed</title>
<script type="application/json" id="broken">{"gallery":{"photos":[{"url":"/img/x-9.jpg"}</script>
<script type="application/ld+json">{"gallery":{"title":"Mixed gallery","photos":[{"url":"/img/m-1.jpg"}]}}</script>
</head><body></body></html>`,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, strings.ReplaceAll(page, "HOST", r.Host))
	})
	mux.Handle("/img/", imageServer(g))
	srv, cnt := serve(t, mux)
	dir := t.TempDir()
	args := []string{"--list-url", srv.URL + "/list/{page}.html", "--pages", "1", "--links", "//a/@href",
		"--images", "json://photos/*/url", "--title", "json://gallery/title", "--name", "{title}/{name}{ext}",
		"--quiet", "--retry-wait", "10ms"}

	r := runCrawl(t, dir, "", append(args, "--out", filepath.Join(dir, "bad"), "--images", "json://photos[")...)
	mustCode(t, r, 2)
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "--images") {
		t.Errorf("a bad json: selector: stderr %q, want one line naming --images", r.stderr)
	}

	out := filepath.Join(dir, "out")
	r = runCrawl(t, dir, "", append(args, "--out", out, "-v")...)
	mustCode(t, r, 0)
	want := sums(g, map[string]string{
		"Next gallery/n-1.jpg":  "/img/n-1.jpg",
		"Next gallery/n-2.jpg":  "/img/n-2.jpg",
		"State gallery/s-1.jpg": "/img/s-1.jpg",
		"State gallery/s-2.jpg": "/img/s-2.jpg",
		"Mixed gallery/m-1.jpg": "/img/m-1.jpg",
	})
	if got := files(t, out); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("files\n%v, want\n%v\n%s", got, want, r.stderr)
	}
	if n := cnt.Hits("/img/x-9.jpg"); n != 0 {
		t.Errorf("the broken script's image was fetched %d times", n)
	}
	var notes []string
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(line, "crawl: page ") && strings.Contains(line, "skipped") {
			notes = append(notes, line)
		}
	}
	if len(notes) != 1 || !strings.Contains(notes[0], srv.URL+"/g/mixed.html") || !strings.Contains(notes[0], `script 1 (id "broken") skipped`) {
		t.Errorf("-v should name the broken script of mixed.html once, said:\n%s", strings.Join(notes, "\n"))
	}
}
