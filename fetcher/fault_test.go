package fetcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	fs "crawl/internal/faultserver"
)

// The tests in this file run the client against the fault-injecting server
// of internal/faultserver and check what it answered and what the server
// saw.

func newFaultServer(t *testing.T) *fs.Server {
	t.Helper()
	s := fs.New()
	t.Cleanup(s.Close)
	return s
}

// readAll gets u and reads its whole body.
func readAll(ctx context.Context, c *Client, u string, opt ...GetOption) (*Response, []byte, error) {
	resp, err := c.Get(ctx, u, opt...)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// TestFaultRetries: 5xx, 429, dropped connections and resets are retried
// with exponential back-off, at most Retries times; other answers are not.
func TestFaultRetries(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	body := fs.Bytes("r", 5000)
	tests := []struct {
		name         string
		faults       []fs.Fault
		always       *fs.Fault
		retries      int
		wantStatus   int // 0: success
		wantRequests int
	}{
		{"503 twice then ok", fs.Times(2, fs.Fault{Kind: fs.Status, Status: 503}), nil, 3, 0, 3},
		{"500 502 504 then ok", []fs.Fault{{Kind: fs.Status, Status: 500}, {Kind: fs.Status, Status: 502}, {Kind: fs.Status, Status: 504}}, nil, 3, 0, 4},
		{"429 and 408 then ok", []fs.Fault{{Kind: fs.Status, Status: 429}, {Kind: fs.Status, Status: 408}}, nil, 2, 0, 3},
		{"dropped twice then ok", fs.Times(2, fs.Fault{Kind: fs.Drop}), nil, 2, 0, 3},
		{"always 500: retries used up", nil, &fs.Fault{Kind: fs.Status, Status: 500}, 3, 500, 4},
		{"always 429: retries used up", nil, &fs.Fault{Kind: fs.Status, Status: 429}, 1, 429, 2},
		{"more faults than retries", fs.Times(3, fs.Fault{Kind: fs.Status, Status: 503}), nil, 2, 503, 3},
		{"no retries", fs.Times(1, fs.Fault{Kind: fs.Status, Status: 503}), nil, 0, 503, 1},
		{"404 is final", nil, &fs.Fault{Kind: fs.Status, Status: 404}, 3, 404, 1},
		{"403 is final", nil, &fs.Fault{Kind: fs.Status, Status: 403}, 3, 403, 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := fmt.Sprintf("/r%d", i)
			s.File(path, fs.File{Body: body, Faults: tt.faults, Always: tt.always})
			c := newClient(t, Config{IgnoreRobots: true, Retries: tt.retries, RetryWait: 10 * time.Millisecond})
			resp, got, err := readAll(context.Background(), c, s.URL(path))
			if n := s.Count(path); n != tt.wantRequests {
				t.Errorf("server saw %d requests, want %d", n, tt.wantRequests)
			}
			if tt.wantStatus == 0 {
				if err != nil || !bytes.Equal(got, body) || resp.StatusCode != 200 {
					t.Fatalf("Get: %v, %d bytes", err, len(got))
				}
				return
			}
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.wantStatus {
				t.Fatalf("err = %v, want http %d", err, tt.wantStatus)
			}
			if tt.wantRequests > 1 && !strings.Contains(err.Error(), fmt.Sprintf("gave up after %d retries", tt.retries)) {
				t.Errorf("err = %q does not say the retries were used up", err)
			}
		})
	}
}

// TestFaultBackoffGrows checks, from the times the server saw the
// requests, that the waits between retries at least double (the jitter
// keeps each within [0.5, 1.5) of RetryWait·2^n).
func TestFaultBackoffGrows(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	s.File("/down", fs.File{Always: &fs.Fault{Kind: fs.Status, Status: 502}})
	const wait = 40 * time.Millisecond
	c := newClient(t, Config{IgnoreRobots: true, Retries: 3, RetryWait: wait})
	if _, err := c.Get(context.Background(), s.URL("/down")); err == nil {
		t.Fatal("no error")
	}
	reqs := s.Requests("/down")
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	for i := 1; i < len(reqs); i++ {
		gap := reqs[i].Start.Sub(reqs[i-1].Start)
		if least := wait << (i - 1) / 2; gap < least {
			t.Errorf("retry %d came %v after the previous request, want at least %v", i, gap, least)
		}
	}
}

