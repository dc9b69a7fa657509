package pipeline

import (
	"strings"
	"testing"

	fault "crawl/internal/faultserver"
)

// TestStreamResume: a part left by a stopped run is resumed from its end
// when the server still has the version it holds, and started over when
// that cannot be checked, when the file changed, or when the server ignores
// the range. Either way the file on disk is the one served.
func TestStreamResume(t *testing.T) {
	body := fault.Bytes("resume", 300<<10)
	const held = 100 << 10
	for _, c := range []struct {
		name      string
		file      fault.File
		validator string // the part's
		held      []byte
		// what the one request asked for, and how many bytes came
		wantRange, wantIfRange string
		wantSent               int
	}{
		{
			name:      "same version",
			file:      fault.File{Body: body, ETag: `"v1"`},
			validator: `"v1"`, held: body[:held],
			wantRange: "bytes=102400-", wantIfRange: `"v1"`, wantSent: len(body) - held,
		},
		{
			name:      "no validator",
			file:      fault.File{Body: body, ETag: `"v1"`},
			validator: "", held: body[:held],
			wantSent: len(body),
		},
		{
			name:      "changed on the server",
			file:      fault.File{Body: body, ETag: `"v2"`},
			validator: `"v1"`, held: fault.Bytes("old", held),
			wantRange: "bytes=102400-", wantIfRange: `"v1"`, wantSent: len(body),
		},
		{
			name:      "server ignores ranges",
			file:      fault.File{Body: body, ETag: `"v1"`, IgnoreRange: true},
			validator: `"v1"`, held: body[:held],
			wantRange: "bytes=102400-", wantIfRange: `"v1"`, wantSent: len(body),
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			srv.File("/a.bin", c.file)
			url := srv.URL("/a.bin")
			e := newDownloadEnv(t, nil)
			e.part(url, "a.bin", c.held, c.validator)
			e.get(FileTask{URL: url})
			e.wantFiles(map[string][]byte{"a.bin": body})
			e.wantRecord(url, "a.bin", body)
			reqs := requests(t, srv, "/a.bin")
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1: %+v", len(reqs), reqs)
			}
			r := reqs[0]
			if r.Range != c.wantRange || r.IfRange != c.wantIfRange || r.Sent != int64(c.wantSent) {
				t.Errorf("request: Range %q If-Range %q, %d bytes sent; want %q %q, %d",
					r.Range, r.IfRange, r.Sent, c.wantRange, c.wantIfRange, c.wantSent)
			}
		})
	}
}

// TestStreamRangeNotSatisfiable: a resume answered 416 (the part held the
// whole file already, or the file shrank) starts over with one request
// for the whole file.
func TestStreamRangeNotSatisfiable(t *testing.T) {
	body := fault.Bytes("416", 64<<10)
	for _, c := range []struct {
		name string
		held []byte
	}{
		{"part holds the whole file", body},
		{"file shrank", fault.Bytes("longer", 100<<10)},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			srv.File("/a.bin", fault.File{Body: body, ETag: `"v1"`})
			url := srv.URL("/a.bin")
			e := newDownloadEnv(t, nil)
			e.part(url, "a.bin", c.held, `"v1"`)
			e.get(FileTask{URL: url})
			e.wantFiles(map[string][]byte{"a.bin": body})
			e.wantRecord(url, "a.bin", body)
			reqs := requests(t, srv, "/a.bin")
			if len(reqs) != 2 || reqs[0].Status != 416 || reqs[1].Range != "" || reqs[1].Status != 200 {
				t.Errorf("requests %+v; want a 416, then a 200 for the whole file", reqs)
			}
		})
	}
}

// TestStreamHTML: an image selector's URL answered with an HTML page (an
// error page, said so or served as image/jpeg) fails at once and leaves
// nothing on disk; a URL from a list is a file whatever its type.
func TestStreamHTML(t *testing.T) {
	img := fault.Bytes("img", 2000)
	for _, c := range []struct {
		name    string
		kind    fault.Kind
		checked bool
		reason  string
	}{
		{"text/html", fault.HTML, true, "got an HTML page (text/html; charset=utf-8), not a file"},
		{"disguised as image/jpeg", fault.Disguised, true, "got an HTML page, not a file"},
		{"from a list", fault.HTML, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			srv.File("/a.jpg", fault.File{Body: img, ContentType: "image/jpeg", Always: &fault.Fault{Kind: c.kind}})
			url := srv.URL("/a.jpg")
			e := newDownloadEnv(t, nil)
			e.get(FileTask{URL: url, Checked: c.checked})
			if n := srv.Count("/a.jpg"); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			if !c.checked {
				if _, ok := e.record(url); !ok {
					t.Errorf("the page was not kept as a file: %v", e.failures())
				}
				return
			}
			if got := e.failures()[url]; got != c.reason {
				t.Errorf("failure %q, want %q", got, c.reason)
			}
			if _, ok := e.record(url); ok {
				t.Error("the page was recorded as a file")
			}
			e.wantFiles(nil)
		})
	}
}

