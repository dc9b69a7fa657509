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

// FuzzDetectEncoding: detection never panics or fails on a known label,
// names a canonical encoding, follows the order forced > BOM > header >
// <meta> > guess, is deterministic, and always yields valid UTF-8.
func FuzzDetectEncoding(f *testing.F) {
	addPageSeeds(f, func(b []byte) { f.Add(b, "", uint8(0)) })
	for _, p := range goldenPages {
		f.Add(p.bytes(f), p.contentType, uint8(0))
	}
	f.Add([]byte("\xEF\xBB\xBF<p>\xFF"), "text/html; charset=gbk", uint8(1))
	f.Add([]byte("<meta charset=utf-16><p>\xB5\xE7"), "text/html; charset=utf-16be", uint8(0))
	f.Add([]byte("\x84\x31\x95\x33<p>\x95\x32\x82\x36"), "", uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, contentType string, label uint8) {
		forced := fuzzLabels[int(label)%len(fuzzLabels)]
		d, err := detect(body, contentType, forced)
		if err != nil {
			t.Fatalf("detect: %v", err)
		}
		if _, name, err := LookupEncoding(d.name); err != nil || name != d.name {
			t.Fatalf("encoding %q is not a canonical name (%q, %v)", d.name, name, err)
		}
		if !utf8.Valid(d.text) {
			t.Fatalf("decoded text is not valid UTF-8 (%s)", d.name)
		}
		_, bomName, bomLen := sniffBOM(body)
		switch {
		case forced != "":
			if d.how != howForced {
				t.Fatalf("forced %q: how = %q", forced, d.how)
			}
		case bomLen > 0:
			if d.how != howBOM || d.name != bomName {
				t.Fatalf("BOM %s: got %q, %q", bomName, d.name, d.how)
			}
		case d.how == howHeader:
			if _, name, err := LookupEncoding(headerCharset(contentType)); err != nil || name != d.name {
				t.Fatalf("how = header, but the header says %q", headerCharset(contentType))
			}
		case d.how == howMeta:
			if m := metaScan(body); m != d.name {
				t.Fatalf("how = meta, but the prescan finds %q, not %q", m, d.name)
			}
		case d.how != howGuess:
			t.Fatalf("how = %q", d.how)
		}
		name, how, err := DetectEncoding(body, contentType, forced)
		if err != nil || name != d.name || how != d.how {
			t.Fatalf("DetectEncoding = %q, %q, %v; detect gave %q, %q", name, how, err, d.name, d.how)
		}
	})
}

// fuzzEncodings are the page encodings FuzzResolve resolves in.
var fuzzEncodings = []string{"utf-8", "gbk", "big5", "shift_jis", "euc-kr", "windows-1252", "utf-16le", "iso-2022-jp"}

