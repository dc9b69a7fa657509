package fetcher

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"crawl/internal/proxytest"
)

func TestParseProxy(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{in: "http://127.0.0.1:3128", want: "http://127.0.0.1:3128"},
		{in: "127.0.0.1:3128", want: "http://127.0.0.1:3128"},
		{in: "proxy.example", want: "http://proxy.example:1080"},
		{in: "https://proxy.example", want: "https://proxy.example:443"},
		{in: "SOCKS5H://u:p@proxy.example", want: "socks5h://u:p@proxy.example:1080"},
		{in: "socks5://[::1]:9050/", want: "socks5://[::1]:9050"},
		{in: "ftp://proxy.example", err: "unsupported scheme"},
		{in: "socks4://proxy.example", err: "unsupported scheme"},
		{in: "http://", err: "no host"},
		{in: "http://proxy.example/path", err: "no path"},
		{in: "http://proxy.example:port", err: "invalid port"},
		{in: " ", err: "empty"},
	}
	for _, c := range cases {
		u, err := ParseProxy(c.in)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseProxy(%q) = %v, %v; want an error with %q", c.in, u, err, c.err)
			}
		case err != nil:
			t.Errorf("ParseProxy(%q): %v", c.in, err)
		case u.String() != c.want:
			t.Errorf("ParseProxy(%q) = %s, want %s", c.in, u, c.want)
		}
	}
}

// TestEnvProxyFor: the variables are read as curl reads them.
func TestEnvProxyFor(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		url  string
		want string // proxy URL, "" direct
		src  string
	}{
		{"nothing set", nil, "http://a.example/", "", ""},
		{"http for http", map[string]string{"HTTP_PROXY": "h:1"}, "http://a.example/", "http://h:1", "HTTP_PROXY"},
		{"http not for https", map[string]string{"HTTP_PROXY": "h:1"}, "https://a.example/", "", ""},
		{"https for https", map[string]string{"HTTPS_PROXY": "h:2"}, "https://a.example/", "http://h:2", "HTTPS_PROXY"},
		{"lowercase first", map[string]string{"https_proxy": "l:1", "HTTPS_PROXY": "u:1"}, "https://a.example/", "http://l:1", "https_proxy"},
		{"empty lowercase is unset", map[string]string{"http_proxy": "", "HTTP_PROXY": "u:1"}, "http://a.example/", "http://u:1", "HTTP_PROXY"},
		{"all proxy", map[string]string{"ALL_PROXY": "socks5h://s:1"}, "https://a.example/", "socks5h://s:1", "ALL_PROXY"},
		{"scheme wins over all", map[string]string{"all_proxy": "socks5://s:1", "http_proxy": "h:1"}, "http://a.example/", "http://h:1", "http_proxy"},
		{"loopback proxied", map[string]string{"HTTP_PROXY": "h:1"}, "http://127.0.0.1:8080/", "http://h:1", "HTTP_PROXY"},
		{"no_proxy star", map[string]string{"HTTP_PROXY": "h:1", "NO_PROXY": "*"}, "http://a.example/", "", "no_proxy"},
		{"no_proxy domain", map[string]string{"HTTP_PROXY": "h:1", "no_proxy": "x.test, example.com"}, "http://img.example.com/", "", "no_proxy"},
		{"no_proxy leading dot", map[string]string{"HTTP_PROXY": "h:1", "NO_PROXY": ".example.com"}, "http://example.com/", "", "no_proxy"},
		{"no_proxy not a suffix of a label", map[string]string{"HTTP_PROXY": "h:1", "NO_PROXY": "example.com"}, "http://badexample.com/", "http://h:1", "HTTP_PROXY"},
		{"no_proxy case", map[string]string{"HTTP_PROXY": "h:1", "NO_PROXY": "Example.COM"}, "http://WWW.example.com/", "", "no_proxy"},
		{"no_proxy ip", map[string]string{"HTTP_PROXY": "h:1", "NO_PROXY": "127.0.0.1"}, "http://127.0.0.1:8080/", "", "no_proxy"},
		{"no_proxy cidr", map[string]string{"HTTP_PROXY": "h:1", "NO_PROXY": "10.0.0.0/8"}, "http://10.1.2.3/", "", "no_proxy"},
		{"no_proxy ipv6", map[string]string{"HTTP_PROXY": "h:1", "NO_PROXY": "[::1]"}, "http://[::1]:80/", "", "no_proxy"},
		{"no_proxy with port", map[string]string{"HTTP_PROXY": "h:1", "NO_PROXY": "example.com:8080"}, "http://example.com/", "", "no_proxy"},
		{"no_proxy other host", map[string]string{"HTTP_PROXY": "h:1", "NO_PROXY": "10.0.0.0/8,example.com"}, "http://11.0.0.1/", "http://h:1", "HTTP_PROXY"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := ReadEnvProxy(func(k string) string { return c.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(c.url)
			p, src := e.For(u)
			got := ""
			if p != nil {
				got = p.String()
			}
			if got != c.want || src != c.src {
				t.Errorf("For(%s) = %q (%s), want %q (%s)", c.url, got, src, c.want, c.src)
			}
		})
	}
	if _, err := ReadEnvProxy(func(k string) string {
		return map[string]string{"HTTPS_PROXY": "gopher://x"}[k]
	}); err == nil || !strings.Contains(err.Error(), "HTTPS_PROXY") {
		t.Errorf("a bad HTTPS_PROXY: %v, want an error naming it", err)
	}
}