// TestFaultRetryAfter: a Retry-After in seconds or as an HTTP date is
// waited out before the retry; the retries stay capped by Retries.
func TestFaultRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		retryAfter   func() string
		always       bool
		retries      int
		least        time.Duration
		wantRequests int
	}{
		{"503 seconds", func() string { return "1" }, false, 2, time.Second, 2},
		// An HTTP date has whole seconds: now+2s is more than 1s away.
		{"429 http date", func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }, false, 2, time.Second, 2},
		{"429 every time, one retry", func() string { return "1" }, true, 1, time.Second, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFaultServer(t)
			f := fs.Fault{Kind: fs.Status, Status: 429, RetryAfter: tt.retryAfter()}
			file := fs.File{Body: []byte("ok"), Faults: []fs.Fault{f}}
			if tt.always {
				file = fs.File{Always: &f}
			}
			s.File("/x", file)
			c := newClient(t, Config{IgnoreRobots: true, Retries: tt.retries, RetryWait: time.Millisecond})
			_, body, err := readAll(context.Background(), c, s.URL("/x"))
			if tt.always {
				var se *StatusError
				if !errors.As(err, &se) || se.StatusCode != 429 {
					t.Errorf("err = %v, want http 429", err)
				}
			} else if err != nil || string(body) != "ok" {
				t.Errorf("Get: %v %q", err, body)
			}
			reqs := s.Requests("/x")
			if len(reqs) != tt.wantRequests {
				t.Fatalf("%d requests, want %d", len(reqs), tt.wantRequests)
			}
			if gap := reqs[1].Start.Sub(reqs[0].Start); gap < tt.least {
				t.Errorf("retried after %v, Retry-After asked for at least %v", gap, tt.least)
			}
		})
	}
}

// TestFaultBrokenBodies: a body cut short, reset or stalled fails the read
// with a retryable error, and the rest is then fetched with Range and
// If-Range.
func TestFaultBrokenBodies(t *testing.T) {
	t.Parallel()
	body := fs.Bytes("b", 300<<10)
	const after = 100 << 10
	tests := []struct {
		name  string
		fault fs.Fault
		check func(error) bool
	}{
		{"truncated", fs.Fault{Kind: fs.Truncate, After: after}, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"reset", fs.Fault{Kind: fs.Reset, After: after}, func(err error) bool { return errors.Is(err, syscall.ECONNRESET) }},
		{"stalled", fs.Fault{Kind: fs.Stall, After: after}, func(err error) bool { return errors.Is(err, ErrStalled) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFaultServer(t)
			s.File("/f", fs.File{Body: body, ETag: `"b1"`, Faults: []fs.Fault{tt.fault}})
			c := newClient(t, Config{IgnoreRobots: true, Timeout: time.Second})
			resp, got, err := readAll(context.Background(), c, s.URL("/f"))
			if err == nil || !tt.check(err) {
				t.Fatalf("read: %v", err)
			}
			if !Retryable(err) {
				t.Errorf("Retryable(%v) = false", err)
			}
			if len(got) > after || !bytes.Equal(got, body[:len(got)]) {
				t.Fatalf("got %d bytes before the fault, not a prefix of the body", len(got))
			}
			resp2, rest, err := readAll(context.Background(), c, s.URL("/f"), WithRange(int64(len(got)), resp.Validator()))
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			if resp2.StatusCode != 206 || resp2.Offset != int64(len(got)) || resp2.Total != int64(len(body)) {
				t.Errorf("resume: status %d offset %d total %d", resp2.StatusCode, resp2.Offset, resp2.Total)
			}
			if whole := append(got, rest...); !bytes.Equal(whole, body) {
				t.Errorf("resumed body differs (%d bytes)", len(whole))
			}
			reqs := s.Requests("/f")
			if len(reqs) != 2 || reqs[1].Range != fmt.Sprintf("bytes=%d-", len(got)) || reqs[1].IfRange != `"b1"` {
				t.Errorf("requests %+v", reqs)
			}
		})
	}
}

