package fetcher

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// TestBodyGate: GetPage asks the gate for room before a page's body grows
// past it: at once for the whole Content-Length when the server gives
// one, in growing steps of the decoded body when it is gzip-compressed;
// a gate's error ends the read and is GetPage's.
func TestBodyGate(t *testing.T) {
	page := bytes.Repeat([]byte("<p>a page</p>\n"), 40000) // 560 KB
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(page)
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/gz" {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(zipped.Bytes())
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.Write(page)
	}))
	defer srv.Close()
	c, err := New(Config{IgnoreRobots: true, LockDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for _, path := range []string{"/plain", "/gz"} {
		var asked []int64
		gate := func(_ context.Context, n int64) error { asked = append(asked, n); return nil }
		p, err := c.GetPage(ctx, srv.URL+path, 1<<20, WithBodyGate(gate))
		if err != nil || !bytes.Equal(p.Body, page) {
			t.Fatalf("%s: %v", path, err)
		}
		if len(asked) == 0 || asked[len(asked)-1] < int64(len(page)) {
			t.Errorf("%s: gate asked for %v, the last not the whole %d bytes", path, asked, len(page))
		}
		for i := 1; i < len(asked); i++ {
			if asked[i] <= asked[i-1] {
				t.Errorf("%s: gate asked for %v, not growing", path, asked)
			}
		}
		if path == "/plain" && (len(asked) != 1 || asked[0] != int64(len(page))) {
			t.Errorf("plain page with a Content-Length: gate asked for %v, want once for %d", asked, len(page))
		}
	}
	full := errors.New("no room")
	_, err = c.GetPage(ctx, srv.URL+"/gz", 1<<20, WithBodyGate(func(_ context.Context, n int64) error {
		if n > 100<<10 {
			return full
		}
		return nil
	}))
	if !errors.Is(err, full) {
		t.Errorf("gate refusing room: GetPage error %v, want the gate's", err)
	}
}
