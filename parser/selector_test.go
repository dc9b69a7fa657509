package parser

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

const selectorPage = `<!DOCTYPE html>
<html><head><title>Gallery</title>
<link rel="next" href="/list_2.html">
</head><body>
<h1>
  Summer   photos
</h1>
<ul id="list">
  <li><a href="/d/1.html"><img src="/t/1.jpg" data-src="/o/1.jpg" class="lazy"></a></li>
  <li><a href="/d/2.html"><img src="/t/2.jpg" data-src="/o/2.jpg" class="lazy"></a></li>
  <li><a href="/d/1.html"><img src="/t/1.jpg"></a></li>
  <li><a href="javascript:show(3)"><img src=" /t/3.jpg "></a></li>
  <li><a><img></a></li>
</ul>
<video src="/v/clip.mp4" poster="/v/clip.jpg"><source src="/v/clip.webm"></video>
<iframe src="/embed/1"></iframe>
<object data="/flash/x.swf"></object>
<div class="item" href="/div-href" src="/div-src"></div>
<span class="item" src="/span-src"></span>
<p class="note">first</p><p class="note">second</p>
<p class="empty"> </p><p class="empty">filled</p>
</body></html>`

func selectorDoc(t testing.TB) *Document {
	t.Helper()
	doc, err := Parse("http://example.com/list/index.html", []byte(selectorPage), "text/html; charset=utf-8", "")
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestCompileErrors(t *testing.T) {
	for _, expr := range []string{
		"",
		"   ",
		"//a[",
		"//img/@",
		"count(",
		"css:",
		"css:@src",
		"css:a[",
		"css:>>>",
	} {
		s, err := Compile(expr)
		if err == nil {
			t.Errorf("Compile(%q) = %v, want an error", expr, s)
			continue
		}
		if expr != "" && strings.TrimSpace(expr) != "" && !strings.Contains(err.Error(), fmt.Sprintf("%q", expr)) {
			t.Errorf("Compile(%q) error %q does not name the expression", expr, err)
		}
	}
}

func TestSelectorString(t *testing.T) {
	for _, expr := range []string{"//img/@src", "css:img.lazy@data-src"} {
		if got := mustCompile(t, expr).String(); got != expr {
			t.Errorf("String() = %q, want %q", got, expr)
		}
	}
}

func TestExtract(t *testing.T) {
	doc := selectorDoc(t)
	tests := []struct {
		expr string
		want []string
	}{
		{"//ul/li/a/img/@src", []string{"/t/1.jpg", "/t/2.jpg", "/t/1.jpg", "/t/3.jpg"}},
		{"//ul//a", []string{"/d/1.html", "/d/2.html", "/d/1.html", "javascript:show(3)"}},
		{"//img[@class='lazy']", []string{"/t/1.jpg", "/t/2.jpg"}},
		{"//img[@class='lazy']/@data-src", []string{"/o/1.jpg", "/o/2.jpg"}},
		{"//link[@rel='next']", []string{"/list_2.html"}},
		{"//video | //video/source | //iframe | //object", []string{"/v/clip.mp4", "/v/clip.webm", "/embed/1", "/flash/x.swf"}},
		{"//video/@poster", []string{"/v/clip.jpg"}},
		{"//*[@class='item']", []string{"/div-href", "/span-src"}},
		{"//p[@class='note']/text()", []string{"first", "second"}},
		{"//h1/text()", []string{"Summer   photos"}},
		{"normalize-space(//h1)", []string{"Summer photos"}},
		{"count(//img)", []string{"5"}},
		{"count(//img) > 2", []string{"true"}},
		{"//nothing/@src", nil},
		{"css:ul a", []string{"/d/1.html", "/d/2.html", "/d/1.html", "javascript:show(3)"}},
		{"css:ul img", []string{"/t/1.jpg", "/t/2.jpg", "/t/1.jpg", "/t/3.jpg"}},
		{"css:img.lazy@data-src", []string{"/o/1.jpg", "/o/2.jpg"}},
		{"css: img.lazy @data-src ", []string{"/o/1.jpg", "/o/2.jpg"}},
		{"css:video, iframe, object", []string{"/v/clip.mp4", "/embed/1", "/flash/x.swf"}},
		{"css:link[rel=next]", []string{"/list_2.html"}},
		{"css:.item", []string{"/div-href", "/span-src"}},
		{`css:a[href^="/d/"]`, []string{"/d/1.html", "/d/2.html", "/d/1.html"}},
		{"css:nothing", nil},
	}
	for _, tt := range tests {
		got := mustCompile(t, tt.expr).Extract(doc)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Extract(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// TestExtractUnionOrder: values come in document order even when the union
// is written the other way round.
func TestExtractUnionOrder(t *testing.T) {
	doc := selectorDoc(t)
	want := []string{"/list_2.html", "/t/1.jpg", "/o/1.jpg", "/t/2.jpg", "/o/2.jpg", "/t/1.jpg", "/t/3.jpg"}
	for _, expr := range []string{
		"//link/@href | //img/@src | //img/@data-src",
		"//img/@data-src | //img/@src | //link/@href",
	} {
		if got := mustCompile(t, expr).Extract(doc); !reflect.DeepEqual(got, want) {
			t.Errorf("Extract(%q) = %q, want %q", expr, got, want)
		}
	}
}

func TestURLs(t *testing.T) {
	doc := selectorDoc(t)
	tests := []struct {
		expr string
		want []string
	}{
		{"//ul//a/@href", []string{"http://example.com/d/1.html", "http://example.com/d/2.html"}},
		{"css:ul img", []string{"http://example.com/t/1.jpg", "http://example.com/t/2.jpg", "http://example.com/t/3.jpg"}},
		{"//p/text()", []string{"http://example.com/list/first", "http://example.com/list/second", "http://example.com/list/filled"}},
	}
	for _, tt := range tests {
		if got := mustCompile(t, tt.expr).URLs(doc); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("URLs(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	doc := selectorDoc(t)
	tests := []struct {
		expr, want string
	}{
		{"//h1", "Summer photos"},
		{"css:h1", "Summer photos"},
		{"//title", "Gallery"},
		{"//p[@class='note']", "first"},
		{"//p[@class='empty']", "filled"},
		{"//img/@src", "/t/1.jpg"},
		{"css:img.lazy@data-src", "/o/1.jpg"},
		{"//h1/text()", "Summer photos"},
		{"concat(//title, ' - ', //p[@class='note'][2])", "Gallery - second"},
		{"//nothing", ""},
		{"css:nothing", ""},
	}
	for _, tt := range tests {
		if got := mustCompile(t, tt.expr).Text(doc); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

func TestSelectorNilDocument(t *testing.T) {
	s := mustCompile(t, "//a")
	if got := s.Extract(&Document{}); got != nil {
		t.Errorf("Extract on an empty Document = %q", got)
	}
	if got := mustCompile(t, "css:a").Text(nil); got != "" {
		t.Errorf("Text(nil) = %q", got)
	}
}

// TestSelectorConcurrent shares compiled selectors between goroutines, as
// the parse stage does (run with -race).
func TestSelectorConcurrent(t *testing.T) {
	sels := []*Selector{
		mustCompile(t, "//ul/li/a/img/@src"),
		mustCompile(t, "count(//img)"),
		mustCompile(t, "css:img.lazy@data-src"),
	}
	want := make([][]string, len(sels))
	doc := selectorDoc(t)
	for i, s := range sels {
		want[i] = s.URLs(doc)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			doc := selectorDoc(t)
			for n := 0; n < 50; n++ {
				for i, s := range sels {
					if got := s.URLs(doc); !reflect.DeepEqual(got, want[i]) {
						select {
						case errs <- fmt.Sprintf("%s: %q, want %q", s, got, want[i]):
						default:
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
