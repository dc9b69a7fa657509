package parser

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"github.com/antchfx/htmlquery"
	"github.com/antchfx/xpath"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Selector is a compiled --links, --images, --next or --title expression.
// It is safe for concurrent use.
type Selector struct {
	expr string

	// CSS
	css  cascadia.Selector
	attr string // from a final "@attr"; "" for the element's href/src

	// XPath: a compiled *xpath.Expr keeps evaluation state, so each
	// goroutine takes its own from the pool.
	xpath *sync.Pool
	json  bool           // "json:": over the JSON embedded in an HTML page's scripts
	net   *regexp.Regexp // "net:REGEX": over Document.Requests
}

// cssAttr matches a final "@attr" of a CSS expression.
var cssAttr = regexp.MustCompile(`@([A-Za-z_:][-A-Za-z0-9_:.]*)\s*$`)

// Compile compiles a selector expression: XPath 1.0 unless expr starts with
// "css:". "css:SEL" takes the href (a, area, link, base), src (img, video,
// audio, source, iframe, frame, embed, script, track, input) or data
// (object) of the matching elements (other elements: href, else src) or,
// with a final "@attr" ("css:img.lazy@data-src"), that attribute. An XPath
// selecting attributes ("//img/@src") yields their values; one selecting
// elements yields href/src like CSS; one selecting text yields the text; one
// computing a string, number or boolean ("string(//h1)") yields that value.
// A selected srcset attribute (srcset, data-srcset, data-lazy-srcset,
// imagesrcset: "//img/@srcset", "css:img@data-srcset") yields the URL of its
// largest candidate, by "w" descriptor, else by "x" density. An <img> or
// <source> element whose src is missing, empty or a data: placeholder
// stands for its lazy-loading address (data-src, data-original,
// data-lazy-src..., else the largest of a data-srcset), else its srcset.
// "json:XPATH" runs XPATH over every JSON document embedded in an HTML
// page (see Document.Embedded). On a JSON answer an XPath, with or without
// "json:", runs over the JSON and yields the strings it selects (for Text,
// numbers, booleans and the text of objects too); a CSS selector matches
// nothing there. "net:REGEX" selects the URLs of Document.Requests (the
// requests a browser saw the page make) that match the Go regular
// expression REGEX. An invalid expression is an error naming it.
func Compile(expr string) (*Selector, error) {
	src := strings.TrimSpace(expr)
	if src == "" {
		return nil, errors.New("compile selector: empty expression")
	}
	if rest, ok := strings.CutPrefix(src, "net:"); ok {
		return compileNet(expr, rest)
	}
	s := &Selector{expr: expr}
	if rest, ok := strings.CutPrefix(src, "css:"); ok {
		sel := strings.TrimSpace(rest)
		if m := cssAttr.FindStringSubmatchIndex(sel); m != nil {
			s.attr = strings.ToLower(sel[m[2]:m[3]])
			sel = strings.TrimSpace(sel[:m[0]])
		}
		if sel == "" {
			return nil, fmt.Errorf("compile selector %q: empty css selector", expr)
		}
		css, err := cascadia.Compile(sel)
		if err != nil {
			return nil, fmt.Errorf("compile selector %q: %w", expr, err)
		}
		s.css = css
		return s, nil
	}
	if rest, ok := strings.CutPrefix(src, "json:"); ok {
		s.json, src = true, strings.TrimSpace(rest)
		if src == "" {
			return nil, fmt.Errorf("compile selector %q: empty xpath after json:", expr)
		}
	}
	first, err := xpath.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("compile selector %q: %w", expr, err)
	}
	s.xpath = &sync.Pool{New: func() any {
		e, err := xpath.Compile(src)
		if err != nil {
			return nil // cannot happen: src compiled once already
		}
		return e
	}}
	s.xpath.Put(first)
	return s, nil
}

// String returns the expression as it was given to Compile.
func (s *Selector) String() string { return s.expr }

// Extract returns the values the selector picks from doc, in document order,
// trimmed; empty values and elements without the wanted attribute are left
// out.
func (s *Selector) Extract(doc *Document) []string {
	return s.values(doc, false, -1)
}