// TestStreamMaxSize: a file over --max-size is skipped and reported, with
// nothing left on disk, whether its size is announced or only found on
// the way; one of exactly that size is downloaded.
func TestStreamMaxSize(t *testing.T) {
	const limit = 10000
	for _, c := range []struct {
		name    string
		file    fault.File
		skipped bool
	}{
		{"announced", fault.File{Body: fault.Bytes("big", limit+1)}, true},
		{"chunked", fault.File{Body: fault.Bytes("big", 3*limit), Chunked: true}, true},
		{"at the limit", fault.File{Body: fault.Bytes("ok", limit)}, false},
		{"at the limit, chunked", fault.File{Body: fault.Bytes("ok", limit), Chunked: true}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			srv.File("/a.bin", c.file)
			url := srv.URL("/a.bin")
			e := newDownloadEnv(t, func(cfg *Config) { cfg.MaxSize = limit })
			e.get(FileTask{URL: url})
			if n := srv.Count("/a.bin"); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			if e.done() != 1 || len(e.failures()) != 0 {
				t.Errorf("%d tasks done, failures %v; want the task done", e.done(), e.failures())
			}
			if !c.skipped {
				e.wantFiles(map[string][]byte{"a.bin": c.file.Body})
				e.wantRecord(url, "a.bin", c.file.Body)
				return
			}
			if !e.events.has(url, EvTooBig) {
				t.Errorf("events %v, want %s", e.events.kinds(url), EvTooBig)
			}
			if _, ok := e.record(url); ok {
				t.Error("a file over --max-size was recorded")
			}
			e.wantFiles(nil)
			if !strings.Contains(e.events.buf.String(), "larger than --max-size") {
				t.Errorf("no reason given: %s", e.events.buf.String())
			}
		})
	}
}

// TestStreamHead: a body whose length fits the first buffer (128 KiB) is
// read to its end before it is written, however its bytes come; one of no
// stated length, or longer, is written as it comes. What came before a
// fault within the buffer is kept and resumed from. Either way the file on
// disk is the one served.
func TestStreamHead(t *testing.T) {
	const buf = 128 << 10
	for _, c := range []struct {
		name string
		size int
		file fault.File
		// the requests' Range headers: one per request
		wantRanges []string
	}{
		{name: "small", size: 20 << 10, wantRanges: []string{""}},
		{name: "trickled", size: 20 << 10, file: fault.File{Rate: 400 << 10}, wantRanges: []string{""}},
		{name: "chunked", size: 20 << 10, file: fault.File{Chunked: true}, wantRanges: []string{""}},
		{name: "under 512 bytes", size: 100, wantRanges: []string{""}},
		{name: "the buffer's size", size: buf, wantRanges: []string{""}},
		{name: "one byte more", size: buf + 1, wantRanges: []string{""}},
		{name: "truncated in the buffer", size: 40 << 10,
			file:       fault.File{ETag: `"v1"`, Faults: []fault.Fault{{Kind: fault.Truncate, After: 10 << 10}}},
			wantRanges: []string{"", "bytes=10240-"}},
		{name: "reset in the buffer", size: 40 << 10,
			file:       fault.File{ETag: `"v1"`, Faults: []fault.Fault{{Kind: fault.Reset, After: 10 << 10}}},
			wantRanges: []string{"", "bytes=10240-"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := fault.Bytes(c.name, c.size)
			srv := fault.New()
			defer srv.Close()
			f := c.file
			f.Body = body
			srv.File("/a.bin", f)
			url := srv.URL("/a.bin")
			e := newDownloadEnv(t, nil)
			e.get(FileTask{URL: url})
			e.wantFiles(map[string][]byte{"a.bin": body})
			e.wantRecord(url, "a.bin", body)
			reqs := requests(t, srv, "/a.bin")
			var ranges []string
			for _, r := range reqs {
				ranges = append(ranges, r.Range)
			}
			if strings.Join(ranges, ",") != strings.Join(c.wantRanges, ",") {
				t.Errorf("requests' ranges %q, want %q", ranges, c.wantRanges)
			}
		})
	}
}