// origin is an httptest server on 127.0.0.1 that notes the peer of every
// request: 127.0.0.2 when it came through a test proxy.
func origin(t *testing.T) (*proxytest.Origin, string) {
	t.Helper()
	o := &proxytest.Origin{}
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		o.Note(r.URL.Path, r.RemoteAddr)
		if r.URL.Path == "/robots.txt" {
			io.WriteString(w, "User-agent: *\nDisallow: /private/\n")
			return
		}
		io.WriteString(w, "body of "+r.URL.Path)
	})
	return o, srv.URL
}

// get fetches rawURL with c and returns its body.
func get(t *testing.T, c *Client, rawURL string) string {
	t.Helper()
	resp, err := c.Get(context.Background(), rawURL)
	if err != nil {
		t.Fatalf("Get %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", rawURL, err)
	}
	return string(b)
}

// clearProxyEnv unsets the proxy variables for the test.
func clearProxyEnv(t *testing.T) {
	for _, k := range []string{"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"} {
		t.Setenv(k, "")
	}
}

// TestHTTPProxy: with --proxy http://…, the request and the robots.txt
// before it come through tinyproxy.
func TestHTTPProxy(t *testing.T) {
	clearProxyEnv(t)
	p := proxytest.Tinyproxy(t)
	o, base := origin(t)
	var log bytes.Buffer
	c := newClient(t, Config{Proxy: "http://" + p.Addr, Log: &log})
	if got := get(t, c, base+"/a.jpg"); got != "body of /a.jpg" {
		t.Errorf("body %q", got)
	}
	get(t, c, base+"/b.jpg")
	for _, path := range []string{"/robots.txt", "/a.jpg", "/b.jpg"} {
		if ok, n := o.Proxied(path); !ok {
			t.Errorf("%s: %d requests, from %v; want all through the proxy", path, n, o.Peers(path))
		}
	}
	if _, err := c.Get(context.Background(), base+"/private/x"); err == nil {
		t.Error("robots.txt read through the proxy was not obeyed")
	}
	host := strings.TrimPrefix(base, "http://")
	if want := "crawl: " + host + " goes through proxy http://" + p.Addr + " (--proxy)\n"; log.String() != want {
		t.Errorf("log %q, want once %q", log.String(), want)
	}
}

