package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"crawl/fetcher"
	"crawl/internal/proxytest"
)

// site is a test server that counts the requests of each path and keeps
// the headers of the last one.
type site struct {
	*httptest.Server
	mu     sync.Mutex
	hits   map[string]int
	header map[string]http.Header
}

func newSite(t *testing.T, routes map[string]http.HandlerFunc) *site {
	t.Helper()
	s := &site{hits: map[string]int{}, header: map[string]http.Header{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.header[r.URL.Path] = r.Header.Clone()
		s.mu.Unlock()
		if h, ok := routes[r.URL.Path]; ok {
			h(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *site) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *site) headerOf(path string) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.header[path]
}

func html(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}
}

func text(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }
}

// newBrowser returns a Browser on the machine's Chromium, whose profile
// folders are under a test folder, closed at the end of the test; and
// that folder, which names the browser's processes.
func newBrowser(t *testing.T, cfg Config) (*Browser, string) {
	t.Helper()
	exec, err := Find()
	if err != nil {
		t.Fatalf("%v (scripts/test.sh installs it)", err)
	}
	tmp, err := os.MkdirTemp("", "bt") // short: Chromium puts a socket under it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	cfg.Exec, cfg.Dir = exec, tmp
	b := New(cfg)
	t.Cleanup(func() { b.Close() })
	return b, tmp
}

// processesUsing lists the processes whose command line holds marker.
func processesUsing(t *testing.T, marker string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == strconv.Itoa(os.Getpid()) {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmd, []byte(marker)) {
			out = append(out, e.Name()+" "+strings.ReplaceAll(string(cmd), "\x00", " ")[:min(80, len(cmd))])
		}
	}
	return out
}

// noneLeft waits a little for the processes using marker to end, and
// fails the test naming those left.
func noneLeft(t *testing.T, marker string) {
	t.Helper()
	var left []string
	for range 100 {
		if left = processesUsing(t, marker); len(left) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("chromium processes left: %q", left)
}

const galleryPage = `<!doctype html><html><head><title>gallery</title></head><body><div id="g"></div>
<script>
function add(src) { const i = document.createElement('img'); i.src = src; document.getElementById('g').appendChild(i); }
add('/img/1.jpg');
fetch('/api/list.json').then(r => r.text()).then(() => add('/img/2.jpg'));
setTimeout(() => add('/img/3.jpg'), 100);
</script></body></html>`

func TestRenderRunsScripts(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{
		"/gallery":       html(galleryPage),
		"/api/list.json": text(`{"ok":true}`),
		"/img/1.jpg":     text("jpeg"),
		"/img/2.jpg":     text("jpeg"),
		"/img/3.jpg":     text("jpeg"),
	})
	b, _ := newBrowser(t, Config{})
	p, err := b.Render(context.Background(), s.URL+"/gallery", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []string{"/img/1.jpg", "/img/2.jpg", "/img/3.jpg"} {
		if !bytes.Contains(p.HTML, []byte(`src="`+img+`"`)) {
			t.Errorf("rendered page lacks %s:\n%s", img, p.HTML)
		}
		if n := s.count(img); n != 0 {
			t.Errorf("the browser loaded image %s %d times; images are the crawl's to download", img, n)
		}
	}
	if p.URL != s.URL+"/gallery" {
		t.Errorf("URL = %q", p.URL)
	}
	want := []string{s.URL + "/gallery", s.URL + "/api/list.json"}
	if !slices.Equal(p.Requests, want) {
		t.Errorf("Requests = %q, want %q", p.Requests, want)
	}
}

func TestRenderIdentityAndCookies(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{
		"/page": func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "answer", Value: "a1", Path: "/"})
			html(`<html><body><script>document.cookie = "script=s1; path=/"; fetch('/api/x');</script></body></html>`)(w, r)
		},
		"/api/x": text("{}"),
	})
	b, _ := newBrowser(t, Config{UserAgent: "test-agent/1", Header: http.Header{"X-Token": {"t1"}, "Referer": {"http://ignored/"}}})
	host := strings.TrimPrefix(s.URL, "http://")
	host = host[:strings.IndexByte(host, ':')]
	b.AddCookies([]fetcher.Cookie{{Domain: host, Path: "/", Name: "given", Value: "g1"}})
	p, err := b.Render(context.Background(), s.URL+"/page", s.URL+"/list")
	if err != nil {
		t.Fatal(err)
	}
	h := s.headerOf("/page")
	if got := h.Get("User-Agent"); got != "test-agent/1" {
		t.Errorf("User-Agent = %q", got)
	}
	if got := h.Get("X-Token"); got != "t1" {
		t.Errorf("X-Token = %q", got)
	}
	if got := h.Get("Referer"); got != s.URL+"/list" {
		t.Errorf("Referer = %q, want %q", got, s.URL+"/list")
	}
	if got := h.Get("Cookie"); got != "given=g1" {
		t.Errorf("Cookie of the page = %q, want given=g1", got)
	}
	if got := s.headerOf("/api/x").Get("Cookie"); !strings.Contains(got, "script=s1") || !strings.Contains(got, "answer=a1") {
		t.Errorf("Cookie of the page's fetch = %q, want answer and script", got)
	}
	var names []string
	for _, c := range p.Cookies {
		names = append(names, c.Name+"="+c.Value)
	}
	slices.Sort(names)
	if want := []string{"answer=a1", "script=s1"}; !slices.Equal(names, want) {
		t.Errorf("Cookies = %q, want %q (the given cookie is not news)", names, want)
	}
	// A second load reports no cookie again.
	p, err = b.Render(context.Background(), s.URL+"/api/x", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Cookies) != 0 {
		t.Errorf("second load: Cookies = %v, want none", p.Cookies)
	}
}

