package parser

import (
	"reflect"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	utf8Doc, err := Parse("http://www.example.com/dir/sub/page.html?x=1#frag", []byte("<title>t</title>"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	gbkDoc, err := Parse("https://www.example.cn/a/b.html", encode(t, "gbk", "<title>美女图片</title>"), "text/html; charset=gbk", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		doc    *Document
		ref    string
		want   string
		wantOK bool
	}{
		{"absolute", utf8Doc, "http://other.org/x.jpg", "http://other.org/x.jpg", true},
		{"absolute https upper-case scheme", utf8Doc, "HTTPS://other.org/x.jpg", "https://other.org/x.jpg", true},
		{"root-relative", utf8Doc, "/img/a.jpg", "http://www.example.com/img/a.jpg", true},
		{"relative", utf8Doc, "a.jpg", "http://www.example.com/dir/sub/a.jpg", true},
		{"dot", utf8Doc, "./a.jpg", "http://www.example.com/dir/sub/a.jpg", true},
		{"parent", utf8Doc, "../a.jpg", "http://www.example.com/dir/a.jpg", true},
		{"parent above root", utf8Doc, "../../../../a.jpg", "http://www.example.com/a.jpg", true},
		{"protocol-relative", utf8Doc, "//cdn.example.net/a.jpg", "http://cdn.example.net/a.jpg", true},
		{"protocol-relative on https", gbkDoc, "//cdn.example.net/a.jpg", "https://cdn.example.net/a.jpg", true},
		{"query only", utf8Doc, "?page=2", "http://www.example.com/dir/sub/page.html?page=2", true},
		{"fragment dropped", utf8Doc, "a.html#top", "http://www.example.com/dir/sub/a.html", true},
		{"surrounding white space", utf8Doc, " \n\t a.jpg \u3000", "http://www.example.com/dir/sub/a.jpg", true},
		{"newline inside", utf8Doc, "/img/\na.jpg", "http://www.example.com/img/a.jpg", true},
		{"space inside", utf8Doc, "/img/a b.jpg?q=a b", "http://www.example.com/img/a%20b.jpg?q=a%20b", true},
		{"backslashes", utf8Doc, `\img\a.jpg?p=\x`, `http://www.example.com/img/a.jpg?p=\x`, true},
		{"stray percent", utf8Doc, "/img/100%.jpg", "http://www.example.com/img/100%25.jpg", true},
		{"escapes kept", utf8Doc, "/img/a%20b.jpg?q=%E4%B8%AD", "http://www.example.com/img/a%20b.jpg?q=%E4%B8%AD", true},
		{"non-ascii path utf-8", utf8Doc, "/图片/美女.jpg", "http://www.example.com/%E5%9B%BE%E7%89%87/%E7%BE%8E%E5%A5%B3.jpg", true},
		{"non-ascii query utf-8 page", utf8Doc, "/s?q=美女", "http://www.example.com/s?q=%E7%BE%8E%E5%A5%B3", true},
		{"non-ascii path gbk page", gbkDoc, "/图片/美女.jpg", "https://www.example.cn/%E5%9B%BE%E7%89%87/%E7%BE%8E%E5%A5%B3.jpg", true},
		{"non-ascii query gbk page", gbkDoc, "/s?q=美女&n=镕", "https://www.example.cn/s?q=%C3%C0%C5%AE&n=%E9F", true},
		{"query quotes and brackets", utf8Doc, `/s?a="<x>"&b='y'`, "http://www.example.com/s?a=%22%3Cx%3E%22&b=%27y%27", true},
		{"host case", utf8Doc, "HTTP://WWW.Example.COM/A.jpg", "http://www.example.com/A.jpg", true},
		{"default port http", utf8Doc, "http://www.example.com:80/a.jpg", "http://www.example.com/a.jpg", true},
		{"default port https", utf8Doc, "https://www.example.com:443/a.jpg", "https://www.example.com/a.jpg", true},
		{"other scheme's default port kept", utf8Doc, "https://www.example.com:80/a.jpg", "https://www.example.com:80/a.jpg", true},
		{"port leading zeros", utf8Doc, "http://www.example.com:0080/a.jpg", "http://www.example.com/a.jpg", true},
		{"port kept", utf8Doc, "http://www.example.com:8080/a.jpg", "http://www.example.com:8080/a.jpg", true},
		{"empty port", utf8Doc, "http://www.example.com:/a.jpg", "http://www.example.com/a.jpg", true},
		{"port out of range", utf8Doc, "http://www.example.com:65536/a.jpg", "", false},
		{"empty path", utf8Doc, "http://WWW.example.com", "http://www.example.com/", true},
		{"empty path with query", utf8Doc, "http://www.example.com?q=1", "http://www.example.com/?q=1", true},
		{"ipv6", utf8Doc, "http://[::1]:80/a.jpg", "http://[::1]/a.jpg", true},
		{"international host", utf8Doc, "http://例子.中国/图.jpg", "http://xn--fsqu00a.xn--fiqs8s/%E5%9B%BE.jpg", true},
		{"international host upper case", utf8Doc, "http://BÜCHER.example/", "http://xn--bcher-kva.example/", true},
		{"relative keeps the page's port", gbkDoc, "/a.jpg", "https://www.example.cn/a.jpg", true},
		{"quote in host (fuzz)", utf8Doc, "http://000\"0000000000000", "", false},
		{"bracket in host", utf8Doc, "http://a<b.example/", "", false},
		{"colons for a host (fuzz)", utf8Doc, "http://::", "", false},
		{"underscore in host", utf8Doc, "http://my_host.Example.com/", "http://my_host.example.com/", true},
		{"international host browsers reject", utf8Doc, "http://a\u00adb\u200d.example/", "", false},
		{"empty", utf8Doc, "", "", false},
		{"blank", utf8Doc, "   ", "", false},
		{"fragment only", utf8Doc, "#top", "", false},
		{"javascript", utf8Doc, "javascript:void(0)", "", false},
		{"javascript upper-case with space", utf8Doc, "  JavaScript:show(1)", "", false},
		{"mailto", utf8Doc, "mailto:a@example.com", "", false},
		{"data", utf8Doc, "data:image/png;base64,iVBOR", "", false},
		{"tel", utf8Doc, "tel:+8610123", "", false},
		{"ftp", utf8Doc, "ftp://example.com/a.jpg", "", false},
		{"bad host", utf8Doc, "http://exa mple.com/", "", false},
		{"no host", utf8Doc, "http:///a.jpg", "", false},
		{"opaque http", utf8Doc, "http:a.jpg", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.doc.Resolve(tt.ref)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Resolve(%q) = %q, %v; want %q, %v", tt.ref, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestBase(t *testing.T) {
	tests := []struct {
		name, head, ref, wantBase, want string
	}{
		{"none", "", "a.jpg", "http://example.com/dir/page.html", "http://example.com/dir/a.jpg"},
		{"absolute", `<base href="http://img.example.org/g/">`, "a.jpg", "http://img.example.org/g/", "http://img.example.org/g/a.jpg"},
		{"relative", `<base href="../other/">`, "a.jpg", "http://example.com/other/", "http://example.com/other/a.jpg"},
		{"protocol-relative", `<base href="//cdn.example.net/x/">`, "/a.jpg", "http://cdn.example.net/x/", "http://cdn.example.net/a.jpg"},
		{"first with href wins", `<base target="_blank"><base href="/one/"><base href="/two/">`, "a.jpg", "http://example.com/one/", "http://example.com/one/a.jpg"},
		{"entities decoded", `<base href="/a&amp;b/">`, "c.jpg", "http://example.com/a&b/", "http://example.com/a&b/c.jpg"},
		{"javascript ignored", `<base href="javascript:x">`, "a.jpg", "http://example.com/dir/page.html", "http://example.com/dir/a.jpg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse("http://example.com/dir/page.html", []byte("<html><head>"+tt.head+"</head><body></body></html>"), "", "")
			if err != nil {
				t.Fatal(err)
			}
			if got := doc.Base.String(); got != tt.wantBase {
				t.Errorf("Base = %q, want %q", got, tt.wantBase)
			}
			if got, _ := doc.Resolve(tt.ref); got != tt.want {
				t.Errorf("Resolve(%q) = %q, want %q", tt.ref, got, tt.want)
			}
		})
	}
}

// TestResolveEntities: the HTML parser decodes entities in attributes before
// Resolve sees them.
func TestResolveEntities(t *testing.T) {
	doc, err := Parse("http://example.com/", []byte(`<a href="/s?a=1&amp;b=2&#38;c=&#x33;">x</a><a href="&#32;/t.html ">y</a>`), "", "")
	if err != nil {
		t.Fatal(err)
	}
	got := mustCompile(t, "//a").URLs(doc)
	want := []string{"http://example.com/s?a=1&b=2&c=3", "http://example.com/t.html"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("URLs = %q, want %q", got, want)
	}
}

func TestTitle(t *testing.T) {
	tests := []struct {
		name, html, want string
	}{
		{"simple", "<title>Hello</title>", "Hello"},
		{"whitespace collapsed", "<title>\n  Hello \t\n  World\u00a0\u3000 </title>", "Hello World"},
		{"entities", "<title>A &amp; B &lt;3</title>", "A & B <3"},
		{"first title", "<title>one</title><title>two</title>", "one"},
		{"none", "<p>no title</p>", ""},
		{"svg title is not the page title", "<body><svg><title>icon</title></svg></body>", ""},
		{"title in body", "<body><p>x</p><title>late</title></body>", "late"},
	}
	for _, tt := range tests {
		doc, err := Parse("http://example.com/", []byte(tt.html), "", "")
		if err != nil {
			t.Fatal(err)
		}
		if got := doc.Title(); got != tt.want {
			t.Errorf("%s: Title = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestDocumentLiteral: a Document built by hand (as other packages' tests
// may) resolves too.
func TestDocumentLiteral(t *testing.T) {
	doc, err := Parse("http://example.com/d/", encode(t, "gbk", "<title>美女</title>"), "", "gbk")
	if err != nil {
		t.Fatal(err)
	}
	lit := &Document{URL: doc.URL, Encoding: "gb18030", Root: doc.Root}
	if got, ok := lit.Resolve("s?q=美女"); !ok || got != "http://example.com/d/s?q=%C3%C0%C5%AE" {
		t.Errorf("Resolve = %q, %v", got, ok)
	}
}

// TestParseDeepNesting: a page nested deeper than x/net/html accepts still
// gives its title, links and images.
func TestParseDeepNesting(t *testing.T) {
	var b strings.Builder
	b.WriteString("<html><head><title>Deep  page</title></head><body>")
	for i := 0; i < 1000; i++ {
		b.WriteString(`<div class="d"><font>`)
	}
	b.WriteString(`<a href="/g/1.html"><img src="/i/1.jpg"></a><br><img src="/i/2.jpg"/>`)
	b.WriteString("</body></html>")
	doc, err := Parse("http://example.com/", []byte(b.String()), "", "")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := doc.Title(); got != "Deep page" {
		t.Errorf("Title = %q", got)
	}
	got := mustCompile(t, "//a/@href | //img/@src").URLs(doc)
	want := []string{"http://example.com/g/1.html", "http://example.com/i/1.jpg", "http://example.com/i/2.jpg"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("URLs = %q, want %q", got, want)
	}
	if got := mustCompile(t, "css:div.d a").URLs(doc); len(got) != 1 {
		t.Errorf("css URLs = %q", got)
	}
}

// TestURLsDeduplicateNormalised: URLs that differ only in how they are
// written (scheme and host case, default port, fragment, ../) are one URL.
func TestURLsDeduplicateNormalised(t *testing.T) {
	doc, err := Parse("HTTP://WWW.Example.COM:80/dir/page.html", []byte(`<div>
<a href="http://www.example.com/a.jpg">1</a>
<a href="HTTP://WWW.EXAMPLE.COM:80/a.jpg">2</a>
<a href="//www.example.com:080/a.jpg#big">3</a>
<a href="../a.jpg">4</a>
<a href="/a.jpg">5</a>
<a href="https://www.example.com:443/a.jpg">6</a>
<a href="https://WWW.example.com/a.jpg">7</a>
<a href="http://www.example.com:8080/a.jpg">8</a>
<a href="http://www.example.com">9</a>
<a href="HTTP://www.example.com:80/">10</a>
</div>`), "", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"http://www.example.com/a.jpg",
		"https://www.example.com/a.jpg",
		"http://www.example.com:8080/a.jpg",
		"http://www.example.com/",
	}
	for _, expr := range []string{"//a/@href", "css:a"} {
		if got := mustCompile(t, expr).URLs(doc); !reflect.DeepEqual(got, want) {
			t.Errorf("URLs(%q) = %q, want %q", expr, got, want)
		}
	}
}

// TestQuickResolve: the parse-free path takes the plain references and
// gives what the full resolution gives; everything else goes the long way.
func TestQuickResolve(t *testing.T) {
	doc, err := Parse("https://www.example.com/dir/page.html", nil, "", "gbk")
	if err != nil {
		t.Fatal(err)
	}
	upper, err := Parse("HTTP://WWW.Example.COM:80/dir/", nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		doc   *Document
		ref   string
		quick bool
	}{
		{doc, "https://img.example.cn/poster/2024/17.jpg", true},
		{doc, "http://img.example.cn/a/b.jpg?w=200&h=100", true},
		{doc, "/img/a.jpg", true},
		{doc, "//cdn.example.net/x/y.jpg", true},
		{doc, "/img/%E5%9B%BE.jpg?q=%B5%E7", true},
		{doc, "/a/b.c/..d/.e", true},
		{doc, "/", true},
		{doc, "img/a.jpg", false},
		{doc, "../a.jpg", false},
		{doc, "/a/./b.jpg", false},
		{doc, "/a/../b.jpg", false},
		{doc, "/a/..", false},
		{doc, "/a.jpg#top", false},
		{doc, "/a b.jpg", false},
		{doc, "/a.jpg?q=美女", false},
		{doc, "/100%.jpg", false},
		{doc, "HTTP://img.example.cn/a.jpg", false},
		{doc, "http://IMG.example.cn/a.jpg", false},
		{doc, "http://img.example.cn:80/a.jpg", false},
		{doc, "http://img.example.cn", false},
		{doc, "http://img.example.cn?x", false},
		{doc, "http://", false}, // fuzz
		{doc, "//", false},
		{doc, " /a.jpg", false},
		{doc, `\a.jpg`, false},
		{upper, "/img/a.jpg", false}, // the page URL is not normalised yet
		{upper, "//cdn.example.net/a.jpg", false},
	}
	for _, tt := range tests {
		q, ok := quickResolve(tt.doc.Base, tt.ref)
		if ok != tt.quick {
			t.Errorf("quickResolve(%q) = %q, %v; want quick %v", tt.ref, q, ok, tt.quick)
		}
		u, slowOK := tt.doc.resolve(tt.doc.Base, tt.ref)
		if ok && (!slowOK || u.String() != q) {
			t.Errorf("quickResolve(%q) = %q, resolve gives %v, %v", tt.ref, q, u, slowOK)
		}
	}
}
