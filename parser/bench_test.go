package parser

import (
	"bytes"
	"testing"
)

// benchPage is a GBK listing page of about 100 KB without any declaration,
// the slowest path through detection.
func benchPage(b *testing.B) []byte {
	var buf bytes.Buffer
	buf.WriteString("<html><head><title>美女图片 第1页</title></head><body><ul>")
	for buf.Len() < 100<<10 {
		buf.WriteString(`<li><a href="/d/1.html"><img src="/t/1.jpg" alt="性感美女模特高清套图"></a>` + textGBK + "</li>\n")
	}
	buf.WriteString("</ul></body></html>")
	return encode(b, "gbk", buf.String())
}

func BenchmarkParseGuess(b *testing.B) {
	body := benchPage(b)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse("http://example.com/", body, "", ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDeclared(b *testing.B) {
	body := benchPage(b)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse("http://example.com/", body, "text/html; charset=gbk", ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkURLs(b *testing.B) {
	doc, err := Parse("http://example.com/", benchPage(b), "", "")
	if err != nil {
		b.Fatal(err)
	}
	for _, expr := range []string{"//li/a/img/@src", "css:li a img"} {
		s := mustCompile(b, expr)
		b.Run(expr, func(b *testing.B) {
			for b.Loop() {
				s.URLs(doc)
			}
		})
	}
}
