package fetcher

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"strings"
	"sync"
)

// robotsToken is the product token matched against robots.txt User-agent
// lines; groups for "*" apply when none names it.
const robotsToken = "crawl"

// maxRobotsSize is how much of a robots.txt is read (RFC 9309 asks for at
// least 500 KiB).
const maxRobotsSize = 512 << 10

// robotsCache holds the parsed robots.txt of each scheme://host.
type robotsCache struct {
	mu      sync.Mutex
	entries map[string]*robotsEntry
}

// robotsEntry is one host's robots.txt; ready is closed once rules (or
// err, for a fetch cut short by its context) is set.
type robotsEntry struct {
	ready chan struct{}
	rules robotsRules
	err   error
}

func newRobotsCache() *robotsCache {
	return &robotsCache{entries: make(map[string]*robotsEntry)}
}

// allowed reports whether robots.txt lets us fetch u, fetching the host's
// robots.txt on first use. Only a cancelled ctx makes it fail: a robots.txt
// that is missing, broken or unreachable allows everything.
func (c *Client) allowed(ctx context.Context, u *url.URL) (bool, error) {
	path := robotsPath(u)
	if path == "/robots.txt" {
		return true, nil
	}
	key := u.Scheme + "://" + hostKey(u)
	for {
		c.robots.mu.Lock()
		e := c.robots.entries[key]
		if e == nil {
			e = &robotsEntry{ready: make(chan struct{})}
			c.robots.entries[key] = e
			c.robots.mu.Unlock()
			e.rules, e.err = c.fetchRobots(ctx, u)
			if e.err != nil {
				// Cut short: forget it so that the next caller tries again.
				c.robots.mu.Lock()
				delete(c.robots.entries, key)
				c.robots.mu.Unlock()
			}
			close(e.ready)
		} else {
			c.robots.mu.Unlock()
		}
		select {
		case <-e.ready:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		if e.err == nil {
			return e.rules.allowed(path), nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		// Another caller's fetch was cancelled: try it ourselves.
	}
}

// fetchRobots fetches and parses the robots.txt of u's host, once, through
// the per-host limits. It fails only if ctx ends.
func (c *Client) fetchRobots(ctx context.Context, u *url.URL) (robotsRules, error) {
	ru := &url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: "/robots.txt"}
	resp, err := c.once(ctx, ru, &getOptions{rangeFrom: -1})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, nil // 4xx, 5xx or unreachable: allow all
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRobotsSize))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, nil
	}
	return parseRobots(data, robotsToken), nil
}

// robotsPath is the part of u that robots.txt rules match: the escaped
// path and the query.
func robotsPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return normalizeEscapes(p)
}

// robotsRule is one Allow or Disallow line.
type robotsRule struct {
	allow    bool
	pattern  string // without a final '$'
	anchored bool   // the pattern ended with '$'
	length   int    // length of the pattern as written, for longest-match
}

// robotsRules are the rules that apply to us; nil allows everything.
type robotsRules []robotsRule

// parseRobots parses a robots.txt and returns the rules of the groups
// naming token, or else of the groups for "*" (RFC 9309: several groups
// for the same agent are merged).
func parseRobots(data []byte, token string) robotsRules {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	token = strings.ToLower(token)

	type group struct {
		agents []string
		rules  robotsRules
	}
	var (
		groups       []*group
		cur          *group
		lastWasAgent bool
	)
	for line := range strings.Lines(string(data)) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.TrimSpace(key))
		value = strings.TrimSpace(value)
		switch key {
		case "user-agent", "useragent", "user agent":
			if cur == nil || !lastWasAgent {
				cur = &group{}
				groups = append(groups, cur)
			}
			cur.agents = append(cur.agents, agentToken(value))
			lastWasAgent = true
		case "allow", "disallow":
			lastWasAgent = false
			if cur == nil || value == "" {
				continue // a rule outside a group, or an empty rule (allows all)
			}
			r := robotsRule{allow: key == "allow", length: len(value)}
			r.pattern, r.anchored = strings.CutSuffix(normalizePattern(value), "$")
			cur.rules = append(cur.rules, r)
		}
	}

	pick := func(agent string) (rules robotsRules, found bool) {
		for _, g := range groups {
			for _, a := range g.agents {
				if a == agent {
					rules = append(rules, g.rules...)
					found = true
					break
				}
			}
		}
		return rules, found
	}
	if rules, found := pick(token); found {
		return rules
	}
	rules, _ := pick("*")
	return rules
}

// agentToken reduces a User-agent value to its lowercased product token
// ("Crawl/1.0 (+url)" → "crawl").
func agentToken(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if i := strings.IndexAny(v, "/ \t"); i >= 0 {
		v = v[:i]
	}
	return v
}

// allowed reports whether path may be fetched: the matching rule with the
// longest pattern wins, Allow on a tie; no matching rule allows.
func (rs robotsRules) allowed(path string) bool {
	best, allow := -1, true
	for _, r := range rs {
		if !matchPattern(r.pattern, r.anchored, path) {
			continue
		}
		if r.length > best || (r.length == best && r.allow) {
			best, allow = r.length, r.allow
		}
	}
	return allow
}

// matchPattern reports whether path starts with pattern, where '*' in the
// pattern matches any run of characters; with anchored the match must
// reach the end of path.
func matchPattern(pattern string, anchored bool, path string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(path, parts[0]) {
		return false
	}
	pos := len(parts[0])
	last := len(parts) - 1
	if last == 0 {
		return !anchored || pos == len(path)
	}
	for _, part := range parts[1:last] {
		i := strings.Index(path[pos:], part)
		if i < 0 {
			return false
		}
		pos += i + len(part)
	}
	if anchored {
		return len(path)-pos >= len(parts[last]) && strings.HasSuffix(path, parts[last])
	}
	return strings.Contains(path[pos:], parts[last])
}

// normalizePattern percent-encodes the bytes of a robots.txt path pattern
// that a URL would carry encoded (non-ASCII, controls, spaces) and
// upper-cases existing escapes, so that patterns and URL paths compare
// alike.
func normalizePattern(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c >= 0x7f {
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return normalizeEscapes(b.String())
}

const upperHex = "0123456789ABCDEF"

// normalizeEscapes upper-cases the hex digits of %XX escapes.
func normalizeEscapes(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' && isHex(b[i+1]) && isHex(b[i+2]) {
			b[i+1], b[i+2] = toUpper(b[i+1]), toUpper(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func toUpper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