// TestSOCKSProxy: socks5h:// sends the host name to the proxy, socks5://
// resolves it here and sends the address; the user and password are
// given to the proxy and never logged.
func TestSOCKSProxy(t *testing.T) {
	clearProxyEnv(t)
	p := proxytest.Microsocks(t, "user", "s3cret")
	o, base := origin(t)
	u, _ := url.Parse(base)
	byName := "http://localhost:" + u.Port()
	for _, scheme := range []string{"socks5h", "socks5"} {
		t.Run(scheme, func(t *testing.T) {
			var log bytes.Buffer
			c := newClient(t, Config{Proxy: scheme + "://user:s3cret@" + p.Addr, Log: &log, IgnoreRobots: true})
			path := "/" + scheme + ".jpg"
			if got := get(t, c, byName+path); got != "body of "+path {
				t.Errorf("body %q", got)
			}
			if ok, n := o.Proxied(path); !ok || n != 1 {
				t.Errorf("%s: %d requests from %v; want one through the proxy", path, n, o.Peers(path))
			}
			asked := "connected to localhost:" + u.Port()
			if scheme == "socks5" {
				asked = "connected to 127.0.0.1:" + u.Port()
			}
			if !strings.Contains(p.Log(), asked) {
				t.Errorf("proxy log lacks %q:\n%s", asked, p.Log())
			}
			if strings.Contains(log.String(), "s3cret") || !strings.Contains(log.String(), "goes through proxy "+scheme+"://user:") {
				t.Errorf("log %q: want the proxy without its password", log.String())
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		c := newClient(t, Config{Proxy: "socks5h://user:wrong@" + p.Addr, IgnoreRobots: true, Retries: -1})
		if _, err := c.Get(context.Background(), byName+"/denied.jpg"); err == nil || strings.Contains(err.Error(), "wrong") {
			t.Errorf("Get through a proxy that refuses: %v", err)
		}
	})
}

// TestEnvProxy: without Config.Proxy the environment names the proxy,
// loopback included, NO_PROXY sends a host direct, and NoEnvProxy
// ignores it all.
func TestEnvProxy(t *testing.T) {
	clearProxyEnv(t)
	hp := proxytest.Tinyproxy(t)
	sp := proxytest.Microsocks(t, "", "")
	o, base := origin(t)
	cases := []struct {
		name    string
		env     map[string]string
		noEnv   bool
		proxied bool
	}{
		{"HTTP_PROXY", map[string]string{"HTTP_PROXY": "http://" + hp.Addr}, false, true},
		{"http_proxy", map[string]string{"http_proxy": hp.Addr}, false, true},
		{"ALL_PROXY socks5h", map[string]string{"ALL_PROXY": "socks5h://" + sp.Addr}, false, true},
		{"HTTPS_PROXY only", map[string]string{"HTTPS_PROXY": "http://" + hp.Addr}, false, false},
		{"NO_PROXY", map[string]string{"HTTP_PROXY": "http://" + hp.Addr, "NO_PROXY": "localhost,127.0.0.1"}, false, false},
		{"no_proxy cidr", map[string]string{"ALL_PROXY": "socks5://" + sp.Addr, "no_proxy": "127.0.0.0/8"}, false, false},
		{"NoEnvProxy", map[string]string{"HTTP_PROXY": "http://" + hp.Addr, "ALL_PROXY": "socks5h://" + sp.Addr}, true, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearProxyEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			cl := newClient(t, Config{NoEnvProxy: c.noEnv, IgnoreRobots: true})
			path := "/env" + string(rune('a'+i))
			get(t, cl, base+path)
			peers := o.Peers(path)
			if len(peers) != 1 || (peers[0] == proxytest.OutAddr) != c.proxied {
				t.Errorf("requests from %v; proxied: want %v", peers, c.proxied)
			}
		})
	}
	t.Run("bad variable", func(t *testing.T) {
		clearProxyEnv(t)
		t.Setenv("ALL_PROXY", "socks4://x")
		if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "ALL_PROXY") {
			t.Errorf("New with a bad ALL_PROXY: %v", err)
		}
	})
}
