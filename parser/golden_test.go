package parser

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
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
	where       string // where the charset is said: a row of goldenWhere, "mislabelled", or "" for other cases
	content     string // the encoding of the text: a column of goldenContent, or "" for other cases
	enc         string // encoder: "utf-8", "gbk", "gb18030", "big5", ...
	bom         []byte
	lang        string // the vocabulary of the page, a key of vocabularies
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

// The golden matrix: every page of goldenPages with where and content set
// fills one cell; TestGoldenMatrix checks that every cell is filled.
var (
	goldenWhere   = []string{"header", "http-equiv", "meta-charset", "bom", "nowhere"}
	goldenContent = []string{"utf-8", "gbk", "gb18030", "big5", "shift_jis"}
)

// bomCoveredByNowhere gives, for the cells of the "bom" row that no page
// can fill, why the "nowhere" page of that column covers them. A byte order
// mark exists only for Unicode encodings: the Encoding Standard sniffs
// EF BB BF (UTF-8), FE FF and FF FE (UTF-16) and nothing else, so a page in
// a legacy encoding never carries one, and a page that starts with one is in
// that Unicode encoding whatever follows. A legacy page with "only a BOM"
// therefore is a legacy page with no declaration at all: exactly the bytes
// of the nowhere page, found by the guess. Where it makes sense the content's
// characters are also served in UTF-16 with a BOM (the GBK-only 镕 and 堃 in
// UTF-16LE, GB18030's four-byte characters as surrogate pairs in UTF-16BE),
// and GB18030's own signature (U+FEFF encoded as 84 31 95 33, which some
// Windows tools write and browsers do not sniff) is a page of its own.
var bomCoveredByNowhere = map[string]string{
	"gbk":       "GBK has no byte order mark; gbk-nowhere.html holds such a page's bytes, utf16le-bom.html its characters after a UTF-16LE BOM",
	"gb18030":   "GB18030's signature 84 31 95 33 is not a BOM to browsers; gb18030-signature.html starts with it and is found by the guess, gb18030-nowhere.html has none, utf16be-bom.html carries the four-byte characters after a UTF-16BE BOM",
	"big5":      "Big5 has no byte order mark; big5-nowhere.html holds such a page's bytes",
	"shift_jis": "Shift_JIS has no byte order mark; sjis-nowhere.html holds such a page's bytes",
}

// vocabulary is what a page in one language says besides its title.
type vocabulary struct {
	home, next, text string
}

var vocabularies = map[string]vocabulary{
	"zh":    {"首页", "下一页", textGBK},
	"zh-4":  {"首页", "下一页", textGB18030 + textGBK}, // with GB18030's four-byte characters
	"zh-tw": {"首頁", "下一頁", textBig5},
	"ja":    {"ホーム", "次へ", textJapanese},
	"ko":    {"홈", "다음", textKorean},
	"fr":    {"Accueil", "Suivant ›", textFrench},
	"en":    {"Home", "Next", "Plain pictures, nothing but ASCII here."},
}

