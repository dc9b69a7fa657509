package fetcher

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
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
