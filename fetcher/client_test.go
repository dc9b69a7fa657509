package fetcher

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestGetRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		fail         []int // answers before success; 0 drops the connection
		retries      int
		wantStatus   int // 0: success
		wantRequests int64
	}{
		{"500 then ok", []int{500}, 3, 0, 2},
		{"503 502 504 then ok", []int{503, 502, 504}, 3, 0, 4},
		{"408 and 429 then ok", []int{408, 429}, 2, 0, 3},
		{"dropped connections then ok", []int{0, 0}, 2, 0, 3},
		{"retries used up", []int{500, 500, 500, 500}, 2, 500, 3},
		{"no retries", []int{503}, 0, 503, 1},
		{"negative retries mean none", []int{503}, -1, 503, 1},
		{"404 not retried", []int{404}, 3, 404, 1},
		{"403 not retried", []int{403}, 3, 403, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var requests atomic.Int64
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				n := int(requests.Add(1)) - 1
				if n < len(tt.fail) {
					if tt.fail[n] == 0 {
						dropConnection(t, w)
						return
					}
					http.Error(w, "nope", tt.fail[n])
					return
				}
				io.WriteString(w, "ok")
			})
			c := newClient(t, Config{Retries: tt.retries, IgnoreRobots: true})
			resp, err := c.Get(context.Background(), srv.URL+"/x")
			if got := requests.Load(); got != tt.wantRequests {
				t.Errorf("server saw %d requests, want %d", got, tt.wantRequests)
			}
			if tt.wantStatus != 0 {
				var se *StatusError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want a *StatusError", err)
				}
				if se.StatusCode != tt.wantStatus {
					t.Errorf("StatusCode = %d, want %d", se.StatusCode, tt.wantStatus)
				}
				want := "http " + strconv.Itoa(tt.wantStatus) + " " + http.StatusText(tt.wantStatus)
				if se.Error() != want {
					t.Errorf("Error() = %q, want %q", se.Error(), want)
				}
				if se.URL != srv.URL+"/x" {
					t.Errorf("URL = %q", se.URL)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || string(body) != "ok" {
				t.Errorf("body = %q, %v", body, err)
			}
			if resp.StatusCode != 200 {
				t.Errorf("StatusCode = %d", resp.StatusCode)
			}
		})
	}
}

func TestGetRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		value    func() string
		atLeast  time.Duration
		wantWait time.Duration // the StatusError's RetryAfter when not retried (0: don't check)
	}{
		{"seconds", 503, func() string { return "1" }, time.Second, time.Second},
		// An HTTP-date has whole seconds: now+2s truncated is still >1s away.
		{"http date", 429, func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }, time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var requests atomic.Int64
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if requests.Add(1) == 1 || r.URL.Path == "/always" {
					w.Header().Set("Retry-After", tt.value())
					w.WriteHeader(tt.status)
					return
				}
				io.WriteString(w, "ok")
			})

			// Not retried: the wait shows up in the StatusError and in Backoff.
			c0 := newClient(t, Config{Retries: 0, IgnoreRobots: true})
			_, err := c0.Get(context.Background(), srv.URL+"/always")
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.status {
				t.Fatalf("err = %v, want http %d", err, tt.status)
			}
			if se.RetryAfter <= 0 || se.RetryAfter > 2*time.Second {
				t.Errorf("RetryAfter = %v, want in (0, 2s]", se.RetryAfter)
			}
			if tt.wantWait != 0 && se.RetryAfter != tt.wantWait {
				t.Errorf("RetryAfter = %v, want %v", se.RetryAfter, tt.wantWait)
			}
			if b := c0.Backoff(0, err); b != se.RetryAfter {
				t.Errorf("Backoff = %v, want the RetryAfter %v", b, se.RetryAfter)
			}

			// Retried: the client waits at least that long (RetryWait is 5ms).
			requests.Store(0)
			c := newClient(t, Config{Retries: 2, IgnoreRobots: true})
			start := time.Now()
			resp, err := c.Get(context.Background(), srv.URL+"/x")
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			resp.Body.Close()
			if waited := time.Since(start); waited < tt.atLeast {
				t.Errorf("waited %v, want at least %v", waited, tt.atLeast)
			}
			if got := requests.Load(); got != 2 {
				t.Errorf("server saw %d requests, want 2", got)
			}
		})
	}
}