var goldenPages = []goldenPage{
	// Charset in the Content-Type header only.
	{file: "utf8-header.html", where: "header", content: "utf-8", enc: "utf-8", lang: "zh-4",
		contentType: "text/html; charset=UTF-8",
		title:       "朱镕基 王堃 𠀀 高清写真", word: "写真", wantEnc: "utf-8", wantHow: "header"},
	{file: "gbk-header.html", where: "header", content: "gbk", enc: "gbk", lang: "zh",
		contentType: "text/html; charset=GBK",
		title:       "朱镕基 王堃 写真集", word: "镕堃", wantEnc: "gb18030", wantHow: "header"},
	{file: "gb18030-header.html", where: "header", content: "gb18030", enc: "gb18030", lang: "zh-4",
		contentType: "text/html; charset=GB18030",
		title:       "四字节字符 𠀀㐀😀 €", word: "𠀀", wantEnc: "gb18030", wantHow: "header"},
	{file: "big5-header.html", where: "header", content: "big5", enc: "big5", lang: "zh-tw",
		contentType: "text/html; charset=big5",
		title:       "台灣風景攝影 第一頁", word: "風景", wantEnc: "big5", wantHow: "header"},
	{file: "sjis-header.html", where: "header", content: "shift_jis", enc: "shift_jis", lang: "ja",
		contentType: "text/html; charset=Shift_JIS",
		title:       "写真集 ダウンロード", word: "写真", wantEnc: "shift_jis", wantHow: "header"},

	// Charset in <meta http-equiv> only; the header names none.
	{file: "utf8-http-equiv.html", where: "http-equiv", content: "utf-8", enc: "utf-8", lang: "zh-4",
		contentType: "text/html",
		head:        `<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />`,
		title:       "美女写真 镕 - 高清图片", word: "美女", wantEnc: "utf-8", wantHow: "meta"},
	{file: "gbk-http-equiv.html", where: "http-equiv", content: "gbk", enc: "gbk", lang: "zh",
		contentType: "text/html",
		head:        `<META http-equiv=Content-Type content="text/html; charset=gb2312">`, // as most GBK sites still say
		title:       "高清壁纸 第1页 镕", word: "壁纸", wantEnc: "gb18030", wantHow: "meta"},
	{file: "gb18030-http-equiv.html", where: "http-equiv", content: "gb18030", enc: "gb18030", lang: "zh-4",
		contentType: "text/html",
		head:        `<meta http-equiv="content-type" content="text/html;charset=GB18030">`,
		title:       "生僻字 𠀀 㐀 图集", word: "㐀", wantEnc: "gb18030", wantHow: "meta"},
	{file: "big5-http-equiv.html", where: "http-equiv", content: "big5", enc: "big5", lang: "zh-tw",
		contentType: "text/html",
		head:        `<meta http-equiv="Content-Type" content="text/html; charset=big5">`, base: "http://static.example.org/tw/",
		title: "高清桌布 下載", word: "桌布", wantEnc: "big5", wantHow: "meta"},
	{file: "sjis-http-equiv.html", where: "http-equiv", content: "shift_jis", enc: "shift_jis", lang: "ja",
		contentType: "text/html",
		head:        `<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">`,
		title:       "壁紙 ギャラリー", word: "壁紙", wantEnc: "shift_jis", wantHow: "meta"},

	// Charset in <meta charset> only; no Content-Type at all.
	{file: "utf8-meta-charset.html", where: "meta-charset", content: "utf-8", enc: "utf-8", lang: "zh-4",
		head:  `<meta charset="utf-8">`,
		title: "美女写真 - 高清图片", word: "美女", wantEnc: "utf-8", wantHow: "meta"},
	{file: "gbk-meta-charset.html", where: "meta-charset", content: "gbk", enc: "gbk", lang: "zh",
		head:  `<meta charset="gbk">`,
		title: "王堃 写真 第2页", word: "王堃", wantEnc: "gb18030", wantHow: "meta"},
	{file: "gb18030-meta-charset.html", where: "meta-charset", content: "gb18030", enc: "gb18030", lang: "zh-4",
		head:  `<meta charset="gb18030">`,
		title: "四字节字符 𠀀㐀😀 €", word: "𠀀", wantEnc: "gb18030", wantHow: "meta"},
	{file: "big5-meta-charset.html", where: "meta-charset", content: "big5", enc: "big5", lang: "zh-tw",
		head: `<meta charset=big5>`, base: "http://static.example.org/tw/",
		title: "台灣風景攝影 第一頁", word: "風景", wantEnc: "big5", wantHow: "meta"},
	{file: "sjis-meta-charset.html", where: "meta-charset", content: "shift_jis", enc: "shift_jis", lang: "ja",
		head:  `<meta charset="shift_jis">`,
		title: "写真集 ダウンロード", word: "写真", wantEnc: "shift_jis", wantHow: "meta"},

	// A byte order mark only (see bomCoveredByNowhere for the legacy columns).
	{file: "utf8-bom.html", where: "bom", content: "utf-8", enc: "utf-8", bom: []byte{0xEF, 0xBB, 0xBF}, lang: "zh-4",
		title: "中文标题 镕 BOM", word: "图片", wantEnc: "utf-8", wantHow: "bom"},
	{file: "utf16le-bom.html", enc: "utf-16le", bom: []byte{0xFF, 0xFE}, lang: "zh",
		title: "UTF-16 页面 朱镕基 王堃", word: "镕堃", wantEnc: "utf-16le", wantHow: "bom"},
	{file: "utf16be-bom.html", enc: "utf-16be", bom: []byte{0xFE, 0xFF}, lang: "zh-4",
		title: "UTF-16 四字节 𠀀😀", word: "𠀀", wantEnc: "utf-16be", wantHow: "bom"},
	{file: "gb18030-signature.html", enc: "gb18030", bom: []byte{0x84, 0x31, 0x95, 0x33}, lang: "zh-4",
		title: "带签名的 GB18030 页面 𠀀", word: "𠀀", wantEnc: "gb18030", wantHow: "guess"},

	// No charset anywhere: the guess.
	{file: "utf8-nowhere.html", where: "nowhere", content: "utf-8", enc: "utf-8", lang: "zh-4",
		title: "朱镕基 王堃 写真 𠀀", word: "写真", wantEnc: "utf-8", wantHow: "guess"},
	{file: "gbk-nowhere.html", where: "nowhere", content: "gbk", enc: "gbk", lang: "zh",
		title: "性感美女模特高清套图 第3页", word: "模特", wantEnc: "gb18030", wantHow: "guess"},
	{file: "gb18030-nowhere.html", where: "nowhere", content: "gb18030", enc: "gb18030", lang: "zh-4",
		title: "四字节字符 𠀀㐀😀 图片", word: "𠀀", wantEnc: "gb18030", wantHow: "guess"},
	{file: "big5-nowhere.html", where: "nowhere", content: "big5", enc: "big5", lang: "zh-tw",
		title: "高清桌布 風景圖片 下一頁", word: "桌布", wantEnc: "big5", wantHow: "guess"},
	{file: "sjis-nowhere.html", where: "nowhere", content: "shift_jis", enc: "shift_jis", lang: "ja",
		title: "壁紙の画像をダウンロード", word: "壁紙", wantEnc: "shift_jis", wantHow: "guess"},

	// Labels that do not fit the bytes. A gb2312 label on GBK bytes beyond
	// GB2312 decodes as GB18030 (as browsers do), so nothing is lost and the
	// label stands; a utf-8 label on bytes that are not UTF-8 decodes with
	// U+FFFD and gives way to a candidate that decodes cleanly.
	{file: "gbk-says-gb2312.html", where: "mislabelled", content: "gbk", enc: "gbk", lang: "zh",
		contentType: "text/html; charset=gb2312",
		title:       "朱镕基 王堃 张喆 李玥 珺 堃", word: "镕喆", wantEnc: "gb18030", wantHow: "header"},
	{file: "gbk-says-utf8.html", where: "mislabelled", content: "gbk", enc: "gbk", lang: "zh",
		contentType: "text/html; charset=utf-8",
		title:       "美女写真图片大全 高清壁纸", word: "美女", wantEnc: "gb18030", wantHow: "guess"},
	{file: "sjis-says-utf8.html", where: "mislabelled", content: "shift_jis", enc: "shift_jis", lang: "ja",
		head:  `<meta charset="utf-8">`,
		title: "写真集の画像 ダウンロード", word: "画像", wantEnc: "shift_jis", wantHow: "guess"},
	{file: "utf8-says-gb2312.html", where: "mislabelled", content: "utf-8", enc: "utf-8", lang: "zh",
		head:  `<meta http-equiv="Content-Type" content="text/html; charset=gb2312">`,
		title: "写真图片大全 高清壁纸", word: "写真", wantEnc: "utf-8", wantHow: "guess"},

	// More of what real pages do.
	{file: "utf8-bom-beats-header.html", enc: "utf-8", bom: []byte{0xEF, 0xBB, 0xBF}, lang: "zh",
		contentType: "text/html; charset=gbk",
		title:       "中文标题 BOM", word: "图片", wantEnc: "utf-8", wantHow: "bom"},
	{file: "gbk-late-meta.html", enc: "gbk", lang: "zh", head: `<meta charset="gbk">`, pad: 1500,
		title: "美女图片 镕", word: "图片", wantEnc: "gb18030", wantHow: "meta"},
	{file: "gbk-forced.html", enc: "gbk", lang: "zh", head: `<meta charset="big5">`, forced: "gbk",
		title: "朱镕基 图片", word: "图片", wantEnc: "gb18030", wantHow: "forced"},
	{file: "euckr-nowhere.html", enc: "euc-kr", lang: "ko",
		title: "사진 갤러리 최신 이미지", word: "사진", wantEnc: "euc-kr", wantHow: "guess"},
	{file: "latin1-nowhere.html", enc: "windows-1252", lang: "fr",
		title: "Galerie d'été – photos", word: "été", wantEnc: "windows-1252", wantHow: "guess"},
	{file: "ascii-nowhere.html", enc: "utf-8", lang: "en", base: "/base/",
		title: "Plain gallery", word: "plain", wantEnc: "utf-8", wantHow: "guess"},
}

