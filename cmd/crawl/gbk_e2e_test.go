package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// gbkSite is a legacy Chinese gallery site: every page is GBK, its charset
// said only by a <meta http-equiv> (the server sends a bare "text/html"),
// galleries run over several pages joined by 下一页 links, images come in
// srcset and lazy data-srcset attributes, and one gallery lives at a URL
// whose query holds Chinese text. It answers only the URLs a browser would
// request and records any other, so a wrongly encoded URL is caught.
//
// The galleries:
//
//	/g/1.html → /g/1_2.html → /g/1_3.html  朱镕基访问上海 (the last 下一页 is href="#")
//	/search.php?kw=电影&id=2 → ...&p=2       王堃 电影剧照 (no 下一页 on the last)
//	/g/3.html → /g/3_2.html → /g/3.html    喆·玥 写真 (a cycle)
type gbkSite struct {
	mu    sync.Mutex
	hits  map[string]int // request URI → count
	wrong []string       // request URIs the site does not have
}

// gbkPages are the site's HTML pages by request URI, in UTF-8.
var gbkPages = map[string]string{
	"/list_1.html": gbkPage("美女图片 第1页", `<ul class="list">
<li><a href="/g/1.html" title="朱镕基访问上海"><img src="/thumb/1.jpg">朱镕基访问上海</a></li>
<li><a href="search.php?kw=电影&amp;id=2">王堃 电影剧照</a></li>
<li><a href="/g/1.html#comments">评论</a></li>
</ul>
<div class="pages"><b>1</b> <a href="list_2.html">2</a> <a href="list_2.html">下一页</a></div>`),
	"/list_2.html": gbkPage("美女图片 第2页", `<ul class="list">
<li><a href="/g/3.html">喆·玥 写真</a></li>
</ul>
<div class="pages"><a href="list_1.html">上一页</a> <a href="list_1.html">1</a> <b>2</b></div>`),

	"/g/1.html": gbkGallery("朱镕基访问上海", 1, `
<img src="/pic/a1-480.jpg" srcset="/pic/a1-480.jpg 480w, /pic/a1-1600.jpg 1600w, /pic/a1-960.jpg 960w" alt="朱镕基">
<img class="lazy" src="/images/loading.gif" data-srcset="/pic/镕-1x.jpg, /pic/镕-2x.jpg 2x">`,
		`<a href="1.html">上一页</a> <a href="1_2.html">下一页</a>`),
	"/g/1_2.html": gbkGallery("朱镕基访问上海", 2, `
<img src="/pic/a2.jpg" srcset="/pic/a2.jpg 1x, /pic/a2@2x.jpg 2x, /pic/a2@1.5x.jpg 1.5x">`,
		`<a href="1.html">上一页</a> <a href="1_3.html">下一页</a>`),
	"/g/1_3.html": gbkGallery("朱镕基访问上海", 3, `
<img srcset="/pic/a3-s.jpg 300w,/pic/a3-l.jpg 1200w">`,
		`<a href="1_2.html">上一页</a> <a href="#">下一页</a>`),

	"/search.php?kw=%B5%E7%D3%B0&id=2": gbkGallery("王堃 电影剧照", 1, `
<img src="/pic/b1.jpg" srcset="/pic/b1.jpg?t=小 1x, /pic/b1.jpg?t=高清 2x">`,
		`<a href="search.php?kw=电影&amp;id=2&amp;p=2">下一页</a>`),
	"/search.php?kw=%B5%E7%D3%B0&id=2&p=2": gbkGallery("王堃 电影剧照", 2, `
<img class="lazy" data-srcset="/pic/b2-1000.jpg 1000w, /pic/b2-2000.jpg 2000w">`,
		`<a href="search.php?kw=电影&amp;id=2">上一页</a>`),

	"/g/3.html": gbkGallery("喆·玥 写真", 1, `
<img srcset="/pic/c1.jpg, /pic/c1-hd.jpg 3x">`,
		`<a href="3_2.html">下一页</a>`),
	"/g/3_2.html": gbkGallery("喆·玥 写真", 2, `
<img srcset="/pic/c2-hd.jpg 1920w, /pic/c2.jpg 640w">`,
		`<a href="3.html">下一页</a>`),
}

// gbkFiles are the files the crawl must write: path under --out → the
// request URI of the image (the largest srcset candidate, its path in
// UTF-8 and its query in GBK percent-encoding).
var gbkFiles = map[string]string{
	"朱镕基访问上海/1.jpg": "/pic/a1-1600.jpg",
	"朱镕基访问上海/2.jpg": "/pic/%E9%95%95-2x.jpg",
	"朱镕基访问上海/3.jpg": "/pic/a2@2x.jpg",
	"朱镕基访问上海/4.jpg": "/pic/a3-l.jpg",
	"王堃 电影剧照/1.jpg": "/pic/b1.jpg?t=%B8%DF%C7%E5",
	"王堃 电影剧照/2.jpg": "/pic/b2-2000.jpg",
	"喆·玥 写真/1.jpg":  "/pic/c1-hd.jpg",
	"喆·玥 写真/2.jpg":  "/pic/c2-hd.jpg",
}

