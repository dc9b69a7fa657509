package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"crawl"
	"crawl/internal/proxytest"
)

// proxyEnvNames are the variables a proxy may come from.
var proxyEnvNames = []string{"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"}

// runProxied is runCrawlEnv with the proxy variables unset, then env set.
func runProxied(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	var all []string
	for _, k := range proxyEnvNames {
		all = append(all, k+"=")
	}
	return runCrawlEnv(t, dir, append(all, env...), args...)
}

// proxiedDemo serves the demo site on 127.0.0.1, noting every request's
// peer: the test proxies connect from 127.0.0.2.
func proxiedDemo(t *testing.T) (*proxytest.Origin, string) {
	t.Helper()
	o := &proxytest.Origin{}
	h := crawl.DemoHandler()
	srv, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.Note("all", r.RemoteAddr)
		h.ServeHTTP(w, r)
	}))
	return o, srv.URL
}

// TestProxyCrawl: a site crawl with --proxy goes through the proxy for
// every request of every stage, robots.txt included; -v says so once per
// host and process, without the password.
func TestProxyCrawl(t *testing.T) {
	cases := []struct {
		name  string
		proxy func(t *testing.T) string
	}{
		{"http", func(t *testing.T) string { return "http://" + proxytest.Tinyproxy(t).Addr }},
		{"socks5h", func(t *testing.T) string { return "socks5h://u:pw9@" + proxytest.Microsocks(t, "u", "pw9").Addr }},
		{"socks5", func(t *testing.T) string { return "socks5://" + proxytest.Microsocks(t, "", "").Addr }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, base := proxiedDemo(t)
			out := filepath.Join(t.TempDir(), "out")
			args := append(demoArgs(t, "gallery", base), "--out", out, "--quiet", "-v", "--proxy", c.proxy(t))
			r := runProxied(t, t.TempDir(), nil, args...)
			mustCode(t, r, 0)
			if ok, n := o.Proxied("all"); !ok || n < 10 {
				t.Errorf("%d requests, from %v; want all through the proxy", n, o.Peers("all"))
			}
			if len(files(t, out)) == 0 {
				t.Error("nothing downloaded")
			}
			host := strings.TrimPrefix(base, "http://")
			if !strings.Contains(r.stderr, "crawl: "+host+" goes through proxy "+c.name+"://") || strings.Contains(r.stderr, "pw9") {
				t.Errorf("stderr does not say the proxy (without its password):\n%s", r.stderr)
			}
		})
	}
}

// TestProxyEnvironment: crawl get takes the proxy from the environment
// (loopback hosts too), NO_PROXY and --proxy ” send requests direct.
func TestProxyEnvironment(t *testing.T) {
	hp := proxytest.Tinyproxy(t)
	sp := proxytest.Microsocks(t, "", "")
	cases := []struct {
		name    string
		env     []string
		flags   []string
		proxied bool
	}{
		{"HTTP_PROXY", []string{"HTTP_PROXY=http://" + hp.Addr}, nil, true},
		{"ALL_PROXY", []string{"ALL_PROXY=socks5h://" + sp.Addr}, nil, true},
		{"NO_PROXY", []string{"ALL_PROXY=socks5h://" + sp.Addr, "NO_PROXY=127.0.0.1"}, nil, false},
		{"--proxy ''", []string{"HTTP_PROXY=http://" + hp.Addr, "ALL_PROXY=socks5h://" + sp.Addr}, []string{"--proxy", ""}, false},
		{"--proxy wins", []string{"HTTP_PROXY=http://127.0.0.1:1"}, []string{"--proxy", "socks5://" + sp.Addr}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, base := proxiedDemo(t)
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"get", "--out", out, "--quiet"}, c.flags...)
			args = append(args, base+"/img/g1-1.png", base+"/img/g1-2.png")
			r := runProxied(t, t.TempDir(), c.env, args...)
			mustCode(t, r, 0)
			peers := o.Peers("all")
			if ok, _ := o.Proxied("all"); ok != c.proxied || len(peers) < 2 {
				t.Errorf("requests from %v; through the proxy: want %v", peers, c.proxied)
			}
			for _, p := range peers {
				if (p == proxytest.OutAddr) != c.proxied {
					t.Errorf("requests from %v; through the proxy: want %v for all", peers, c.proxied)
					break
				}
			}
		})
	}
}

// TestProxyUsage: a bad proxy URL, given or in the environment, is a
// one-line usage error.
func TestProxyUsage(t *testing.T) {
	cases := []struct {
		name, want string
		env        []string
		flags      []string
	}{
		{"bad scheme", "--proxy", nil, []string{"--proxy", "ftp://127.0.0.1:21"}},
		{"no host", "--proxy", nil, []string{"--proxy", "http://"}},
		{"bad variable", "ALL_PROXY", []string{"ALL_PROXY=socks4://127.0.0.1:1080"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"get", "--out", filepath.Join(t.TempDir(), "out")}, c.flags...)
			r := runProxied(t, t.TempDir(), c.env, append(args, "http://127.0.0.1:1/a.jpg")...)
			mustCode(t, r, exitUsage)
			if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines != 0 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr %q: want one line naming %s", r.stderr, c.want)
			}
		})
	}
}
