package crawl

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/antchfx/htmlquery"
	"golang.org/x/net/html"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// demoGet fetches u and fails the test unless the answer is 200.
func demoGet(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", u, resp.StatusCode)
	}
	return resp, body
}

// demoArgs turns a DemoCrawl's Args into a flag map, with {base} replaced.
// Flags without a value map to "true".
func demoArgs(t *testing.T, c DemoCrawl, base string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for i := 0; i < len(c.Args); i++ {
		a := c.Args[i]
		if !strings.HasPrefix(a, "--") {
			t.Fatalf("%s: stray argument %q", c.Name, a)
		}
		if i+1 < len(c.Args) && !strings.HasPrefix(c.Args[i+1], "--") {
			m[a] = strings.ReplaceAll(c.Args[i+1], "{base}", base)
			i++
		} else {
			m[a] = "true"
		}
	}
	return m
}

// demoPages expands a page spec of the form "N" or "A-B".
func demoPages(t *testing.T, spec string) []int {
	t.Helper()
	lo, hi, ok := strings.Cut(spec, "-")
	if !ok {
		hi = lo
	}
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || a < 1 || b < a {
		t.Fatalf("bad page spec %q", spec)
	}
	var pages []int
	for p := a; p <= b; p++ {
		pages = append(pages, p)
	}
	return pages
}

// demoPage is a fetched and parsed page of the demo site.
type demoPage struct {
	url  *url.URL // the page's own URL
	base *url.URL // what relative URLs resolve against (<base href> or url)
	doc  *html.Node
	utf8 []byte // the page decoded to UTF-8
}

var metaCharset = regexp.MustCompile(`(?i)<meta\s+http-equiv="Content-Type"\s+content="text/html;\s*charset=([a-z0-9_-]+)"`)

// demoFetchPage fetches an HTML page, checks its Content-Type and encoding
// and parses it.
func demoFetchPage(t *testing.T, u string) *demoPage {
	t.Helper()
	resp, body := demoGet(t, u)
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	ct := resp.Header.Get("Content-Type")
	text := body
	if strings.HasPrefix(pu.Path, "/dyzz/") {
		if ct != "text/html" {
			t.Errorf("%s: Content-Type %q, want plain text/html (no charset)", u, ct)
		}
		m := metaCharset.FindSubmatchIndex(body)
		if m == nil || m[1] > 1024 || !strings.EqualFold(string(body[m[2]:m[3]]), "gb2312") {
			t.Errorf("%s: no gb2312 meta charset in the first 1024 bytes", u)
		}
		if bytes.Contains(bytes.ToLower(body), []byte("utf-8")) {
			t.Errorf("%s: GBK page mentions utf-8", u)
		}
		if utf8.Valid(body) {
			t.Errorf("%s: GBK page is valid UTF-8; it should hold GBK bytes", u)
		}
		text, err = simplifiedchinese.GB18030.NewDecoder().Bytes(body)
		if err != nil {
			t.Fatalf("%s: GB18030 decode: %v", u, err)
		}
	} else {
		if ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q, want text/html; charset=utf-8", u, ct)
		}
		if !utf8.Valid(body) {
			t.Errorf("%s: not valid UTF-8", u)
		}
	}
	doc, err := html.Parse(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("%s: parse: %v", u, err)
	}
	p := &demoPage{url: pu, base: pu, doc: doc, utf8: text}
	if b := demoFind(doc, func(n *html.Node) bool { return n.Data == "base" }); len(b) > 0 {
		href, _ := demoAttr(b[0], "href")
		bu, err := pu.Parse(href)
		if err != nil {
			t.Fatalf("%s: bad <base href=%q>", u, href)
		}
		p.base = bu
	}
	return p
}

// resolve makes ref absolute against the page's base.
func (p *demoPage) resolve(t *testing.T, ref string) string {
	t.Helper()
	u, err := p.base.Parse(ref)
	if err != nil {
		t.Fatalf("%s: bad URL %q: %v", p.url, ref, err)
	}
	return u.String()
}

