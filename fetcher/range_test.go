package fetcher

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestWithRangeEnd: a closed range asks for [offset, end) with If-Range;
// an end not past the offset leaves it open.
func TestWithRangeEnd(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 10)
	var got []string
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Range")+" | "+r.Header.Get("If-Range"))
		w.Header().Set("ETag", `"v"`)
		http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(body))
	})
	c := newClient(t, Config{IgnoreRobots: true})
	for _, tc := range []struct {
		opt          GetOption
		offset, size int64
		want         string
	}{
		{WithRangeEnd(10, 25, `"v"`), 10, 15, string(body[10:25])},
		{WithRangeEnd(90, 100, ""), 90, 10, string(body[90:])},
		{WithRangeEnd(40, 40, ""), 40, 60, string(body[40:])},
	} {
		resp, err := c.Get(context.Background(), srv.URL+"/f", tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || resp.Offset != tc.offset || resp.Total != 100 ||
			resp.ContentLength != tc.size || string(b) != tc.want {
			t.Errorf("%d %d %d %d %q", resp.StatusCode, resp.Offset, resp.Total, resp.ContentLength, b)
		}
	}
	want := []string{`bytes=10-24 | "v"`, "bytes=90-99 | ", "bytes=40- | "}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestBadRangeAnswer: a 206 whose Content-Range is missing, unparsable or
// at odds with its length is an error wrapping ErrBadRange, not retried,
// and its host's slot is given back.
func TestBadRangeAnswer(t *testing.T) {
	body := []byte("0123456789")
	for _, c := range []struct {
		name, contentRange string
	}{
		{"no Content-Range", ""},
		{"unparsable", "bytes 4-"},
		{"past the total", "bytes 4-9/9"},
		{"longer than the body", "bytes 4-19/20"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var n atomic.Int64
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				if c.contentRange != "" {
					w.Header().Set("Content-Range", c.contentRange)
				}
				w.Header().Set("Content-Length", "6")
				w.WriteHeader(http.StatusPartialContent)
				w.Write(body[4:])
			})
			cl := newClient(t, Config{IgnoreRobots: true, Retries: 2, PerHost: 1})
			for range 2 { // a slot kept by the first would block the second
				resp, err := cl.Get(context.Background(), srv.URL+"/f", WithRange(4, `"v"`))
				if err == nil {
					resp.Body.Close()
				}
				if !errors.Is(err, ErrBadRange) || Retryable(err) {
					t.Fatalf("err %v, want ErrBadRange, not retryable", err)
				}
			}
			if got := n.Load(); got != 2 {
				t.Errorf("%d requests, want 2 (no retries)", got)
			}
		})
	}
}

// TestContinues: a range answer resumes a part only when it is a 206 from
// the byte asked for, of the part's total and of the part's version.
func TestContinues(t *testing.T) {
	resp := func(status int, offset, total int64, etag, lastMod string) *Response {
		h := http.Header{}
		if etag != "" {
			h.Set("ETag", etag)
		}
		if lastMod != "" {
			h.Set("Last-Modified", lastMod)
		}
		return &Response{StatusCode: status, Header: h, Offset: offset, Total: total}
	}
	const date = "Mon, 02 Jan 2006 15:04:05 GMT"
	for _, c := range []struct {
		name      string
		r         *Response
		offset    int64
		total     int64
		validator string
		ok        bool
	}{
		{"same version", resp(206, 40, 100, `"v1"`, ""), 40, 100, `"v1"`, true},
		{"total not known yet", resp(206, 40, 100, `"v1"`, ""), 40, -1, `"v1"`, true},
		{"same date", resp(206, 40, -1, "", date), 40, -1, date, true},
		{"weak ETag, same date", resp(206, 40, 100, `W/"w"`, date), 40, 100, date, true},
		{"whole file", resp(200, 0, 100, `"v1"`, ""), 40, 100, `"v1"`, false},
		{"another start", resp(206, 0, 100, `"v1"`, ""), 40, 100, `"v1"`, false},
		{"another total", resp(206, 40, 120, `"v1"`, ""), 40, 100, `"v1"`, false},
		{"total unknown now", resp(206, 40, -1, `"v1"`, ""), 40, 100, `"v1"`, false},
		{"new ETag", resp(206, 40, 100, `"v2"`, ""), 40, 100, `"v1"`, false},
		{"new date", resp(206, 40, 100, "", "Tue, 03 Jan 2006 15:04:05 GMT"), 40, 100, date, false},
		{"ETag now, date before", resp(206, 40, 100, `"v1"`, date), 40, 100, date, false},
		{"no validator now", resp(206, 40, 100, "", ""), 40, 100, `"v1"`, false},
	} {
		err := c.r.Continues(c.offset, c.total, c.validator)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrRangeMismatch)) {
			t.Errorf("%s: %v, want ok %v", c.name, err, c.ok)
		}
	}
}

