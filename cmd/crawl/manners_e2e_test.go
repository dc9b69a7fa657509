package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// headerLog remembers one header of every request a server saw, by path
// (robots.txt left out).
type headerLog struct {
	name string
	mu   sync.Mutex
	seen map[string][]string
}

func newHeaderLog(name string) *headerLog {
	return &headerLog{name: name, seen: map[string][]string{}}
}

func (l *headerLog) note(r *http.Request) {
	if r.URL.Path == "/robots.txt" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen[r.URL.Path] = append(l.seen[r.URL.Path], r.Header.Get(l.name))
}

// check fails t unless every request for each path of want arrived with
// the value want gives it.
func (l *headerLog) check(t *testing.T, want map[string]string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for path, w := range want {
		got := l.seen[path]
		if len(got) == 0 {
			t.Errorf("%s: never asked for", path)
		}
		for _, g := range got {
			if g != w {
				t.Errorf("%s came with %s %q, want %q", path, l.name, g, w)
			}
		}
	}
}

// jpeg is a small body that sniffs as an image.
func jpeg(name string) []byte {
	return append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), name...)
}

// TestRefererAsABrowser crawls a gallery that guards its detail pages and
// images against hotlinking: each answers 403 unless it is asked for with
// the Referer a browser sends. Images on another origin (a CDN) get the
// page's origin only; a --next page gets the page before it.
func TestRefererAsABrowser(t *testing.T) {
	refs := newHeaderLog("Referer")
	cdnRefs := newHeaderLog("Referer")
	var base string
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cdnRefs.note(r)
		if r.URL.Path != "/robots.txt" && r.Header.Get("Referer") != base+"/" {
			http.Error(w, "hotlinking", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(jpeg(r.URL.Path))
	}))
	t.Cleanup(cdn.Close)
	guard := func(w http.ResponseWriter, r *http.Request, from string) bool {
		if r.Header.Get("Referer") != base+from {
			http.Error(w, "hotlinking", http.StatusForbidden)
			return false
		}
		return true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/list/1.html", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><div class="post"><a href="/g/1.html">1</a><a href="/g/2.html?from=list#top">2</a></div></body></html>`)
	})
	mux.HandleFunc("/g/1.html", func(w http.ResponseWriter, r *http.Request) {
		if guard(w, r, "/list/1.html") {
			fmt.Fprintf(w, `<html><body><ul class="photos"><li><img src="/img/1a.jpg"><img src="%s/cdn/1b.jpg"></ul><a class="next" href="/g/1-2.html">next</a></body></html>`, cdn.URL)
		}
	})
	mux.HandleFunc("/g/1-2.html", func(w http.ResponseWriter, r *http.Request) {
		if guard(w, r, "/g/1.html") {
			fmt.Fprint(w, `<html><body><ul class="photos"><li><img src="/img/1c.jpg"></ul></body></html>`)
		}
	})
	mux.HandleFunc("/g/2.html", func(w http.ResponseWriter, r *http.Request) {
		if guard(w, r, "/list/1.html") {
			fmt.Fprint(w, `<html><body><ul class="photos"><li><img src="/img/2a.jpg"></ul></body></html>`)
		}
	})
	pages := map[string]string{"/img/1a.jpg": "/g/1.html", "/img/1c.jpg": "/g/1-2.html", "/img/2a.jpg": "/g/2.html?from=list"}
	mux.HandleFunc("/img/", func(w http.ResponseWriter, r *http.Request) {
		if guard(w, r, pages[r.URL.Path]) {
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(jpeg(r.URL.Path))
		}
	})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refs.note(r)
		mux.ServeHTTP(w, r)
	}))
	// base is known before the server serves anything: a handler never
	// reads it while it is written.
	base = "http://" + srv.Listener.Addr().String()
	srv.Start()
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r := runCrawl(t, dir, "", "--list-url", srv.URL+"/list/{page}.html", "--pages", "1",
		"--links", `//div[@class="post"]/a/@href`, "--images", `//ul[@class="photos"]//img/@src`,
		"--next", `//a[@class="next"]/@href`, "--out", out, "--quiet", "--retries", "0")
	mustCode(t, r, 0)
	got := files(t, out)
	for _, name := range []string{"1a.jpg", "1b.jpg", "1c.jpg", "2a.jpg"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no %s; files %v\nstderr:\n%s", name, got, r.stderr)
		}
	}
	refs.check(t, map[string]string{
		"/list/1.html": "",
		"/g/1.html":    srv.URL + "/list/1.html",
		"/g/1-2.html":  srv.URL + "/g/1.html",
		"/g/2.html":    srv.URL + "/list/1.html",
		"/img/1a.jpg":  srv.URL + "/g/1.html",
		"/img/1c.jpg":  srv.URL + "/g/1-2.html",
		"/img/2a.jpg":  srv.URL + "/g/2.html?from=list",
	})
	cdnRefs.check(t, map[string]string{"/cdn/1b.jpg": srv.URL + "/"})
}