func demoAttr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// demoFind returns, in document order, the elements under n that match.
func demoFind(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func demoIs(n *html.Node, tag, attr, val string) bool {
	if n == nil || n.Type != html.ElementNode || n.Data != tag {
		return false
	}
	v, ok := demoAttr(n, attr)
	return ok && v == val
}

func demoHasAncestor(n *html.Node, match func(*html.Node) bool) bool {
	for a := n.Parent; a != nil; a = a.Parent {
		if match(a) {
			return true
		}
	}
	return false
}

func demoTitle(p *demoPage) string {
	ts := demoFind(p.doc, func(n *html.Node) bool { return n.Data == "title" })
	if len(ts) != 1 || ts[0].FirstChild == nil {
		return ""
	}
	return ts[0].FirstChild.Data
}

// demoXPath evaluates an attribute XPath (…/@attr) from DemoCrawls on a page.
func demoXPath(t *testing.T, p *demoPage, expr string) []string {
	t.Helper()
	nodes, err := htmlquery.QueryAll(p.doc, expr)
	if err != nil {
		t.Fatalf("bad XPath %q: %v", expr, err)
	}
	var out []string
	for _, n := range nodes {
		out = append(out, htmlquery.InnerText(n))
	}
	return out
}

// demoSection describes, for the test, the markup a section's pages use;
// it is checked by hand-written tree walks independent of the XPath.
type demoSection struct {
	linksPerPage int
	detailPages  int
	isLink       func(a *html.Node) bool // detail link on a listing page
	isImage      func(img *html.Node) bool
	imgType      string
}

var demoSections = map[string]demoSection{
	"gallery": {
		linksPerPage: 4,
		detailPages:  12,
		isLink: func(a *html.Node) bool {
			return a.Data == "a" && demoIs(a.Parent, "div", "class", "post")
		},
		isImage: func(img *html.Node) bool {
			return img.Data == "img" && demoHasAncestor(img, func(n *html.Node) bool { return demoIs(n, "div", "class", "photos") })
		},
		imgType: "image/png",
	},
	"movies": {
		linksPerPage: 3,
		detailPages:  6,
		isLink: func(a *html.Node) bool {
			return a.Data == "a" && a.Parent != nil && a.Parent.Data == "li" &&
				demoIs(a.Parent.Parent, "ul", "class", "list")
		},
		isImage: func(img *html.Node) bool {
			return img.Data == "img" && demoHasAncestor(img, func(n *html.Node) bool { return demoIs(n, "div", "id", "Zoom") })
		},
		imgType: "image/jpeg",
	},
}

// demoCheckImage fetches an image URL and checks its type and content.
func demoCheckImage(t *testing.T, u, wantType string) [32]byte {
	t.Helper()
	resp, body := demoGet(t, u)
	if ct := resp.Header.Get("Content-Type"); ct != wantType {
		t.Errorf("%s: Content-Type %q, want %q", u, ct, wantType)
	}
	if resp.Header.Get("ETag") == "" || resp.Header.Get("Last-Modified") == "" {
		t.Errorf("%s: missing ETag or Last-Modified", u)
	}
	if resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("%s: Accept-Ranges %q", u, resp.Header.Get("Accept-Ranges"))
	}
	if len(body) < 200 || len(body) > 8192 {
		t.Errorf("%s: %d bytes, want a few hundred bytes to a few KB", u, len(body))
	}
	var err error
	switch wantType {
	case "image/png":
		_, err = png.Decode(bytes.NewReader(body))
	case "image/jpeg":
		_, err = jpeg.Decode(bytes.NewReader(body))
	}
	if err != nil {
		t.Errorf("%s: not a valid %s: %v", u, wantType, err)
	}
	return sha256.Sum256(body)
}

