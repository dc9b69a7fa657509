package faultserver

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// get fetches u with a plain client (no compression, no keep-alive so that
// every request gets its own connection), with optional headers as
// name, value pairs.
func get(t *testing.T, u string, hdr ...string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{
		Transport: &http.Transport{DisableCompression: true, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func newServer(t *testing.T) *Server {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	return s
}

func TestFileAndRanges(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	body := Bytes("f", 1000)
	lm := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	s.File("/f", File{Body: body, ContentType: "image/jpeg", ETag: `"v1"`, LastModified: lm})
	tests := []struct {
		name       string
		hdr        []string
		wantStatus int
		want       []byte
		wantRange  string
	}{
		{"whole", nil, 200, body, ""},
		{"open range", []string{"Range", "bytes=100-"}, 206, body[100:], "bytes 100-999/1000"},
		{"closed range", []string{"Range", "bytes=10-19"}, 206, body[10:20], "bytes 10-19/1000"},
		{"range with matching etag", []string{"Range", "bytes=500-", "If-Range", `"v1"`}, 206, body[500:], "bytes 500-999/1000"},
		{"range with old etag", []string{"Range", "bytes=500-", "If-Range", `"v0"`}, 200, body, ""},
		{"range with matching date", []string{"Range", "bytes=500-", "If-Range", lm.Format(http.TimeFormat)}, 206, body[500:], "bytes 500-999/1000"},
		{"range with other date", []string{"Range", "bytes=500-", "If-Range", lm.Add(time.Hour).Format(http.TimeFormat)}, 200, body, ""},
		{"range past the end", []string{"Range", "bytes=1000-"}, 416, nil, "bytes */1000"},
		{"multiple ranges not supported", []string{"Range", "bytes=1-2,5-6"}, 200, body, ""},
	}
	for _, tt := range tests {
		resp, got, err := get(t, s.URL("/f"), tt.hdr...)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if resp.StatusCode != tt.wantStatus || !bytes.Equal(got, tt.want) {
			t.Errorf("%s: status %d, %d bytes; want %d, %d bytes", tt.name, resp.StatusCode, len(got), tt.wantStatus, len(tt.want))
		}
		if cr := resp.Header.Get("Content-Range"); cr != tt.wantRange {
			t.Errorf("%s: Content-Range %q, want %q", tt.name, cr, tt.wantRange)
		}
		if resp.Header.Get("ETag") != `"v1"` || resp.Header.Get("Last-Modified") != lm.Format(http.TimeFormat) {
			t.Errorf("%s: validators %v", tt.name, resp.Header)
		}
	}
	waitDone(t, s, "/f")
	reqs := s.Requests("/f")
	if len(reqs) != len(tests) {
		t.Fatalf("%d requests logged, want %d", len(reqs), len(tests))
	}
	if reqs[3].Range != "bytes=500-" || reqs[3].IfRange != `"v1"` || reqs[3].Status != 206 || reqs[3].Sent != 500 {
		t.Errorf("log entry %+v", reqs[3])
	}
	if got := s.Ranges("/f"); len(got) != len(tests)-1 {
		t.Errorf("Ranges = %v", got)
	}
}

func TestIgnoreRangeChunkedEmpty(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	body := Bytes("x", 100<<10)
	s.File("/norange", File{Body: body, IgnoreRange: true})
	s.File("/chunked", File{Body: body, Chunked: true})
	s.File("/empty", File{})

	resp, got, err := get(t, s.URL("/norange"), "Range", "bytes=10-")
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Errorf("ignore range: %v status %d, %d bytes", err, resp.StatusCode, len(got))
	}
	if resp.Header.Get("Accept-Ranges") != "" {
		t.Errorf("Accept-Ranges sent by a server that ignores ranges")
	}
	resp, got, err = get(t, s.URL("/chunked"))
	if err != nil || resp.ContentLength != -1 || !bytes.Equal(got, body) {
		t.Errorf("chunked: %v length %d, %d bytes", err, resp.ContentLength, len(got))
	}
	if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("chunked: Transfer-Encoding %v", resp.TransferEncoding)
	}
	resp, got, err = get(t, s.URL("/empty"))
	if err != nil || resp.StatusCode != 200 || len(got) != 0 || resp.ContentLength != 0 {
		t.Errorf("empty: %v status %d, %d bytes", err, resp.StatusCode, len(got))
	}
	if resp, _, err := get(t, s.URL("/nothing")); err != nil || resp.StatusCode != 404 {
		t.Errorf("unknown path: %v %v", resp, err)
	}
}

func TestFaultsThenOK(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	body := Bytes("y", 10000)
	date := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	faults := append(Times(2, Fault{Kind: Status, Status: 500}),
		Fault{Kind: Status, Status: 429, RetryAfter: "3"},
		Fault{Kind: Status, RetryAfter: date},
		Fault{Kind: HTML},
		Fault{Kind: Disguised},
		Fault{Kind: Empty},
	)
	s.File("/y", File{Body: body, ContentType: "image/png", ETag: `"y"`, Faults: faults})
	want := []struct {
		status     int
		retryAfter string
		ctype      string
		html       bool
	}{
		{500, "", "text/html; charset=utf-8", true},
		{500, "", "text/html; charset=utf-8", true},
		{429, "3", "text/html; charset=utf-8", true},
		{503, date, "text/html; charset=utf-8", true},
		{200, "", "text/html; charset=utf-8", true},
		{200, "", "image/png", true},
		{200, "", "image/png", false},
		{200, "", "image/png", false},
	}
	for i, w := range want {
		resp, got, err := get(t, s.URL("/y"))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if resp.StatusCode != w.status || resp.Header.Get("Retry-After") != w.retryAfter || resp.Header.Get("Content-Type") != w.ctype {
			t.Errorf("request %d: %d %q %q, want %d %q %q", i, resp.StatusCode, resp.Header.Get("Retry-After"),
				resp.Header.Get("Content-Type"), w.status, w.retryAfter, w.ctype)
		}
		if isHTML := strings.HasPrefix(http.DetectContentType(got), "text/html"); isHTML != w.html {
			t.Errorf("request %d: body sniffs as HTML: %v", i, isHTML)
		}
		if i == 6 && len(got) != 0 {
			t.Errorf("empty fault sent %d bytes", len(got))
		}
		if i == 7 && !bytes.Equal(got, body) {
			t.Errorf("after the faults: %d bytes, want the file", len(got))
		}
	}
	waitDone(t, s, "/y")
	for i, r := range s.Requests("/y") {
		if (i < 7) != (r.Fault != 0) {
			t.Errorf("request %d logged with fault %v", i, r.Fault)
		}
	}

	// Setting the file again starts its faults over.
	s.File("/y", File{Body: body, Always: &Fault{Kind: Status, Status: 502}})
	for range 3 {
		if resp, _, err := get(t, s.URL("/y")); err != nil || resp.StatusCode != 502 {
			t.Fatalf("Always 502: %v %v", resp, err)
		}
	}
	if n := s.Count("/y"); n != len(want)+3 {
		t.Errorf("Count = %d, want %d", n, len(want)+3)
	}
}

func TestBrokenBodies(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	body := Bytes("z", 200<<10)
	s.File("/truncate", File{Body: body, Faults: []Fault{{Kind: Truncate, After: 1000}}})
	s.File("/reset", File{Body: body, Faults: []Fault{{Kind: Reset, After: 1000}}})
	s.File("/drop", File{Body: body, Faults: []Fault{{Kind: Drop}}})
	s.File("/stall", File{Body: body, Faults: []Fault{{Kind: Stall, After: 1000}}})

	resp, got, err := get(t, s.URL("/truncate"))
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 1000 || resp.ContentLength != int64(len(body)) {
		t.Errorf("truncate: %d bytes, err %v", len(got), err)
	}
	_, got, err = get(t, s.URL("/reset"))
	if !errors.Is(err, syscall.ECONNRESET) || len(got) > 1000 {
		t.Errorf("reset: %d bytes, err %v, want ECONNRESET", len(got), err)
	}
	if _, _, err := get(t, s.URL("/drop")); err == nil {
		t.Errorf("drop: no error")
	}
	// Faults are used up: the next request of each gets the file.
	for _, p := range []string{"/truncate", "/reset", "/drop"} {
		if _, got, err := get(t, s.URL(p)); err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s after the fault: %d bytes, %v", p, len(got), err)
		}
	}

	// A stall lasts until the client gives up.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL("/stall"), nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1000)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatalf("stall: first bytes: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := resp.Body.Read(make([]byte, 1))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("stalled body gave more: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	if err := <-done; err == nil {
		t.Errorf("read after cancel: no error")
	}
	resp.Body.Close()

	waitDone(t, s, "/stall")
	if r := s.Requests("/stall")[0]; r.Fault != Stall || r.Sent != 1000 || r.Status != 200 {
		t.Errorf("stall logged as %+v", r)
	}
	waitDone(t, s, "/truncate")
	if r := s.Requests("/truncate")[0]; r.Fault != Truncate || r.Sent != 1000 {
		t.Errorf("truncate logged as %+v", r)
	}
}