// TestFaultRangeAnswers: what a resume gets from servers that ignore
// Range, changed the file, or have nothing past the offset.
func TestFaultRangeAnswers(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	v1, v2 := fs.Bytes("v1", 50000), fs.Bytes("v2", 50000)
	s.File("/norange", fs.File{Body: v1, ETag: `"1"`, IgnoreRange: true})
	s.File("/changed", fs.File{Body: v2, ETag: `"2"`})
	s.File("/whole", fs.File{Body: v1, ETag: `"1"`})
	s.File("/chunked", fs.File{Body: v1, ETag: `"1"`, Chunked: true})
	s.File("/empty", fs.File{})
	c := newClient(t, Config{IgnoreRobots: true, Retries: 2})
	ctx := context.Background()

	resp, got, err := readAll(ctx, c, s.URL("/norange"), WithRange(1000, `"1"`))
	if err != nil || resp.StatusCode != 200 || resp.Offset != 0 || !bytes.Equal(got, v1) {
		t.Errorf("range ignored: %v status %d offset %d", err, resp.StatusCode, resp.Offset)
	}
	resp, got, err = readAll(ctx, c, s.URL("/changed"), WithRange(1000, `"1"`))
	if err != nil || resp.StatusCode != 200 || resp.Offset != 0 || !bytes.Equal(got, v2) || resp.Validator() != `"2"` {
		t.Errorf("changed file: %v status %d offset %d validator %s", err, resp.StatusCode, resp.Offset, resp.Validator())
	}
	_, _, err = readAll(ctx, c, s.URL("/whole"), WithRange(int64(len(v1)), `"1"`))
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 416 || Retryable(err) {
		t.Errorf("range past the end: %v, want a final http 416", err)
	}
	if n := s.Count("/whole"); n != 1 {
		t.Errorf("416 asked %d times", n)
	}
	resp, got, err = readAll(ctx, c, s.URL("/chunked"))
	if err != nil || resp.ContentLength != -1 || resp.Total != -1 || !bytes.Equal(got, v1) {
		t.Errorf("chunked: %v length %d total %d, %d bytes", err, resp.ContentLength, resp.Total, len(got))
	}
	resp, got, err = readAll(ctx, c, s.URL("/chunked"), WithRange(1000, `"1"`))
	if err != nil || resp.Offset != 1000 || resp.Total != int64(len(v1)) || !bytes.Equal(got, v1[1000:]) {
		t.Errorf("chunked range: %v offset %d total %d", err, resp.Offset, resp.Total)
	}
	resp, got, err = readAll(ctx, c, s.URL("/empty"))
	if err != nil || resp.Total != 0 || len(got) != 0 {
		t.Errorf("empty: %v total %d, %d bytes", err, resp.Total, len(got))
	}
}

// TestFaultSlowButFlowing: a body that trickles for longer than the
// timeout, but never stops for that long, is read to the end.
func TestFaultSlowButFlowing(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	body := fs.Bytes("slow", 8000)
	s.File("/slow", fs.File{Body: body, Rate: 4000}) // 2 s, a chunk every 20 ms
	c := newClient(t, Config{IgnoreRobots: true, Timeout: time.Second})
	_, got, err := readAll(context.Background(), c, s.URL("/slow"))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("slow body: %v, %d bytes", err, len(got))
	}
}

