package parser

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/antchfx/htmlquery"
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

// detailSize is the size of the benchmark's detail page in GBK.
const detailSize = 100 << 10

// detailSource is a detail page of a legacy Chinese movie site, in UTF-8
// source form, that is detailSize bytes (give or take a block) in GBK, its
// charset only in a <meta http-equiv>: a long description with a still
// after every paragraph.
func detailSource() string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />
<title>2024年剧情片《朱镕基与王堃》HD国语中字 - 电影天堂</title>
<meta name="keywords" content="电影,下载,高清,朱镕基,王堃" />
<link href="/css/index.css" rel="stylesheet" type="text/css" />
<script type="text/javascript" src="/js/common.js"></script>
</head>
<body>
<div id="header"><a href="/"><img src="/images/logo.gif" alt="电影天堂" /></a></div>
<div class="co_area2"><div class="title_all"><h1><font color=#07519a>2024年剧情片《朱镕基与王堃》HD国语中字</font></h1></div>
<div class="co_content8"><ul>
<div id="Zoom"><span style="FONT-SIZE: 12px"><td>
`)
	const tail = `</td></span></div></ul></div></div>
<div class="footer">Copyright &copy; 2024 电影天堂 All Rights Reserved <a href="http://www.miibeian.gov.cn/">京ICP备12345678号</a></div>
</body>
</html>
`
	size := gbkLen(b.String()) + gbkLen(tail)
	for i := 0; size < detailSize; i++ {
		block := fmt.Sprintf(`<p>◎译　　名　朱镕基与王堃 第%d段<br />◎片　　名　影片介绍<br />◎年　　代　2024<br />`, i) +
			textGBK + textGBK + "<br /></p>\n" +
			fmt.Sprintf(`<p><img border="0" src="https://img.example.cn/poster/2024/%d.jpg" alt="剧照%d" /></p>`+"\n", i, i)
		b.WriteString(block)
		size += gbkLen(block)
	}
	b.WriteString(tail)
	return b.String()
}

// gbkLen is the length of s in GBK: ASCII is one byte, every character
// here is two.
func gbkLen(s string) int {
	n := 0
	for _, r := range s {
		if r < 0x80 {
			n++
		} else {
			n += 2
		}
	}
	return n
}

const detailImages = `//div[@id="Zoom"]//img/@src`

// BenchmarkDetailGBK is what the parse stage does with a detail page: detect
// and decode GBK, parse, take the image URLs and the title.
func BenchmarkDetailGBK(b *testing.B) {
	body := encode(b, "gbk", detailSource())
	sel := mustCompile(b, detailImages)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		doc, err := Parse("http://www.example.cn/html/gndy/dyzz/20240101/1.html", body, "text/html", "")
		if err != nil {
			b.Fatal(err)
		}
		if len(sel.URLs(doc)) == 0 || doc.Title() == "" {
			b.Fatal("nothing extracted")
		}
	}
}

// BenchmarkDetailHtmlquery is the floor: htmlquery.Parse and QueryAll on the
// same page already in UTF-8.
func BenchmarkDetailHtmlquery(b *testing.B) {
	src := []byte(detailSource())
	b.SetBytes(int64(len(encode(b, "gbk", string(src)))))
	b.ReportAllocs()
	for b.Loop() {
		doc, err := htmlquery.Parse(bytes.NewReader(src))
		if err != nil {
			b.Fatal(err)
		}
		nodes, err := htmlquery.QueryAll(doc, detailImages)
		if err != nil || len(nodes) == 0 {
			b.Fatal("nothing extracted", err)
		}
	}
}