// TestDemoCrawls walks the demo site the way each DemoCrawl describes and
// checks every page, every image and the numbers in DemoExpected.
func TestDemoCrawls(t *testing.T) {
	srv := httptest.NewServer(DemoHandler())
	defer srv.Close()

	if len(DemoCrawls) != len(DemoExpected) {
		t.Fatalf("%d crawls but %d expectations", len(DemoCrawls), len(DemoExpected))
	}
	allImages := map[[32]byte]string{}
	for _, c := range DemoCrawls {
		t.Run(c.Name, func(t *testing.T) {
			want, ok := DemoExpected[c.Name]
			if !ok {
				t.Fatalf("no DemoExpected entry for %q", c.Name)
			}
			sec, ok := demoSections[c.Name]
			if !ok {
				t.Fatalf("test knows nothing of crawl %q", c.Name)
			}
			args := demoArgs(t, c, srv.URL)
			for _, f := range []string{"--list-url", "--first-url", "--pages", "--links", "--images", "--name"} {
				if args[f] == "" {
					t.Fatalf("missing %s", f)
				}
			}
			if !strings.Contains(args["--list-url"], "{page}") {
				t.Errorf("--list-url %q has no {page}", args["--list-url"])
			}
			if !strings.HasPrefix(args["--name"], c.Name+"/") {
				t.Errorf("--name %q does not write under %s/", args["--name"], c.Name)
			}
			usesTitle := strings.Contains(args["--name"], "{title}")
			if usesTitle != (want.Titles != nil) {
				t.Errorf("--name %q vs Titles %q", args["--name"], want.Titles)
			}

			var details []string
			for _, pg := range demoPages(t, args["--pages"]) {
				lu := strings.ReplaceAll(args["--list-url"], "{page}", strconv.Itoa(pg))
				if pg == 1 {
					lu = args["--first-url"]
				}
				p := demoFetchPage(t, lu)
				var links []string
				for _, a := range demoFind(p.doc, sec.isLink) {
					href, _ := demoAttr(a, "href")
					links = append(links, p.resolve(t, href))
				}
				if len(links) != sec.linksPerPage {
					t.Errorf("%s: %d detail links, want %d", lu, len(links), sec.linksPerPage)
				}
				var viaXPath []string
				for _, href := range demoXPath(t, p, args["--links"]) {
					viaXPath = append(viaXPath, p.resolve(t, href))
				}
				if !slices.Equal(links, viaXPath) {
					t.Errorf("%s: --links %s gives\n%q\nwant\n%q", lu, args["--links"], viaXPath, links)
				}
				// The page also links elsewhere (ads, pager, nav): the
				// selector must pick only detail links.
				all := demoFind(p.doc, func(n *html.Node) bool { return n.Data == "a" })
				if len(all) <= len(links) {
					t.Errorf("%s: no decoy links", lu)
				}
				for _, l := range links {
					if strings.Contains(l, "/ads/") {
						t.Errorf("%s: the selector picks the ad %s", lu, l)
					}
				}
				details = append(details, links...)
			}
			if len(details) != sec.detailPages || len(slices.Compact(slices.Sorted(slices.Values(details)))) != sec.detailPages {
				t.Fatalf("detail pages %q, want %d distinct", details, sec.detailPages)
			}

			files := map[string]bool{}
			var titles []string
			for _, du := range details {
				p := demoFetchPage(t, du)
				title := demoTitle(p)
				if title == "" {
					t.Errorf("%s: no <title>", du)
				}
				titles = append(titles, title)

				var srcs []string
				for _, img := range demoFind(p.doc, sec.isImage) {
					src, _ := demoAttr(img, "src")
					srcs = append(srcs, p.resolve(t, src))
				}
				var viaXPath []string
				for _, src := range demoXPath(t, p, args["--images"]) {
					viaXPath = append(viaXPath, p.resolve(t, src))
				}
				if !slices.Equal(srcs, viaXPath) {
					t.Errorf("%s: --images %s gives\n%q\nwant\n%q", du, args["--images"], viaXPath, srcs)
				}
				if len(srcs) < 2 || len(srcs) > 5 {
					t.Errorf("%s: %d images", du, len(srcs))
				}
				if want.Titles != nil && len(srcs) != want.Files/len(want.Titles) {
					t.Errorf("%s: %d images, want %d", du, len(srcs), want.Files/len(want.Titles))
				}
				for _, src := range srcs {
					u, _ := url.Parse(src)
					if args["--strip-query"] == "true" {
						if u.Query().Get("q") != "thumb" || u.Query().Get("w") != "120" {
							t.Errorf("%s: image %s has no thumbnail query", du, src)
						}
						u.RawQuery = ""
					}
					if u.Host != strings.TrimPrefix(srv.URL, "http://") {
						t.Errorf("%s: image %s is off-site", du, src)
					}
					files[u.String()] = true
				}
				// Every image on the page is served, selected or not
				// (the gallery's logo), thumbnail query or not.
				for _, img := range demoFind(p.doc, func(n *html.Node) bool { return n.Data == "img" }) {
					src, _ := demoAttr(img, "src")
					abs := p.resolve(t, src)
					typ := "image/png"
					if strings.HasSuffix(strings.SplitN(abs, "?", 2)[0], ".jpg") {
						typ = "image/jpeg"
					}
					demoCheckImage(t, abs, typ)
					if !sec.isImage(img) && !demoIs(img, "img", "class", "logo") {
						t.Errorf("%s: unexpected image %s", du, src)
					}
				}
			}
			if len(files) != want.Files {
				t.Errorf("the crawl finds %d image files, DemoExpected says %d", len(files), want.Files)
			}
			for f := range files {
				sum := demoCheckImage(t, f, sec.imgType)
				if other, dup := allImages[sum]; dup {
					t.Errorf("%s has the same bytes as %s", f, other)
				}
				allImages[sum] = f
			}
			if want.Titles != nil && !slices.Equal(titles, want.Titles) {
				t.Errorf("titles\n%q\nwant\n%q", titles, want.Titles)
			}
		})
	}
}

