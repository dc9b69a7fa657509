package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"crawl/internal/redistest"
)

// TestPageOverMaxSize: a listing page and a gzip-compressed detail page
// larger than --max-page-size (the detail page only once decoded) are
// refused, each with a reason in failed.csv naming the cap and the flag;
// the other pages' files are downloaded, and the run exits 1.
func TestPageOverMaxSize(t *testing.T) {
	big := "<html><body>" + strings.Repeat("<p>filler</p>\n", 20000) + "</body></html>" // 280 KB
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte(big))
	zw.Close()
	img := bytes.Repeat([]byte("jpeg"), 1000)
	mux := http.NewServeMux()
	mux.HandleFunc("/list/1.html", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `<html><body><a href="/d/1.html">1</a> <a href="/d/2.html">2</a></body></html>`)
	})
	mux.HandleFunc("/list/2.html", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, big) })
	mux.HandleFunc("/d/1.html", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `<html><body><img src="/img/1.jpg"></body></html>`)
	})
	mux.HandleFunc("/d/2.html", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(zipped.Bytes()) // 1 KB on the wire
	})
	mux.HandleFunc("/img/1.jpg", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(img)
	})
	srv, _ := serve(t, mux)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	args := []string{"--list-url", srv.URL + "/list/{page}.html", "--pages", "1-2", "--links", "//a/@href",
		"--images", "//img/@src", "--out", out, "--quiet", "--max-page-size", "100KB"}

	r := runCrawl(t, dir, "", append(args[:len(args)-2:len(args)-2], "--max-page-size", "0")...)
	mustCode(t, r, 2)
	if !strings.Contains(r.stderr, "--max-page-size") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("--max-page-size 0: want one line naming the flag, got %q", r.stderr)
	}

	r = runCrawl(t, dir, "", args...)
	mustCode(t, r, 1)
	got := files(t, out)
	if b, err := os.ReadFile(filepath.Join(out, "1.jpg")); err != nil || !bytes.Equal(b, img) || len(got) != 1 {
		t.Errorf("files %v (1.jpg: %v), want 1.jpg whole and nothing else", got, err)
	}
	reasons := failedReasons(t, out)
	for _, u := range []string{srv.URL + "/list/2.html", srv.URL + "/d/2.html"} {
		reason, ok := reasons[u]
		if !ok {
			t.Errorf("failed.csv lacks %s: %v", u, reasons)
			continue
		}
		if !strings.Contains(reason, "--max-page-size") || !strings.Contains(reason, "100KiB") {
			t.Errorf("reason for %s = %q, want it to name the 100KiB cap and --max-page-size", u, reason)
		}
	}
	if len(reasons) != 2 {
		t.Errorf("failed.csv: %v, want the two large pages", reasons)
	}
}

// endlessList serves every listing page /list/N.html with one link to a
// detail page without images, and notes the listing pages it answered,
// in the order it answered them. hold, if set, is a page whose request
// is held unanswered until its client goes away.
type endlessList struct {
	hold int
	// held is closed once the held page is asked for.
	held chan struct{}

	mu       sync.Mutex
	answered []int
	heldOnce sync.Once
}

func (s *endlessList) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	num, ok := strings.CutPrefix(r.URL.Path, "/list/")
	if !ok {
		fmt.Fprint(w, "<html><body>no images here</body></html>")
		return
	}
	n, err := strconv.Atoi(strings.TrimSuffix(num, ".html"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if n == s.hold {
		held := false
		s.heldOnce.Do(func() { held = true })
		if held {
			close(s.held)
			<-r.Context().Done()
			return
		}
	}
	fmt.Fprintf(w, `<html><body><a href="/d/%d.html">%d</a></body></html>`, n, n)
	s.mu.Lock()
	s.answered = append(s.answered, n)
	s.mu.Unlock()
}

// pages returns the listing pages answered so far, in order.
func (s *endlessList) pages() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.answered...)
}

// killGroup kills (kill -9) the process group of cmd and waits for it.
func killGroup(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

// TestHugePageRange: --pages 1-999999999999 starts at once and walks the
// pages in order, each once, without putting the whole range first; the
// run is stopped (kill -9) after 40 pages.
func TestHugePageRange(t *testing.T) {
	site := &endlessList{}
	srv, _ := serve(t, site)
	dir := t.TempDir()
	cmd := crawlCmd(t, dir, "--list-url", srv.URL+"/list/{page}.html", "--pages", "1-999999999999",
		"--links", "//a/@href", "--images", "//img/@src", "--out", filepath.Join(dir, "out"), "--quiet", "--workers", "2")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, func() bool { return len(site.pages()) >= 40 })
	killGroup(t, cmd)
	pages := site.pages()
	seen := map[int]bool{}
	top := 0
	for _, n := range pages {
		if seen[n] {
			t.Errorf("listing page %d asked for twice", n)
		}
		seen[n] = true
		top = max(top, n)
	}
	// The list stage reads a few pages at once (two workers, leasing a few
	// ahead): the pages answered are 1 to top, but for a few in flight.
	for n := 1; n <= top-8; n++ {
		if !seen[n] {
			t.Errorf("listing page %d was skipped (pages answered, in order: %v)", n, pages)
		}
	}
	if top > len(pages)+8 {
		t.Errorf("pages answered up to %d out of order: %v", top, pages)
	}
}

// TestPageRangeResumesAfterKill: a crawl of 200 listing pages, seeded a
// window at a time, is killed (kill -9) while a page half-way is being
// read; the same command then finishes it, and every listing page was
// answered exactly once over both runs, none skipped, none past the
// range. On both backends.
func TestPageRangeResumesAfterKill(t *testing.T) {
	for _, backend := range []string{"sqlite", "redis"} {
		t.Run(backend, func(t *testing.T) {
			site := &endlessList{hold: 100, held: make(chan struct{})}
			srv, _ := serve(t, site)
			dir := t.TempDir()
			args := []string{"--list-url", srv.URL + "/list/{page}.html", "--pages", "1-200",
				"--links", "//a/@href", "--images", "//img/@src", "--out", filepath.Join(dir, "out"), "--quiet", "--workers", "1"}
			if backend == "redis" {
				args = append(args, "--queue", redistest.Start(t).URL)
			}
			cmd := crawlCmd(t, dir, args...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-site.held:
			case <-time.After(60 * time.Second):
				killGroup(t, cmd)
				t.Fatalf("page 100 never asked for; pages answered: %v\n%s", site.pages(), errb.String())
			}
			killGroup(t, cmd)

			r := runCrawl(t, dir, "", args...)
			mustCode(t, r, 0)
			count := map[int]int{}
			for _, n := range site.pages() {
				count[n]++
			}
			for n := 1; n <= 200; n++ {
				if count[n] != 1 {
					t.Errorf("listing page %d answered %d times, want once", n, count[n])
				}
			}
			if len(count) != 200 {
				t.Errorf("%d listing pages answered, want 200: %v", len(count), count)
			}
		})
	}
}