func TestRenderStatusAndLazySrc(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{
		"/lazy": html(`<html><body>
<img class="lazy" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/img/real.jpg">
<img data-original="/img/orig.jpg">
<img src="/img/plain.jpg" data-src="/img/other.jpg">
</body></html>`),
	})
	b, _ := newBrowser(t, Config{})
	_, err := b.Render(context.Background(), s.URL+"/missing", "")
	var se *fetcher.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound {
		t.Fatalf("Render of a 404 page: %v, want a *fetcher.StatusError 404", err)
	}
	p, err := b.Render(context.Background(), s.URL+"/lazy", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`src="/img/real.jpg"`, `src="/img/orig.jpg"`, `src="/img/plain.jpg"`} {
		if !bytes.Contains(p.HTML, []byte(want)) {
			t.Errorf("rendered page lacks %s:\n%s", want, p.HTML)
		}
	}
	if bytes.Contains(p.HTML, []byte(`src="data:`)) {
		t.Errorf("a data: placeholder stayed in src:\n%s", p.HTML)
	}
}

func TestRenderWaitsForSelector(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{
		"/slow": html(`<html><body><script>
setTimeout(() => { const d = document.createElement('div'); d.id = 'done'; d.textContent = 'late'; document.body.appendChild(d); }, 1200);
</script></body></html>`),
	})
	wait, err := ParseWait("#done")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newBrowser(t, Config{Wait: wait})
	p, err := b.Render(context.Background(), s.URL+"/slow", "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(p.HTML, []byte(`id="done"`)) {
		t.Errorf("the page was taken before its element came:\n%s", p.HTML)
	}
}

func TestBrowserRestartsAndLeavesNothing(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{"/p": html(`<html><body>hello</body></html>`)})
	b, marker := newBrowser(t, Config{})
	if _, err := b.Render(context.Background(), s.URL+"/p", ""); err != nil {
		t.Fatal(err)
	}
	procs := processesUsing(t, marker)
	if len(procs) == 0 {
		t.Fatal("no chromium process uses the test's folder")
	}
	b.mu.Lock()
	pid := b.running.pid()
	b.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p, err := b.Render(context.Background(), s.URL+"/p", "")
	if err != nil {
		t.Fatalf("Render after the browser died: %v", err)
	}
	if !bytes.Contains(p.HTML, []byte("hello")) {
		t.Errorf("page = %s", p.HTML)
	}
	b.Close()
	noneLeft(t, marker)
	if left, _ := os.ReadDir(marker); len(left) != 0 {
		t.Errorf("profile folders left after Close: %v", left)
	}
	if _, err := b.Render(context.Background(), s.URL+"/p", ""); err == nil {
		t.Error("Render after Close worked")
	}
}