// source is the page in UTF-8: shaped like the gallery and download sites
// crawl is pointed at (an XHTML doctype, analytics script, upper-case table
// layout, relative and protocol-relative links, lazy and responsive images,
// a commented-out link, pagination).
func (p goldenPage) source() string {
	v, ok := vocabularies[p.lang]
	if !ok {
		panic("golden page " + p.file + ": no vocabulary " + p.lang)
	}
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">` + "\n")
	b.WriteString(`<html xmlns="http://www.w3.org/1999/xhtml">` + "\n<head>\n")
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
	w := p.word
	b.WriteString(`<meta name="keywords" content="` + w + `,` + v.home + `" />` + "\n")
	if p.base != "" {
		b.WriteString(`<base href="` + p.base + "\">\n")
	}
	b.WriteString("<title>\n  " + p.title + "  \n</title>\n")
	b.WriteString(`<link href="/css/style.css" rel="stylesheet" type="text/css" />
<script type="text/javascript">
var _hmt = _hmt || [];
(function() { var hm = document.createElement("script"); hm.src = "//hm.example.com/hm.js?1a2b"; })();
</script>
</head>
<BODY leftMargin=0 topMargin=0>
<TABLE cellSpacing=0 cellPadding=0 width=960 align=center border=0>
<TR><TD><A href="/" target=_blank>` + v.home + `</A></TD></TR>
</TABLE>
`)
	b.WriteString(`<h1 class="title">  ` + p.title + "</h1>\n")
	b.WriteString(`<p class="intro">` + v.text + "</p>\n")
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
  <a href="HTTP://WWW.EXAMPLE.COM:80/gallery/1.html#c">same again</a>
</div>
<!-- <div class="list"><a href="/old/commented-out.html">old</a></div> -->
<div class="pics">
  <img src="/img/a.jpg?w=200" alt="` + w + `">
  <img src="img/` + w + `.jpg">
  <img class="lazy" src="grey.gif" data-src="https://img.example.com/big/b.jpg">
  <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
  <img src="pics\c.jpg">
  <img class="resp" src="img/s-320.jpg" srcset="img/s-320.jpg 320w, img/s-1280.jpg 1280w, img/s-640.jpg 640w" sizes="(max-width: 640px) 100vw, 640px">
  <img class="lazyload" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-srcset="/lazy/` + w + `-1x.jpg, /lazy/` + w + `-3x.jpg 3x, /lazy/` + w + `-2x.jpg 2x">
  <picture><source type="image/webp" srcset="webp/p.webp, webp/p@2x.webp 2x"><img src="webp/p.jpg" alt=""></picture>
</div>
<div class="pages"><a href="page_0.html">1</a> <b>2</b> <a class="next" href="page_2.html">` + v.next + `</a></div>
<div id="footer">Copyright &copy; 2004-2024 example.com All Rights Reserved.</div>
</BODY>
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
		"//img/@srcset",
		"css:img@data-srcset",
		"//picture/source",
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
	// No stale pages or results of pages no longer described.
	known := map[string]bool{}
	for _, p := range goldenPages {
		known[p.file] = true
	}
	for _, sub := range []string{"pages", "golden"} {
		entries, err := os.ReadDir(filepath.Join("testdata", sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := strings.TrimSuffix(e.Name(), ".json")
			if sub == "golden" {
				name += ".html"
			}
			if !known[name] {
				if *update {
					if err := os.Remove(filepath.Join("testdata", sub, e.Name())); err != nil {
						t.Fatal(err)
					}
					continue
				}
				t.Errorf("testdata/%s/%s belongs to no golden page (run go test -run Golden -update)", sub, e.Name())
			}
		}
	}
}

// checkGoldenURLs checks, apart from the golden files, the URLs that
// depend on the page's encoding and the largest srcset candidates: the word
// in a path is percent-encoded UTF-8, in a query it is percent-encoded in
// the detected encoding (UTF-8 for UTF-16 pages), as browsers request them.
func checkGoldenURLs(t *testing.T, p goldenPage, doc *Document) {
	t.Helper()
	base, err := url.Parse(goldenURL)
	if err != nil {
		t.Fatal(err)
	}
	if p.base != "" {
		b, err := url.Parse(p.base)
		if err != nil {
			t.Fatal(err)
		}
		base = base.ResolveReference(b)
	}
	at := func(ref string) string { return base.String()[:strings.LastIndex(base.String(), "/")+1] + ref }
	queryEnc := p.wantEnc
	if strings.HasPrefix(queryEnc, "utf-16") {
		queryEnc = "utf-8"
	}
	word := []byte(p.word)
	if queryEnc != "utf-8" {
		enc, _, err := LookupEncoding(queryEnc)
		if err != nil {
			t.Fatal(err)
		}
		if word, err = enc.NewEncoder().Bytes(word); err != nil {
			t.Fatalf("encode %q as %s: %v", p.word, queryEnc, err)
		}
	}
	var q strings.Builder
	for _, c := range word {
		if c >= 0x80 || c <= ' ' {
			fmt.Fprintf(&q, "%%%02X", c)
		} else {
			q.WriteByte(c)
		}
	}
	links := mustCompile(t, "//div[@class='list']/a/@href").URLs(doc)
	var want []string
	for _, w := range []string{
		base.ResolveReference(&url.URL{Path: "/gallery/1.html"}).String(),
		at("gallery/2.html?tag=" + q.String() + "&page=2"),
		"", // ../up/3.html: checked by the golden file
		"http://cdn.example.net/g/4.html",
		at(url.PathEscape(p.word) + "/5.html"),
		"http://www.example.com/gallery/1.html", // HTTP://WWW.EXAMPLE.COM:80/gallery/1.html#c
	} {
		if w == "" || !slices.Contains(want, w) {
			want = append(want, w)
		}
	}
	if len(links) != len(want) {
		t.Errorf("links %q, want %d of them (one per distinct http URL)", links, len(want))
		return
	}
	for i, w := range want {
		if w != "" && links[i] != w {
			t.Errorf("link %d = %q, want %q", i+1, links[i], w)
		}
	}
	for expr, want := range map[string]string{
		"//img/@srcset":       at("img/s-1280.jpg"),
		"css:img@data-srcset": base.ResolveReference(&url.URL{Path: "/lazy/" + p.word + "-3x.jpg"}).String(),
		"//picture/source":    at("webp/p@2x.webp"),
	} {
		if got := mustCompile(t, expr).URLs(doc); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want [%q]", expr, got, want)
		}
	}
}