// TestFaultRedirects: up to 10 redirects are followed, across hosts;
// longer chains and loops stop with a reason that names them.
func TestFaultRedirects(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	s.File("/end", fs.File{Body: []byte("end")})
	s.File("/eleven/end", fs.File{Body: []byte("end")})
	chain := func(name string, hops int) string {
		for i := range hops {
			next := fmt.Sprintf("/%s/%d", name, i+1)
			if i == hops-1 {
				next = "/end"
				if name == "eleven" {
					next = "/eleven/end"
				}
			}
			s.Redirect(fmt.Sprintf("/%s/%d", name, i), next, http.StatusFound)
		}
		return fmt.Sprintf("/%s/0", name)
	}
	ten, eleven := chain("ten", 10), chain("eleven", 11)
	s.Redirect("/away", s.OtherURL("/end"), http.StatusMovedPermanently)
	s.Redirect("/loop/a", "/loop/b", http.StatusFound)
	s.Redirect("/loop/b", "/loop/c", http.StatusTemporaryRedirect)
	s.Redirect("/loop/c", "/loop/a", http.StatusMovedPermanently)
	c := newClient(t, Config{IgnoreRobots: true, Retries: 3})
	ctx := context.Background()

	resp, got, err := readAll(ctx, c, s.URL(ten))
	if err != nil || string(got) != "end" || resp.URL != s.URL("/end") {
		t.Errorf("10 redirects: %v %q at %s", err, got, resp.URL)
	}
	_, _, err = readAll(ctx, c, s.URL(eleven))
	if err == nil || Retryable(err) || !strings.Contains(err.Error(), "10 redirects") {
		t.Errorf("11 redirects: %v, want a final error naming the limit", err)
	}
	if s.Count("/eleven/10") != 1 || s.Count("/eleven/end") != 0 {
		t.Errorf("10 redirects of 11 should be followed: %d, %d", s.Count("/eleven/10"), s.Count("/eleven/end"))
	}
	resp, got, err = readAll(ctx, c, s.URL("/away"))
	if err != nil || string(got) != "end" || resp.URL != s.OtherURL("/end") {
		t.Errorf("to another host: %v %q at %s", err, got, resp.URL)
	}
	_, _, err = readAll(ctx, c, s.URL("/loop/a"))
	if !errors.Is(err, ErrRedirectLoop) || Retryable(err) || !strings.Contains(err.Error(), "redirect loop") {
		t.Errorf("loop: %v, want a final ErrRedirectLoop", err)
	}
	if n := s.Count("/loop/a"); n != 1 {
		t.Errorf("loop start fetched %d times, want 1 (no retry)", n)
	}
}

// TestFaultPageCaps: GetPage never holds more than its limit, whether the
// size is announced, unannounced (chunked) or hidden by gzip (a bomb).
func TestFaultPageCaps(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	const limit = 1 << 20
	html := []byte("<html><body>" + strings.Repeat("<p>x</p>", 1000) + "</body></html>")
	s.File("/bomb", fs.File{Body: fs.GzipBomb(1 << 30), ContentType: "text/html", ContentEncoding: "gzip"})
	s.File("/long", fs.File{Body: fs.Bytes("l", 4<<20), ContentType: "text/html"})
	s.File("/chunked", fs.File{Body: fs.Bytes("l", 4<<20), ContentType: "text/html", Chunked: true})
	s.File("/ok", fs.File{Body: html, ContentType: "text/html"})
	c := newClient(t, Config{IgnoreRobots: true, Retries: 3})
	ctx := context.Background()

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, p := range []string{"/bomb", "/long", "/chunked"} {
		_, err := c.GetPage(ctx, s.URL(p), limit)
		if !errors.Is(err, ErrTooLarge) || Retryable(err) {
			t.Errorf("%s: %v, want a final ErrTooLarge", p, err)
		}
		if n := s.Count(p); n != 1 {
			t.Errorf("%s asked %d times", p, n)
		}
	}
	runtime.ReadMemStats(&after)
	// The bomb inflates to 1 GiB; the cap stops reading after 1 MiB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("reading three oversized pages allocated %d MiB", alloc>>20)
	}
	page, err := c.GetPage(ctx, s.URL("/ok"), limit)
	if err != nil || !bytes.Equal(page.Body, html) {
		t.Errorf("page under the cap: %v", err)
	}
}

// TestFaultPerHost: at most PerHost requests are in flight to each host,
// counted by the server on each of its two hosts.
func TestFaultPerHost(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	s.File("/slow", fs.File{Body: fs.Bytes("p", 3000), Rate: 60000}) // 50 ms each
	c := newClient(t, Config{IgnoreRobots: true, PerHost: 2})
	var wg sync.WaitGroup
	for i := range 16 {
		u := s.URL("/slow")
		if i%2 == 1 {
			u = s.OtherURL("/slow")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := readAll(context.Background(), c, u); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, h := range []string{s.Host(), s.OtherHost()} {
		if p := s.PeakRequests(h); p > 2 || p < 1 {
			t.Errorf("%s: %d requests at once, limit 2", h, p)
		}
		if p := s.PeakConns(h); p > 2 {
			t.Errorf("%s: %d connections at once, limit 2", h, p)
		}
	}
	if n := s.Count("/slow"); n != 16 {
		t.Errorf("%d requests, want 16", n)
	}
}