// URLs is Extract, each value resolved with doc.Resolve, invalid ones
// dropped and duplicates removed (the first occurrence keeps its place).
// URLs taken from JSON, which scripts use, have their query written in
// UTF-8 whatever the page's encoding, as scripts write them.
func (s *Selector) URLs(doc *Document) []string {
	var out []string
	seen := make(map[string]bool)
	res := doc
	if doc != nil && (s.json || doc.JSON != nil) {
		res = doc.scriptView()
	}
	for _, v := range s.Extract(doc) {
		u, ok := res.Resolve(v)
		if !ok || seen[u] {
			continue
		}
		seen[u] = true
		out = append(out, u)
	}
	return out
}

// Text returns the text of the first match with any (for --title): an
// element's text content, an attribute's value, a text node's text, or the
// string an XPath computes, white space collapsed and trimmed. A CSS
// expression with "@attr" gives that attribute. "" if nothing matches.
func (s *Selector) Text(doc *Document) string {
	v := s.values(doc, true, 1)
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// values runs the selector; text picks text content for elements instead of
// their link attribute; limit < 0 means all.
func (s *Selector) values(doc *Document, text bool, limit int) []string {
	if doc == nil {
		return nil
	}
	if s.net != nil {
		return s.netValues(doc, limit)
	}
	if s.json || doc.JSON != nil && s.css == nil {
		return s.jsonValues(doc, text, limit)
	}
	if doc.Root == nil {
		return nil
	}
	if s.css != nil {
		return s.cssValues(doc, text, limit)
	}
	return s.xpathValues(doc, text, limit)
}

func (s *Selector) cssValues(doc *Document, text bool, limit int) []string {
	var out []string
	for _, n := range goquery.NewDocumentFromNode(doc.Root).FindMatcher(s.css).Nodes {
		var v string
		switch {
		case s.attr != "":
			v, _ = attr(n, s.attr)
			if !text && isSrcsetAttr(s.attr) {
				v = largestCandidate(v)
			}
		case text:
			v = textContent(n)
		default:
			v, _ = linkAttr(n)
		}
		if v = clean(v, text); v != "" {
			out = append(out, v)
			if len(out) == limit {
				break
			}
		}
	}
	return out
}

// hit is one XPath result with its place in the document.
type hit struct {
	node *html.Node
	attr int // index of the attribute, -1 for the node itself
	val  string
}

// evaluate runs the XPath expression over nav and hands its result to use.
// A runtime failure of the XPath engine on some page (or in use) is no
// result, not a crashed stage; the expression is then not reused.
func (s *Selector) evaluate(nav xpath.NodeNavigator, use func(any)) {
	e, _ := s.xpath.Get().(*xpath.Expr)
	if e == nil {
		return
	}
	defer func() {
		if recover() == nil {
			s.xpath.Put(e)
		}
	}()
	use(e.Evaluate(nav))
}

// scalarValue is the value of an XPath result that is a string, number or
// boolean; false for a NaN, an empty string or a node set.
func scalarValue(r any, text bool) (string, bool) {
	var v string
	switch r := r.(type) {
	case string:
		v = clean(r, text)
	case float64:
		if !math.IsNaN(r) {
			v = strconv.FormatFloat(r, 'f', -1, 64)
		}
	case bool:
		v = strconv.FormatBool(r)
	}
	return v, v != ""
}

func (s *Selector) xpathValues(doc *Document, text bool, limit int) (out []string) {
	s.evaluate(htmlquery.CreateXPathNavigator(doc.Root), func(r any) {
		out = htmlResult(doc, r, text, limit)
	})
	return out
}

// htmlResult is the values of an XPath result over an HTML tree.
func htmlResult(doc *Document, r any, text bool, limit int) (out []string) {
	switch r := r.(type) {
	case *xpath.NodeIterator:
		var hits []hit
		for r.MoveNext() {
			nav, ok := r.Current().(*htmlquery.NodeNavigator)
			if !ok {
				continue
			}
			n := nav.Current()
			h := hit{node: n, attr: -1}
			switch nav.NodeType() {
			case xpath.AttributeNode:
				h.val = nav.Value()
				h.attr = attrIndex(n, nav.LocalName())
				if !text && isSrcsetAttr(nav.LocalName()) {
					h.val = largestCandidate(h.val)
				}
			case xpath.ElementNode:
				if text {
					h.val = textContent(n)
				} else {
					h.val, _ = linkAttr(n)
				}
			case xpath.TextNode:
				h.val = n.Data
			case xpath.RootNode:
				if text {
					h.val = textContent(n)
				}
			default:
				continue
			}
			hits = append(hits, h)
		}
		inDocumentOrder(doc.Root, hits)
		for _, h := range hits {
			if v := clean(h.val, text); v != "" {
				out = append(out, v)
				if len(out) == limit {
					break
				}
			}
		}
	default:
		if v, ok := scalarValue(r, text); ok {
			out = append(out, v)
		}
	}
	return out
}

func clean(v string, text bool) string {
	if text {
		return collapse(v)
	}
	return strings.TrimSpace(v)
}

func attrIndex(n *html.Node, key string) int {
	for i, a := range n.Attr {
		if a.Key == key {
			return i
		}
	}
	return len(n.Attr)
}

// inDocumentOrder sorts hits into document order unless they already are in
// it (the XPath engine does not promise that for unions). Checking the order
// costs a walk up from each pair of neighbours; only hits out of order pay
// for numbering the whole tree.
func inDocumentOrder(root *html.Node, hits []hit) {
	if len(hits) < 2 {
		return
	}
	sorted := true
	for k := 1; k < len(hits); k++ {
		a, b := hits[k-1], hits[k]
		if a.node == b.node {
			if b.attr < a.attr {
				sorted = false
				break
			}
			continue
		}
		if !precedes(a.node, b.node) {
			sorted = false
			break
		}
	}
	if sorted {
		return
	}
	pos := make(map[*html.Node]int)
	i := 0
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		pos[n] = i
		i++
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	less := func(a, b hit) bool {
		if pa, pb := pos[a.node], pos[b.node]; pa != pb {
			return pa < pb
		}
		return a.attr < b.attr
	}
	sort.SliceStable(hits, func(a, b int) bool { return less(hits[a], hits[b]) })
}

// precedes reports whether a comes before b in document order (a != b): an
// ancestor precedes its descendants, and of two nodes in different
// branches the one whose branch comes first among the siblings where the
// branches meet. Nodes of different trees are reported as not in order.
func precedes(a, b *html.Node) bool {
	da, db := depth(a), depth(b)
	for db > da { // b below a: a precedes b if it is b's ancestor
		if b.Parent == a {
			return true
		}
		b, db = b.Parent, db-1
	}
	for da > db { // a below b: b is a's ancestor, or they branch higher up
		if a.Parent == b {
			return false
		}
		a, da = a.Parent, da-1
	}
	if a == b {
		return false
	}
	for a.Parent != b.Parent {
		a, b = a.Parent, b.Parent
		if a == nil || b == nil {
			return false
		}
	}
	for n := a.NextSibling; n != nil; n = n.NextSibling {
		if n == b {
			return true
		}
	}
	return false
}

func depth(n *html.Node) int {
	d := 0
	for ; n.Parent != nil; n = n.Parent {
		d++
	}
	return d
}

// linkAttr is the value an element stands for as a link: href of a, area,
// link and base; src of media, frames and scripts; data of object; for other
// elements href, else src.
func linkAttr(n *html.Node) (string, bool) {
	if n.Type != html.ElementNode {
		return "", false
	}
	switch n.DataAtom {
	case atom.A, atom.Area, atom.Link, atom.Base:
		return attr(n, "href")
	case atom.Img, atom.Source:
		// <source> in <picture>, and some <img>, have only a srcset; a
		// lazy image has a placeholder until a script sets its src.
		if v, ok := attr(n, "src"); ok && realSrc(v) {
			return v, true
		}
		if v, ok := lazySrc(n); ok {
			return v, true
		}
		if v, ok := attr(n, "srcset"); ok {
			return largestCandidate(v), true
		}
		return attr(n, "src")
	case atom.Video, atom.Audio, atom.Iframe, atom.Frame,
		atom.Embed, atom.Script, atom.Track, atom.Input:
		return attr(n, "src")
	case atom.Object:
		return attr(n, "data")
	}
	if v, ok := attr(n, "href"); ok {
		return v, true
	}
	return attr(n, "src")
}