// TestGoldenMatrix checks that the golden pages fill every cell of the
// matrix (where the charset is said × the encoding of the text) and hold
// both mislabelled cases.
func TestGoldenMatrix(t *testing.T) {
	cells := map[[2]string][]string{}
	files := map[string]bool{}
	for _, p := range goldenPages {
		files[p.file] = true
		if p.where != "" {
			cells[[2]string{p.where, p.content}] = append(cells[[2]string{p.where, p.content}], p.file)
		}
	}
	for _, where := range goldenWhere {
		for _, content := range goldenContent {
			if pages := cells[[2]string{where, content}]; len(pages) > 0 {
				continue
			}
			reason, ok := bomCoveredByNowhere[content]
			if where != "bom" || !ok {
				t.Errorf("no golden page for charset in %s, content %s", where, content)
				continue
			}
			if len(cells[[2]string{"nowhere", content}]) == 0 {
				t.Errorf("charset in bom, content %s: covered by nowhere, but there is no nowhere page", content)
			}
			t.Logf("charset in bom, content %s: %s", content, reason)
		}
	}
	// The columns hold what makes them hard: GBK pages characters beyond
	// GB2312 (a byte pair outside A1-FE A1-FE, such as 镕 E9 46), GB18030
	// pages four-byte sequences (a second byte 30-39).
	for _, p := range goldenPages {
		b := p.bytes(t)[len(p.bom):]
		switch {
		case p.content == "gbk" && p.enc == "gbk" && !hasBeyondGB2312(b):
			t.Errorf("%s: no GBK character beyond GB2312", p.file)
		case p.content == "gb18030" && p.enc == "gb18030" && !hasFourByteGB18030(b):
			t.Errorf("%s: no four-byte GB18030 sequence", p.file)
		}
	}
	for _, f := range []string{
		"gbk-says-gb2312.html", // gb2312 label on GBK bytes beyond GB2312
		"gbk-says-utf8.html",   // utf-8 label on bytes that are not UTF-8
		"sjis-says-utf8.html",
		"utf16le-bom.html",
		"utf16be-bom.html",
		"gb18030-signature.html",
	} {
		if !files[f] {
			t.Errorf("no golden page %s", f)
		}
	}
}

// hasBeyondGB2312 reports whether GBK bytes b hold a two-byte character
// that GB2312 (EUC-CN: both bytes in A1-FE) lacks.
func hasBeyondGB2312(b []byte) bool {
	for i := 0; i+1 < len(b); i++ {
		if b[i] >= 0x81 && b[i] <= 0xFE {
			if b[i] < 0xA1 || b[i+1] < 0xA1 {
				return true
			}
			i++
		}
	}
	return false
}

// hasFourByteGB18030 reports whether GB18030 bytes b hold a four-byte
// sequence.
func hasFourByteGB18030(b []byte) bool {
	for i := 0; i+3 < len(b); i++ {
		if b[i] >= 0x81 && b[i] <= 0xFE {
			if b[i+1] >= 0x30 && b[i+1] <= 0x39 {
				return true
			}
			i++
		}
	}
	return false
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
			checkGoldenURLs(t, p, doc)
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
