package pipeline

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	fault "crawl/internal/faultserver"
)

// Servers that answer a range with something else than the range asked
// for of the version the part holds: a 206 that names no range, one of a
// newer version (If-Range not looked at), one of a file of another size.
// The part starts over each time, and the file on disk is the version
// served last, whole.

// version is one version of a file as a test server serves it.
type version struct {
	body          []byte
	etag, lastMod string
	// total, when not 0, is the size the Content-Range of a 206 claims
	// instead of the body's.
	total int64
	// noContentRange leaves the Content-Range out of a 206.
	noContentRange bool
}

// serve answers r with v as a server that takes no notice of If-Range: a
// Range "bytes=N-" or "bytes=N-M" gets a 206 of v from byte N, whatever
// version the client holds; no Range gets a 200 of the whole body.
func (v version) serve(t *testing.T, w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if v.etag != "" {
		h.Set("ETag", v.etag)
	}
	if v.lastMod != "" {
		h.Set("Last-Modified", v.lastMod)
	}
	spec, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes=")
	if !ok {
		h.Set("Content-Length", strconv.Itoa(len(v.body)))
		w.Write(v.body)
		return
	}
	first, last, _ := strings.Cut(spec, "-")
	start, err1 := strconv.Atoi(first)
	end := len(v.body) - 1
	var err2 error
	if last != "" {
		end, err2 = strconv.Atoi(last)
		end = min(end, len(v.body)-1)
	}
	if err1 != nil || err2 != nil || start > end {
		t.Errorf("unexpected Range %q", r.Header.Get("Range"))
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return
	}
	total := int64(len(v.body))
	if v.total != 0 {
		total = v.total
	}
	if !v.noContentRange {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, total))
	}
	h.Set("Content-Length", strconv.Itoa(end-start+1))
	w.WriteHeader(http.StatusPartialContent)
	w.Write(v.body[start : end+1])
}

// answered is what the requests of reqs asked for and got, one
// "RANGE IF-RANGE STATUS" a request.
func answered(reqs []fault.Request) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = fmt.Sprintf("%s %s %d", r.Range, r.IfRange, r.Status)
	}
	return out
}

// wantAnswered checks the requests the server saw for path.
func wantAnswered(t *testing.T, srv *fault.Server, path string, want []string) {
	t.Helper()
	got := answered(requests(t, srv, path))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

const (
	date1 = "Mon, 02 Jan 2006 15:04:05 GMT"
	date2 = "Tue, 03 Jan 2006 15:04:05 GMT"
)

// TestStreamResumeWrongRange: a resume answered 206 with no Content-Range,
// or with a range of a newer version (a new ETag or Last-Modified: the
// server ignored If-Range), starts the part over with one request for the
// whole file.
func TestStreamResumeWrongRange(t *testing.T) {
	v1 := fault.Bytes("v1", 300<<10)
	v2 := fault.Bytes("v2", 280<<10)
	const held = 100 << 10
	for _, c := range []struct {
		name      string
		validator string  // the part's
		now       version // what the server serves
	}{
		{"no Content-Range", `"v1"`, version{body: v1, etag: `"v1"`, noContentRange: true}},
		{"unparsable Content-Range", `"v1"`, version{body: v1, etag: `"v1"`, total: -7}},
		{"new ETag", `"v1"`, version{body: v2, etag: `"v2"`}},
		{"new Last-Modified", date1, version{body: v2, lastMod: date2}},
		{"ETag instead of Last-Modified", date1, version{body: v2, etag: `"v2"`, lastMod: date1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			now := c.now
			srv.HandleFunc("/a.bin", func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Range") == "" {
					now.noContentRange, now.total = false, 0
				}
				now.serve(t, w, r)
			})
			url := srv.URL("/a.bin")
			e := newDownloadEnv(t, nil)
			e.part(url, "a.bin", v1[:held], c.validator)
			e.get(FileTask{URL: url})
			e.wantFiles(map[string][]byte{"a.bin": now.body})
			e.wantRecord(url, "a.bin", now.body)
			wantAnswered(t, srv, "/a.bin", []string{
				"bytes=102400- " + c.validator + " 206",
				"  200",
			})
		})
	}
}

// TestStreamResumeOtherTotal: a body broken off is resumed within the run
// only from an answer of the size the first answer gave; a 206 of the same
// validator but another total (the file was replaced, its validator kept)
// starts the part over.
func TestStreamResumeOtherTotal(t *testing.T) {
	v1 := fault.Bytes("v1", 300<<10)
	v2 := fault.Bytes("v2", 280<<10)
	const held = 100 << 10
	srv := fault.New()
	defer srv.Close()
	var n atomic.Int32
	srv.HandleFunc("/a.bin", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			// v1, broken off after held bytes: the connection is closed.
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Content-Length", strconv.Itoa(len(v1)))
			w.Write(v1[:held])
			return
		}
		version{body: v2, etag: `"v1"`}.serve(t, w, r)
	})
	url := srv.URL("/a.bin")
	e := newDownloadEnv(t, nil)
	e.get(FileTask{URL: url})
	e.wantFiles(map[string][]byte{"a.bin": v2})
	e.wantRecord(url, "a.bin", v2)
	wantAnswered(t, srv, "/a.bin", []string{
		"  200",
		`bytes=102400- "v1" 206`,
		"  200",
	})
}

