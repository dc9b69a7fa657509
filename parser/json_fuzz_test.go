package parser

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/antchfx/jsonquery"
)

// FuzzEmbeddedJSON: a <script type="application/json"> gives one document
// when its text is JSON, else a note (nothing when it is empty); a JSON
// object or array assigned to window.NAME is read whole whatever code
// follows it; json: selectors never panic and give trimmed values and
// absolute URLs.
func FuzzEmbeddedJSON(f *testing.F) {
	for _, s := range []string{
		`{"props":{"pageProps":{"photos":[{"url":"/1.jpg"}]}}}`,
		`[1,[2,[3]],{"a":"<\/script>"}]`,
		`{"u":"\u00e9\ud83d\ude00","n":-1.5e3,"t":true,"z":null}`,
		`{"a":1}; window.b = {"c":[2]}; var d = [3];`,
		`{a: 1}`,
		`{"unterminated": [`,
		" \n ",
		`"just a string"`,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	sel := mustCompile(f, "json://*")
	f.Fuzz(func(t *testing.T, text []byte, typed bool) {
		low := bytes.ToLower(text)
		if len(text) > 8<<10 || bytes.Contains(low, []byte("</script")) || bytes.Contains(low, []byte("<!--")) || bytes.IndexByte(text, 0) >= 0 {
			return // the HTML tokenizer ends or rewrites the script's text there
		}
		if !utf8.Valid(text) {
			return // decoding the page replaces bad bytes, so its JSON is not text's
		}
		page := "<script>var a = 1; window.__S__ = " + string(text) + ";\nmore()</script>"
		if typed {
			page = `<script type="application/json">` + string(text) + "</script>"
		}
		doc, err := Parse("http://example.com/g/1.html", []byte(page), "text/html", "utf-8")
		if err != nil {
			t.Fatal(err)
		}
		docs, notes := doc.Embedded(), Notes(doc, sel)
		want, wantErr := jsonquery.Parse(bytes.NewReader(text))
		switch trimmed := bytes.Trim(text, jsonSpace); {
		case typed && len(trimmed) == 0:
			if len(docs)+len(notes) != 0 {
				t.Fatalf("empty script: %d documents, notes %q", len(docs), notes)
			}
		case typed && wantErr == nil:
			if len(docs) != 1 || len(notes) != 0 || docs[0].OutputXML() != want.OutputXML() {
				t.Fatalf("JSON script: %d documents, notes %q", len(docs), notes)
			}
		case typed:
			if len(docs) != 0 || len(notes) != 1 {
				t.Fatalf("bad JSON script: %d documents, notes %q", len(docs), notes)
			}
		case wantErr == nil && (text[0] == '{' || text[0] == '['):
			if len(docs) == 0 || docs[0].OutputXML() != want.OutputXML() {
				t.Fatalf("assigned JSON %q not read whole (%d documents, notes %q)", text, len(docs), notes)
			}
		}
		for _, v := range sel.Extract(doc) {
			if v == "" || v != strings.TrimSpace(v) {
				t.Fatalf("value %q is empty or untrimmed", v)
			}
		}
		for _, u := range sel.URLs(doc) {
			checkResolved(t, u)
		}
	})
}

// FuzzJSONAnswer: any body served as JSON is read as JSON or as HTML
// without a panic, and XPath over it gives trimmed values, absolute URLs
// and valid UTF-8 text.
func FuzzJSONAnswer(f *testing.F) {
	for _, s := range []string{
		`{"data":[{"url":"/p/1"},{"url":2}],"post":{"title":"t","images":[{"src":"a.jpg"}]}}`,
		`[["/a"],[{"u":"//x.example/b"}]]`,
		`{"u":"\u00e9\\\"","n":1e400}`,
		`[1,2,3`,
		`<html><a href="/x">`,
	} {
		f.Add([]byte(s), "application/json")
		f.Add([]byte(s), "")
	}
	sels := []*Selector{mustCompile(f, "//*"), mustCompile(f, "json://u | //src"), mustCompile(f, "css:a")}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		if len(body) > 16<<10 {
			return
		}
		doc, err := Parse("http://example.com/api/v1?page=1", body, contentType, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sels {
			for _, v := range s.Extract(doc) {
				if v == "" || v != strings.TrimSpace(v) {
					t.Fatalf("%s: value %q is empty or untrimmed", s, v)
				}
			}
			for _, u := range s.URLs(doc) {
				checkResolved(t, u)
			}
			if v := s.Text(doc); !utf8.ValidString(v) || v != strings.TrimSpace(v) {
				t.Fatalf("%s: Text = %q", s, v)
			}
		}
	})
}
