package parser

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/antchfx/jsonquery"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/idna"
	"golang.org/x/text/encoding"
)

// Document is a parsed page.
type Document struct {
	URL      *url.URL   // the page URL
	Base     *url.URL   // <base href> resolved against URL, else URL
	Encoding string     // canonical name of the encoding used: "utf-8", "gb18030", "big5", "shift_jis", "euc-jp", "euc-kr", "windows-1252", ...
	Root     *html.Node // golang.org/x/net/html tree, UTF-8; nil for a JSON answer
	// Requests are the URLs of the requests the page made while a
	// browser rendered it, in order (what net: selects); nil for a page
	// that was fetched, not rendered.
	Requests []string

	// JSON is the tree of a JSON answer (github.com/antchfx/jsonquery),
	// nil for an HTML page. Selectors are XPath over it, and its Title
	// is "".
	JSON *jsonquery.Node

	enc     encoding.Encoding // the encoding named by Encoding, for query strings
	size    int               // length of the decoded text, for the JSON memory budget
	notes   []string          // what Notes tells about the page itself
	scripts scripts           // the JSON embedded in <script> elements
}

// Parse detects the encoding of body (forced label, else BOM, else
// Content-Type charset, else <meta> prescan of the first 1024 bytes, then of
// the rest of <head>, else a guess; see DetectEncoding), decodes it to UTF-8
// and parses it once: as JSON when the Content-Type is a JSON type
// (application/json, text/json, */*+json) or the text starts with '{' or
// '[' and is JSON, else as HTML. contentType is the Content-Type header ("" if none),
// forced a label from --encoding ("" to detect). The errors are a bad
// pageURL and an unknown forced label.
func Parse(pageURL string, body []byte, contentType, forced string) (*Document, error) {
	u, err := url.Parse(pageURL)
	if err != nil {
		return nil, fmt.Errorf("parse page url %q: %w", pageURL, err)
	}
	u.Fragment, u.RawFragment = "", ""
	d, err := detect(body, contentType, forced)
	if err != nil {
		return nil, fmt.Errorf("detect encoding of %s: %w", pageURL, err)
	}
	doc := &Document{URL: u, Base: u, Encoding: d.name, enc: d.enc, size: len(d.text)}
	if doc.parseAnswer(d.text, contentType) {
		return doc, nil
	}
	root, err := parseHTML(d.text)
	if err != nil {
		return nil, fmt.Errorf("parse html of %s: %w", pageURL, err)
	}
	doc.Root = root
	if href, ok := baseHref(root); ok {
		if b, ok := doc.resolve(u, href); ok {
			doc.Base = b
		}
	}
	return doc, nil
}

