// Package crawl holds what the crawl command ships with it, beside the code
// in its sub-packages: the bundled demo site that `crawl demo` serves on
// 127.0.0.1 and crawls offline, and that the end-to-end tests serve too.
//
// The demo site lives in testdata/demo and is embedded in the binary. It has
// two sections:
//
//   - /gallery/: three UTF-8 listing pages (/gallery/, /gallery/index_2.html,
//     /gallery/index_3.html) linking to twelve detail pages, each with 3 to 5
//     PNG thumbnails (/img/gN-M.png?w=120&q=thumb) inside <div class="photos">,
//     a logo outside it, and a decoy advert block on every listing page. Links
//     and image URLs come in relative, root-relative, dot-segment and
//     <base href> forms.
//   - /dyzz/: a legacy Chinese movie-site layout. Its pages are GBK bytes whose
//     only charset declaration is <meta http-equiv="Content-Type"
//     content="text/html; charset=gb2312">; the server sends plain "text/html"
//     for them. Two listing pages link to six detail pages, each with two JPEG
//     images inside <div id="Zoom">. Some titles use characters that are in
//     GBK but not in GB2312 (镕, 堃) and one title contains a "/".
package crawl

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed testdata/demo
var demoFiles embed.FS

// demoRoot is the directory of demoFiles that the site is served from.
const demoRoot = "testdata/demo"

// demoModTime is the Last-Modified time of every demo file (embedded files
// carry no time of their own). It is fixed so that validators stay stable
// from one run to the next and Range/If-Range requests can be checked.
var demoModTime = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// DemoCrawl is one crawl that `crawl demo` runs against the demo site.
type DemoCrawl struct {
	// Name identifies the crawl; it is also the top folder, under --out,
	// that the crawl's --name template writes to, and the key of DemoExpected.
	Name string
	// Args are the crawl's flags. The placeholder {base} stands for the
	// demo server's base URL (such as http://127.0.0.1:41234, no trailing
	// slash) and must be replaced before use; {page}, {name}, {ext} and
	// {title} are crawl's own template fields and stay as they are. The
	// runner adds --out (and whatever else it needs, such as --quiet).
	Args []string
}

// DemoCrawls are the crawls `crawl demo` runs, in order.
var DemoCrawls = []DemoCrawl{
	{
		Name: "gallery",
		Args: []string{
			"--list-url", "{base}/gallery/index_{page}.html",
			"--first-url", "{base}/gallery/",
			"--pages", "1-3",
			"--links", `//div[@class="post"]/a/@href`,
			"--images", `//div[@class="photos"]//img/@src`,
			"--strip-query",
			"--name", "gallery/{name}{ext}",
		},
	},
	{
		Name: "movies",
		Args: []string{
			"--list-url", "{base}/dyzz/index_{page}.html",
			"--first-url", "{base}/dyzz/",
			"--pages", "1-2",
			"--links", `//ul[@class="list"]/li/a/@href`,
			"--images", `//div[@id="Zoom"]//img/@src`,
			"--name", "movies/{title}/{name}{ext}",
		},
	},
}

// DemoExpectation is what one demo crawl must produce.
type DemoExpectation struct {
	// Files is the number of image files the crawl must download.
	Files int
	// Titles are the <title>s of the crawl's detail pages, decoded to
	// UTF-8, in listing order; nil when the crawl's --name does not use
	// {title}. Each titled detail page holds Files/len(Titles) images.
	Titles []string
}

// DemoExpected maps each DemoCrawl's Name to what that crawl must produce.
var DemoExpected = map[string]DemoExpectation{
	"gallery": {Files: 46},
	"movies": {
		Files: 12,
		Titles: []string{
			"《山河故人》BD国语中字",
			"《镕金岁月》HD国语中字",
			"《堃山夜雨》BD中英双字",
			"《东邪西毒/终极版》BD中字",
			"《长安三万里》HD国语",
			"《满江红》WEB中字",
		},
	},
}

// demoFile is one file of the demo site, ready to serve.
type demoFile struct {
	data        []byte
	contentType string
	etag        string
}

// DemoHandler returns an http.Handler serving the demo site. A directory URL
// such as /gallery/ serves its index.html (a directory URL without its final
// slash is redirected to it), query strings are ignored, HTML under /dyzz/ is
// sent as "text/html" without a charset (the pages declare gb2312 in a meta
// tag), other HTML as "text/html; charset=utf-8", images with their own types.
// Every response carries Last-Modified and a strong ETag, so conditional and
// Range requests (206) work. Anything missing is a 404.
func DemoHandler() http.Handler {
	site, err := fs.Sub(demoFiles, demoRoot)
	if err != nil {
		panic("crawl: demo site: " + err.Error())
	}
	files := map[string]*demoFile{}
	err = fs.WalkDir(site, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(site, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		files[name] = &demoFile{
			data:        data,
			contentType: demoContentType(name),
			etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
		}
		return nil
	})
	if err != nil {
		panic("crawl: demo site: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		upath := r.URL.Path
		if !strings.HasPrefix(upath, "/") {
			upath = "/" + upath
		}
		name := strings.TrimPrefix(path.Clean(upath), "/")
		if strings.HasSuffix(upath, "/") {
			name = path.Join(name, "index.html")
		} else if _, ok := files[path.Join(name, "index.html")]; ok {
			target := "/" + name + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
			return
		}
		f, ok := files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("ETag", f.etag)
		http.ServeContent(w, r, name, demoModTime, bytes.NewReader(f.data))
	})
}

// demoContentType is the Content-Type the demo server sends for name, a path
// relative to the site root.
func demoContentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".html", ".htm":
		if strings.HasPrefix(name, "dyzz/") {
			return "text/html"
		}
		return "text/html; charset=utf-8"
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}
