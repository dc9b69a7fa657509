package parser

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzLabels are the --encoding values FuzzParse tries ("" detects).
var fuzzLabels = []string{"", "gbk", "big5", "shift_jis", "utf-8", "utf-16be", "windows-1252", "euc-kr", "iso-2022-jp"}

func addPageSeeds(f *testing.F, add func(body []byte)) {
	for _, p := range goldenPages {
		add(p.bytes(f))
	}
	if b, err := os.ReadFile(filepath.Join(conformanceDir, "tests1.dat")); err == nil {
		for _, sec := range strings.Split(string(b), "#data\n")[1:20] {
			data, _, _ := strings.Cut(sec, "\n#encoding\n")
			add([]byte(data))
		}
	}
	for _, s := range []string{
		"",
		"\xEF\xBB\xBF",
		"\xFF\xFE<\x00",
		"\xFE\xFF\x00<",
		"<meta charset=gbk><title>\x81</title>",
		"<title>\xC3\x28 \x00 \xED\xA0\x80</title>",
		"<base href='//x'><a href='\\\\evil'>",
		`<a href="%zz">`,
		`<meta http-equiv=content-type content='charset="big5'>`,
	} {
		add([]byte(s))
	}
}

// FuzzParse: Parse never panics, agrees with DetectEncoding, yields a valid
// UTF-8 title, and every URL it resolves is an absolute http(s) URL that
// parses again.
func FuzzParse(f *testing.F) {
	links := []*Selector{mustCompile(f, "//@href | //@src"), mustCompile(f, "css:a, img, base")}
	addPageSeeds(f, func(b []byte) { f.Add(b, "", uint8(0)) })
	f.Add([]byte("<p>\x81\x30\x81\x30</p>"), "text/html; charset=gb2312", uint8(0))
	f.Add([]byte("<p>x</p>"), "text/html; charset=\"utf-16", uint8(5))
	f.Fuzz(func(t *testing.T, body []byte, contentType string, label uint8) {
		forced := fuzzLabels[int(label)%len(fuzzLabels)]
		doc, err := Parse("http://example.com/dir/page.html", body, contentType, forced)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		name, _, err := DetectEncoding(body, contentType, forced)
		if err != nil || name != doc.Encoding {
			t.Fatalf("DetectEncoding = %q, %v; Parse used %q", name, err, doc.Encoding)
		}
		title := doc.Title()
		if !utf8.ValidString(title) {
			t.Fatalf("Title %q is not valid UTF-8", title)
		}
		if title != strings.TrimSpace(title) {
			t.Fatalf("Title %q is not trimmed", title)
		}
		for _, s := range links {
			for _, u := range s.URLs(doc) {
				p, err := url.Parse(u)
				if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Fragment != "" {
					t.Fatalf("resolved %q: %v", u, err)
				}
				if !utf8.ValidString(u) || strings.ContainsAny(u, " \t\n\"<>") {
					t.Fatalf("resolved %q holds characters it should not", u)
				}
			}
		}
	})
}

// FuzzPrescan: the prescan never panics and names only encodings
// LookupEncoding knows; the <meta> step agrees with it on short input.
func FuzzPrescan(f *testing.F) {
	addPageSeeds(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		got := Prescan(body)
		if got != "" {
			if _, name, err := LookupEncoding(got); err != nil || name != got {
				t.Fatalf("Prescan = %q, not a canonical name (%q, %v)", got, name, err)
			}
		}
		if len(body) <= prescanLimit && metaScan(body) != got {
			t.Fatalf("metaScan = %q, Prescan = %q", metaScan(body), got)
		}
	})
}
