package parser

import (
	"reflect"
	"strings"
	"testing"
)

// jsonDoc parses body as the answer of http://api.example.com/v1/posts?page=2.
func jsonDoc(t testing.TB, body, contentType string) *Document {
	t.Helper()
	doc, err := Parse("http://api.example.com/v1/posts?page=2", []byte(body), contentType, "")
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestJSONAnswer(t *testing.T) {
	const posts = `{"data":[{"url":"/p/1","id":1},{"url":"https://cdn.example.com/p/2"},{"url":7},{"url":""},{"url":"/p/1"}],
		"post":{"title":"  A  <\/script> caf\u00e9  ","images":[{"src":"img/a.jpg"},{"src":"//cdn.example.com/b.jpg"}]}}`
	for _, tc := range []struct {
		name, body, contentType, expr string
		want                          []string
	}{
		{"links", posts, "application/json", "//data/*/url",
			[]string{"http://api.example.com/p/1", "https://cdn.example.com/p/2"}},
		{"images", posts, "application/json; charset=utf-8", "//images/*/src",
			[]string{"http://api.example.com/v1/img/a.jpg", "http://cdn.example.com/b.jpg"}},
		{"json prefix is the same", posts, "application/json", "json://images/*/src",
			[]string{"http://api.example.com/v1/img/a.jpg", "http://cdn.example.com/b.jpg"}},
		{"sniffed without a content type", posts, "", "//data/*/url",
			[]string{"http://api.example.com/p/1", "https://cdn.example.com/p/2"}},
		{"sniffed under text/html", " \n" + posts, "text/html", "//data/*/url",
			[]string{"http://api.example.com/p/1", "https://cdn.example.com/p/2"}},
		{"vendor +json type", posts, "application/vnd.api+json", "//post/images/*/src",
			[]string{"http://api.example.com/v1/img/a.jpg", "http://cdn.example.com/b.jpg"}},
		{"top-level array", `[{"src":"/1.jpg"},{"src":"/2.jpg"}]`, "application/json", "//src",
			[]string{"http://api.example.com/1.jpg", "http://api.example.com/2.jpg"}},
		{"array items as strings", `{"images":["/1.jpg","/2.jpg"]}`, "", "//images/*",
			[]string{"http://api.example.com/1.jpg", "http://api.example.com/2.jpg"}},
		{"nested arrays", `{"pages":[[{"u":"/a"}],[{"u":"/b"},{"u":"/c"}]]}`, "", "//u",
			[]string{"http://api.example.com/a", "http://api.example.com/b", "http://api.example.com/c"}},
		{"numbers are no urls", `{"data":[{"url":1},{"url":true},{"url":null},{"url":{"x":"/y"}}]}`, "", "//data/*/url", nil},
		{"predicate on a sibling", `{"items":[{"type":"video","u":"/v.mp4"},{"type":"image","u":"/i.jpg"}]}`, "", `//items/*[type="image"]/u`,
			[]string{"http://api.example.com/i.jpg"}},
		{"unicode escapes", `{"u":"/\u56fe\u7247/1.jpg"}`, "", "//u",
			[]string{"http://api.example.com/%E5%9B%BE%E7%89%87/1.jpg"}},
		{"css matches nothing", posts, "application/json", "css:a", nil},
		{"string result", posts, "", `concat("/x/", "1.jpg")`, []string{"http://api.example.com/x/1.jpg"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := jsonDoc(t, tc.body, tc.contentType)
			if doc.JSON == nil || doc.Root != nil {
				t.Fatalf("not read as a JSON answer")
			}
			if got := mustCompile(t, tc.expr).URLs(doc); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("URLs(%s) = %q, want %q", tc.expr, got, tc.want)
			}
		})
	}
}

func TestJSONTitle(t *testing.T) {
	doc := jsonDoc(t, `{"post":{"title":"  A  <\/script> caf\u00e9  ","id":12,"tags":["x","y"]}}`, "application/json")
	if got := doc.Title(); got != "" {
		t.Errorf("Title() = %q, want none on a JSON answer", got)
	}
	for expr, want := range map[string]string{
		"//post/title": "A </script> café",
		"//post/id":    "12",
		"//post/tags":  "xy",
		"//missing":    "",
		"css:title":    "",
	} {
		if got := mustCompile(t, expr).Text(doc); got != want {
			t.Errorf("Text(%s) = %q, want %q", expr, got, want)
		}
	}
}

func TestNotJSONAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, body, contentType string
		note                    string
	}{
		{"html", `<p><a href="/x">x</a></p>`, "", ""},
		{"brace text that is not json", "{not json} <a href='/x'>x</a>", "text/html", ""},
		{"declared json that is not", "<a href='/x'>x</a>", "application/json", "answer is not read as JSON"},
		{"json script type is not the answer's", "<a href='/x'>x</a>", "text/html", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := jsonDoc(t, tc.body, tc.contentType)
			if doc.JSON != nil || doc.Root == nil {
				t.Fatal("read as JSON")
			}
			if got := mustCompile(t, "//a/@href").URLs(doc); len(got) != 1 {
				t.Errorf("links %q, want one", got)
			}
			notes := strings.Join(Notes(doc), "\n")
			if tc.note == "" && notes != "" || !strings.Contains(notes, tc.note) {
				t.Errorf("notes %q, want %q", notes, tc.note)
			}
		})
	}
}

func TestJSONAnswerEncoding(t *testing.T) {
	body := encode(t, "gbk", `{"title":"美女图片","images":[{"src":"/图片/1.jpg?名=值"}]}`)
	for _, tc := range []struct{ contentType, forced string }{
		{"application/json; charset=gbk", ""},
		{"application/json", "gbk"},
	} {
		doc, err := Parse("http://example.com/api", body, tc.contentType, tc.forced)
		if err != nil {
			t.Fatal(err)
		}
		if doc.JSON == nil {
			t.Fatalf("%+v: not JSON", tc)
		}
		if got := mustCompile(t, "//title").Text(doc); got != "美女图片" {
			t.Errorf("%+v: title %q", tc, got)
		}
		want := []string{"http://example.com/%E5%9B%BE%E7%89%87/1.jpg?%E5%90%8D=%E5%80%BC"} // the query in UTF-8, as scripts write it
		if got := mustCompile(t, "//src").URLs(doc); !reflect.DeepEqual(got, want) {
			t.Errorf("%+v: URLs %q, want %q", tc, got, want)
		}
	}
}

func TestJSONDenseBodyNotParsed(t *testing.T) {
	body := "[" + strings.Repeat("0,", jsonBudget(1<<20)) + "0]"
	doc := jsonDoc(t, body, "application/json")
	if doc.JSON != nil {
		t.Fatal("a body of more values than its budget was parsed")
	}
	if notes := strings.Join(Notes(doc), "\n"); !strings.Contains(notes, "too many values") {
		t.Errorf("notes %q", notes)
	}
}

// embeddedPage holds JSON in all the places json: looks, and what it must
// leave alone.
const embeddedPage = `<!DOCTYPE html><html><head><title>Gallery</title>
<base href="http://cdn.example.com/base/">
<script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{"photos":[{"url":"/n/1.jpg"},{"url":"n/2.jpg"}]}}}</script>
<script type="application/ld+json">{"@type":"ImageObject","contentUrl":"https://ld.example.com/1.jpg","photos":[{"url":"/n/1.jpg"}]}</script>
<script>
  var x = 1;
  window.__INITIAL_STATE__ = {"gallery":{"photos":[{"url":"/s/1.jpg","title":"<\/script> \u00e9"}]}};
  window.other = {"photos":[{"url":"/s/2.jpg"}]}; function f() { return {a: 1}; }
  window["__DATA__"]= [{"photos":[{"url":"/s/3.jpg"}]}] // trailing code
  const conf = {"photos":[{"url":"/s/4.jpg"}]}, more = 2;
  let broken = {photos: [{url: "/bad.jpg"}]};
</script>
<script type="module">var m = {"photos":[{"url":"/m/1.jpg"}]};</script>
<script type="text/template">var t = {"photos":[{"url":"/tpl.jpg"}]};</script>
<script type="application/json" id="bad">{"photos":[{"url":"/bad2.jpg"}</script>
<script type="application/json"></script>
</head><body><img src="/plain.jpg"></body></html>`