func TestGetContextCancelledDuringBackoff(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(503)
	})
	c := newClient(t, Config{Retries: 3, IgnoreRobots: true})
	// A second: the first request must reach the server before it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := c.Get(ctx, srv.URL)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 503 {
		t.Errorf("err = %v, want it to keep the http 503", err)
	}
}

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		opts []GetOption
		want map[string]string // "" means absent
	}{
		{
			name: "defaults",
			want: map[string]string{"User-Agent": DefaultUserAgent, "Accept": "*/*", "Cookie": "", "Range": "", "Accept-Encoding": "identity"},
		},
		{
			name: "identity",
			cfg: Config{
				UserAgent: "crawl-test/1",
				Header:    http.Header{"X-Test": {"1"}, "Referer": {"http://example.com/"}, "accept": {"image/*"}},
				Cookie:    "a=b; c=d",
			},
			want: map[string]string{
				"User-Agent": "crawl-test/1", "X-Test": "1", "Referer": "http://example.com/",
				"Accept": "image/*", "Cookie": "a=b; c=d",
			},
		},
		{
			name: "per-request header overrides config",
			cfg:  Config{Header: http.Header{"X-Test": {"config"}}},
			opts: []GetOption{WithHeader("X-Test", "request"), WithHeader("x-other", "2")},
			want: map[string]string{"X-Test": "request", "X-Other": "2"},
		},
		{
			name: "range",
			opts: []GetOption{WithRange(123, `"etag"`)},
			want: map[string]string{"Range": "bytes=123-", "If-Range": `"etag"`},
		},
		{
			name: "range without if-range",
			opts: []GetOption{WithRange(0, "")},
			want: map[string]string{"Range": "bytes=0-", "If-Range": ""},
		},
		{
			name: "negative range ignored",
			opts: []GetOption{WithRange(-1, "x")},
			want: map[string]string{"Range": "", "If-Range": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan http.Header, 1)
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				got <- r.Header.Clone()
			})
			cfg := tt.cfg
			cfg.IgnoreRobots = true
			c := newClient(t, cfg)
			resp, err := c.Get(context.Background(), srv.URL, tt.opts...)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			resp.Body.Close()
			h := <-got
			for name, want := range tt.want {
				if v := strings.Join(h.Values(name), ", "); v != want {
					t.Errorf("%s = %q, want %q", name, v, want)
				}
			}
		})
	}
}

