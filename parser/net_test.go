package parser

import (
	"slices"
	"testing"
)

func TestNetSelector(t *testing.T) {
	doc, err := Parse("http://example.com/p", []byte(`<html><body><video src="/v.mp4"></video></body></html>`), "text/html", "")
	if err != nil {
		t.Fatal(err)
	}
	doc.Requests = []string{
		"http://example.com/p",
		"http://example.com/player.js",
		"http://cdn.example.com/live/index.m3u8?token=1",
		"http://cdn.example.com/live/index.m3u8?token=1",
		"http://cdn.example.com/live/low.m3u8",
	}
	s, err := Compile(`net:\.m3u8`)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Rendered() {
		t.Error("a net: selector does not say it needs a rendered page")
	}
	want := []string{"http://cdn.example.com/live/index.m3u8?token=1", "http://cdn.example.com/live/low.m3u8"}
	if got := s.URLs(doc); !slices.Equal(got, want) {
		t.Errorf("URLs = %q, want %q", got, want)
	}
	if got := s.Text(doc); got != want[0] {
		t.Errorf("Text = %q", got)
	}
	doc.Requests = nil
	if got := s.URLs(doc); len(got) != 0 {
		t.Errorf("on a fetched page: %q", got)
	}
	x, _ := Compile("//video/@src")
	if x.Rendered() {
		t.Error("an XPath selector says it needs a rendered page")
	}
	for _, bad := range []string{"net:", "net:(", "net:  "} {
		if _, err := Compile(bad); err == nil {
			t.Errorf("Compile(%q) worked", bad)
		}
	}
}

func TestLazyImagePrefersItsAddress(t *testing.T) {
	page := `<html><body>
<img id="a" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/big/a.jpg">
<img id="b" src="" data-original="/big/b.jpg">
<img id="c" data-lazy-src="/big/c.jpg" srcset="/small/c.jpg 1x">
<img id="d" src="DATA:image/png;base64,AA" data-srcset="/big/d1.jpg 1x, /big/d2.jpg 2x">
<img id="e" src="/real/e.jpg" data-src="/big/e.jpg">
<img id="f" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
</body></html>`
	doc, err := Parse("http://example.com/g/", []byte(page), "text/html", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"http://example.com/big/a.jpg", "http://example.com/big/b.jpg", "http://example.com/big/c.jpg",
		"http://example.com/big/d2.jpg", "http://example.com/real/e.jpg",
	}
	for _, expr := range []string{"//img", "css:img"} {
		s, err := Compile(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.URLs(doc); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", expr, got, want)
		}
	}
	// An attribute named is taken as it is: a data: src is no URL.
	s, _ := Compile("//img/@src")
	if got := s.URLs(doc); !slices.Equal(got, []string{"http://example.com/real/e.jpg"}) {
		t.Errorf("//img/@src: %q", got)
	}
}

// TestNetSelectorOnJSON: net: reads the requests of a rendered answer
// that is JSON too, not its JSON tree.
func TestNetSelectorOnJSON(t *testing.T) {
	doc, err := Parse("http://example.com/api", []byte(`{"v":"/x.m3u8"}`), "application/json", "")
	if err != nil {
		t.Fatal(err)
	}
	doc.Requests = []string{"http://example.com/api", "http://cdn.example.com/a.m3u8"}
	s, err := Compile(`net:\.m3u8`)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.URLs(doc); !slices.Equal(got, []string{"http://cdn.example.com/a.m3u8"}) {
		t.Errorf("URLs = %q", got)
	}
}
