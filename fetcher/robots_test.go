package fetcher

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseRobots(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		robots string
		paths  map[string]bool // URL path (and query) → allowed
	}{
		{
			name:   "star group",
			robots: "User-agent: *\nDisallow: /private/\n",
			paths:  map[string]bool{"/": true, "/private": true, "/private/": false, "/private/x.jpg": false, "/public/private/": true},
		},
		{
			name: "our group wins over star",
			robots: "User-agent: *\nDisallow: /\n\n" +
				"User-agent: Crawl/2.0\nDisallow: /nope\n",
			paths: map[string]bool{"/a": true, "/nope": false, "/nope/x": false},
		},
		{
			name:   "other agents only",
			robots: "User-agent: googlebot\nDisallow: /\n",
			paths:  map[string]bool{"/": true, "/x": true},
		},
		{
			name:   "agent name must be the whole token",
			robots: "User-agent: crawler\nDisallow: /\nUser-agent: *\nDisallow: /star\n",
			paths:  map[string]bool{"/x": true, "/star": false},
		},
		{
			name:   "several agents in one group",
			robots: "User-agent: foo\nUser-agent: CRAWL\nDisallow: /x\n\nUser-agent: *\nDisallow: /\n",
			paths:  map[string]bool{"/x": false, "/y": true},
		},
		{
			name:   "our groups are merged",
			robots: "User-agent: crawl\nDisallow: /a\n\nUser-agent: other\nDisallow: /b\n\nUser-agent: crawl\nDisallow: /c\n",
			paths:  map[string]bool{"/a": false, "/b": true, "/c": false},
		},
		{
			name:   "longest match wins",
			robots: "User-agent: *\nDisallow: /a\nAllow: /a/b\nDisallow: /a/b/c\n",
			paths:  map[string]bool{"/a": false, "/a/x": false, "/a/b": true, "/a/b/x": true, "/a/b/c": false},
		},
		{
			name:   "allow wins a tie",
			robots: "User-agent: *\nDisallow: /p\nAllow: /p\n",
			paths:  map[string]bool{"/p": true},
		},
		{
			name:   "wildcards and end anchor",
			robots: "User-agent: *\nDisallow: /*.jpg$\nDisallow: /img/*/big\nDisallow: /exact$\n",
			paths: map[string]bool{
				"/x.jpg": false, "/a/b/x.jpg": false, "/x.jpg?s=1": true, "/x.jpgz": true,
				"/img/a/big": false, "/img/a/b/big/1": false, "/img/big": true,
				"/exact": false, "/exact/": true,
			},
		},
		{
			name:   "wildcard then allow",
			robots: "User-agent: *\nDisallow: /*?\nAllow: /*?page=\n",
			paths:  map[string]bool{"/list": true, "/list?sort=1": false, "/list?page=2": true},
		},
		{
			name:   "query",
			robots: "User-agent: *\nDisallow: /search?q=\n",
			paths:  map[string]bool{"/search": true, "/search?q=cats": false, "/search?x=1": true},
		},
		{
			name:   "empty disallow allows all",
			robots: "User-agent: *\nDisallow:\n",
			paths:  map[string]bool{"/": true, "/x": true},
		},
		{
			name:   "disallow all",
			robots: "User-agent: *\nDisallow: /\n",
			paths:  map[string]bool{"/": false, "/x": false, "/robots.txt": false},
		},
		{
			name:   "comments, CRLF, BOM, odd spacing and case",
			robots: "\ufeff# hello\r\nUSER-AGENT : * # everyone\r\n  disallow :/tmp # no\r\nSitemap: http://x/s.xml\r\nDISALLOW: /cgi-bin/\r\n",
			paths:  map[string]bool{"/tmp/x": false, "/cgi-bin/a": false, "/x": true},
		},
		{
			name:   "rules before any user-agent are ignored",
			robots: "Disallow: /\nUser-agent: *\nDisallow: /x\n",
			paths:  map[string]bool{"/": true, "/x": false},
		},
		{
			name:   "non-ASCII and escapes",
			robots: "User-agent: *\nDisallow: /图片/\nDisallow: /%e6%96%87/\n",
			paths: map[string]bool{
				"/%E5%9B%BE%E7%89%87/a.jpg": false, "/%e5%9b%be%e7%89%87/a.jpg": false,
				"/%E6%96%87/x": false, "/other": true,
			},
		},
		{
			name:   "nothing",
			robots: "",
			paths:  map[string]bool{"/": true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := parseRobots([]byte(tt.robots), robotsToken)
			for p, want := range tt.paths {
				u, err := url.Parse("http://example.com" + p)
				if err != nil {
					t.Fatal(err)
				}
				if got := rules.allowed(robotsPath(u)); got != want {
					t.Errorf("allowed(%q) = %v, want %v", p, got, want)
				}
			}
		})
	}
}

func TestMatchPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern  string
		anchored bool
		path     string
		want     bool
	}{
		{"/a", false, "/abc", true},
		{"/a", true, "/abc", false},
		{"/a", true, "/a", true},
		{"/*", false, "/", true},
		{"*", false, "/anything", true},
		{"/a*c", false, "/abbbc/d", true},
		{"/a*c", true, "/abbbc/d", false},
		{"/a*c", true, "/abcabc", true},
		{"/a*b*c", true, "/aXbYc", true},
		{"/a*b*c", true, "/aXcYb", false},
		{"/a**c", false, "/ac", true},
		{"/*.php", false, "/index.php?x", true},
		{"/*.php$", true, "/index.php?x", false},
		{"/ab*ba", true, "/aba", false},
	}
	for _, tt := range tests {
		if got := matchPattern(tt.pattern, tt.anchored, tt.path); got != tt.want {
			t.Errorf("matchPattern(%q, %v, %q) = %v, want %v", tt.pattern, tt.anchored, tt.path, got, tt.want)
		}
	}
}

func TestRobotsObeyed(t *testing.T) {
	t.Parallel()
	const robots = "User-agent: *\nDisallow: /private/\nAllow: /private/ok\n"
	tests := []struct {
		name          string
		robots        func(t *testing.T, w http.ResponseWriter) // serves /robots.txt
		ignore        bool
		wantAllowed   map[string]bool
		wantRobotsHit int64
	}{
		{
			name:          "obeyed",
			robots:        func(t *testing.T, w http.ResponseWriter) { io.WriteString(w, robots) },
			wantAllowed:   map[string]bool{"/": true, "/a.jpg": true, "/private/x": false, "/private/ok": true},
			wantRobotsHit: 1,
		},
		{
			name:          "ignored",
			robots:        func(t *testing.T, w http.ResponseWriter) { io.WriteString(w, robots) },
			ignore:        true,
			wantAllowed:   map[string]bool{"/": true, "/private/x": true},
			wantRobotsHit: 0,
		},
		{
			name:          "404 allows all",
			robots:        func(t *testing.T, w http.ResponseWriter) { http.NotFound(w, nil) },
			wantAllowed:   map[string]bool{"/": true, "/private/x": true},
			wantRobotsHit: 1,
		},
		{
			name:          "500 allows all",
			robots:        func(t *testing.T, w http.ResponseWriter) { http.Error(w, "down", 500) },
			wantAllowed:   map[string]bool{"/": true, "/private/x": true},
			wantRobotsHit: 1,
		},
		{
			name:          "unreachable allows all",
			robots:        dropConnection,
			wantAllowed:   map[string]bool{"/": true, "/private/x": true},
			wantRobotsHit: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var robotsHits atomic.Int64
			var mu sync.Mutex
			seen := map[string]int{}
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/robots.txt" {
					robotsHits.Add(1)
					tt.robots(t, w)
					return
				}
				mu.Lock()
				seen[r.URL.Path]++
				mu.Unlock()
				io.WriteString(w, "page")
			})
			// Retries would refetch a failing robots.txt; it must be fetched once anyway.
			c := newClient(t, Config{IgnoreRobots: tt.ignore, Retries: 2})
			var wg sync.WaitGroup
			for range 3 { // concurrent callers share one robots.txt fetch
				for p, want := range tt.wantAllowed {
					wg.Go(func() {
						resp, err := c.Get(context.Background(), srv.URL+p)
						if want {
							if err != nil {
								t.Errorf("Get %s: %v", p, err)
								return
							}
							resp.Body.Close()
							return
						}
						if !errors.Is(err, ErrDisallowed) {
							t.Errorf("Get %s: err = %v, want ErrDisallowed", p, err)
						}
						if Retryable(err) {
							t.Errorf("Retryable(%v) = true", err)
						}
					})
				}
			}
			wg.Wait()
			if p, err := c.GetPage(context.Background(), srv.URL+"/private/page", 0); tt.wantAllowed["/private/x"] != (err == nil) {
				t.Errorf("GetPage /private/page: %v, %v", p, err)
			}
			if got := robotsHits.Load(); got != tt.wantRobotsHit {
				t.Errorf("robots.txt fetched %d times, want %d", got, tt.wantRobotsHit)
			}
			mu.Lock()
			defer mu.Unlock()
			for p, want := range tt.wantAllowed {
				if !want && seen[p] != 0 {
					t.Errorf("disallowed %s reached the server %d times", p, seen[p])
				}
				if want && seen[p] != 3 {
					t.Errorf("%s reached the server %d times, want 3", p, seen[p])
				}
			}
		})
	}
}

func TestRobotsFetchCancelled(t *testing.T) {
	t.Parallel()
	var robotsHits atomic.Int64
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			if robotsHits.Add(1) == 1 {
				waitOrDone(r, 5*time.Second)
				return
			}
			io.WriteString(w, "User-agent: *\nDisallow: /no\n")
			return
		}
		io.WriteString(w, "page")
	})
	c := newClient(t, Config{})
	// A second: the first request must reach the server before it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := c.Get(ctx, srv.URL+"/no"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get while robots.txt hangs: err = %v, want a deadline error", err)
	}
	// The fetch cut short is not cached as "allow all".
	if _, err := c.Get(context.Background(), srv.URL+"/no"); !errors.Is(err, ErrDisallowed) {
		t.Errorf("Get /no: err = %v, want ErrDisallowed", err)
	}
	if got := robotsHits.Load(); got != 2 {
		t.Errorf("robots.txt fetched %d times, want 2", got)
	}
}
