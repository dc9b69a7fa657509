package parser

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// compileNet compiles the REGEX of a "net:REGEX" selector.
func compileNet(expr, rest string) (*Selector, error) {
	src := strings.TrimSpace(rest)
	if src == "" {
		return nil, fmt.Errorf("compile selector %q: empty net: pattern", expr)
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("compile selector %q: %w", expr, err)
	}
	return &Selector{expr: expr, net: re}, nil
}

// Rendered reports whether the selector picks from what a browser saw
// while it rendered the page (net:), which a fetched page does not have.
func (s *Selector) Rendered() bool { return s.net != nil }

// netValues are the requests of doc whose URL matches, in the order they
// were made, each once.
func (s *Selector) netValues(doc *Document, limit int) []string {
	var out []string
	seen := make(map[string]bool)
	for _, u := range doc.Requests {
		if seen[u] || !s.net.MatchString(u) {
			continue
		}
		seen[u] = true
		out = append(out, u)
		if len(out) == limit {
			break
		}
	}
	return out
}

// lazyAttrs are the attributes lazy-loading scripts keep an image's
// address in until it scrolls into view, in the order they are tried.
var lazyAttrs = []string{"data-src", "data-original", "data-lazy-src", "data-lazy", "data-url", "data-echo"}

// lazySrc is the address a lazy-loading script would put into n's src:
// its first lazy attribute that holds one, else the largest candidate of
// a data-srcset or data-lazy-srcset. A data: URL is no address.
func lazySrc(n *html.Node) (string, bool) {
	for _, name := range lazyAttrs {
		if v, ok := attr(n, name); ok && realSrc(v) {
			return v, true
		}
	}
	for _, name := range []string{"data-srcset", "data-lazy-srcset"} {
		if v, ok := attr(n, name); ok {
			if c := largestCandidate(v); realSrc(c) {
				return c, true
			}
		}
	}
	return "", false
}

// realSrc reports whether v is an address rather than nothing or a data:
// placeholder.
func realSrc(v string) bool {
	v = strings.TrimSpace(v)
	return v != "" && !(len(v) >= 5 && strings.EqualFold(v[:5], "data:"))
}
