package pipeline

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"crawl/pipeline/input"
)

func TestParsePages(t *testing.T) {
	cases := []struct {
		spec  string
		seeds []pageSeed
		bad   bool
	}{
		{spec: "5", seeds: []pageSeed{{page: 5}}},
		{spec: "1-3", seeds: []pageSeed{{page: 1}, {page: 2}, {page: 3}}},
		{spec: "1,3,7-9", seeds: []pageSeed{{page: 1}, {page: 3}, {page: 7}, {page: 8}, {page: 9}}},
		{spec: "3-", seeds: []pageSeed{{page: 3, open: true}}},
		{spec: " 2 , 2-3 ", seeds: []pageSeed{{page: 2}, {page: 3}}},
		{spec: "", bad: true},
		{spec: "0", bad: true},
		{spec: "3-1", bad: true},
		{spec: "a-b", bad: true},
		{spec: "1-,4-", bad: true},
		{spec: "-3", bad: true},
	}
	for _, tc := range cases {
		p, err := ParsePages(tc.spec)
		if tc.bad {
			if err == nil {
				t.Errorf("ParsePages(%q) = %v, want an error", tc.spec, p)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePages(%q): %v", tc.spec, err)
			continue
		}
		if got, _ := p.next(pagePos{}, 100); !reflect.DeepEqual(got, tc.seeds) {
			t.Errorf("ParsePages(%q) seeds %v, want %v", tc.spec, got, tc.seeds)
		}
	}
}

// TestPagesInSteps: the pages come the same, each once, however the walk
// is cut in steps (a rerun resumes from a saved position), and a huge
// range gives its first pages without naming the others.
func TestPagesInSteps(t *testing.T) {
	for _, spec := range []string{"1,3,7-9", "2-4,1-6,5,9-", "4-,1-3", "1-999999999999"} {
		p, err := ParsePages(spec)
		if err != nil {
			t.Fatal(err)
		}
		all, _ := p.next(pagePos{}, 50)
		var stepped []pageSeed
		pos := pagePos{}
		for len(stepped) < 50 {
			var got []pageSeed
			got, pos = p.next(pos, 2)
			if len(got) == 0 {
				break
			}
			stepped = append(stepped, got...)
		}
		if !reflect.DeepEqual(stepped[:min(len(stepped), 50)], all) {
			t.Errorf("--pages %s: in steps of 2 %v, at once %v", spec, stepped, all)
		}
	}
	p, _ := ParsePages("2-4,1-6,5,9-")
	want := []pageSeed{{page: 2}, {page: 3}, {page: 4}, {page: 1}, {page: 5}, {page: 6}, {page: 9, open: true}}
	if got, _ := p.next(pagePos{}, 100); !reflect.DeepEqual(got, want) {
		t.Errorf("--pages 2-4,1-6,5,9- gives %v, want %v", got, want)
	}
}

func TestParseSize(t *testing.T) {
	cases := map[string]int64{"1024": 1024, "50MB": 50 << 20, "1.5k": 1536, "2 GiB": 2 << 30, "0": 0}
	for in, want := range cases {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "12XB", "-1"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q): want an error", in)
		}
	}
}

func TestExpandName(t *testing.T) {
	ft := FileTask{URL: "https://img.example.com/a/b/photo%20one.JPG?x=1", Page: 3, N: 7, Title: "《东邪/西毒》 "}
	cases := map[string]string{
		"{name}{ext}":                 "photo one.JPG",
		"{host}/{page}-{n}{ext}":      "img.example.com/3-7.JPG",
		"{title}/{name}{ext}":         "《东邪_西毒》/photo one.JPG",
		"x/{title}/../{name}":         "x/《东邪_西毒》/../photo one",
		"{name}{ext}.{page}{unknown}": "photo one.JPG.3{unknown}",
	}
	for tmpl, want := range cases {
		if got := expandName(tmpl, ft); got != want {
			t.Errorf("expandName(%q) = %q, want %q", tmpl, got, want)
		}
	}
	if got := expandName("{title}/{name}{ext}", FileTask{URL: "http://h/"}); got != "untitled/h" {
		t.Errorf("empty title and name: %q", got)
	}
}

