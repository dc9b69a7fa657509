package parser

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// go test ./parser/ -run Golden -update rewrites testdata/pages and
// testdata/golden from the table below.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const goldenURL = "http://www.example.com/dir/page.html"

// goldenPage describes one test page. Its bytes are generated from the
// description, committed under testdata/pages, and checked to be exactly
// what the description gives (so they stay byte-exact in their encoding).
type goldenPage struct {
	file        string
	enc         string // encoder: "utf-8", "gbk", "gb18030", "big5", ...
	bom         []byte
	contentType string // as served
	forced      string // as given to --encoding
	head        string // declarations in <head>
	pad         int    // bytes of inline script before head (pushes the <meta> past 1024)
	base        string // <base href>, "" for none
	title       string
	word        string // used in link text, paths and queries
	wantEnc     string
	wantHow     string
}

var goldenPages = []goldenPage{
	{file: "utf8-meta.html", enc: "utf-8", head: `<meta charset="utf-8">`,
		title: "美女写真 - 高清图片", word: "美女", wantEnc: "utf-8", wantHow: "meta"},
	{file: "gbk-header.html", enc: "gbk", contentType: "text/html; charset=GBK",
		title: "朱镕基 王堃 写真集", word: "镕堃", wantEnc: "gb18030", wantHow: "header"},
	{file: "gb2312-http-equiv.html", enc: "gbk", contentType: "text/html",
		head:  `<meta http-equiv="Content-Type" content="text/html; charset=gb2312">`,
		title: "高清壁纸 第1页 镕", word: "壁纸", wantEnc: "gb18030", wantHow: "meta"},
	{file: "gb18030-4byte.html", enc: "gb18030", head: `<meta charset="gb18030">`,
		title: "四字节字符 𠀀㐀😀 €", word: "𠀀", wantEnc: "gb18030", wantHow: "meta"},
	{file: "big5-meta.html", enc: "big5", head: `<meta charset="big5">`, base: "http://static.example.org/tw/",
		title: "台灣風景攝影 第一頁", word: "風景", wantEnc: "big5", wantHow: "meta"},
	{file: "sjis-meta.html", enc: "shift_jis", head: `<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">`,
		title: "写真集 ダウンロード", word: "写真", wantEnc: "shift_jis", wantHow: "meta"},
	{file: "utf8-bom.html", enc: "utf-8", bom: []byte{0xEF, 0xBB, 0xBF}, contentType: "text/html; charset=gbk",
		title: "中文标题 BOM", word: "图片", wantEnc: "utf-8", wantHow: "bom"},
	{file: "utf16le-bom.html", enc: "utf-16le", bom: []byte{0xFF, 0xFE},
		title: "UTF-16 页面", word: "图片", wantEnc: "utf-16le", wantHow: "bom"},
	{file: "gbk-nowhere.html", enc: "gbk",
		title: "性感美女模特高清套图 第3页", word: "模特", wantEnc: "gb18030", wantHow: "guess"},
	{file: "big5-nowhere.html", enc: "big5",
		title: "高清桌布 風景圖片 下一頁", word: "桌布", wantEnc: "big5", wantHow: "guess"},
	{file: "sjis-nowhere.html", enc: "shift_jis",
		title: "壁紙の画像をダウンロード", word: "壁紙", wantEnc: "shift_jis", wantHow: "guess"},
	{file: "euckr-nowhere.html", enc: "euc-kr",
		title: "사진 갤러리 최신 이미지", word: "사진", wantEnc: "euc-kr", wantHow: "guess"},
	{file: "latin1-nowhere.html", enc: "windows-1252",
		title: "Galerie d'été – photos", word: "été", wantEnc: "windows-1252", wantHow: "guess"},
	{file: "ascii-nowhere.html", enc: "utf-8", base: "/base/",
		title: "Plain gallery", word: "plain", wantEnc: "utf-8", wantHow: "guess"},
	{file: "gbk-late-meta.html", enc: "gbk", head: `<meta charset="gbk">`, pad: 1500,
		title: "美女图片 镕", word: "图片", wantEnc: "gb18030", wantHow: "meta"},
	{file: "utf8-says-gb2312.html", enc: "utf-8", head: `<meta http-equiv="Content-Type" content="text/html; charset=gb2312">`,
		title: "写真图片大全 高清壁纸", word: "写真", wantEnc: "utf-8", wantHow: "guess"},
	{file: "gbk-says-utf8.html", enc: "gbk", contentType: "text/html; charset=utf-8",
		title: "美女写真图片大全 高清壁纸", word: "美女", wantEnc: "gb18030", wantHow: "guess"},
	{file: "gbk-forced.html", enc: "gbk", head: `<meta charset="big5">`, forced: "gbk",
		title: "朱镕基 图片", word: "图片", wantEnc: "gb18030", wantHow: "forced"},
}