// TestStreamNoContentRange: a 206 with no Content-Range to a request for
// the whole file is no range of anything: the file fails with the reason,
// and nothing is left on disk.
func TestStreamNoContentRange(t *testing.T) {
	srv := fault.New()
	defer srv.Close()
	srv.HandleFunc("/a.bin", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.WriteHeader(http.StatusPartialContent)
		w.Write(fault.Bytes("v1", 10<<10))
	})
	url := srv.URL("/a.bin")
	e := newDownloadEnv(t, nil)
	e.get(FileTask{URL: url})
	if got := e.failures()[url]; !strings.Contains(got, "Content-Range") {
		t.Errorf("failure %q, want one about the Content-Range", got)
	}
	if _, ok := e.record(url); ok {
		t.Error("the answer was recorded as a file")
	}
	e.wantFiles(nil)
	wantAnswered(t, srv, "/a.bin", []string{"  206"})
}

// TestSplitWrongRange: a piece answered with something else than its range
// of the version the first answer named (no Content-Range, a newer ETag,
// another total with the same ETag) starts the part over: the next try
// asks for the whole file again, and the file on disk is the version
// served then. Two connections in all, the first answer's stopping with
// its piece, keep the requests in a fixed order.
func TestSplitWrongRange(t *testing.T) {
	v1 := fault.Bytes("v1", 3*minSegment)
	const p1 = "bytes=4194304-8388607" // the second of three pieces
	for _, c := range []struct {
		name  string
		later version // served after the first request
		want  []string
	}{
		{
			// Every range after the first is answered without one; the
			// next try's whole-file range too, so the file comes in one
			// stream, asked for without a range.
			name:  "no Content-Range",
			later: version{body: v1, etag: `"v1"`, noContentRange: true},
			want:  []string{"bytes=0-  206", p1 + ` "v1" 206`, "bytes=0-  206", "  200"},
		},
		{
			name:  "new ETag",
			later: version{body: fault.Bytes("v2", 3*minSegment), etag: `"v2"`},
			want: []string{"bytes=0-  206", p1 + ` "v1" 206`,
				"bytes=0-  206", p1 + ` "v2" 206`, `bytes=8388608-12582911 "v2" 206`},
		},
		{
			name:  "new Last-Modified",
			later: version{body: fault.Bytes("v2", 3*minSegment), lastMod: date2},
			want: []string{"bytes=0-  206", p1 + " " + date1 + " 206",
				"bytes=0-  206", p1 + " " + date2 + " 206", "bytes=8388608-12582911 " + date2 + " 206"},
		},
		{
			name:  "another total",
			later: version{body: fault.Bytes("v2", 3*minSegment-3000), etag: `"v1"`},
			want: []string{"bytes=0-  206", p1 + ` "v1" 206`,
				"bytes=0-  206", `bytes=4193304-8386607 "v1" 206`, `bytes=8386608-12579911 "v1" 206`},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			first := version{body: v1, etag: `"v1"`}
			if c.later.lastMod != "" {
				first = version{body: v1, lastMod: date1}
			}
			var n atomic.Int32
			srv.HandleFunc("/big.bin", func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					first.serve(t, w, r)
					return
				}
				later := c.later
				if r.Header.Get("Range") == "" {
					later.noContentRange = false
				}
				later.serve(t, w, r)
			})
			url := srv.URL("/big.bin")
			e := newDownloadEnv(t, func(cfg *Config) { cfg.Split, cfg.PerHost = 2, 2 })
			e.get(FileTask{URL: url})
			e.wantFiles(map[string][]byte{"big.bin": c.later.body})
			e.wantRecord(url, "big.bin", c.later.body)
			wantAnswered(t, srv, "/big.bin", c.want)
		})
	}
}

// TestSplitResumeIgnoredIfRange: the pieces of a part left by an earlier
// run, asked for with If-Range, answered with the ranges of a newer
// version (a server that does not look at If-Range): the part starts over
// with one request for the whole file, and holds the new version only.
func TestSplitResumeIgnoredIfRange(t *testing.T) {
	v1 := fault.Bytes("v1", 3*minSegment)
	v2 := fault.Bytes("v2", 3*minSegment)
	for _, c := range []struct {
		name      string
		validator string
		now       version
	}{
		{"new ETag", `"v1"`, version{body: v2, etag: `"v2"`}},
		{"new Last-Modified", date1, version{body: v2, lastMod: date2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			srv.HandleFunc("/big.bin", func(w http.ResponseWriter, r *http.Request) { c.now.serve(t, w, r) })
			url := srv.URL("/big.bin")
			// One connection: the pieces are asked for one at a time.
			e := newDownloadEnv(t, func(cfg *Config) { cfg.Split, cfg.PerHost = 2, 1 })
			segs := e.splitPart(url, "big.bin", v1, c.validator)
			e.get(FileTask{URL: url})
			e.wantFiles(map[string][]byte{"big.bin": v2})
			e.wantRecord(url, "big.bin", v2)
			wantAnswered(t, srv, "/big.bin", []string{
				fmt.Sprintf("bytes=%d-%d %s 206", segs[1].Start+segs[1].Done, segs[1].End-1, c.validator),
				"bytes=0-  206",
			})
		})
	}
}