// baseHref finds the href of the first <base href> in tree order.
func baseHref(n *html.Node) (string, bool) {
	if n.Type == html.ElementNode && n.DataAtom == atom.Base && n.Namespace == "" {
		if v, ok := attr(n, "href"); ok {
			return v, true
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if v, ok := baseHref(c); ok {
			return v, true
		}
	}
	return "", false
}

// attr returns the value of n's attribute key.
func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// Title returns the text of the page's <title>, whitespace collapsed and
// trimmed; "" if there is none.
func (d *Document) Title() string {
	t := findTitle(d.Root)
	if t == nil {
		return ""
	}
	return collapse(textContent(t))
}

func findTitle(n *html.Node) *html.Node {
	if n == nil {
		return nil
	}
	if n.Type == html.ElementNode && n.DataAtom == atom.Title && n.Namespace == "" {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if t := findTitle(c); t != nil {
			return t
		}
	}
	return nil
}

// textContent concatenates the text nodes under n.
func textContent(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// collapse trims s and turns every run of white space (Unicode's, so
// no-break and ideographic spaces too) into one space; the result is valid
// UTF-8.
func collapse(s string) string {
	return strings.ToValidUTF8(strings.Join(strings.Fields(s), " "), "\uFFFD")
}

// Resolve turns a reference found in the page (an href or src value, entities
// already decoded by the HTML parser) into an absolute URL against Base. It
// returns false for "", "#..." and for anything that is not http or https
// once resolved (javascript:, mailto:, data:, tel:, ...), and for what does
// not parse as a URL. Surrounding white space and tabs and newlines inside
// are dropped, as is the fragment. As in browsers, backslashes before the
// query are slashes, a '%' not followed by two hex digits stands for itself,
// non-ASCII in the path is percent-encoded as UTF-8 and non-ASCII in the
// query is percent-encoded in the page's encoding. The result is normalised
// as browsers serialise URLs (lower-case scheme and host, international
// host names in punycode, no default port, "/" for an empty path), so that
// equal URLs are equal strings.
func (d *Document) Resolve(ref string) (string, bool) {
	base := d.Base
	if base == nil {
		base = d.URL
	}
	if s, ok := quickResolve(base, ref); ok {
		return s, true
	}
	u, ok := d.resolve(base, ref)
	if !ok {
		return "", false
	}
	return u.String(), true
}

// quickResolve resolves, without parsing, the references most pages are
// made of and that need none of resolve's work: an absolute http(s) URL,
// or one from the root ("/img/a.jpg") or protocol-relative, whose host is
// in lower case without a port and whose path and query hold only
// characters that are never escaped, no dot segments and no fragment. It
// reports false for anything else; what it gives is what resolve gives.
func quickResolve(base *url.URL, ref string) (string, bool) {
	var (
		rest      string // what follows the scheme, or the reference
		authority bool   // rest starts with a host
	)
	switch {
	case strings.HasPrefix(ref, "http://"), strings.HasPrefix(ref, "https://"):
		_, rest, _ = strings.Cut(ref, "//")
		authority = true
	case strings.HasPrefix(ref, "//"):
		rest, authority = ref[2:], true
	case strings.HasPrefix(ref, "/"):
		rest = ref
	default:
		return "", false
	}
	if authority {
		// A plain lower-case host, then the path.
		i := 0
		for i < len(rest) && (rest[i] >= 'a' && rest[i] <= 'z' || rest[i] >= '0' && rest[i] <= '9' || rest[i] == '-' || rest[i] == '.') {
			i++
		}
		if i == 0 || i == len(rest) || rest[i] != '/' {
			return "", false
		}
		rest = rest[i:]
	}
	var prefix string
	if ref[0] == '/' {
		// The scheme, and for a path from the root the authority, of base.
		if base == nil || (base.Scheme != "http" && base.Scheme != "https") || base.User != nil || base.Opaque != "" || !plainHost(base) {
			return "", false
		}
		prefix = base.Scheme + ":"
		if !authority {
			prefix += "//" + base.Host
		}
	}
	if !plainPathQuery(rest) {
		return "", false
	}
	return prefix + ref, true
}

// plainHost reports whether u's host is already normalised and plain: a
// lower-case name without a port.
func plainHost(u *url.URL) bool {
	h := u.Host
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// plainURLByte marks the bytes a path or query holds as they are:
// letters, digits and "-_~!$&()*+,;=:@".
var plainURLByte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-_~!$&()*+,;=:@", byte(c)) >= 0
	}
	return t
}()

// plainPathQuery reports whether s, a path from the root with an optional
// query, is written as resolve would write it: letters, digits and
// "-._~!$&()*+,;=:@/" only ("?" too in the query, "%" only before two hex
// digits), and no "." or ".." segment.
func plainPathQuery(s string) bool {
	inQuery := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case plainURLByte[c]:
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
		case c == '?':
			inQuery = true
		case c == '/':
			if !inQuery && i+1 < len(s) && s[i+1] == '.' {
				// "/." or "/.." as a whole segment is a dot segment.
				j := i + 2
				if j < len(s) && s[j] == '.' {
					j++
				}
				if j == len(s) || s[j] == '/' || s[j] == '?' {
					return false
				}
			}
		case c == '.':
		default:
			return false
		}
	}
	return true
}

func (d *Document) resolve(base *url.URL, ref string) (*url.URL, bool) {
	ref = cleanRef(ref)
	if ref == "" || ref[0] == '#' {
		return nil, false
	}
	if s, ok := scheme(ref); ok && s != "http" && s != "https" {
		return nil, false
	}
	r, err := url.Parse(ref)
	if err != nil {
		return nil, false
	}
	u := r
	if base != nil {
		u = base.ResolveReference(r)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return nil, false
	}
	if !normalize(u) {
		return nil, false
	}
	u.Fragment, u.RawFragment = "", ""
	u.RawQuery = encodeQuery(u.RawQuery, d.queryEncoding())
	return u, true
}

// idnaProfile is the URL Standard's "domain to ASCII" (UTS #46,
// nontransitional, without the STD3 and hyphen rules browsers leave off).
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
	idna.CheckJoiners(true),
	idna.BidiRule(),
	idna.VerifyDNSLength(false),
)