// TestGetReferer checks crawl get: a list's URLs go with no Referer by
// default, with the one --referer names, or with none under --referer
// none; a --header Referer wins over both.
func TestGetReferer(t *testing.T) {
	refs := newHeaderLog("Referer")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refs.note(r)
		if r.URL.Path != "/robots.txt" && r.Header.Get("Referer") != "https://site.example/gallery/7.html" && !strings.Contains(r.URL.RawQuery, "open") {
			http.Error(w, "hotlinking", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(jpeg(r.URL.Path))
	}))
	t.Cleanup(srv.Close)
	cases := []struct {
		name  string
		args  []string
		query string
		want  string
		code  int
	}{
		{"default: none", nil, "?open", "", 0},
		{"hotlink protected without one", nil, "", "", 1},
		{"--referer URL", []string{"--referer", "https://site.example/gallery/7.html"}, "", "https://site.example/gallery/7.html", 0},
		{"--referer none", []string{"--referer", "none"}, "?open", "", 0},
		{"--header wins", []string{"--referer", "none", "--header", "Referer: https://site.example/gallery/7.html"}, "", "https://site.example/gallery/7.html", 0},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := fmt.Sprintf("/img/%d.jpg", i)
			list := writeFile(t, dir, "urls.txt", []byte(srv.URL+path+c.query+"\n"))
			args := append([]string{"get", "--list", list, "--out", filepath.Join(dir, "out"), "--quiet", "--retries", "0"}, c.args...)
			r := runCrawl(t, dir, "", args...)
			mustCode(t, r, c.code)
			refs.check(t, map[string]string{path: c.want})
		})
	}
}