// FuzzAnswerRange: whatever the headers of an answer, answerRange and
// Continues agree with what the headers say: a 206 is taken only with one
// Content-Range of bytes START-END/TOTAL, START <= END < TOTAL, whose span
// is the body's length when that is known; and a resume only from a 206
// that starts at the offset asked for, of the total and version held.
func FuzzAnswerRange(f *testing.F) {
	f.Add(206, "bytes 40-99/100", int64(60), `"v1"`, "", int64(40), int64(100), `"v1"`)
	f.Add(206, "", int64(60), `"v1"`, "", int64(40), int64(-1), `"v1"`)
	f.Add(206, "bytes 40-99/*", int64(-1), "", "Mon, 02 Jan 2006 15:04:05 GMT", int64(40), int64(-1), "Mon, 02 Jan 2006 15:04:05 GMT")
	f.Add(206, "bytes 40-99/120", int64(60), `"v2"`, "", int64(40), int64(100), `"v1"`)
	f.Add(200, "bytes 40-99/100", int64(100), `"v1"`, "", int64(0), int64(100), `"v1"`)
	f.Add(206, "bytes 0-0/1", int64(-1), `W/"w"`, "x", int64(0), int64(1), "x")
	f.Fuzz(func(t *testing.T, status int, contentRange string, contentLength int64,
		etag, lastMod string, offset, total int64, validator string) {
		h := http.Header{}
		if contentRange != "" {
			h.Set("Content-Range", contentRange)
		}
		h.Set("ETag", etag)
		h.Set("Last-Modified", lastMod)
		contentLength = max(contentLength, -1)
		start, size, err := answerRange(status, h, contentLength)
		if status != http.StatusPartialContent {
			if err != nil || start != 0 || size != contentLength {
				t.Fatalf("status %d: %d, %d, %v", status, start, size, err)
			}
		} else {
			s, end, tot, ok := parseContentRange(contentRange)
			good := contentRange != "" && ok && (contentLength < 0 || contentLength == end-s+1)
			if good != (err == nil) || (err != nil && !errors.Is(err, ErrBadRange)) {
				t.Fatalf("Content-Range %q, length %d: %v", contentRange, contentLength, err)
			}
			if err != nil {
				return
			}
			if start != s || size != tot || start < 0 || end < start || (size >= 0 && size <= end) {
				t.Fatalf("Content-Range %q: start %d end %d total %d", contentRange, start, end, size)
			}
		}
		r := &Response{StatusCode: status, Header: h, Offset: start, Total: size}
		cerr := r.Continues(offset, total, validator)
		want := status == http.StatusPartialContent && start == offset &&
			(total < 0 || size == total) && r.Validator() == validator
		if want != (cerr == nil) || (cerr != nil && !errors.Is(cerr, ErrRangeMismatch)) {
			t.Fatalf("Continues(%d, %d, %q) of %d %q (%d of %d, validator %q): %v",
				offset, total, validator, status, contentRange, start, size, r.Validator(), cerr)
		}
	})
}