func gbkPage(title, body string) string {
	return `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />
<title>` + title + ` - 图库网</title>
<script type="text/javascript">var _hmt = _hmt || [];</script>
</head>
<body>
<div class="top"><a href="/">首页</a></div>
` + body + `
<div class="footer">Copyright &copy; 2008-2024 <a href="http://beian.miit.gov.cn/">京ICP备08000000号</a></div>
</body>
</html>
`
}

func gbkGallery(title string, n int, pics, pages string) string {
	return gbkPage(fmt.Sprintf("%s 第%d页", title, n), `<div class="gallery"><h1>`+title+`</h1>
<div class="pic">`+pics+`
</div>
<div class="pages">`+pages+`</div>
</div>`)
}

// gbkImage is the body of the image at request URI uri.
func gbkImage(uri string) []byte {
	return genSite{}.imageBody(uri)
}

func (s *gbkSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.RequestURI]++
	s.mu.Unlock()
	if r.URL.Path == "/robots.txt" {
		http.NotFound(w, r)
		return
	}
	if src, ok := gbkPages[r.RequestURI]; ok {
		b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(src))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html") // no charset: it is only in the <meta>
		w.Write(b)
		return
	}
	for _, uri := range gbkFiles {
		if r.RequestURI == uri {
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(gbkImage(uri))
			return
		}
	}
	s.mu.Lock()
	s.wrong = append(s.wrong, r.RequestURI)
	s.mu.Unlock()
	http.NotFound(w, r)
}

// TestGBKGallery crawls the GBK gallery site with --next and srcset images
// into {title}/{n}{ext}.
func TestGBKGallery(t *testing.T) {
	site := &gbkSite{hits: map[string]int{}}
	srv, _ := serve(t, site)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r := runCrawl(t, dir, "",
		"--list-url", srv.URL+"/list_{page}.html",
		"--pages", "1-2",
		"--links", `//ul[@class="list"]/li/a/@href`,
		"--images", `//div[@class="pic"]/img/@srcset | //div[@class="pic"]/img/@data-srcset`,
		"--next", `//div[@class="pages"]/a[text()="下一页"]/@href`,
		"--title", "//h1",
		"--name", "{title}/{n}{ext}",
		"--retry-wait", "10ms",
		"--out", out, "--quiet", "--verbose",
	)
	mustCode(t, r, 0)

	got := files(t, out)
	want := map[string]string{}
	for path, uri := range gbkFiles {
		sum := sha256.Sum256(gbkImage(uri))
		want[path] = hex.EncodeToString(sum[:])
	}
	for path, sum := range want {
		if got[path] != sum {
			t.Errorf("%s: sha256 %q, want %s (the bytes of %s)", path, got[path], sum, gbkFiles[path])
		}
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("unexpected file %q", path)
		}
	}
	checkManifest(t, out, got)

	// The manifest names each file's URL as requested and the page it
	// came from, both with their GBK queries percent-encoded.
	m := manifest(t, out)
	if row := m["王堃 电影剧照/1.jpg"]; row == nil || row[0] != srv.URL+"/pic/b1.jpg?t=%B8%DF%C7%E5" ||
		row[5] != srv.URL+"/search.php?kw=%B5%E7%D3%B0&id=2" {
		t.Errorf("manifest row of 王堃 电影剧照/1.jpg: %q", row)
	}

	site.mu.Lock()
	defer site.mu.Unlock()
	if len(site.wrong) > 0 {
		sort.Strings(site.wrong)
		t.Errorf("requests for URLs the site does not have (wrongly encoded?): %q", site.wrong)
	}
	// Every page and every largest image once; the other candidates, the
	// placeholders and thumbnails never.
	for uri := range gbkPages {
		if n := site.hits[uri]; n != 1 {
			t.Errorf("page %s fetched %d times, want 1", uri, n)
		}
	}
	for _, uri := range gbkFiles {
		if n := site.hits[uri]; n != 1 {
			t.Errorf("image %s fetched %d times, want 1", uri, n)
		}
	}
	for uri, n := range site.hits {
		if strings.HasPrefix(uri, "/pic/") || strings.HasPrefix(uri, "/thumb/") || strings.HasPrefix(uri, "/images/") {
			if !isGBKFile(uri) {
				t.Errorf("%s fetched %d times: not the largest candidate or not selected", uri, n)
			}
		}
	}

	// --verbose names the encoding each page was decoded from and its
	// title, decoded.
	if !strings.Contains(r.stderr, "(gb18030)") || !strings.Contains(r.stderr, "朱镕基访问上海 第1页 - 图库网") {
		t.Errorf("--verbose output lacks the pages' encoding or decoded titles:\n%s", r.stderr)
	}
}

func isGBKFile(uri string) bool {
	for _, u := range gbkFiles {
		if u == uri {
			return true
		}
	}
	return false
}