// normalize writes u the way browsers serialise an http(s) URL, so that
// equal URLs are equal strings: the host in lower case (an international
// name in punycode), a default or empty port dropped, leading zeros of a
// port dropped, an empty path written "/". It reports false for a URL that
// cannot be fetched: no host, a host name that is not one (characters no
// host name holds, an international name browsers reject), or a port
// beyond 65535.
func normalize(u *url.URL) bool {
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return false
	}
	if strings.HasPrefix(u.Host, "[") { // IPv6, checked by url.Parse
		host = "[" + strings.ToLower(host) + "]"
	} else {
		if isASCII(host) {
			host = strings.ToLower(host)
		} else if a, err := idnaProfile.ToASCII(host); err == nil {
			host = a
		} else {
			return false
		}
		if !isHostName(host) {
			return false
		}
	}
	if port = strings.TrimLeft(port, "0"); port == "" && u.Port() != "" {
		port = "0"
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n > 65535 {
			return false
		}
		if (u.Scheme == "http" && n == 80) || (u.Scheme == "https" && n == 443) {
			port = ""
		}
	}
	u.Host = host
	if port != "" {
		u.Host += ":" + port
	}
	if u.Path == "" {
		u.Path, u.RawPath = "/", ""
	}
	return true
}

// isHostName reports whether s, in lower case, is made of what a host
// name (or an IPv4 address) holds: letters, digits and the unreserved and
// sub-delimiter characters of RFC 3986 ("-", ".", "_", "~", "!", "$", ...).
func isHostName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// isASCII says whether s holds only ASCII characters.
func isASCII[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// dropBreaks removes tabs and line breaks.
var dropBreaks = strings.NewReplacer("\t", "", "\n", "", "\r", "")

// cleanRef does what the URL Standard's parser does before Go's sees the
// string: strip surrounding spaces and controls, drop tabs and newlines,
// read '\' as '/' before the query, keep a stray '%' literal.
func cleanRef(ref string) string {
	ref = strings.TrimFunc(ref, func(r rune) bool { return r <= ' ' || unicode.IsSpace(r) })
	if strings.ContainsAny(ref, "\t\n\r") {
		ref = dropBreaks.Replace(ref)
	}
	end := strings.IndexAny(ref, "?#")
	if end < 0 {
		end = len(ref)
	}
	head, tail := ref[:end], ref[end:]
	if strings.Contains(head, `\`) {
		head = strings.ReplaceAll(head, `\`, "/")
	}
	head = fixPercent(head)
	if i := strings.IndexByte(tail, '#'); i >= 0 {
		tail = tail[:i] // the fragment is dropped anyway; Go would reject a bad '%' in it
	}
	return head + tail
}

// fixPercent writes a '%' that does not start an escape as "%25".
func fixPercent(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && !(i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2])) {
			b.WriteString("%25")
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f'
}

// scheme returns the lower-cased scheme of an absolute reference.
func scheme(ref string) (string, bool) {
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		switch {
		case isLetter(c):
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return strings.ToLower(ref[:i]), true
		default:
			return "", false
		}
	}
	return "", false
}

// queryEncoding is the encoding for non-ASCII in query strings: the page's,
// except that UTF-16 pages use UTF-8 (URL Standard).
func (d *Document) queryEncoding() encoding.Encoding {
	if d.Encoding == "" || d.Encoding == nameUTF8 || strings.HasPrefix(d.Encoding, "utf-16") {
		return nil
	}
	if d.enc != nil {
		return d.enc
	}
	enc, _, err := LookupEncoding(d.Encoding)
	if err != nil {
		return nil
	}
	return enc
}

// encodeQuery percent-encodes the bytes of the URL Standard's special-query
// percent-encode set (controls, space, double quote, apostrophe, '<', '>',
// non-ASCII), writing non-ASCII in enc (nil: UTF-8); characters enc cannot
// represent become "&#N;" first, as in browsers.
func encodeQuery(q string, enc encoding.Encoding) string {
	need := false
	for i := 0; i < len(q); i++ {
		if queryEscape(q[i]) {
			need = true
			break
		}
	}
	if !need {
		return q
	}
	raw := q
	if enc != nil {
		if s, err := encoding.HTMLEscapeUnsupported(enc.NewEncoder()).String(q); err == nil {
			raw = s
		}
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if queryEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func queryEscape(c byte) bool {
	return c <= ' ' || c >= 0x7F || c == '"' || c == '<' || c == '>' || c == '\'' || c == '#'
}