func TestEmbeddedJSON(t *testing.T) {
	doc, err := Parse("http://example.com/g/1.html", []byte(embeddedPage), "text/html", "")
	if err != nil {
		t.Fatal(err)
	}
	if doc.JSON != nil {
		t.Fatal("an HTML page read as a JSON answer")
	}
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{"json://photos/*/url", []string{
			"http://cdn.example.com/n/1.jpg", "http://cdn.example.com/base/n/2.jpg",
			"http://cdn.example.com/s/1.jpg", "http://cdn.example.com/s/2.jpg",
			"http://cdn.example.com/s/3.jpg", "http://cdn.example.com/s/4.jpg",
			"http://cdn.example.com/m/1.jpg",
		}},
		{"json://contentUrl", []string{"https://ld.example.com/1.jpg"}},
		{"//img/@src", []string{"http://cdn.example.com/plain.jpg"}},
		{"json://img", nil},
	} {
		if got := mustCompile(t, tc.expr).URLs(doc); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("URLs(%s) =\n%q, want\n%q", tc.expr, got, tc.want)
		}
	}
	if got := mustCompile(t, "json://gallery/photos/*/title").Text(doc); got != "</script> é" {
		t.Errorf("title %q", got)
	}
	if got := len(doc.Embedded()); got != 7 {
		t.Errorf("%d embedded documents, want 7", got)
	}
	notes := Notes(doc, mustCompile(t, "json://x"), nil)
	want := []string{"script 3: broken skipped: not JSON", `script 6 (id "bad") skipped: parse json`}
	if len(notes) != len(want) {
		t.Fatalf("notes %q, want %d", notes, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(notes[i], w) {
			t.Errorf("note %q, want it to start %q", notes[i], w)
		}
	}
	if notes := Notes(doc, mustCompile(t, "//x")); len(notes) != 0 {
		t.Errorf("notes %q without a json: selector", notes)
	}
}

func TestCompileJSONErrors(t *testing.T) {
	for _, expr := range []string{"json:", "json:  ", "json://a[", "json:count("} {
		if _, err := Compile(expr); err == nil || !strings.Contains(err.Error(), expr) {
			t.Errorf("Compile(%q) = %v, want an error naming it", expr, err)
		}
	}
}

func TestCountJSONValues(t *testing.T) {
	for body, want := range map[string]int{
		`{}`:                       1,
		`[1, 2.5e3, true, null]`:   5,
		`{"a":"x\"y","b":[-1,{}]}`: 7,
		`"\\"`:                     1,
	} {
		if got := countJSONValues([]byte(body)); got != want {
			t.Errorf("countJSONValues(%s) = %d, want %d", body, got, want)
		}
	}
}

func TestAssignedJSONAfterBroken(t *testing.T) {
	// Broken values, with assignments inside them, do not hide the good
	// ones after them, in the same script or the next.
	script := `var a = ["` + strings.Repeat(`var b = ["x", `, 200) + "\n" + `window.c = {"u":"/c.jpg"};`
	page := "<script>" + script + "</script><script>var d = {\"u\":\"/d.jpg\"}</script>"
	doc, err := Parse("http://example.com/", []byte(page), "text/html", "")
	if err != nil {
		t.Fatal(err)
	}
	got := mustCompile(t, "json://u").URLs(doc)
	if want := []string{"http://example.com/c.jpg", "http://example.com/d.jpg"}; !reflect.DeepEqual(got, want) {
		t.Errorf("URLs %q, want %q", got, want)
	}
}

func TestReadValue(t *testing.T) {
	for _, tc := range []struct {
		in, raw string
		next    int
	}{
		{`{"a":[1,2]}; more()`, `{"a":[1,2]}`, 11},
		{`[1,2] [3]`, `[1,2]`, 5},
		{`{a: 1}`, "", 1},
		{`[1, x, 2]`, "", 4},
		{`{"a": "unterminated`, "", 19},
		{`["a"`, "", 4},
	} {
		raw, next, err := readValue([]byte(tc.in))
		if string(raw) != tc.raw || next != tc.next || (err == nil) != (tc.raw != "") {
			t.Errorf("readValue(%s) = %s, %d, %v; want %s, %d", tc.in, raw, next, err, tc.raw, tc.next)
		}
	}
}

func TestEmbeddedJSONOnGBKPage(t *testing.T) {
	page := encode(t, "gbk", `<html><head><meta charset="gbk"><title>图片</title>
<script>window.__S__ = {"photos":[{"url":"/图/1.jpg?名=值","title":"第一张"}]};</script></head>
<body><img src="/图/1.jpg?名=值"></body></html>`)
	doc, err := Parse("http://example.com/", page, "text/html", "")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Encoding != "gb18030" {
		t.Fatalf("encoding %s", doc.Encoding)
	}
	// The page's own URLs have their query in the page's encoding, those in
	// its scripts' JSON in UTF-8, as scripts write them.
	for expr, want := range map[string]string{
		"//img/@src":          "http://example.com/%E5%9B%BE/1.jpg?%C3%FB=%D6%B5",
		"json://photos/*/url": "http://example.com/%E5%9B%BE/1.jpg?%E5%90%8D=%E5%80%BC",
	} {
		if got := mustCompile(t, expr).URLs(doc); len(got) != 1 || got[0] != want {
			t.Errorf("URLs(%s) = %q, want %q", expr, got, want)
		}
	}
	if got := mustCompile(t, "json://photos/*/title").Text(doc); got != "第一张" {
		t.Errorf("title %q", got)
	}
}