func TestExpandNameCells(t *testing.T) {
	ft := FileTask{URL: "http://h/p/a.png", N: 4, Name: "张三/李四", Cells: []string{"", "two\nlines", "c/d"}}
	cases := map[string]string{
		"{name}{ext}":       "张三_李四.png",
		"{3}/{2}-{n}{ext}":  "c_d/two lines-4.png",
		"{1}{9}x{ext}":      "x.png",
		"{host}/{name}.bin": "h/张三_李四.bin",
	}
	for tmpl, want := range cases {
		if got := expandName(tmpl, ft); got != want {
			t.Errorf("expandName(%q) = %q, want %q", tmpl, got, want)
		}
	}
	if got := expandName("{name}{ext}", FileTask{URL: "http://h/p/a.png", Name: "photo.PNG"}); got != "photo.png" {
		t.Errorf("a name cell with the extension: %q", got)
	}
	if got := expandName("{name}{ext}", FileTask{URL: "http://h/p/a.png", Name: "  "}); got != "a.png" {
		t.Errorf("an empty name cell: %q", got)
	}
	if got := expandName("{name}{ext}", FileTask{URL: "http://h/p/video", Name: "片"}); got != "片" {
		t.Errorf("no extension in the URL: %q", got)
	}
	if got := rowCells([]string{"a", "b", "c", "d"}, []int{3, 1, 9}); !reflect.DeepEqual(got, []string{"a", "", "c"}) {
		t.Errorf("rowCells = %q", got)
	}
}

