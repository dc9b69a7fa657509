package fetcher

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"
)

// Cookie is one cookie of a cookies.txt file, with where it may be sent.
type Cookie struct {
	Domain     string `json:"d"`           // host name, without a leading dot
	Subdomains bool   `json:"s,omitempty"` // sent to the hosts under Domain too, not to Domain alone
	Path       string `json:"p"`
	Secure     bool   `json:"x,omitempty"` // over https only
	HTTPOnly   bool   `json:"h,omitempty"`
	Expires    int64  `json:"e,omitempty"` // Unix time in seconds; 0: a session cookie
	Name       string `json:"n"`
	Value      string `json:"v"`
}

// maxExpiry is the latest expiry kept (the end of year 9999): later ones
// are cut to it.
const maxExpiry = 253402300799

// httpCookie is c as net/http's jar takes it, with the URL to set it for.
func (c Cookie) httpCookie() (*url.URL, *http.Cookie) {
	scheme := "http"
	if c.Secure {
		scheme = "https"
	}
	u := &url.URL{Scheme: scheme, Host: c.Domain, Path: c.Path}
	hc := &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Secure: c.Secure, HttpOnly: c.HTTPOnly}
	if c.Subdomains {
		hc.Domain = c.Domain
	}
	if c.Expires != 0 {
		hc.Expires = time.Unix(c.Expires, 0)
	}
	return u, hc
}

// LoadCookies reads the Netscape cookies.txt file at path (see
// ReadCookies).
func LoadCookies(path string) ([]Cookie, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read cookies: %w", err)
	}
	defer f.Close()
	return ReadCookies(f, path)
}

// ReadCookies reads a Netscape cookies.txt, as curl -c, wget
// --save-cookies, yt-dlp and browsers' export extensions write it: one
// cookie a line, seven fields apart by tabs (domain, whether subdomains
// get it, path, whether https only, expiry in Unix seconds with 0 for a
// session cookie, name, value). Blank lines and lines starting with # are
// skipped, except that a "#HttpOnly_" before the domain marks an HttpOnly
// cookie; CRLF line ends and fractional expiries are read too. An error
// names the file (name) and the line.
func ReadCookies(r io.Reader, name string) ([]Cookie, error) {
	var out []Cookie
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		c, ok, err := parseCookieLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", name, n, err)
		}
		if ok {
			out = append(out, c)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

// parseCookieLine reads one line of a cookies.txt; ok is false for a line
// that holds no cookie.
func parseCookieLine(line string) (c Cookie, ok bool, err error) {
	if rest, found := cutPrefixFold(line, "#HttpOnly_"); found {
		line, c.HTTPOnly = rest, true
	} else if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
		return c, false, nil
	}
	f := strings.SplitN(line, "\t", 7)
	if len(f) == 1 {
		f = strings.Fields(line) // a file whose tabs became spaces
	}
	switch {
	case len(f) == 6:
		f = append(f, "") // an empty value, its tab trimmed
	case len(f) != 7:
		return c, false, fmt.Errorf("want 7 tab-separated fields (domain, subdomains, path, secure, expiry, name, value), got %d", len(f))
	}
	c.Domain = strings.TrimPrefix(strings.TrimSpace(f[0]), ".")
	if c.Domain == "" {
		return c, false, errors.New("no domain")
	}
	if c.Subdomains, err = cookieFlag("subdomains", f[1]); err != nil {
		return c, false, err
	}
	c.Path = strings.TrimSpace(f[2])
	if !strings.HasPrefix(c.Path, "/") {
		c.Path = "/"
	}
	if c.Secure, err = cookieFlag("secure", f[3]); err != nil {
		return c, false, err
	}
	exp, err := strconv.ParseFloat(strings.TrimSpace(f[4]), 64)
	if err != nil || math.IsNaN(exp) {
		return c, false, fmt.Errorf("expiry %q is not a number of seconds", f[4])
	}
	switch {
	case exp == 0:
	case exp >= maxExpiry:
		c.Expires = maxExpiry
	case exp <= 0:
		c.Expires = -1 // expired: the jar drops it
	default:
		c.Expires = int64(math.Ceil(exp))
	}
	c.Name, c.Value = strings.TrimSpace(f[5]), f[6]
	if c.Name == "" {
		return c, false, errors.New("no cookie name")
	}
	return c, true, nil
}