func TestGetRange(t *testing.T) {
	t.Parallel()
	content := make([]byte, 100)
	for i := range content {
		content[i] = byte('a' + i%26)
	}
	modTime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/etag" {
			w.Header().Set("ETag", `"v1"`)
		}
		http.ServeContent(w, r, "file.bin", modTime, bytes.NewReader(content))
	})
	lastMod := modTime.Format(http.TimeFormat)

	tests := []struct {
		name       string
		path       string
		opts       []GetOption
		wantStatus int
		wantOffset int64
		wantTotal  int64
		wantLen    int64
		wantValid  string
	}{
		{"no range", "/etag", nil, 200, 0, 100, 100, `"v1"`},
		{"range", "/etag", []GetOption{WithRange(40, "")}, 206, 40, 100, 60, `"v1"`},
		{"range with matching etag", "/etag", []GetOption{WithRange(40, `"v1"`)}, 206, 40, 100, 60, `"v1"`},
		{"range with changed etag", "/etag", []GetOption{WithRange(40, `"v0"`)}, 200, 0, 100, 100, `"v1"`},
		{"range with matching date", "/date", []GetOption{WithRange(99, lastMod)}, 206, 99, 100, 1, lastMod},
		{"range with old date", "/date", []GetOption{WithRange(99, modTime.Add(-time.Hour).Format(http.TimeFormat))}, 200, 0, 100, 100, lastMod},
		{"range past the end", "/etag", []GetOption{WithRange(100, "")}, 416, 0, 0, 0, ""},
	}
	c := newClient(t, Config{IgnoreRobots: true, Retries: 2})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.Get(context.Background(), srv.URL+tt.path, tt.opts...)
			if tt.wantStatus >= 300 {
				var se *StatusError
				if !errors.As(err, &se) || se.StatusCode != tt.wantStatus {
					t.Fatalf("err = %v, want http %d", err, tt.wantStatus)
				}
				if Retryable(err) {
					t.Errorf("Retryable(%v) = true", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if resp.StatusCode != tt.wantStatus || resp.Offset != tt.wantOffset ||
				resp.Total != tt.wantTotal || resp.ContentLength != tt.wantLen {
				t.Errorf("status %d offset %d total %d length %d, want %d %d %d %d",
					resp.StatusCode, resp.Offset, resp.Total, resp.ContentLength,
					tt.wantStatus, tt.wantOffset, tt.wantTotal, tt.wantLen)
			}
			if !bytes.Equal(body, content[resp.Offset:]) {
				t.Errorf("body = %q, want content[%d:]", body, resp.Offset)
			}
			if v := resp.Validator(); v != tt.wantValid {
				t.Errorf("Validator() = %q, want %q", v, tt.wantValid)
			}
		})
	}
}

func TestValidator(t *testing.T) {
	t.Parallel()
	lm := "Wed, 01 May 2024 12:00:00 GMT"
	tests := []struct {
		name   string
		header http.Header
		want   string
	}{
		{"strong etag", http.Header{"Etag": {`"abc"`}, "Last-Modified": {lm}}, `"abc"`},
		{"weak etag falls back", http.Header{"Etag": {`W/"abc"`}, "Last-Modified": {lm}}, lm},
		{"last-modified only", http.Header{"Last-Modified": {lm}}, lm},
		{"weak etag only", http.Header{"Etag": {`W/"abc"`}}, ""},
		{"nothing", http.Header{}, ""},
	}
	for _, tt := range tests {
		r := &Response{Header: tt.header}
		if got := r.Validator(); got != tt.want {
			t.Errorf("%s: Validator() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in                string
		start, end, total int64
		ok                bool
	}{
		{"bytes 0-99/100", 0, 99, 100, true},
		{"bytes 40-99/100", 40, 99, 100, true},
		{"bytes 40-99/*", 40, 99, -1, true},
		{"BYTES 5-9/10", 5, 9, 10, true},
		{" bytes  5-9 / 10 ", 5, 9, 10, true},
		{"bytes */100", 0, 0, -1, false},
		{"items 0-1/2", 0, 0, -1, false},
		{"", 0, 0, -1, false},
		{"bytes x-1/2", 0, 0, -1, false},
		{"bytes 40-/100", 0, 0, -1, false},
		{"bytes 50-40/100", 0, 0, -1, false},
		{"bytes 40-99/99", 0, 0, -1, false},
		{"bytes +1-9/10", 0, 0, -1, false},
		{"bytes 1-9/-10", 0, 0, -1, false},
		{"bytes 0-99999999999999999999/*", 0, 0, -1, false},
	}
	for _, tt := range tests {
		start, end, total, ok := parseContentRange(tt.in)
		if start != tt.start || end != tt.end || total != tt.total || ok != tt.ok {
			t.Errorf("parseContentRange(%q) = %d, %d, %d, %v, want %d, %d, %d, %v",
				tt.in, start, end, total, ok, tt.start, tt.end, tt.total, tt.ok)
		}
	}
}

func TestRedirects(t *testing.T) {
	t.Parallel()
	other := newServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "other host") })
	var requests atomic.Int64
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		switch p := r.URL.Path; {
		case p == "/loop/a":
			http.Redirect(w, r, "/loop/b", http.StatusFound)
		case p == "/loop/b":
			http.Redirect(w, r, "/loop/a", http.StatusMovedPermanently)
		case p == "/self":
			http.Redirect(w, r, "/self", http.StatusFound)
		case strings.HasPrefix(p, "/chain/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(p, "/chain/"))
			http.Redirect(w, r, fmt.Sprintf("/chain/%d", n+1), http.StatusFound)
		case p == "/away":
			http.Redirect(w, r, other.URL+"/there", http.StatusSeeOther)
		case p == "/moved":
			http.Redirect(w, r, "/final?x=1", http.StatusMovedPermanently)
		default:
			io.WriteString(w, "final")
		}
	})
	tests := []struct {
		name         string
		path         string
		maxRedirects int
		wantLoop     bool
		wantErr      bool
		wantURL      string
		wantRequests int64
	}{
		{"followed", "/moved", 0, false, false, srv.URL + "/final?x=1", 2},
		{"to another host", "/away", 0, false, false, other.URL + "/there", 1},
		{"loop", "/loop/a", 0, true, true, "", 2},
		{"self loop", "/self", 0, true, true, "", 1},
		{"too many", "/chain/0", 3, false, true, "", 4},
		{"default limit is 10", "/chain/0", 0, false, true, "", 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requests.Store(0)
			c := newClient(t, Config{IgnoreRobots: true, Retries: 3, MaxRedirects: tt.maxRedirects})
			resp, err := c.Get(context.Background(), srv.URL+tt.path)
			if got := requests.Load(); got != tt.wantRequests {
				t.Errorf("server saw %d requests, want %d", got, tt.wantRequests)
			}
			if tt.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatal("no error")
				}
				if errors.Is(err, ErrRedirectLoop) != tt.wantLoop {
					t.Errorf("err = %v; wraps ErrRedirectLoop: %v, want %v", err, !tt.wantLoop, tt.wantLoop)
				}
				if Retryable(err) {
					t.Errorf("Retryable(%v) = true", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			resp.Body.Close()
			if resp.URL != tt.wantURL {
				t.Errorf("URL = %q, want %q", resp.URL, tt.wantURL)
			}
		})
	}
}