// TestDemoGBKBytes checks the GBK files byte for byte: they decode to the
// expected titles, use GBK characters beyond GB2312 and contain one "/".
func TestDemoGBKBytes(t *testing.T) {
	want := DemoExpected["movies"].Titles
	if len(want) != 6 {
		t.Fatalf("%d movie titles, want 6", len(want))
	}
	var found []string
	err := fs.WalkDir(demoFiles, demoRoot+"/dyzz", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".html") {
			return err
		}
		raw, err := demoFiles.ReadFile(name)
		if err != nil {
			return err
		}
		text, err := simplifiedchinese.GB18030.NewDecoder().Bytes(raw)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return nil
		}
		gbk, err := simplifiedchinese.GBK.NewDecoder().Bytes(raw)
		if err != nil || !bytes.Equal(gbk, text) {
			t.Errorf("%s: GBK and GB18030 decodings differ (%v)", name, err)
		}
		back, err := simplifiedchinese.GB18030.NewEncoder().Bytes(text)
		if err != nil || !bytes.Equal(back, raw) {
			t.Errorf("%s: does not re-encode to the same bytes (%v)", name, err)
		}
		if n := bytes.Count(bytes.ToLower(raw), []byte("charset")); n != 1 {
			t.Errorf("%s: %d charset declarations, want 1", name, n)
		}
		if strings.Contains(name, "/2026/") {
			doc, err := html.Parse(bytes.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			found = append(found, demoTitle(&demoPage{doc: doc}))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(found)
	sorted := slices.Sorted(slices.Values(want))
	if !slices.Equal(found, sorted) {
		t.Errorf("detail titles %q, want %q", found, sorted)
	}
	joined := strings.Join(want, "")
	for _, r := range "镕堃" {
		if !strings.ContainsRune(joined, r) {
			t.Errorf("no title uses %q", r)
		}
		// Outside GB2312: HZ-GB2312 cannot encode it.
		if _, err := simplifiedchinese.HZGB2312.NewEncoder().String(string(r)); err == nil {
			t.Errorf("%q is inside GB2312", r)
		}
	}
	slashed := 0
	for _, title := range want {
		if strings.Contains(title, "/") {
			slashed++
		}
		if strings.ContainsAny(title, `\:*?"<>|`) {
			t.Errorf("title %q has path-hostile characters", title)
		}
	}
	if slashed != 1 {
		t.Errorf("%d titles contain /, want 1", slashed)
	}
}

// TestDemoFiles checks that every embedded image is valid and distinct.
func TestDemoFiles(t *testing.T) {
	seen := map[[32]byte]string{}
	n := 0
	err := fs.WalkDir(demoFiles, demoRoot, func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := demoFiles.ReadFile(name)
		if err != nil {
			return err
		}
		if !strings.HasSuffix(name, ".png") && !strings.HasSuffix(name, ".jpg") {
			return nil
		}
		n++
		if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		sum := sha256.Sum256(data)
		if other, dup := seen[sum]; dup {
			t.Errorf("%s duplicates %s", name, other)
		}
		seen[sum] = name
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	total := 1 // the logo
	for _, e := range DemoExpected {
		total += e.Files
	}
	if n != total {
		t.Errorf("%d images embedded, want %d", n, total)
	}
}

// TestDemoHandler checks the server's HTTP behaviour.
func TestDemoHandler(t *testing.T) {
	srv := httptest.NewServer(DemoHandler())
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	do := func(method, path string, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}

	for _, p := range []string{"/ads/x.html", "/gallery/index_1.html", "/gallery/index_4.html",
		"/dyzz/index_3.html", "/gallery/p/13.html", "/img/nope.png", "/", "/private/x.html",
		"/../demo.go", "/testdata/demo/robots.txt", "/dyzz/img/"} {
		if resp, _ := do("GET", p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, resp.StatusCode)
		}
	}

	resp, body := do("GET", "/robots.txt")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(string(body), "Disallow: /private/") {
		t.Errorf("robots.txt: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "Disallow:") && strings.TrimSpace(strings.TrimPrefix(line, "Disallow:")) != "/private/" {
			t.Errorf("robots.txt disallows more than /private/: %q", line)
		}
	}

	// Directories: /gallery/ is the index, /gallery is redirected there.
	_, index := do("GET", "/gallery/index.html")
	if resp, body := do("GET", "/gallery/"); resp.StatusCode != 200 || !bytes.Equal(body, index) {
		t.Errorf("/gallery/: %d, same as index.html: %v", resp.StatusCode, bytes.Equal(body, index))
	}
	if resp, _ := do("GET", "/gallery"); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/gallery/" {
		t.Errorf("/gallery: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := do("GET", "/dyzz/?from=home"); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html" {
		t.Errorf("/dyzz/?from=home: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// Query strings are ignored.
	_, full := do("GET", "/img/g1-1.png")
	if resp, thumb := do("GET", "/img/g1-1.png?w=120&q=thumb"); resp.StatusCode != 200 || !bytes.Equal(full, thumb) {
		t.Errorf("thumbnail URL: %d, same bytes: %v", resp.StatusCode, bytes.Equal(full, thumb))
	}

	// HEAD
	if resp, b := do("HEAD", "/dyzz/img/101-1.jpg"); resp.StatusCode != 200 || len(b) != 0 ||
		resp.Header.Get("Content-Type") != "image/jpeg" || resp.ContentLength <= 0 {
		t.Errorf("HEAD: %d %q %d", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength)
	}
	if resp, _ := do("POST", "/gallery/"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}

	// Range requests, plain and with If-Range.
	resp, whole := do("GET", "/dyzz/img/102-2.jpg")
	etag, lastMod := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if etag == "" || lastMod == "" {
		t.Fatalf("no ETag (%q) or Last-Modified (%q)", etag, lastMod)
	}
	resp, part := do("GET", "/dyzz/img/102-2.jpg", "Range", "bytes=100-")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, whole[100:]) ||
		resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-%d/%d", len(whole)-1, len(whole)) {
		t.Errorf("Range: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Range"), len(part))
	}
	if resp, part := do("GET", "/img/g3-2.png", "Range", "bytes=0-9"); resp.StatusCode != http.StatusPartialContent || len(part) != 10 {
		t.Errorf("Range 0-9: %d, %d bytes", resp.StatusCode, len(part))
	}
	if resp, part := do("GET", "/dyzz/img/102-2.jpg", "Range", "bytes=100-", "If-Range", etag); resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, whole[100:]) {
		t.Errorf("If-Range with the ETag: %d", resp.StatusCode)
	}
	if resp, _ := do("GET", "/dyzz/img/102-2.jpg", "Range", "bytes=100-", "If-Range", lastMod); resp.StatusCode != http.StatusPartialContent {
		t.Errorf("If-Range with Last-Modified: %d", resp.StatusCode)
	}
	if resp, b := do("GET", "/dyzz/img/102-2.jpg", "Range", "bytes=100-", "If-Range", `"stale"`); resp.StatusCode != 200 || !bytes.Equal(b, whole) {
		t.Errorf("If-Range with a stale ETag: %d, want the whole file", resp.StatusCode)
	}
	if resp, _ := do("GET", "/dyzz/img/102-2.jpg", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	if resp, _ := do("GET", "/dyzz/img/102-2.jpg", "Range", fmt.Sprintf("bytes=%d-", len(whole))); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("Range past the end: %d", resp.StatusCode)
	}
	// Another file has another ETag.
	if resp, _ := do("GET", "/dyzz/img/102-1.jpg"); resp.Header.Get("ETag") == etag {
		t.Errorf("two files share ETag %s", etag)
	}
}
