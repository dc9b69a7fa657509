package fetcher

import (
	"net/url"
	"strings"
)

// NoReferer as Config.Referer sends no Referer with any request.
const NoReferer = "none"

// maxRefererLen is the longest Referer sent whole: a longer page URL is
// cut to its origin, as browsers do.
const maxRefererLen = 4096

// Referer is the Referer a browser sends, under its default policy
// (strict-origin-when-cross-origin), with a request for target made from
// the page at from: the page's URL without its fragment and user info when
// target has the same origin (scheme, host and port), the page's origin
// alone ("https://host/") when it has another, and "" when from is not an
// http(s) URL or when the request would go from https to http.
func Referer(from string, target *url.URL) string {
	scheme, authority, host, rest, ok := splitOrigin(from)
	if !ok || target == nil {
		return ""
	}
	tscheme := strings.ToLower(target.Scheme)
	if tscheme != "http" && tscheme != "https" {
		return ""
	}
	if strings.EqualFold(scheme, "https") && tscheme == "http" {
		return "" // never leak an https page to http
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	if rest == "" || rest[0] != '/' {
		rest = "/" + rest // "http://h?q" is "http://h/?q"
	}
	if !sameOrigin(scheme, host, tscheme, target.Host) || len(scheme)+3+len(host)+len(rest) > maxRefererLen {
		rest = "/"
	}
	// The common case, a well-formed page URL of the same origin or one
	// cut at its path, comes out of from itself without a copy.
	head := len(scheme) + 3 + len(authority)
	if authority == host && scheme == strings.ToLower(scheme) && strings.HasPrefix(from[head:], rest) {
		return from[:head+len(rest)]
	}
	return strings.ToLower(scheme) + "://" + host + rest
}

// splitOrigin cuts an absolute http(s) URL into its scheme, its authority
// (user info, host and port), its host and port alone, and what follows
// (path, query and fragment).
func splitOrigin(raw string) (scheme, authority, host, rest string, ok bool) {
	scheme, after, found := strings.Cut(raw, "://")
	if !found || !(strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https")) {
		return "", "", "", "", false
	}
	end := strings.IndexAny(after, "/?#")
	if end < 0 {
		end = len(after)
	}
	authority, rest = after[:end], after[end:]
	host = authority
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	if host == "" {
		return "", "", "", "", false
	}
	return scheme, authority, host, rest, true
}

// sameOrigin reports whether two scheme and host[:port] pairs are one
// origin, a port that is the scheme's default counting as none.
func sameOrigin(s1, h1, s2, h2 string) bool {
	return strings.EqualFold(s1, s2) && strings.EqualFold(trimDefaultPort(s1, h1), trimDefaultPort(s2, h2))
}

func trimDefaultPort(scheme, host string) string {
	switch {
	case strings.EqualFold(scheme, "http"):
		return strings.TrimSuffix(host, ":80")
	case strings.EqualFold(scheme, "https"):
		return strings.TrimSuffix(host, ":443")
	}
	return host
}