// FuzzResolve: resolution never panics; what it accepts is an absolute,
// normalised, ASCII http(s) URL without a fragment that resolves to itself.
func FuzzResolve(f *testing.F) {
	for _, s := range []struct{ base, ref string }{
		{"http://www.example.com/dir/page.html", "../a.jpg"},
		{"http://www.example.com/dir/page.html", "//cdn.example.net/x?q=电影#f"},
		{"https://www.example.cn/a/b.html", "/s?kw=电影&n=镕"},
		{"http://WWW.Example.COM:80/", "HTTP://Host:0080/%zz/\\a?\"<>'"},
		{"http://例子.中国/", "./图片/美女.jpg?q=美女"},
		{"http://[::1]:8080/a/", " \t javascript:x"},
		{"http://example.com/", "http://exa mple.com/"},
		{"http://example.com/a/b/c", "../../../..//x/./y/../z?%"},
		{"http://example.com/", "http://xn--fsqu00a.xn--fiqs8s:65535/"},
		{"http://example.com/", "data:text/html,x"},
		{"http://example.com/a/", "/img/2024/a_b-c~d.jpg?w=1&h=2"},
		{"https://example.com:8443/a/", "//cdn.example.net/x/%E5%9B%BE.jpg"},
		{"http://user@example.com/a/", "/x/./y/../z"},
		{"http://example.com/a/", "https://img.example.cn/p/(1)!.jpg?x=$&y=@:"},
		{"HTTP://EXAMPLE.COM/", "/"},
	} {
		for i := range fuzzEncodings {
			f.Add(s.base, s.ref, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, base, ref string, enc uint8) {
		name := fuzzEncodings[int(enc)%len(fuzzEncodings)]
		doc, err := Parse(base, nil, "", name)
		if err != nil {
			return // a bad page URL
		}
		if q, ok := quickResolve(doc.Base, ref); ok {
			u, ok := doc.resolve(doc.Base, ref)
			if !ok || u.String() != q {
				t.Fatalf("quickResolve(%q, %q) = %q; resolve gives %v, %v", doc.Base, ref, q, u, ok)
			}
		}
		u, ok := doc.Resolve(ref)
		if !ok {
			if u != "" {
				t.Fatalf("Resolve(%q) = %q, false", ref, u)
			}
			return
		}
		checkResolved(t, u)
		if again, ok := doc.Resolve(u); !ok || again != u {
			t.Fatalf("Resolve(%q) = %q; resolving that again gives %q, %v", ref, u, again, ok)
		}
	})
}

// checkResolved checks that u is what Resolve promises: an absolute http(s)
// URL in ASCII, host in lower case, no default port, no fragment, no
// white space or characters a browser would escape.
func checkResolved(t *testing.T, u string) {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatalf("resolved %q does not parse: %v", u, err)
	}
	if (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Fragment != "" || strings.Contains(u, "#") {
		t.Fatalf("resolved %q: scheme %q host %q fragment %q", u, p.Scheme, p.Host, p.Fragment)
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c >= 0x7F || c == '"' || c == '<' || c == '>' {
			t.Fatalf("resolved %q holds byte %#x", u, c)
		}
	}
	if p.Host != strings.ToLower(p.Host) {
		t.Fatalf("resolved %q: host not in lower case", u)
	}
	if port := p.Port(); (p.Scheme == "http" && port == "80") || (p.Scheme == "https" && port == "443") || strings.HasSuffix(p.Host, ":") {
		t.Fatalf("resolved %q: default or empty port kept", u)
	}
}

// FuzzSelector: any expression either fails to compile or runs on any page
// without panicking; the URLs it yields are resolved, the text it yields is
// valid, trimmed UTF-8.
func FuzzSelector(f *testing.F) {
	exprs := append(append(append([]string{}, goldenSelectors.urls...), goldenSelectors.extract...), goldenSelectors.text...)
	exprs = append(exprs,
		"//img/@srcset | //img/@data-srcset",
		"css:picture source@srcset",
		"//a[text()='下一页']/@href",
		"css:a:contains('下一页')",
		"css:div.pics > img:nth-child(2n+1)@data-src",
		"//*[@*]/@*",
		"sum(//img/@width) div count(//img)",
		"//a[starts-with(@href, 'http')][last()]",
	)
	var pages [][]byte
	for _, p := range goldenPages[:6] {
		pages = append(pages, p.bytes(f))
	}
	pages = append(pages, []byte(`<img srcset="a.jpg 1x, b.jpg 2x" data-srcset=" , c.jpg 10w,d.jpg 20w"><a href="x">下一页</a>`))
	for i, e := range exprs {
		f.Add(e, pages[i%len(pages)])
	}
	f.Fuzz(func(t *testing.T, expr string, body []byte) {
		if len(expr) > 200 || len(body) > 16<<10 {
			return // keep each run fast; size is not what this target explores
		}
		s, err := Compile(expr)
		if err != nil {
			if s != nil {
				t.Fatalf("Compile(%q) = %v, %v", expr, s, err)
			}
			return
		}
		doc, err := Parse("http://www.example.com/dir/page.html", body, "", "")
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		for _, v := range s.Extract(doc) {
			if v == "" || v != strings.TrimSpace(v) {
				t.Fatalf("Extract(%q) value %q is empty or untrimmed", expr, v)
			}
		}
		for _, u := range s.URLs(doc) {
			checkResolved(t, u)
		}
		if v := s.Text(doc); !utf8.ValidString(v) || v != strings.TrimSpace(v) {
			t.Fatalf("Text(%q) = %q", expr, v)
		}
	})
}

// FuzzSrcset: any srcset value gives "" or one of its URLs.
func FuzzSrcset(f *testing.F) {
	for _, s := range []string{
		"a.jpg 480w, b.jpg 1080w",
		"a.jpg, b.jpg 2x, c.jpg 1.5x",
		"a.jpg 100w 50h, b.jpg 2000w 2x",
		"data:image/gif;base64,R0lG 1x,/x.jpg 2x",
		"a.jpg foo(1, 2)x, b.jpg 3x",
		"a.jpg -1e-3x, b.jpg .5x,, c,d 9999999999999999999999w",
		" , ,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := largestCandidate(s)
		if got == "" {
			return
		}
		if strings.ContainsAny(got, asciiSpace) || strings.HasSuffix(got, ",") || !strings.Contains(s, got) {
			t.Fatalf("largestCandidate(%q) = %q, not one of its URLs", s, got)
		}
	})
}

// FuzzParsePlaylist: ParsePlaylist never panics; what it returns is
// consistent (absolute ranges, sequence numbers in order, 16-byte IVs), and
// TSStart stays within the body.
func FuzzParsePlaylist(f *testing.F) {
	for _, s := range []string{
		"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=2x3\na.m3u8\n",
		"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-MAP:URI=\"i\",BYTERANGE=\"4@1\"\n#EXT-X-BYTERANGE:5@2\nx\n#EXT-X-BYTERANGE:6\nx\n#EXT-X-ENDLIST\n",
		"#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"data:;base64,AA==\",IV=0x01\n#EXTINF:1,\n%zz\n",
		"#EXTM3U\n#EXT-X-KEY:METHOD=NONE\n#EXT-X-DISCONTINUITY\nhttp://[::1]/a\n",
		"\x89PNG\r\n\x1a\n\x47",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if n := TSStart(body); n < -1 || n > len(body) {
			t.Fatalf("TSStart = %d of %d bytes", n, len(body))
		}
		p, err := ParsePlaylist(body, "https://h.example/a/b.m3u8")
		if err != nil {
			return
		}
		for i, s := range p.Segments {
			if s.Range.Length >= 0 && s.Range.Offset < 0 {
				t.Fatalf("segment %d: range %+v", i, s.Range)
			}
			if s.Sequence != p.MediaSequence+int64(i) {
				t.Fatalf("segment %d: sequence %d", i, s.Sequence)
			}
			if s.Key != nil && s.Key.IV != nil && len(s.Key.IV) != 16 {
				t.Fatalf("segment %d: IV %x", i, s.Key.IV)
			}
			if s.Map != nil && s.Map.Range.Offset < 0 {
				t.Fatalf("segment %d: map range %+v", i, s.Map.Range)
			}
		}
		if len(p.Variants) > 0 {
			if _, err := ChooseVariant(p.Variants, "best"); err != nil {
				t.Fatal(err)
			}
		}
	})
}