func TestStaleProfilesGo(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{"/p": html(`<html><body>hello</body></html>`)})
	b, dir := newBrowser(t, Config{})
	// A folder of a process that is gone (pid 1<<22 is above Linux's
	// limit), and one of a live process (this one).
	stale := filepath.Join(dir, profilePrefix+strconv.Itoa(1<<22)+"-x")
	live := filepath.Join(dir, profilePrefix+strconv.Itoa(os.Getpid())+"-y")
	for _, d := range []string{stale, live} {
		if err := os.MkdirAll(filepath.Join(d, "Default"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Render(context.Background(), s.URL+"/p", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the profile of a dead process is still there: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the profile of a live process went: %v", err)
	}
}

func TestParseWait(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Wait
		bad  bool
	}{
		{"", Wait{}, false},
		{"2s", Wait{Duration: 2 * time.Second}, false},
		{"#gallery img", Wait{Selector: "#gallery img"}, false},
		{"-1s", Wait{}, true},
		{"div[", Wait{}, true},
	} {
		got, err := ParseWait(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseWait(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func TestFindNamesThePackage(t *testing.T) {
	t.Setenv(EnvChromium, filepath.Join(t.TempDir(), "no-such-chromium"))
	_, err := Find()
	if !errors.Is(err, ErrNoChromium) || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Errorf("Find with a missing program: %v", err)
	}
}

func TestRenderThroughProxy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		proxy func(t *testing.T) string
	}{
		{"http", func(t *testing.T) string { return "http://" + proxytest.Tinyproxy(t).Addr }},
		{"socks5h", func(t *testing.T) string { return "socks5h://" + proxytest.Microsocks(t, "", "").Addr }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var peers []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				peers = append(peers, r.URL.Path+" "+r.RemoteAddr)
				mu.Unlock()
				html(`<html><body><script>fetch('/api/x')</script></body></html>`)(w, r)
			}))
			defer srv.Close()
			p, err := fetcher.ParseProxy(tc.proxy(t))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := newBrowser(t, Config{Proxy: p})
			if _, err := b.Render(context.Background(), srv.URL+"/page", ""); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(peers) < 2 {
				t.Fatalf("requests %q, want the page and its fetch", peers)
			}
			for _, p := range peers {
				if !strings.Contains(p, " "+proxytest.OutAddr+":") {
					t.Errorf("request %s did not come through the proxy (%s)", p, proxytest.OutAddr)
				}
			}
		})
	}
}

func TestRenderObeysTheGate(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{
		"/robots.txt": text("User-agent: *\nDisallow: /private/\n"),
		"/private/p":  html(`<html><body>secret</body></html>`),
	})
	client, err := fetcher.New(fetcher.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	b, _ := newBrowser(t, Config{Gate: client})
	_, err = b.Render(context.Background(), s.URL+"/private/p", "")
	if !errors.Is(err, fetcher.ErrDisallowed) {
		t.Errorf("Render of a page robots.txt disallows: %v", err)
	}
	if n := s.count("/private/p"); n != 0 {
		t.Errorf("the disallowed page was requested %d times", n)
	}
}

// TestRenderJSONAnswer: an answer the browser shows as text (a JSON API's)
// comes back as its own text and type, not the page the browser wraps it in.
func TestRenderJSONAnswer(t *testing.T) {
	const body = `{"data":[{"url":"/p/1?a=<b>&c"}]}`
	s := newSite(t, map[string]http.HandlerFunc{
		"/api/posts": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, body)
		},
	})
	b, _ := newBrowser(t, Config{})
	p, err := b.Render(context.Background(), s.URL+"/api/posts", "")
	if err != nil {
		t.Fatal(err)
	}
	if string(p.HTML) != body || p.ContentType != "application/json" {
		t.Errorf("rendered JSON answer = %q (%q), want %q (application/json)", p.HTML, p.ContentType, body)
	}
}
