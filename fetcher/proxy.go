package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"golang.org/x/net/proxy"
)

// ParseProxy reads a proxy URL the way curl does: an http://, https://,
// socks5:// (host names resolved here, the address sent to the proxy) or
// socks5h:// (host names sent to the proxy, which resolves them) URL, with
// an optional user:password; a bare host:port is an http proxy. Without a
// port, an https proxy is on 443 and the others on 1080.
func ParseProxy(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, errors.New("empty proxy URL")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("proxy %q: %w", raw, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	port := "1080"
	switch u.Scheme {
	case "http", "socks5", "socks5h":
	case "https":
		port = "443"
	default:
		return nil, fmt.Errorf("proxy %q: unsupported scheme %q (want http, https, socks5 or socks5h)", raw, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("proxy %q: no host", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("proxy %q: a proxy URL has no path or query", raw)
	}
	u.Path, u.RawPath = "", ""
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	return u, nil
}

// EnvProxy is the proxy setting of the environment, read as curl reads it:
// http_proxy (or HTTP_PROXY) for http URLs, https_proxy (or HTTPS_PROXY)
// for https URLs, else all_proxy (or ALL_PROXY), the lowercase name first;
// an empty variable is unset. no_proxy (or NO_PROXY) lists, separated by
// commas, the hosts reached directly: "*" for all, a domain (with or
// without a leading dot) for itself and its subdomains, an IP address, or
// a CIDR block such as 10.0.0.0/8. Unlike Go's http.ProxyFromEnvironment,
// ALL_PROXY counts and loopback hosts go through the proxy too unless
// no_proxy lists them. The zero value, and a nil *EnvProxy, use no proxy.
type EnvProxy struct {
	http, https, all proxySetting
	noAll            bool
	noHosts          []string // lowercased, without a leading dot
	noIPs            []net.IP
	noNets           []*net.IPNet
}

// proxySetting is a proxy URL and the variable it came from.
type proxySetting struct {
	u   *url.URL
	src string
}

// ReadEnvProxy reads the proxy variables through getenv (os.Getenv, say).
// A variable that is set but is not a proxy URL is an error naming it.
func ReadEnvProxy(getenv func(string) string) (*EnvProxy, error) {
	e := &EnvProxy{}
	read := func(name string) (proxySetting, error) {
		for _, n := range []string{name, strings.ToUpper(name)} {
			v := strings.TrimSpace(getenv(n))
			if v == "" {
				continue
			}
			u, err := ParseProxy(v)
			if err != nil {
				return proxySetting{}, fmt.Errorf("%s: %w", n, err)
			}
			return proxySetting{u: u, src: n}, nil
		}
		return proxySetting{}, nil
	}
	var err error
	if e.http, err = read("http_proxy"); err != nil {
		return nil, err
	}
	if e.https, err = read("https_proxy"); err != nil {
		return nil, err
	}
	if e.all, err = read("all_proxy"); err != nil {
		return nil, err
	}
	no := getenv("no_proxy")
	if strings.TrimSpace(no) == "" {
		no = getenv("NO_PROXY")
	}
	for _, entry := range strings.Split(no, ",") {
		entry = strings.ToLower(strings.TrimSpace(entry))
		switch {
		case entry == "":
		case entry == "*":
			e.noAll = true
		case strings.Contains(entry, "/"):
			if _, n, err := net.ParseCIDR(entry); err == nil {
				e.noNets = append(e.noNets, n)
			}
		default:
			entry = strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(entry, "["), "]"), ".")
			if ip := net.ParseIP(entry); ip != nil {
				e.noIPs = append(e.noIPs, ip)
			} else if h, _, err := net.SplitHostPort(entry); err == nil {
				e.noHosts = append(e.noHosts, strings.TrimPrefix(h, "."))
			} else {
				e.noHosts = append(e.noHosts, entry)
			}
		}
	}
	return e, nil
}

// For returns the proxy for a request to u and the variable that named
// it, or nil and why the request goes direct ("" when no variable applies).
func (e *EnvProxy) For(u *url.URL) (*url.URL, string) {
	if e == nil {
		return nil, ""
	}
	p := e.all
	switch {
	case u.Scheme == "http" && e.http.u != nil:
		p = e.http
	case u.Scheme == "https" && e.https.u != nil:
		p = e.https
	}
	if p.u == nil {
		return nil, ""
	}
	if e.bypass(u.Hostname()) {
		return nil, "no_proxy"
	}
	return p.u, p.src
}

// bypass reports whether no_proxy lists host.
func (e *EnvProxy) bypass(host string) bool {
	if e.noAll {
		return true
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if ip := net.ParseIP(host); ip != nil {
		for _, no := range e.noIPs {
			if no.Equal(ip) {
				return true
			}
		}
		for _, n := range e.noNets {
			if n.Contains(ip) {
				return true
			}
		}
		return false
	}
	for _, no := range e.noHosts {
		if host == no || strings.HasSuffix(host, "."+no) {
			return true
		}
	}
	return false
}

// proxyRoutes sends each request through its proxy: an http(s) proxy by
// the base transport's own Proxy hook, a SOCKS5 proxy by a transport of
// its own (the base one's tuning, dialling through the proxy), made on
// first use. It says once per host which way the host goes, when log is
// set.
type proxyRoutes struct {
	base  *http.Transport
	fixed *url.URL  // Config.Proxy; nil: env
	env   *EnvProxy // nil: none
	dial  *net.Dialer
	log   io.Writer

	mu     sync.Mutex
	socks  map[string]*http.Transport // by proxy URL
	logged map[string]bool            // hosts already said
}

// newProxyRoutes returns the routes for cfg, or nil when no request goes
// through a proxy.
func newProxyRoutes(cfg Config, base *http.Transport, dial *net.Dialer) (*proxyRoutes, error) {
	r := &proxyRoutes{base: base, dial: dial, log: cfg.Log, socks: map[string]*http.Transport{}, logged: map[string]bool{}}
	switch {
	case cfg.Proxy != "":
		u, err := ParseProxy(cfg.Proxy)
		if err != nil {
			return nil, err
		}
		r.fixed = u
	case cfg.NoEnvProxy:
		return nil, nil
	default:
		env, err := ReadEnvProxy(os.Getenv)
		if err != nil {
			return nil, err
		}
		if env.http.u == nil && env.https.u == nil && env.all.u == nil {
			return nil, nil
		}
		r.env = env
	}
	base.Proxy = func(req *http.Request) (*url.URL, error) {
		if p, _ := r.choose(req.URL); p != nil && (p.Scheme == "http" || p.Scheme == "https") {
			return p, nil
		}
		return nil, nil
	}
	return r, nil
}

// choose returns the proxy for u (nil: direct) and where it comes from.
func (r *proxyRoutes) choose(u *url.URL) (*url.URL, string) {
	if r.fixed != nil {
		return r.fixed, "--proxy"
	}
	return r.env.For(u)
}

// RoundTrip sends req through its proxy.
func (r *proxyRoutes) RoundTrip(req *http.Request) (*http.Response, error) {
	p, src := r.choose(req.URL)
	r.say(req.URL, p, src)
	if p == nil || p.Scheme == "http" || p.Scheme == "https" {
		return r.base.RoundTrip(req)
	}
	t, err := r.socksTransport(p)
	if err != nil {
		return nil, err
	}
	return t.RoundTrip(req)
}

// say logs, once per host, which proxy the host goes through; never a
// password.
func (r *proxyRoutes) say(u *url.URL, p *url.URL, src string) {
	if r.log == nil {
		return
	}
	host := hostKey(u)
	r.mu.Lock()
	seen := r.logged[host]
	r.logged[host] = true
	r.mu.Unlock()
	if seen {
		return
	}
	switch {
	case p != nil:
		fmt.Fprintf(r.log, "crawl: %s goes through proxy %s (%s)\n", host, p.Redacted(), src)
	case src != "":
		fmt.Fprintf(r.log, "crawl: %s goes direct (%s)\n", host, src)
	default:
		fmt.Fprintf(r.log, "crawl: %s goes direct (no proxy variable for %s)\n", host, u.Scheme)
	}
}

// socksTransport returns the transport that dials through the SOCKS5
// proxy p.
func (r *proxyRoutes) socksTransport(p *url.URL) (*http.Transport, error) {
	key := p.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.socks[key]; t != nil {
		return t, nil
	}
	var auth *proxy.Auth
	if p.User != nil {
		pass, _ := p.User.Password()
		auth = &proxy.Auth{User: p.User.Username(), Password: pass}
	}
	d, err := proxy.SOCKS5("tcp", p.Host, auth, r.dial)
	if err != nil {
		return nil, fmt.Errorf("socks5 proxy %s: %w", p.Redacted(), err)
	}
	cd, ok := d.(proxy.ContextDialer)
	if !ok {
		return nil, fmt.Errorf("socks5 proxy %s: dialer cannot be cancelled", p.Redacted())
	}
	resolveHere := p.Scheme == "socks5"
	t := r.base.Clone()
	t.Proxy = nil
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if resolveHere {
			a, err := resolve(ctx, addr)
			if err != nil {
				return nil, err
			}
			addr = a
		}
		conn, err := cd.DialContext(ctx, network, addr)
		if err != nil {
			return nil, fmt.Errorf("socks5 proxy %s: %w", p.Redacted(), err)
		}
		return conn, nil
	}
	r.socks[key] = t
	return t, nil
}

// closeIdle closes the idle connections of the SOCKS transports.
func (r *proxyRoutes) closeIdle() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.socks {
		t.CloseIdleConnections()
	}
}

// resolve turns the host of addr (host:port) into an IP address, so that
// a socks5:// proxy gets the address, not the name.
func resolve(ctx context.Context, addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("dial %s: %w", addr, err)
	}
	if net.ParseIP(host) != nil {
		return addr, nil
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return "", fmt.Errorf("resolve %s: no address", host)
	}
	ip := ips[0]
	for _, a := range ips { // an IPv4 address if there is one, as most proxies reach it
		if a.IP.To4() != nil {
			ip = a
			break
		}
	}
	return net.JoinHostPort(ip.IP.String(), port), nil
}
