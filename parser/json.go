package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/antchfx/jsonquery"
	"github.com/antchfx/xpath"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// jsonNodeCost is about what one JSON value costs in memory once parsed:
// the decoded value, the jsonquery node of it (and of its text for a
// scalar) and the copies of its text. It turns the memory a page may use
// into a number of values.
const jsonNodeCost = 256

// jsonMemoryFactor bounds the memory of the JSON trees of one page to
// about this many times the page's size (plus jsonMinBudget): a document
// holding more values than fit is not parsed. A tree costs some 200 bytes
// a value, so API answers of about 10 bytes a value (short keys, small
// numbers) fit; what runs over is a body of tiny values ("[0,0,0,...]").
// BenchmarkJSONAnswer measures it.
const jsonMemoryFactor = 32

// jsonMinBudget is the memory every page may use for JSON, however small.
const jsonMinBudget = 4 << 20

// errJSONTooDense is a JSON document with more values than its page's
// memory budget allows.
var errJSONTooDense = errors.New("too many values for its size")

// jsonBudget is the number of JSON values a page of size bytes may parse.
func jsonBudget(size int) int {
	return (size*jsonMemoryFactor + jsonMinBudget) / jsonNodeCost
}

// isJSONType reports whether the media type of a Content-Type header is
// JSON: application/json, text/json or any type ending in "+json"
// (application/ld+json, application/vnd.api+json).
func isJSONType(contentType string) bool {
	if !strings.Contains(strings.ToLower(contentType), "json") {
		return false // most answers: HTML
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(strings.ToLower(contentType), ";")
		mt = strings.TrimSpace(mt)
	}
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// jsonSpace is the white space JSON allows around values.
const jsonSpace = " \t\r\n"

// looksJSON reports whether text starts, after white space, with '{' or
// '[': a body worth trying as JSON whatever its Content-Type.
func looksJSON(text []byte) bool {
	t := bytes.TrimLeft(text, jsonSpace)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// parseJSON parses text, one JSON value and nothing but white space after
// it, into a jsonquery tree, if it holds at most budget values.
func parseJSON(text []byte, budget int) (*jsonquery.Node, error) {
	if n := countJSONValues(text); n > budget {
		return nil, fmt.Errorf("%w: %d values in %d bytes", errJSONTooDense, n, len(text))
	}
	root, err := jsonquery.Parse(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("parse json: %w", err)
	}
	return root, nil
}

// countJSONValues counts, without decoding, the strings (keys included),
// objects, arrays and other scalars of a JSON text: an upper bound of the
// values parsing it makes. Not JSON gives some count; the parser rejects
// it afterwards.
func countJSONValues(text []byte) int {
	n := 0
	inLiteral := false // within a number, true, false or null
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case '"':
			n++
			inLiteral = false
			for i++; i < len(text) && text[i] != '"'; i++ {
				if text[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			n++
			inLiteral = false
		case ' ', '\t', '\r', '\n', ',', ':', '}', ']':
			inLiteral = false
		default:
			if !inLiteral {
				n++
				inLiteral = true
			}
		}
	}
	return n
}

// parseAnswer makes doc a JSON answer if its text is JSON: when the
// Content-Type says so, or when the body starts like a JSON object or
// array and parses as one. It reports whether it did; a body declared
// JSON that is not leaves a note and is read as HTML.
func (doc *Document) parseAnswer(text []byte, contentType string) bool {
	declared := isJSONType(contentType)
	if !declared && !looksJSON(text) {
		return false
	}
	root, err := parseJSON(text, jsonBudget(len(text)))
	if err != nil {
		if declared || errors.Is(err, errJSONTooDense) {
			doc.notes = append(doc.notes, fmt.Sprintf("answer is not read as JSON (%v); read as HTML", err))
		}
		return false
	}
	doc.JSON = root
	return true
}

// scripts holds the JSON documents embedded in a page's <script>
// elements, parsed on first use.
type scripts struct {
	once  sync.Once
	docs  []*jsonquery.Node
	notes []string
}

// Embedded returns the JSON documents embedded in the page's <script>
// elements, in document order: the text of each application/json,
// application/ld+json (any "+json") or text/json script, and the value
// assigned by "window.NAME = ", `window["NAME"] = ` or "var", "let" or
// "const NAME = " to a JSON object or array in other scripts, read up to
// the end of that value. A script that is not JSON is skipped with a note
// (see Notes). A JSON answer has none.
func (doc *Document) Embedded() []*jsonquery.Node {
	doc.scripts.once.Do(doc.parseScripts)
	return doc.scripts.docs
}

func (doc *Document) parseScripts() {
	if doc.Root == nil {
		return
	}
	s := &doc.scripts
	budget := jsonBudget(doc.size)
	pos := 0
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.DataAtom == atom.Script && n.Namespace == "" {
			pos++
			s.docs = append(s.docs, scriptJSON(n, pos, &budget, &s.notes)...)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc.Root)
}

// scriptJSON parses the JSON of the pos-th script n, taking the values it
// holds off budget and adding a note for each piece that is not JSON.
func scriptJSON(n *html.Node, pos int, budget *int, notes *[]string) []*jsonquery.Node {
	name := fmt.Sprintf("script %d", pos)
	if id, ok := attr(n, "id"); ok && strings.TrimSpace(id) != "" {
		name += fmt.Sprintf(" (id %q)", strings.TrimSpace(id))
	}
	text := []byte(textContent(n))
	typ, _ := attr(n, "type")
	switch {
	case isJSONType(typ):
		if len(bytes.Trim(text, jsonSpace)) == 0 {
			return nil
		}
		root, err := takeJSON(text, budget)
		if err != nil {
			*notes = append(*notes, fmt.Sprintf("%s skipped: %v", name, err))
			return nil
		}
		return []*jsonquery.Node{root}
	case isScriptType(typ):
		return assignedJSON(text, name, budget, notes)
	}
	return nil
}

// takeJSON parses text if its values fit in budget, and takes them off.
func takeJSON(text []byte, budget *int) (*jsonquery.Node, error) {
	root, err := parseJSON(text, *budget)
	if err == nil {
		*budget -= countJSONValues(text)
	}
	return root, err
}

// isScriptType reports whether a script's type attribute makes it
// JavaScript: none, a JavaScript MIME type, or "module".
func isScriptType(typ string) bool {
	t := strings.ToLower(strings.TrimSpace(typ))
	t, _, _ = strings.Cut(t, ";")
	t = strings.TrimSpace(t)
	return t == "" || t == "module" || strings.Contains(t, "javascript") || strings.Contains(t, "ecmascript")
}

// assignment finds "window.NAME =", `window["NAME"] =` and "var|let|const
// NAME =" followed by the start of an object or array.
var assignment = regexp.MustCompile(`(?:\bwindow\s*(?:\.\s*([A-Za-z_$][\w$]*)|\[\s*["']([^"'\]]+)["']\s*\])|\b(?:var|let|const)\s+([A-Za-z_$][\w$]*))\s*=\s*[\[{]`)

// assignedJSON parses the JSON values assigned in the script text,
// reading each one up to where its JSON ends.
func assignedJSON(text []byte, name string, budget *int, notes *[]string) []*jsonquery.Node {
	var out []*jsonquery.Node
	for rest := text; ; {
		m := assignment.FindSubmatchIndex(rest)
		if m == nil {
			return out
		}
		start := m[1] - 1 // the '{' or '['
		variable := string(firstGroup(rest, m))
		raw, next, err := readValue(rest[start:])
		rest = rest[start+next:]
		if err == nil {
			var root *jsonquery.Node
			if root, err = takeJSON(raw, budget); err == nil {
				out = append(out, root)
				continue
			}
		}
		*notes = append(*notes, fmt.Sprintf("%s: %s skipped: %v", name, variable, err))
	}
}

// readValue reads the JSON value at the start of b, ignoring what follows
// it. next is where to look on for more: past the value, or, when b does
// not start with JSON, at the byte that is not (past the first byte at
// least), or at the end of b when the value does not end. So the script is
// read once however many assignments fail.
func readValue(b []byte) (raw json.RawMessage, next int, err error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err = dec.Decode(&raw); err == nil {
		return raw, int(dec.InputOffset()), nil
	}
	next = len(b)
	var syn *json.SyntaxError
	if errors.As(err, &syn) && syn.Offset > 0 && syn.Offset <= int64(len(b)) {
		next = max(1, int(syn.Offset)-1)
	}
	return nil, next, fmt.Errorf("not JSON: %w", err)
}

// firstGroup is the first submatch of m that matched.
func firstGroup(b []byte, m []int) []byte {
	for i := 2; i+1 < len(m); i += 2 {
		if m[i] >= 0 {
			return b[m[i]:m[i+1]]
		}
	}
	return nil
}

// scriptView is doc as its scripts resolve URLs: against the same base,
// with the query in UTF-8.
func (doc *Document) scriptView() *Document {
	return &Document{URL: doc.URL, Base: doc.Base, Encoding: nameUTF8}
}

// jsonValues runs the XPath selector over the JSON answer, or over every
// JSON document embedded in an HTML page, one after the other. Within a
// document the values come in the XPath engine's order: document order
// for a path (jsonquery keeps arrays in order and sorts an object's keys),
// the left side first for a union.
func (s *Selector) jsonValues(doc *Document, text bool, limit int) []string {
	roots := doc.Embedded()
	if doc.JSON != nil {
		roots = []*jsonquery.Node{doc.JSON}
	}
	var out []string
	for _, root := range roots {
		s.evaluate(jsonquery.CreateXPathNavigator(root), func(r any) {
			out = appendJSON(out, r, text, limit)
		})
		if len(out) == limit {
			break
		}
	}
	return out
}

// appendJSON adds to out the values of an XPath result over JSON, up to
// limit values in all (< 0: no limit). For links only strings count: a
// number is no URL. For text, numbers and booleans are written as JSON
// writes them, and an object or array gives the text of its values.
func appendJSON(out []string, r any, text bool, limit int) []string {
	it, ok := r.(*xpath.NodeIterator)
	if !ok {
		if v, ok := scalarValue(r, text); ok {
			out = append(out, v)
		}
		return out
	}
	for len(out) != limit && it.MoveNext() {
		nav, ok := it.Current().(*jsonquery.NodeNavigator)
		if !ok || nav.NodeType() == xpath.RootNode {
			continue
		}
		if v := clean(jsonString(nav.Current(), text), text); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// jsonString is the value of a JSON node: its string, or for text also
// its number or boolean, or the text of its values.
func jsonString(n *jsonquery.Node, text bool) string {
	switch v := n.Value().(type) {
	case string:
		return v
	case float64:
		if text && !math.IsNaN(v) {
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	case bool:
		if text {
			return strconv.FormatBool(v)
		}
	case map[string]any, []any:
		if text {
			return n.InnerText()
		}
	}
	return ""
}

// Notes returns what a crawl run verbosely tells about doc and the given
// selectors (nil ones are left out), one line each without the page's URL:
// a body declared JSON that is not, a css: selector on a JSON answer
// (it matches nothing there), embedded JSON that json: selectors skip.
func Notes(doc *Document, sels ...*Selector) []string {
	out := append([]string(nil), doc.notes...)
	var css, embedded bool
	for _, s := range sels {
		switch {
		case s == nil:
		case s.css != nil && doc.JSON != nil && !css:
			css = true
			out = append(out, fmt.Sprintf("answer is JSON: css selectors such as %q match nothing on it; use XPath", s.expr))
		case s.json && doc.JSON == nil:
			embedded = true
		}
	}
	if embedded {
		doc.Embedded()
		out = append(out, doc.scripts.notes...)
	}
	return out
}
