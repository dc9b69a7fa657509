package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"crawl"
)

// counter wraps a handler and counts what the server sees: requests per
// path and the most requests in flight at once.
type counter struct {
	next http.Handler

	mu       sync.Mutex
	hits     map[string]int
	inflight int
	peak     int
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.hits[r.URL.Path]++
	c.inflight++
	c.peak = max(c.peak, c.inflight)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inflight--
		c.mu.Unlock()
	}()
	c.next.ServeHTTP(w, r)
}

// Hits is the number of requests for path.
func (c *counter) Hits(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits[path]
}

// Snapshot copies the request counts.
func (c *counter) Snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.hits))
	for k, v := range c.hits {
		m[k] = v
	}
	return m
}

// Peak is the most requests the server had in flight at once.
func (c *counter) Peak() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peak
}

func serve(t *testing.T, h http.Handler) (*httptest.Server, *counter) {
	t.Helper()
	c := &counter{next: h, hits: map[string]int{}}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv, c
}

// serveDemo serves the bundled demo site.
func serveDemo(t *testing.T) (*httptest.Server, *counter) {
	return serve(t, crawl.DemoHandler())
}

// demoArgs are the flags of the demo crawl called name, against base.
func demoArgs(t *testing.T, name, base string) []string {
	t.Helper()
	for _, dc := range crawl.DemoCrawls {
		if dc.Name == name {
			args := make([]string, len(dc.Args))
			for i, a := range dc.Args {
				args[i] = strings.ReplaceAll(a, "{base}", base)
			}
			return args
		}
	}
	t.Fatalf("no demo crawl %q", name)
	return nil
}

// genSite is a generated gallery: pages listing pages, each linking to
// details detail pages, each showing images images. Every image answer
// waits delay first, so that a crawl of it takes a while.
type genSite struct {
	pages, details, images int
	delay                  time.Duration
}

func (g genSite) imageBody(path string) []byte {
	sum := sha256.Sum256([]byte(path))
	n := 4096 + int(sum[0])*64
	b := make([]byte, 0, n)
	for len(b) < n {
		b = append(b, sum[:]...)
	}
	return b[:n]
}

// expected returns every image path with the SHA-256 of its bytes.
func (g genSite) expected() map[string]string {
	m := map[string]string{}
	for p := 1; p <= g.pages; p++ {
		for d := 1; d <= g.details; d++ {
			for i := 1; i <= g.images; i++ {
				path := fmt.Sprintf("/img/%d-%d-%d.jpg", p, d, i)
				sum := sha256.Sum256(g.imageBody(path))
				m[path] = hex.EncodeToString(sum[:])
			}
		}
	}
	return m
}

func (g genSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p, d, i int
	switch {
	case r.URL.Path == "/robots.txt":
		http.NotFound(w, r)
	case sscan(r.URL.Path, "/list/%d.html", &p) && p >= 1 && p <= g.pages:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><head><title>Page %d</title></head><body><div class=\"posts\">\n", p)
		for d := 1; d <= g.details; d++ {
			fmt.Fprintf(w, "<div class=\"post\"><a href=\"../d/%d-%d.html\">post %d</a></div>\n", p, d, d)
		}
		fmt.Fprint(w, "</div><a class=\"ad\" href=\"/ads/1.html\">ad</a></body></html>")
	case sscan(r.URL.Path, "/d/%d-%d.html", &p, &d) && p >= 1 && p <= g.pages && d >= 1 && d <= g.details:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><head><title>Gallery %d-%d</title></head><body><ul class=\"photos\">\n", p, d)
		for i := 1; i <= g.images; i++ {
			fmt.Fprintf(w, "<li><a href=\"#\"><img src=\"/img/%d-%d-%d.jpg?w=80\"></a></li>\n", p, d, i)
		}
		fmt.Fprint(w, "</ul><img src=\"/logo.png\"></body></html>")
	case sscan(r.URL.Path, "/img/%d-%d-%d.jpg", &p, &d, &i):
		if g.delay > 0 {
			select {
			case <-time.After(g.delay):
			case <-r.Context().Done():
				return
			}
		}
		body := g.imageBody(r.URL.Path)
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("ETag", `"`+r.URL.Path+`"`)
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(body)))
	default:
		http.NotFound(w, r)
	}
}

func sscan(s, format string, args ...any) bool {
	n, err := fmt.Sscanf(s, format, args...)
	if err != nil || n != len(args) {
		return false
	}
	// Sscanf accepts a prefix; make sure the whole path matched.
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = *(a.(*int))
	}
	return fmt.Sprintf(format, vals...) == s
}

// genArgs are the crawl flags for a genSite at base.
func genArgs(base string, g genSite) []string {
	return []string{
		"--list-url", base + "/list/{page}.html",
		"--pages", fmt.Sprintf("1-%d", g.pages),
		"--links", `//div[@class="post"]/a/@href`,
		"--images", `//ul[@class="photos"]//img/@src`,
		"--strip-query",
		"--name", "{page}/{name}{ext}",
		"--retry-wait", "10ms",
	}
}