// waitDone waits until the answers to every request for path are over.
func waitDone(t *testing.T, s *Server, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		done := true
		for _, r := range s.Requests(path) {
			done = done && r.Done
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("answers for %s still going on", path)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTrickle(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	body := Bytes("slow", 2000)
	s.File("/slow", File{Body: body, Rate: 10000}) // 0.2 s
	start := time.Now()
	_, got, err := get(t, s.URL("/slow"))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("trickle: %d bytes, %v", len(got), err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("2000 bytes at 10000 B/s took %v", d)
	}
}

func TestRedirectsAndHosts(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.File("/target", File{Body: []byte("here")})
	s.Redirect("/a", "/b", 0)
	s.Redirect("/b", s.OtherURL("/target"), http.StatusMovedPermanently)
	s.Redirect("/loop1", "/loop2", 0)
	s.Redirect("/loop2", "/loop1", 0)

	resp, _, _ := get(t, s.URL("/a"))
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/b" {
		t.Errorf("/a: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _, _ = get(t, s.URL("/b"))
	if resp.StatusCode != 301 || resp.Header.Get("Location") != s.OtherURL("/target") {
		t.Errorf("/b: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := http.Get(s.URL("/loop1")); err == nil {
		t.Errorf("redirect loop followed to the end")
	}

	// A client that follows the chain lands on the other host.
	resp, err := http.Get(s.URL("/a"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "here" || resp.Request.URL.Host != s.OtherHost() {
		t.Errorf("chain ended at %s with %q", resp.Request.URL, body)
	}
	if s.Host() == s.OtherHost() {
		t.Errorf("both hosts are %s", s.Host())
	}
	var other int
	for _, r := range s.All() {
		if r.Host == s.OtherHost() {
			other++
		}
	}
	if other != 1 {
		t.Errorf("%d requests reached the other host, want 1", other)
	}
}

func TestPeaks(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	release := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(3)
	s.HandleFunc("/hold", func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-release
		io.WriteString(w, "ok")
	})
	var wg sync.WaitGroup
	for _, u := range []string{s.URL("/hold"), s.URL("/hold"), s.OtherURL("/hold")} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := get(t, u); err != nil {
				t.Error(err)
			}
		}()
	}
	arrived.Wait()
	close(release)
	wg.Wait()
	if p := s.PeakRequests(s.Host()); p != 2 {
		t.Errorf("PeakRequests(main) = %d, want 2", p)
	}
	if p := s.PeakRequests(s.OtherHost()); p != 1 {
		t.Errorf("PeakRequests(other) = %d, want 1", p)
	}
	if p := s.PeakConns(s.Host()); p != 2 {
		t.Errorf("PeakConns(main) = %d, want 2", p)
	}
	if s.Count("/hold") != 3 {
		t.Errorf("Count = %d", s.Count("/hold"))
	}
}

func TestBytesAndBomb(t *testing.T) {
	t.Parallel()
	a, b := Bytes("a", 4096), Bytes("b", 4096)
	if bytes.Equal(a, b) || !bytes.Equal(a, Bytes("a", 4096)) {
		t.Errorf("Bytes is not a function of its seed")
	}
	if ct := http.DetectContentType(a); strings.HasPrefix(ct, "text/") {
		t.Errorf("Bytes sniffs as %s", ct)
	}
	bomb := GzipBomb(64 << 20)
	if len(bomb) > 1<<20 {
		t.Errorf("a 64 MiB bomb takes %d bytes", len(bomb))
	}
	zr, err := gzip.NewReader(bytes.NewReader(bomb))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err != nil || n != 64<<20 {
		t.Errorf("bomb inflates to %d bytes, %v", n, err)
	}
}

func TestCloseEndsStalls(t *testing.T) {
	t.Parallel()
	s := New()
	s.File("/stall", File{Body: Bytes("s", 100), Always: &Fault{Kind: Stall, After: 10}})
	resp, err := http.Get(s.URL("/stall"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs on a stalled answer")
	}
	s.Close() // twice is fine
}

// TestClientGone: a client that closes a connection while the answer is
// being sent is noted, and PeakRequestsSeen counts that request over a
// moment before the server saw it go.
func TestClientGone(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.File("/big", File{Body: Bytes("big", 8<<20), Rate: 1 << 20})
	s.File("/small", File{Body: []byte("small")})
	resp, err := http.Get(s.URL("/big"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	waitDone(t, s, "/big") // the server noticed the client leave
	if _, _, err := get(t, s.URL("/small")); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests("/big")
	if len(reqs) != 1 || !reqs[0].ClientGone || reqs[0].End.IsZero() {
		t.Errorf("/big: %+v; want one request the client left", reqs)
	}
	if small := s.Requests("/small"); len(small) != 1 || small[0].ClientGone || small[0].End.IsZero() {
		t.Errorf("/small: %+v", small)
	}
	if p := s.PeakRequestsSeen(s.Host(), time.Second); p != 1 {
		t.Errorf("PeakRequestsSeen = %d, want 1", p)
	}
}
