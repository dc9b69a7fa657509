package fetcher

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadCookies(t *testing.T) {
	file := "# Netscape HTTP Cookie File\r\n" +
		"# https://curl.se/docs/http-cookies.html\r\n" +
		"\r\n" +
		".example.com\tTRUE\t/\tFALSE\t0\tsession\tabc\r\n" +
		"#HttpOnly_www.example.com\tFALSE\t/app\tTRUE\t1893456000\tsid\tx=y; z\r\n" +
		"example.org\tfalse\t/\tfalse\t1893456000.25\tfrac\t1\n" +
		"example.net\tFALSE\t\tFALSE\t1893456000\tempty\t\n" +
		"example.net\tFALSE\t/\tFALSE\t1893456000\tnovalue\n" +
		"example.net FALSE / FALSE 1893456000 spaced v\n" +
		"example.net\tFALSE\t/\tFALSE\t-5\told\tv\n" +
		"example.net\tFALSE\t/\tFALSE\t1e300\tfar\tv\n"
	got, err := ReadCookies(strings.NewReader(file), "cookies.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []Cookie{
		{Domain: "example.com", Subdomains: true, Path: "/", Name: "session", Value: "abc"},
		{Domain: "www.example.com", Path: "/app", Secure: true, HTTPOnly: true, Expires: 1893456000, Name: "sid", Value: "x=y; z"},
		{Domain: "example.org", Path: "/", Expires: 1893456001, Name: "frac", Value: "1"},
		{Domain: "example.net", Path: "/", Expires: 1893456000, Name: "empty"},
		{Domain: "example.net", Path: "/", Expires: 1893456000, Name: "novalue"},
		{Domain: "example.net", Path: "/", Expires: 1893456000, Name: "spaced", Value: "v"},
		{Domain: "example.net", Path: "/", Expires: -1, Name: "old", Value: "v"},
		{Domain: "example.net", Path: "/", Expires: maxExpiry, Name: "far", Value: "v"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

func TestReadCookiesErrors(t *testing.T) {
	cases := []struct{ line, want string }{
		{"example.com\tTRUE\t/\tFALSE\t0", "cookies.txt line 2: want 7 tab-separated fields"},
		{"example.com\tYES\t/\tFALSE\t0\ta\tb", "cookies.txt line 2: subdomains field \"YES\""},
		{"example.com\tTRUE\t/\tno\t0\ta\tb", "cookies.txt line 2: secure field"},
		{"example.com\tTRUE\t/\tFALSE\tsoon\ta\tb", "cookies.txt line 2: expiry \"soon\""},
		{"\tTRUE\t/\tFALSE\t0\ta\tb", "cookies.txt line 2: no domain"},
		{"example.com\tTRUE\t/\tFALSE\t0\t\tb", "cookies.txt line 2: no cookie name"},
		{"<html><body>not cookies</body></html>", "cookies.txt line 2: want 7"},
	}
	for _, c := range cases {
		_, err := ReadCookies(strings.NewReader("# Netscape HTTP Cookie File\n"+c.line+"\n"), "cookies.txt")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q…", c.line, err, c.want)
		}
	}
	_, err := LoadCookies(filepath.Join(t.TempDir(), "missing.txt"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing file: %v", err)
	}
}

// TestCookiesSent checks that the jar sends a cookie only where its
// domain, path and Secure flag allow, keeps what answers set, and goes
// along with a Cookie header of the Config.
func TestCookiesSent(t *testing.T) {
	var got []string
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			return
		}
		got = append(got, r.URL.Path+" "+r.Header.Get("Cookie"))
		if r.URL.Path == "/login" {
			http.SetCookie(w, &http.Cookie{Name: "set", Value: "1", Path: "/"})
		}
	})
	// Every host name leads to the test server: a loopback address would
	// count as secure, as it does in browsers.
	c := newClient(t, Config{IgnoreRobots: true, Cookie: "raw=1", Cookies: []Cookie{
		{Domain: "www.example.test", Path: "/", Name: "a", Value: "1"},
		{Domain: "example.test", Subdomains: true, Path: "/", Name: "b", Value: "2", HTTPOnly: true},
		{Domain: "example.test", Path: "/", Name: "b2", Value: "host only"},
		{Domain: "www.example.test", Path: "/app", Name: "c", Value: "3"},
		{Domain: "www.example.test", Path: "/", Secure: true, Name: "d", Value: "4"},
		{Domain: "www.example.test", Path: "/", Expires: 1, Name: "e", Value: "5"},
		{Domain: "other.example", Subdomains: true, Path: "/", Name: "f", Value: "6"},
		{Domain: "test", Subdomains: true, Path: "/", Name: "g", Value: "public suffix"},
	}})
	addr := srv.Listener.Addr().String()
	var d net.Dialer
	c.tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	for _, p := range []string{"/x", "/app/y", "/login", "/z"} {
		resp, err := c.Get(t.Context(), "http://www.example.test"+p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	want := []string{
		"/x raw=1; a=1; b=2",
		"/app/y raw=1; c=3; a=1; b=2",
		"/login raw=1; a=1; b=2",
		"/z raw=1; a=1; b=2; set=1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cookies sent:\n%q\nwant\n%q", got, want)
	}
}

// TestTakeAndAddCookies hands the cookies answers set to one client on to
// another: the second sends what the first would, and a cookie for
// another site or a public suffix is not handed on.
func TestTakeAndAddCookies(t *testing.T) {
	var seen []string
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login/form":
			w.Header().Add("Set-Cookie", "sid=1; Path=/; HttpOnly")
			w.Header().Add("Set-Cookie", "wide=2; Domain=example.test; Path=/; Max-Age=3600")
			w.Header().Add("Set-Cookie", "here=3")
			w.Header().Add("Set-Cookie", "gone=4; Path=/")
			w.Header().Add("Set-Cookie", "evil=5; Domain=other.test")
			w.Header().Add("Set-Cookie", "tld=6; Domain=test")
		case "/logout":
			w.Header().Add("Set-Cookie", "gone=; Path=/; Max-Age=0")
		default:
			seen = append(seen, r.Host+r.URL.Path+" "+r.Header.Get("Cookie"))
		}
	})
	addr := srv.Listener.Addr().String()
	var d net.Dialer
	client := func() *Client {
		c := newClient(t, Config{IgnoreRobots: true})
		c.tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}
		return c
	}
	get := func(c *Client, u string) {
		t.Helper()
		resp, err := c.Get(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	a, b := client(), client()
	get(a, "http://www.example.test/login/form")
	get(a, "http://www.example.test/logout")
	taken := a.TakeCookies()
	if len(taken) != 5 {
		t.Errorf("took %d cookies, want 5: %+v", len(taken), taken)
	}
	if again := a.TakeCookies(); again != nil {
		t.Errorf("took %+v a second time", again)
	}
	b.AddCookies(taken)
	for _, c := range []*Client{a, b} {
		get(c, "http://www.example.test/login/x")
		get(c, "http://img.example.test/y")
		get(c, "http://other.test/z")
	}
	if b.TakeCookies() != nil {
		t.Error("added cookies were taken again")
	}
	want := []string{
		"www.example.test/login/x here=3; sid=1; wide=2",
		"img.example.test/y wide=2",
		"other.test/z ",
	}
	want = append(want, want...)
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("sent\n%q\nwant\n%q", seen, want)
	}
}
