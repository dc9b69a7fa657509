package main

// The page memory benchmark (bench -mem): listing pages that are large, or
// many, served by a Go server in this process, and the peak memory of
// crawl's process tree while it reads them.

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"crawl/store"
)

// memCase is one page memory workload.
type memCase struct {
	id, what string
	pages    int    // listing pages served (0: every page number)
	size     int    // bytes of each listing page
	gzip     bool   // served with Content-Encoding: gzip
	spec     string // --pages
	flags    []string
}

var memCases = []memCase{
	{id: "a", what: "six 31 MiB listing pages, about a million links each", pages: 6, size: 31 << 20, spec: "1-6"},
	{id: "b", what: "two 12 MB listing pages", pages: 2, size: 12e6, spec: "1-2"},
	{id: "c", what: "case a's pages gzip-compressed (Content-Encoding: gzip)", pages: 6, size: 31 << 20, gzip: true, spec: "1-6"},
	{id: "e", what: "case a with --max-page-size 32MiB, so the pages are read", pages: 6, size: 31 << 20, spec: "1-6", flags: []string{"--max-page-size", "32MiB"}},
	{id: "d", what: "--pages 1-999999999999, one link a page, for --mem-for", spec: "1-999999999999"},
}

// linkLine is one link of a big listing page; every link is distinct.
const linkLine = "<li><a href=\"/d/%d/%07d\">%07d</a></li>\n"

// listingPage is page n of c: links to detail pages of its own until it
// has size bytes.
func listingPage(c memCase, n int) []byte {
	var b bytes.Buffer
	b.Grow(c.size + 100)
	b.WriteString("<!DOCTYPE html><html><head><title>list</title></head><body><ul>\n")
	for i := 0; b.Len() < c.size-100; i++ {
		fmt.Fprintf(&b, linkLine, n, i, i)
	}
	b.WriteString("</ul></body></html>\n")
	return b.Bytes()
}

// memServer serves the listing pages of c under /list/N.html, and every
// detail page as a tiny page without images.
type memServer struct {
	c     memCase
	mu    sync.Mutex
	pages map[int][]byte
	first atomic.Int64 // unix nanoseconds of the first listing request
	lists atomic.Int64 // listing page requests
}

func (s *memServer) page(n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.pages[n]; ok {
		return b
	}
	b := listingPage(s.c, n)
	if s.c.gzip {
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		zw.Write(b)
		zw.Close()
		b = z.Bytes()
	}
	s.pages[n] = b
	return b
}

func (s *memServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	num, ok := strings.CutPrefix(r.URL.Path, "/list/")
	if !ok {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>detail</body></html>")
		return
	}
	s.first.CompareAndSwap(0, time.Now().UnixNano())
	s.lists.Add(1)
	n, err := strconv.Atoi(strings.TrimSuffix(num, ".html"))
	if err != nil || (s.c.pages > 0 && n > s.c.pages) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if s.c.pages == 0 {
		fmt.Fprintf(w, "<html><body><a href=\"/d/%d\">%d</a></body></html>", n, n)
		return
	}
	if s.c.gzip {
		w.Header().Set("Content-Encoding", "gzip")
	}
	b := s.page(n)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// listDone closes the returned channel once the list queue of the crawl
// in out has every listing page of c done or failed.
func listDone(ctx context.Context, out string, c memCase) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		path := filepath.Join(out, ".crawl", "state.db")
		for ctx.Err() == nil {
			time.Sleep(500 * time.Millisecond)
			if _, err := os.Stat(path); err != nil {
				continue
			}
			db, err := store.Open(ctx, path)
			if err != nil {
				continue
			}
			counts, err := db.Counts(ctx)
			db.Close()
			if l := counts["list"]; err == nil && l.Done+l.Failed >= c.pages {
				close(ch)
				return
			}
		}
	}()
	return ch
}

// memMain runs the cases named in o.mem (comma-separated, "all" for every
// one) and prints a line per case.
func memMain(ctx context.Context, o options) (int, error) {
	bin, err := filepath.Abs(o.crawl)
	if o.crawl == "" || err != nil {
		return 2, fmt.Errorf("-mem needs --crawl BINARY")
	}
	work, err := os.MkdirTemp("", "crawl-bench-mem-")
	if err != nil {
		return 1, err
	}
	if !o.keep {
		defer os.RemoveAll(work)
	}
	fmt.Printf("page memory bench: %s (%s), %s\n", bin, o.label, time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("%-4s %10s %10s %10s %7s  %s\n", "case", "peak RSS", "peak PSS", "first req", "exit", "what")
	for _, c := range memCases {
		if o.mem != "all" && !strings.Contains(","+o.mem+",", ","+c.id+",") {
			continue
		}
		if err := memRun(ctx, o, bin, work, c); err != nil {
			return 1, err
		}
	}
	return 0, nil
}

// memRun measures crawl on one case.
func memRun(ctx context.Context, o options, bin, work string, c memCase) error {
	srv := &memServer{c: c, pages: map[int][]byte{}}
	if c.pages > 0 {
		for n := 1; n <= c.pages; n++ {
			srv.page(n) // ready before crawl starts, so the server is not measured waiting
		}
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	out := filepath.Join(work, "out-"+c.id)
	args := []string{
		"--list-url", ts.URL + "/list/{page}.html", "--pages", c.spec,
		"--links", "//a/@href", "--images", "//img/@src",
		"--workers", "10", "--per-host", "10", "--ignore-robots", "--quiet", "--out", out,
	}
	args = append(args, c.flags...)
	sp := runSpec{bin: bin, args: args, dir: work, log: filepath.Join(work, "log-"+c.id), timeout: o.timeout, nginxPID: func() []int { return nil }}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.pages > 0 {
		sp.stop = listDone(rctx, out, c)
	} else {
		sp.bound = o.memFor
	}
	m, err := run(ctx, sp)
	if err != nil {
		return err
	}
	first := "none"
	if f := srv.first.Load(); f != 0 {
		first = fmt.Sprintf("%.3fs", time.Unix(0, f).Sub(m.started).Seconds())
	}
	exit := strconv.Itoa(m.Exit)
	if m.TimedOut {
		exit = "timeout"
	}
	fmt.Printf("%-4s %7.0f MB %7.0f MB %10s %7s  %s (%d listing requests, %.1f s)\n",
		c.id, m.PeakRSSMB, m.PeakPSSMB, first, exit, c.what, srv.lists.Load(), m.Wall)
	return nil
}