func TestGetPage(t *testing.T) {
	t.Parallel()
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	big := bytes.Repeat([]byte("x"), 1000)
	var requests atomic.Int64
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		body := big[:size]
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", strconv.Itoa(size))
			w.Write(body)
		case "/chunked":
			for len(body) > 0 {
				n := min(len(body), 64)
				w.Write(body[:n])
				w.(http.Flusher).Flush()
				body = body[n:]
			}
		case "/gzip":
			if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				http.Error(w, "gzip only", 406)
				return
			}
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Type", "text/html")
			w.Write(gz(body))
		}
	})
	tests := []struct {
		name    string
		path    string
		size    int
		limit   int64
		tooBig  bool
		wantEnc bool
	}{
		{"small", "/length", 100, 1000, false, false},
		{"exactly the limit", "/length", 500, 500, false, false},
		{"no limit", "/length", 1000, 0, false, false},
		{"too large by Content-Length", "/length", 1000, 999, true, false},
		{"too large chunked", "/chunked", 1000, 100, true, false},
		{"chunked under the limit", "/chunked", 300, 1000, false, false},
		{"gzip decoded", "/gzip", 1000, 1000, false, true},
		{"gzip too large when decoded", "/gzip", 1000, 999, true, true},
	}
	c := newClient(t, Config{IgnoreRobots: true, Retries: 3})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requests.Store(0)
			u := fmt.Sprintf("%s%s?size=%d", srv.URL, tt.path, tt.size)
			page, err := c.GetPage(context.Background(), u, tt.limit)
			if got := requests.Load(); got != 1 {
				t.Errorf("server saw %d requests, want 1", got)
			}
			if tt.tooBig {
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("err = %v, want ErrTooLarge", err)
				}
				if Retryable(err) {
					t.Errorf("Retryable(%v) = true", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetPage: %v", err)
			}
			if !bytes.Equal(page.Body, big[:tt.size]) {
				t.Errorf("body has %d bytes, want %d x", len(page.Body), tt.size)
			}
			if page.URL != u {
				t.Errorf("URL = %q, want %q", page.URL, u)
			}
			if tt.wantEnc && page.Header.Get("Content-Encoding") != "" {
				t.Errorf("Content-Encoding still %q after decoding", page.Header.Get("Content-Encoding"))
			}
		})
	}
}

func TestGetPageRetriesBodyFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fail func(t *testing.T, w http.ResponseWriter, r *http.Request)
	}{
		{"truncated", func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.Write(bytes.Repeat([]byte("p"), 50))
			w.(http.Flusher).Flush()
			dropConnection(t, w)
		}},
		{"stalled", func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.Write(bytes.Repeat([]byte("p"), 50))
			w.(http.Flusher).Flush()
			waitOrDone(r, 5*time.Second)
		}},
		{"500", func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			http.Error(w, "oops", 500)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var requests atomic.Int64
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if requests.Add(1) == 1 {
					tt.fail(t, w, r)
					return
				}
				w.Write(bytes.Repeat([]byte("p"), 100))
			})
			c := newClient(t, Config{IgnoreRobots: true, Retries: 2, Timeout: time.Second})
			page, err := c.GetPage(context.Background(), srv.URL, 1000)
			if err != nil {
				t.Fatalf("GetPage: %v", err)
			}
			if len(page.Body) != 100 {
				t.Errorf("body has %d bytes, want 100", len(page.Body))
			}
			if got := requests.Load(); got != 2 {
				t.Errorf("server saw %d requests, want 2", got)
			}
		})
	}
}

func TestBodyStall(t *testing.T) {
	t.Parallel()
	// Wide enough that a busy machine does not make a stall of its own.
	const timeout = time.Second
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		readerDelay time.Duration // the caller pauses this long before reading
		wantStall   bool
		wantBytes   int
	}{
		{
			name: "body stops",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "1000")
				w.Write(make([]byte, 10))
				w.(http.Flusher).Flush()
				waitOrDone(r, 5*time.Second)
			},
			wantStall: true,
		},
		{
			name: "stops before the first byte",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(200)
				w.(http.Flusher).Flush()
				waitOrDone(r, 5*time.Second)
			},
			wantStall: true,
		},
		{
			// 12 bytes, a fifth of the timeout apart: longer than the timeout in all, never
			// silent for the timeout.
			name: "slow but flowing",
			handler: func(w http.ResponseWriter, r *http.Request) {
				for range 12 {
					w.Write([]byte("z"))
					w.(http.Flusher).Flush()
					time.Sleep(timeout / 5)
				}
			},
			wantBytes: 12,
		},
		{
			name: "slow reader",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write(make([]byte, 100))
			},
			readerDelay: 2 * timeout,
			wantBytes:   100,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tt.handler)
			c := newClient(t, Config{IgnoreRobots: true, Timeout: timeout})
			resp, err := c.Get(context.Background(), srv.URL)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			defer resp.Body.Close()
			time.Sleep(tt.readerDelay)
			start := time.Now()
			body, err := io.ReadAll(resp.Body)
			if !tt.wantStall {
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				if len(body) != tt.wantBytes {
					t.Errorf("read %d bytes, want %d", len(body), tt.wantBytes)
				}
				return
			}
			if !errors.Is(err, ErrStalled) {
				t.Fatalf("err = %v, want ErrStalled", err)
			}
			if !Retryable(err) {
				t.Errorf("Retryable(%v) = false", err)
			}
			if waited := time.Since(start); waited < timeout {
				t.Errorf("gave up after %v, before the timeout %v", waited, timeout)
			}
			if _, err := resp.Body.Read(make([]byte, 1)); !errors.Is(err, ErrStalled) {
				t.Errorf("read after stall: %v, want ErrStalled", err)
			}
		})
	}
}