// TestGetCookiesFile downloads with the cookies of a cookies.txt: each
// request gets those its domain and path allow (HttpOnly, session and
// fractional-expiry lines included), never another domain's.
func TestGetCookiesFile(t *testing.T) {
	cookies := newHeaderLog("Cookie")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cookies.note(r)
		if c, err := r.Cookie("sid"); r.URL.Path != "/robots.txt" && (err != nil || c.Value != "s3cr3t") {
			http.Error(w, "log in first", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(jpeg(r.URL.Path))
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	file := writeFile(t, dir, "cookies.txt", []byte("# Netscape HTTP Cookie File\r\n"+
		"# This is a generated file!  Do not edit.\r\n\r\n"+
		"#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\ts3cr3t\r\n"+
		"127.0.0.1\tFALSE\t/img/\tFALSE\t4102444800.123456\tlang\tzh-CN\r\n"+
		"127.0.0.1\tFALSE\t/\tFALSE\t1000000000\tstale\tgone\r\n"+
		".example.com\tTRUE\t/\tFALSE\t0\tleak\tno\r\n"))
	list := writeFile(t, dir, "urls.txt", []byte(srv.URL+"/img/a.jpg\n"+srv.URL+"/b.jpg\n"))
	out := filepath.Join(dir, "out")
	r := runCrawl(t, dir, "", "get", "--list", list, "--cookies", file, "--out", out, "--quiet", "--retries", "0")
	mustCode(t, r, 0)
	if got := files(t, out); len(got) != 2 {
		t.Errorf("files %v", got)
	}
	cookies.check(t, map[string]string{
		"/img/a.jpg": "lang=zh-CN; sid=s3cr3t",
		"/b.jpg":     "sid=s3cr3t",
	})
}

// TestBadCookiesFile: a malformed or missing cookies.txt is a usage error
// of one line that names the file (and the line), before anything is
// written.
func TestBadCookiesFile(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.txt", []byte("# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tok\t1\n127.0.0.1\tFALSE\t/\tnever\t0\tsid\tx\n"))
	cases := []struct{ name, file, want string }{
		{"malformed", bad, "bad.txt line 3: secure field"},
		{"missing", filepath.Join(dir, "missing.txt"), "missing.txt"},
	}
	for _, c := range cases {
		for _, args := range [][]string{
			{"get", "http://127.0.0.1:1/a.jpg"},
			{"--list-url", "http://127.0.0.1:1/{page}.html", "--pages", "1", "--images", "//img/@src"},
		} {
			out := filepath.Join(dir, "out")
			r := runCrawl(t, dir, "", append(args, "--cookies", c.file, "--out", out, "--quiet")...)
			mustCode(t, r, 2)
			msg := strings.TrimSuffix(r.stderr, "\n")
			if strings.Contains(msg, "\n") || !strings.Contains(msg, "--cookies") || !strings.Contains(msg, c.want) {
				t.Errorf("%s: stderr %q, want one line naming --cookies and %q", c.name, r.stderr, c.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s: %s was written", c.name, out)
			}
		}
	}
}

// sessionSite is a gallery whose listing page sets a session cookie, once
// ever, that its detail pages and images require; each image answers after
// delay. It gives the crawl flags for it, the Cookie headers its pages and
// images got, and how many times its listing page was read.
type sessionSite struct {
	srv     *httptest.Server
	cookies *headerLog
	mu      sync.Mutex
	issued  int
}

func newSessionSite(t *testing.T, delay time.Duration) *sessionSite {
	s := &sessionSite{cookies: newHeaderLog("Cookie")}
	cookies, mu, issued := s.cookies, &s.mu, &s.issued
	need := func(w http.ResponseWriter, r *http.Request) bool {
		if c, err := r.Cookie("sess"); err != nil || c.Value != "k7" {
			http.Error(w, "session expired", http.StatusForbidden)
			return false
		}
		return true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/list/1.html", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if *issued == 0 {
			http.SetCookie(w, &http.Cookie{Name: "sess", Value: "k7", Path: "/", HttpOnly: true})
		}
		*issued++
		mu.Unlock()
		fmt.Fprint(w, `<html><body><div class="post"><a href="/g/1.html">1</a><a href="/g/2.html">2</a><a href="/g/3.html">3</a></div></body></html>`)
	})
	mux.HandleFunc("/g/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if !sscan(r.URL.Path, "/g/%d.html", &n) {
			http.NotFound(w, r)
			return
		}
		if need(w, r) {
			fmt.Fprintf(w, `<html><body><ul class="photos"><li><img src="/img/%d-1.jpg"><img src="/img/%d-2.jpg"></ul></body></html>`, n, n)
		}
	})
	mux.HandleFunc("/img/", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		if need(w, r) {
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(jpeg(r.URL.Path))
		}
	})
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cookies.note(r)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sessionSite) args(out string) []string {
	return []string{"--list-url", s.srv.URL + "/list/{page}.html", "--pages", "1",
		"--links", `//div[@class="post"]/a/@href`, "--images", `//ul[@class="photos"]//img/@src`,
		"--out", out, "--quiet", "--retries", "0"}
}

// check fails t unless every detail page and image came with the session
// cookie and the listing page was read reads times.
func (s *sessionSite) check(t *testing.T, reads int) {
	t.Helper()
	want := map[string]string{}
	for n := 1; n <= 3; n++ {
		want[fmt.Sprintf("/g/%d.html", n)] = "sess=k7"
		want[fmt.Sprintf("/img/%d-1.jpg", n)] = "sess=k7"
		want[fmt.Sprintf("/img/%d-2.jpg", n)] = "sess=k7"
	}
	s.cookies.check(t, want)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.issued != reads {
		t.Errorf("listing page read %d times, want %d", s.issued, reads)
	}
}

// TestSessionAcrossStages: the cookie the listing page sets reaches the
// detail pages and the images, though other stage processes fetch them. A
// second run, with --overwrite, still has the session though the site
// never sets it again.
func TestSessionAcrossStages(t *testing.T) {
	site := newSessionSite(t, 0)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	for run := 1; run <= 2; run++ {
		r := runCrawl(t, dir, "", append(site.args(out), "--overwrite")...)
		mustCode(t, r, 0)
		if got := files(t, out); len(got) != 6 {
			t.Errorf("run %d: files %v\nstderr:\n%s", run, got, r.stderr)
		}
	}
	site.check(t, 2)
}