// source is the page in UTF-8.
func (p goldenPage) source() string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html>\n<head>\n")
	if p.pad > 0 {
		b.WriteString("<script type=\"text/javascript\">\n")
		for b.Len() < p.pad {
			b.WriteString("document.write('<!-- ad -->');\n")
		}
		b.WriteString("</script>\n")
	}
	if p.head != "" {
		b.WriteString(p.head + "\n")
	}
	if p.base != "" {
		b.WriteString(`<base href="` + p.base + "\">\n")
	}
	w := p.word
	b.WriteString("<title>\n  " + p.title + "  \n</title>\n</head>\n<body>\n")
	b.WriteString(`<h1 class="title">  ` + p.title + "</h1>\n")
	b.WriteString(`<div class="list">
  <a href="/gallery/1.html">` + w + ` 1</a>
  <a href="gallery/2.html?tag=` + w + `&amp;page=2">` + w + ` 2</a>
  <a href="../up/3.html#top">3</a>
  <a href=" //cdn.example.net/g/4.html ">4</a>
  <a href="` + w + `/5.html">5</a>
  <a href="javascript:void(0)">js</a>
  <a href="mailto:a@example.com">mail</a>
  <a href="tel:+123">tel</a>
  <a href="#top">top</a>
  <a href="/gallery/1.html">again</a>
</div>
<div class="pics">
  <img src="/img/a.jpg?w=200" alt="` + w + `">
  <img src="img/` + w + `.jpg">
  <img class="lazy" src="grey.gif" data-src="https://img.example.com/big/b.jpg">
  <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
  <img src="pics\c.jpg">
</div>
<a class="next" href="page_2.html">` + w + `</a>
</body>
</html>
`)
	return b.String()
}

// bytes is the page as served.
func (p goldenPage) bytes(t testing.TB) []byte {
	return append(append([]byte(nil), p.bom...), encode(t, p.enc, p.source())...)
}

// goldenSelectors run on every golden page.
var goldenSelectors = struct {
	urls, extract, text []string
}{
	urls: []string{
		"//div[@class='list']/a/@href",
		"//div[@class='list']/a",
		"css:div.pics img",
		"css:img.lazy@data-src",
		"css:a.next",
	},
	extract: []string{
		"//a[@class='next']/@href | //img/@src",
		"//h1/text()",
		"count(//img)",
	},
	text: []string{
		"//h1",
		"css:h1.title",
		"string(//div[@class='list']/a[2])",
		"css:img.lazy@data-src",
		"//nothing",
	},
}

// goldenResult is what the golden JSON files hold.
type goldenResult struct {
	Encoding string      `json:"encoding"`
	How      string      `json:"how"`
	Title    string      `json:"title"`
	Base     string      `json:"base"`
	URLs     []exprValue `json:"urls"`
	Extract  []exprValue `json:"extract"`
	Text     []exprValue `json:"text"`
}

type exprValue struct {
	Expr  string `json:"expr"`
	Value any    `json:"value"`
}

func mustCompile(t testing.TB, expr string) *Selector {
	t.Helper()
	s, err := Compile(expr)
	if err != nil {
		t.Fatalf("Compile(%q): %v", expr, err)
	}
	return s
}

// TestGoldenPages checks that the committed pages are byte for byte what
// their descriptions give.
func TestGoldenPages(t *testing.T) {
	dir := filepath.Join("testdata", "pages")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range goldenPages {
		want := p.bytes(t)
		path := filepath.Join(dir, p.file)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run Golden -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its description (line endings converted?)", path)
		}
	}
}

// TestGolden parses the committed pages and compares encoding, title, base
// and selector results with testdata/golden/*.json.
func TestGolden(t *testing.T) {
	dir := filepath.Join("testdata", "golden")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range goldenPages {
		t.Run(p.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "pages", p.file))
			if *update || err != nil {
				body = p.bytes(t)
			}
			doc, err := Parse(goldenURL, body, p.contentType, p.forced)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if doc.Encoding != p.wantEnc {
				t.Errorf("Encoding = %q, want %q", doc.Encoding, p.wantEnc)
			}
			if name, how, _ := DetectEncoding(body, p.contentType, p.forced); name != p.wantEnc || how != p.wantHow {
				t.Errorf("DetectEncoding = %q, %q; want %q, %q", name, how, p.wantEnc, p.wantHow)
			}
			if got, want := doc.Title(), collapse(p.title); got != want {
				t.Errorf("Title = %q, want %q", got, want)
			}
			res := goldenResult{Encoding: doc.Encoding, Title: doc.Title(), Base: doc.Base.String()}
			_, res.How, _ = DetectEncoding(body, p.contentType, p.forced)
			for _, e := range goldenSelectors.urls {
				res.URLs = append(res.URLs, exprValue{e, mustCompile(t, e).URLs(doc)})
			}
			for _, e := range goldenSelectors.extract {
				res.Extract = append(res.Extract, exprValue{e, mustCompile(t, e).Extract(doc)})
			}
			for _, e := range goldenSelectors.text {
				res.Text = append(res.Text, exprValue{e, mustCompile(t, e).Text(doc)})
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			path := filepath.Join(dir, strings.TrimSuffix(p.file, ".html")+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run Golden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("result differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}
