package fetcher

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func TestReferer(t *testing.T) {
	long := "https://a.example/" + strings.Repeat("x", maxRefererLen)
	cases := []struct {
		name, from, to, want string
	}{
		{"same origin: the whole page", "https://a.example/list/2.html?x=1", "https://a.example/img/1.jpg", "https://a.example/list/2.html?x=1"},
		{"same origin, default port written", "https://a.example:443/p", "https://a.example/img", "https://a.example:443/p"},
		{"same origin, host case", "http://A.Example/p", "http://a.example/img", "http://A.Example/p"},
		{"fragment dropped", "http://a.example/p#top", "http://a.example/i", "http://a.example/p"},
		{"user info dropped", "http://u:pw@a.example/p?q", "http://a.example/i", "http://a.example/p?q"},
		{"no path", "http://a.example", "http://a.example/i", "http://a.example/"},
		{"query without path", "http://a.example?q=1", "http://a.example/i", "http://a.example/?q=1"},
		{"scheme case", "HTTP://a.example/p", "http://a.example/i", "http://a.example/p"},
		{"cross origin: the origin", "https://a.example/gallery/7.html", "https://cdn.example/1.jpg", "https://a.example/"},
		{"another port is another origin", "http://a.example:8080/p", "http://a.example/i", "http://a.example:8080/"},
		{"another scheme is another origin", "http://a.example/p", "https://a.example/i", "http://a.example/"},
		{"https to http: nothing", "https://a.example/p", "http://a.example/i", ""},
		{"https to http across origins: nothing", "https://a.example/p", "http://cdn.example/i", ""},
		{"cross origin, user info dropped", "https://u@a.example/p", "https://cdn.example/i", "https://a.example/"},
		{"too long: the origin", long, "https://a.example/i", "https://a.example/"},
		{"no page", "", "http://a.example/i", ""},
		{"a list file is no page", "urls.txt", "http://a.example/i", ""},
		{"the command line is no page", "command line", "http://a.example/i", ""},
		{"not http", "ftp://a.example/p", "http://a.example/i", ""},
		{"no host", "http:///p", "http://a.example/i", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			to, err := url.Parse(c.to)
			if err != nil {
				t.Fatal(err)
			}
			if got := Referer(c.from, to); got != c.want {
				t.Errorf("Referer(%q, %q) = %q, want %q", c.from, c.to, got, c.want)
			}
		})
	}
}

func TestRefererSameOriginDoesNotCopy(t *testing.T) {
	to, _ := url.Parse("https://a.example/img/1.jpg")
	from := "https://a.example/gallery/7.html"
	if n := testing.AllocsPerRun(100, func() { _ = Referer(from, to) }); n != 0 {
		t.Errorf("Referer allocates %v times, want 0", n)
	}
}

// TestRefererSent checks the Referer each request arrives with, under each
// Config.Referer, a user's Referer header, and across redirects.
func TestRefererSent(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{}
	var other string
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.URL.Path] = r.Header.Get("Referer")
		mu.Unlock()
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/img.jpg", http.StatusFound)
		case "/away":
			http.Redirect(w, r, other+"/img.jpg", http.StatusFound)
		default:
			w.Write([]byte("ok"))
		}
	})
	srv2 := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got["other"+r.URL.Path] = r.Header.Get("Referer")
		mu.Unlock()
		w.Write([]byte("ok"))
	})
	other = srv2.URL
	page := srv.URL + "/gallery/7.html?p=2"
	origin := srv.URL + "/"

	cases := []struct {
		name   string
		cfg    Config
		from   string
		path   string
		header map[string]string // path → Referer wanted
	}{
		{"policy, same origin", Config{}, page, "/img.jpg", map[string]string{"/img.jpg": page}},
		{"policy, no page", Config{}, "", "/img.jpg", map[string]string{"/img.jpg": ""}},
		{"policy through a redirect", Config{}, page, "/moved", map[string]string{"/moved": page, "/img.jpg": page}},
		{"policy through a redirect to another origin", Config{}, page, "/away", map[string]string{"/away": page, "other/img.jpg": origin}},
		{"fixed", Config{Referer: "https://ref.example/x"}, page, "/moved", map[string]string{"/moved": "https://ref.example/x", "/img.jpg": "https://ref.example/x"}},
		{"none", Config{Referer: NoReferer}, page, "/moved", map[string]string{"/moved": "", "/img.jpg": ""}},
		{"none through a redirect without a page", Config{}, "", "/away", map[string]string{"/away": "", "other/img.jpg": ""}},
		{"the user's header wins", Config{Referer: NoReferer, Header: http.Header{"Referer": {"http://mine.example/"}}}, page, "/away",
			map[string]string{"/away": "http://mine.example/", "other/img.jpg": "http://mine.example/"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mu.Lock()
			clear(got)
			mu.Unlock()
			cl := newClient(t, c.cfg)
			resp, err := cl.Get(t.Context(), srv.URL+c.path, WithReferer(c.from))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			for path, want := range c.header {
				if ref, ok := got[path]; !ok || ref != want {
					t.Errorf("%s: Referer %q (asked: %v), want %q", path, ref, ok, want)
				}
			}
			mu.Unlock()
			page, err := cl.GetPage(t.Context(), srv.URL+"/page.html", 0, WithReferer(c.from))
			if err != nil || string(page.Body) != "ok" {
				t.Fatalf("GetPage: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if want := c.header[c.path]; got["/page.html"] != want {
				t.Errorf("GetPage: Referer %q, want %q", got["/page.html"], want)
			}
		})
	}
}
