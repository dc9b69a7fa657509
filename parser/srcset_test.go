package parser

import (
	"reflect"
	"testing"
)

func TestLargestCandidate(t *testing.T) {
	tests := []struct {
		name, srcset, want string
	}{
		{"empty", "", ""},
		{"blank", " \t\n, ,", ""},
		{"one bare URL", "a.jpg", "a.jpg"},
		{"widths", "s.jpg 480w, m.jpg 960w, l.jpg 1920w, t.jpg 100w", "l.jpg"},
		{"widths unordered, no spaces after commas", "m.jpg 960w,l.jpg 1920w,s.jpg 480w", "l.jpg"},
		{"densities", "a.jpg, b.jpg 2x, c.jpg 1.5x", "b.jpg"},
		{"bare is 1x", "a.jpg 0.5x, b.jpg", "b.jpg"},
		{"tie keeps the first", "a.jpg 2x, b.jpg 2x", "a.jpg"},
		{"w beats x", "a.jpg 3x, b.jpg 10w", "b.jpg"},
		{"w beats bare", "a.jpg, b.jpg 10w", "b.jpg"},
		{"width and height", "a.jpg 100w 50h, b.jpg 200w 100h", "b.jpg"},
		{"height alone is invalid", "a.jpg 100h, b.jpg", "b.jpg"},
		{"w and x together are invalid", "big.jpg 2000w 2x, small.jpg 100w", "small.jpg"},
		{"zero width is invalid", "a.jpg 0w, b.jpg 1w", "b.jpg"},
		{"negative density is invalid", "a.jpg -2x, b.jpg 0.5x", "b.jpg"},
		{"float density forms", "a.jpg .5x, b.jpg 1e1x, c.jpg 2.x", "b.jpg"},
		{"unknown descriptor", "a.jpg 2q, b.jpg", "b.jpg"},
		{"descriptor with parens", "a.jpg foo(1, 2)x, b.jpg 3x", "b.jpg"},
		{"comma in URL kept", "/img?a=1,2 2x, /img?b 1x", "/img?a=1,2"},
		{"trailing commas end a URL", "a.jpg,, b.jpg 0.5x", "a.jpg"},
		{"a comma without space stays in the URL", "a.jpg,b.jpg 2x", "a.jpg,b.jpg"},
		{"data URL", "data:image/gif;base64,R0lG 1x, /real.jpg 2x", "/real.jpg"},
		{"newlines", "\n  s.jpg 480w,\n  l.jpg 1080w\n", "l.jpg"},
		{"huge width", "a.jpg 99999999999999999999999w, b.jpg 1w", "a.jpg"},
		{"non-ASCII URL", "/图片/小.jpg 1x, /图片/大.jpg 2x", "/图片/大.jpg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := largestCandidate(tt.srcset); got != tt.want {
				t.Errorf("largestCandidate(%q) = %q, want %q", tt.srcset, got, tt.want)
			}
		})
	}
}

func TestSrcsetSelectors(t *testing.T) {
	const page = `<html><head><base href="http://cdn.example.com/g/"></head><body>
<img class="a" src="s.jpg" srcset="s.jpg 480w, l.jpg 1080w, m.jpg 720w">
<img class="lazy" src="grey.gif" data-srcset="//img.example.com/1x.jpg, //img.example.com/2x.jpg 2x">
<img class="wp" data-lazy-srcset="/w/a-300.jpg 300w, /w/a-1024.jpg 1024w">
<img class="bad" srcset="">
<picture><source type="image/webp" srcset="p.webp 1x, p@2x.webp 2x"><img src="p.jpg"></picture>
<img class="dup" srcset="l.jpg 2x, s.jpg">
</body></html>`
	doc, err := Parse("http://www.example.com/page.html", []byte(page), "", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr string
		want []string
	}{
		{"//img/@srcset", []string{"http://cdn.example.com/g/l.jpg"}},
		{"//img[@class='a']/@srcset", []string{"http://cdn.example.com/g/l.jpg"}},
		{"css:img.a@srcset", []string{"http://cdn.example.com/g/l.jpg"}},
		{"css:img@data-srcset", []string{"http://img.example.com/2x.jpg"}},
		{"//img/@data-srcset", []string{"http://img.example.com/2x.jpg"}},
		{"css:img.wp@data-lazy-srcset", []string{"http://cdn.example.com/w/a-1024.jpg"}},
		{"//picture/source", []string{"http://cdn.example.com/g/p@2x.webp"}},
		{"css:picture source, picture img", []string{"http://cdn.example.com/g/p@2x.webp", "http://cdn.example.com/g/p.jpg"}},
		{"//img[@class='a']", []string{"http://cdn.example.com/g/s.jpg"}}, // src wins on an element
		{"//img[@class='a']/@src | //img[@class='a']/@srcset", []string{"http://cdn.example.com/g/s.jpg", "http://cdn.example.com/g/l.jpg"}},
	}
	for _, tt := range tests {
		if got := mustCompile(t, tt.expr).URLs(doc); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("URLs(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
	// Text gives the attribute as it is.
	if got := mustCompile(t, "css:img.a@srcset").Text(doc); got != "s.jpg 480w, l.jpg 1080w, m.jpg 720w" {
		t.Errorf("Text = %q", got)
	}
}