func TestResponseHeaderTimeout(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		waitOrDone(r, 5*time.Second)
	})
	c := newClient(t, Config{IgnoreRobots: true, Timeout: 100 * time.Millisecond, Retries: 1})
	_, err := c.Get(context.Background(), srv.URL)
	if err == nil {
		t.Fatal("no error")
	}
	if !Retryable(err) {
		t.Errorf("Retryable(%v) = false", err)
	}
	if got := requests.Load(); got != 2 {
		t.Errorf("server saw %d requests, want 2", got)
	}
}

func TestTruncatedBody(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Write(make([]byte, 50))
		w.(http.Flusher).Flush()
		dropConnection(t, w)
	})
	c := newClient(t, Config{IgnoreRobots: true})
	resp, err := c.Get(context.Background(), srv.URL)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != 100 || resp.Total != 100 {
		t.Errorf("ContentLength %d Total %d, want 100 100", resp.ContentLength, resp.Total)
	}
	body, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read %d bytes, err = %v, want io.ErrUnexpectedEOF", len(body), err)
	}
	if len(body) != 50 {
		t.Errorf("read %d bytes, want 50", len(body))
	}
	if !Retryable(err) {
		t.Errorf("Retryable(%v) = false", err)
	}
}

func TestBadURLs(t *testing.T) {
	t.Parallel()
	c := newClient(t, Config{IgnoreRobots: true, Retries: 3})
	for _, u := range []string{"ftp://example.com/x", "http:///nohost", "://bad", "/relative"} {
		if resp, err := c.Get(context.Background(), u); err == nil {
			resp.Body.Close()
			t.Errorf("Get(%q): no error", u)
		} else if Retryable(err) {
			t.Errorf("Get(%q): Retryable(%v) = true", u, err)
		}
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	u := srv.URL
	srv.Close()
	c := newClient(t, Config{IgnoreRobots: true, Retries: 1})
	_, err := c.Get(context.Background(), u)
	if err == nil {
		t.Fatal("no error")
	}
	if !Retryable(err) {
		t.Errorf("Retryable(%v) = false", err)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	c, err := New(Config{IgnoreRobots: true, LockDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(context.Background(), srv.URL)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	// A body still open can be read and closed after Close.
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "ok" {
		t.Errorf("read after Close: %q, %v", b, err)
	}
	resp.Body.Close()
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Get(context.Background(), srv.URL); err == nil {
		t.Error("Get after Close: no error")
	}
	if _, err := c.GetPage(context.Background(), srv.URL, 0); err == nil {
		t.Error("GetPage after Close: no error")
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	c, err := New(Config{Retries: -3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := c.cfg
	if cfg.UserAgent != DefaultUserAgent || cfg.Timeout != 30*time.Second || cfg.Retries != 0 ||
		cfg.RetryWait != time.Second || cfg.PerHost != 4 || cfg.MaxRedirects != 10 || cfg.MaxConns != 16 {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	if c.Retries() != 0 {
		t.Errorf("Retries() = %d", c.Retries())
	}
	if c.tr.MaxIdleConnsPerHost != 16 || c.tr.ResponseHeaderTimeout != 30*time.Second {
		t.Errorf("transport: MaxIdleConnsPerHost %d ResponseHeaderTimeout %v", c.tr.MaxIdleConnsPerHost, c.tr.ResponseHeaderTimeout)
	}
	c2, err := New(Config{PerHost: 32, MaxConns: 8, Retries: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.tr.MaxIdleConnsPerHost != 32 || c2.Retries() != 5 {
		t.Errorf("MaxIdleConnsPerHost %d Retries %d, want 32 5", c2.tr.MaxIdleConnsPerHost, c2.Retries())
	}
}