// BenchmarkDetailOverhead runs both of the above in turns, one page each
// per iteration, and reports their times and our overhead over the bare
// parse: on a busy machine the two separate benchmarks drift apart, turns
// keep the comparison fair.
func BenchmarkDetailOverhead(b *testing.B) {
	body := encode(b, "gbk", detailSource())
	src := []byte(detailSource())
	sel := mustCompile(b, detailImages)
	var ours, bare time.Duration
	for b.Loop() {
		start := time.Now()
		doc, err := Parse("http://www.example.cn/html/gndy/dyzz/20240101/1.html", body, "text/html", "")
		if err != nil {
			b.Fatal(err)
		}
		if len(sel.URLs(doc)) == 0 || doc.Title() == "" {
			b.Fatal("nothing extracted")
		}
		mid := time.Now()
		root, err := htmlquery.Parse(bytes.NewReader(src))
		if err != nil {
			b.Fatal(err)
		}
		if nodes, err := htmlquery.QueryAll(root, detailImages); err != nil || len(nodes) == 0 {
			b.Fatal("nothing extracted", err)
		}
		ours += mid.Sub(start)
		bare += time.Since(mid)
	}
	b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "crawl-ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/float64(b.N), "htmlquery-ns/op")
	b.ReportMetric(100*(float64(ours)/float64(bare)-1), "overhead-%")
}

// TestDetailPage checks the benchmark's page: about detailSize bytes of
// GBK that decode to the UTF-8 the bare benchmark parses.
func TestDetailPage(t *testing.T) {
	src := detailSource()
	body := encode(t, "gbk", src)
	if len(body) < detailSize || len(body) > detailSize+2<<10 {
		t.Errorf("detail page is %d bytes of GBK, want about %d", len(body), detailSize)
	}
	if d, err := detect(body, "text/html", ""); err != nil || string(d.text) != src {
		t.Errorf("the GBK page does not decode to its UTF-8 source (%v)", err)
	}
	doc, err := Parse("http://www.example.cn/html/gndy/dyzz/20240101/1.html", body, "text/html", "")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Encoding != "gb18030" || doc.Title() != "2024年剧情片《朱镕基与王堃》HD国语中字 - 电影天堂" {
		t.Errorf("encoding %s, title %q", doc.Encoding, doc.Title())
	}
	if n := len(mustCompile(t, detailImages).URLs(doc)); n < 100 {
		t.Errorf("%d images", n)
	}
}

// apiAnswer is a JSON listing answer of about 100 KB, as gallery APIs
// write them: posts with an id, a link, a title, a cover with its size
// and a few tags.
func apiAnswer() []byte {
	var b bytes.Buffer
	b.WriteString(`{"page":2,"total":4000,"data":[`)
	for i := 0; b.Len() < 100<<10; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"url":"/api/posts/%d","title":"Summer gallery \u7b2c%d\u671f","cover":{"src":"https://cdn.example.com/2024/06/%d/cover.jpg","w":1280,"h":853},"tags":["summer","beach","%d"],"nsfw":false}`, i, i, i, i, i%50)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// denseAnswer is the largest body of zeros ("[0,0,...]") that the JSON
// memory budget accepts: the worst memory per byte of body.
func denseAnswer() []byte {
	n := 1024
	for countJSONValues([]byte("["+strings.Repeat("0,", n+1024)+"0]")) <= jsonBudget(2*(n+1024)+3) {
		n += 1024
	}
	return []byte("[" + strings.Repeat("0,", n) + "0]")
}

// BenchmarkJSONAnswer parses JSON answers and takes their links. Besides
// the time it reports the memory the parsed answer keeps (retained-x) and
// all the memory its parse allocated (alloc-x), as multiples of the body.
func BenchmarkJSONAnswer(b *testing.B) {
	links := mustCompile(b, "//data/*/url")
	for _, tc := range []struct {
		name string
		body []byte
	}{{"api", apiAnswer()}, {"dense", denseAnswer()}} {
		b.Run(tc.name, func(b *testing.B) {
			parse := func() *Document {
				doc, err := Parse("http://api.example.com/api/posts?page=2", tc.body, "application/json", "")
				if err != nil || doc.JSON == nil {
					b.Fatal("not parsed as JSON", err)
				}
				return doc
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			doc := parse()
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			runtime.GC()
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(doc)
			size := float64(len(tc.body))
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				links.URLs(parse())
			}
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/size, "retained-x")
			b.ReportMetric(float64(alloc)/size, "alloc-x")
		})
	}
}