func TestCheckTemplateCells(t *testing.T) {
	header := []string{"id", "title", "name", "链接"}
	cases := []struct {
		tmpl   string
		cells  bool
		header []string
		want   string
		bad    string
	}{
		{tmpl: "{2}/{1}{ext}", cells: true, want: "{2}/{1}{ext}"},
		{tmpl: "{title}-{id}{ext}", cells: true, header: header, want: "{2}-{1}{ext}"},
		{tmpl: "{name}{ext}", cells: true, header: header, want: "{name}{ext}"},
		{tmpl: "{链接}", cells: true, header: header, want: "{4}"},
		{tmpl: "{title}", cells: true, want: "{title}"},
		{tmpl: "{0}", cells: true, bad: "numbered from 1"},
		{tmpl: "{missing}", cells: true, header: header, bad: "header names (id, title, name, 链接)"},
		{tmpl: "{1}", cells: false, bad: "unknown field {1}"},
		{tmpl: "{id}", cells: false, header: header, bad: "unknown field {id}"},
	}
	for _, tc := range cases {
		got, err := checkTemplate(tc.tmpl, tc.cells, tc.header)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("checkTemplate(%q) = %q, %v; want an error saying %q", tc.tmpl, got, err, tc.bad)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("checkTemplate(%q) = %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
}

// TestFingerprintInputs: crawl get runs from other inputs are another
// generation (so retrying failed.csv after an interrupted run tries its
// failed URLs again); the same command resumes.
func TestFingerprintInputs(t *testing.T) {
	base := Config{Mode: ModeGet, Name: "{name}{ext}", CSV: "in.csv"}
	same := base
	other := base
	other.CSV = "out/failed.csv"
	urls := base
	urls.URLs = []string{"http://h/a.png"}
	if base.Fingerprint() != same.Fingerprint() {
		t.Error("the same command has another fingerprint")
	}
	if base.Fingerprint() == other.Fingerprint() || base.Fingerprint() == urls.Fingerprint() {
		t.Error("other inputs have the same fingerprint")
	}
	crawl := Config{Mode: ModeCrawl, Name: "{name}{ext}", CSV: "ignored.csv"}
	if crawl.inputs() != "" {
		t.Error("a site crawl's fingerprint depends on get's inputs")
	}
}

// A list file that cannot be opened is bad usage to Run's callers, who
// look for *pipeline.UsageError, though package input reported it.
func TestInputUsageErrorIsUsageError(t *testing.T) {
	err := input.ReadList(filepath.Join(t.TempDir(), "missing.txt"), nil, func(string) error { return nil })
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("ReadList of a missing file: %v (%T), want a *UsageError", err, err)
	}
}

// validCrawl and validGet are configurations Validate accepts; each case
// of TestValidate changes one thing.
func validCrawl(t *testing.T) Config {
	t.Helper()
	pages, err := ParsePages("1-3")
	if err != nil {
		t.Fatal(err)
	}
	return Config{Mode: ModeCrawl, Out: t.TempDir(), Pages: pages, ListURL: "http://h/list/{page}", Links: "//a/@href",
		Images: "//img/@src", Workers: 10, PerHost: 4, Retries: 3, Split: 1, NoEnvProxy: true}
}

func validGet(t *testing.T) Config {
	t.Helper()
	return Config{Mode: ModeGet, Out: t.TempDir(), URLs: []string{"http://h/a.jpg"}, Workers: 10, PerHost: 4, NoEnvProxy: true}
}

// TestValidate: every check of Validate names its flag in a usage error,
// and a configuration that passes is completed with its defaults.
func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		get    bool
		change func(*Config)
		want   string
	}{
		{"no out", false, func(c *Config) { c.Out = "" }, "--out must not be empty"},
		{"workers", false, func(c *Config) { c.Workers = 0 }, "--workers must be from 1"},
		{"per host", true, func(c *Config) { c.PerHost = MaxPerHost + 1 }, "--per-host must be from 1"},
		{"retries", false, func(c *Config) { c.Retries = -1 }, "--retries must not be negative"},
		{"delay", true, func(c *Config) { c.Delay = -1 }, "durations must not be negative"},
		{"max size", true, func(c *Config) { c.MaxSize = -1 }, "--max-size must not be negative"},
		{"max next", false, func(c *Config) { c.MaxNext = -1 }, "--max-next must be at least 1"},
		{"split", true, func(c *Config) { c.Split = MaxSplit + 1 }, "--split must be from 1"},
		{"proxy", true, func(c *Config) { c.Proxy = "gopher://x" }, "--proxy"},
		{"variant", true, func(c *Config) { c.Variant = "huge" }, "--variant \"huge\""},
		{"remux", true, func(c *Config) { c.Remux = "avi" }, "--remux"},
		{"csv flag without csv", true, func(c *Config) { c.NameCol = "2" }, "--name-col needs --csv"},
		{"csv flag in a crawl", false, func(c *Config) { c.CSVEncoding = "gbk" }, "--csv-encoding needs --csv"},
		{"name field", true, func(c *Config) { c.Name = "{nope}" }, "unknown field {nope}"},
		{"header", true, func(c *Config) { c.Headers = []string{"Bad Name: x"} }, "--header"},
		{"referer", true, func(c *Config) { c.Referer = "ftp://x/" }, "--referer"},
		{"cookies", true, func(c *Config) { c.CookiesFile = filepath.Join(t.TempDir(), "none.txt") }, "--cookies"},
		{"get url", true, func(c *Config) { c.URLs = []string{"file:///etc/passwd"} }, "URL \"file:///etc/passwd\""},
		{"no list url", false, func(c *Config) { c.ListURL = "" }, "--list-url is required"},
		{"list url", false, func(c *Config) { c.ListURL = "ftp://h/{page}" }, "--list-url"},
		{"first url", false, func(c *Config) { c.FirstURL = "javascript:x" }, "--first-url"},
		{"no pages", false, func(c *Config) { c.Pages = Pages{} }, "--pages is required"},
		{"pages without field", false, func(c *Config) { c.ListURL = "http://h/list" }, "has no {page} field"},
		{"no images", false, func(c *Config) { c.Images = "" }, "--images is required"},
		{"bad selector", false, func(c *Config) { c.Links = "//a[" }, "--links"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validCrawl(t)
			if tc.get {
				c = validGet(t)
			}
			tc.change(&c)
			err := c.Validate()
			var ue *UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate: %v, want a usage error saying %q", err, tc.want)
			}
		})
	}
	for name, c := range map[string]Config{"crawl": validCrawl(t), "get": validGet(t)} {
		c.Variant = "best"
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Name != "{name}{ext}" || c.Variant != "" || c.MaxNext != DefaultMaxNext {
			t.Errorf("%s: name %q, variant %q, max next %d: want the defaults", name, c.Name, c.Variant, c.MaxNext)
		}
	}
}