// cookieFlag reads a TRUE or FALSE field.
func cookieFlag(what, v string) (bool, error) {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "TRUE":
		return true, nil
	case "FALSE":
		return false, nil
	}
	return false, fmt.Errorf("%s field %q is not TRUE or FALSE", what, v)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// session is a Client's cookie jar: net/http's jar, which sends each
// cookie only where its domain (under the public-suffix list), path and
// Secure flag allow, and a record of the cookies that answers set, which
// the Client's user may hand on to other clients (TakeCookies,
// AddCookies).
type session struct {
	jar *cookiejar.Jar
	mu  sync.Mutex
	set []Cookie // set by answers since the last take
}

// newSession returns a session holding seed.
func newSession(seed []Cookie) (*session, error) {
	jar, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	if err != nil {
		return nil, fmt.Errorf("create cookie jar: %w", err)
	}
	s := &session{jar: jar}
	s.add(seed)
	return s, nil
}

// Cookies is [http.CookieJar.Cookies].
func (s *session) Cookies(u *url.URL) []*http.Cookie { return s.jar.Cookies(u) }

// SetCookies is [http.CookieJar.SetCookies]: the cookies an answer from u
// set, kept, and recorded for take.
func (s *session) SetCookies(u *url.URL, cookies []*http.Cookie) {
	s.jar.SetCookies(u, cookies)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, hc := range cookies {
		if c, ok := recordOf(u, hc, now); ok {
			s.set = append(s.set, c)
		}
	}
}

// take returns the cookies recorded since the last take.
func (s *session) take() []Cookie {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.set
	s.set = nil
	return set
}

// add puts cookies into the jar, unrecorded.
func (s *session) add(cookies []Cookie) {
	for _, c := range cookies {
		u, hc := c.httpCookie()
		s.jar.SetCookies(u, []*http.Cookie{hc})
	}
}

// recordOf is the record of a cookie an answer from u set, as it would be
// written to a cookies.txt: its domain and path made explicit, its
// lifetime an expiry (-1: it deletes). ok is false for a cookie the jar
// refuses for its domain (another site's, or a public suffix), which must
// not be handed on.
func recordOf(u *url.URL, hc *http.Cookie, now time.Time) (c Cookie, ok bool) {
	host := strings.ToLower(u.Hostname())
	if host == "" || hc.Name == "" {
		return c, false
	}
	c = Cookie{Domain: host, Name: hc.Name, Value: hc.Value, Secure: hc.Secure, HTTPOnly: hc.HttpOnly}
	if d := strings.ToLower(strings.TrimPrefix(hc.Domain, ".")); d != "" && d != host {
		if net.ParseIP(host) != nil || !strings.HasSuffix(host, "."+d) {
			return c, false // another site's
		}
		if ps, _ := publicsuffix.PublicSuffix(d); ps == d {
			return c, false // a public suffix
		}
		c.Domain, c.Subdomains = d, true
	} else if d == host && net.ParseIP(host) == nil {
		if ps, _ := publicsuffix.PublicSuffix(d); ps != d {
			c.Subdomains = true
		}
	}
	c.Path = hc.Path
	if !strings.HasPrefix(c.Path, "/") {
		// The default path: the request path up to its last slash.
		c.Path = "/"
		if i := strings.LastIndexByte(u.Path, '/'); i > 0 {
			c.Path = u.Path[:i]
		}
	}
	switch {
	case hc.MaxAge < 0:
		c.Expires = -1
	case hc.MaxAge > 0:
		c.Expires = now.Unix() + int64(hc.MaxAge)
	case !hc.Expires.IsZero():
		c.Expires = hc.Expires.Unix()
		if !hc.Expires.After(now) {
			c.Expires = -1
		}
	}
	c.Expires = min(c.Expires, maxExpiry)
	return c, true
}
