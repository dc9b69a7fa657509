package fetcher

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	fs "crawl/internal/faultserver"
)

// TestDecodeFiles: a file sent gzip-, deflate- (zlib or raw) or
// br-encoded without being asked is read decoded, with no length and no
// validator; a compressed archive (by type or by extension) is read as
// its encoded bytes, with its length and validator.
func TestDecodeFiles(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	img := fs.Bytes("img", 100<<10)
	tests := []struct {
		path, ctype, coding string // coding: the fault server's name of it
		header              string // Content-Encoding sent
		decoded             bool
	}{
		{"/a.jpg", "image/jpeg", "gzip", "gzip", true},
		{"/b.jpg", "image/jpeg", "deflate", "deflate", true},
		{"/c.jpg", "image/jpeg", "deflate-raw", "deflate", true},
		{"/d.jpg", "image/jpeg", "br", "br", true},
		{"/e.jpg", "image/jpeg", "gzip", "X-Gzip", true},
		{"/f.tar.gz", "application/gzip", "gzip", "gzip", false},
		{"/download?id=7", "application/x-gzip", "gzip", "gzip", false},
		{"/g.tgz", "application/octet-stream", "gzip", "gzip", false},
		{"/h.txt.br", "text/plain", "br", "br", false},
	}
	c := newClient(t, Config{IgnoreRobots: true})
	for _, tt := range tests {
		encoded := fs.Encode(tt.coding, img)
		p, _, _ := bytes.Cut([]byte(tt.path), []byte("?"))
		s.File(string(p), fs.File{Body: encoded, ContentType: tt.ctype, ContentEncoding: tt.header, ETag: `"v1"`})
		resp, body, err := readAll(context.Background(), c, s.URL(tt.path))
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		want, wantEnc, wantLen, wantV := img, "", int64(len(encoded)), `"v1"`
		if tt.decoded {
			want, wantEnc, wantLen, wantV = img, tt.coding, -1, ""
			if tt.coding == "deflate-raw" {
				wantEnc = "deflate"
			}
			if tt.header == "X-Gzip" {
				wantEnc = "x-gzip"
			}
		} else {
			want = encoded
		}
		if !bytes.Equal(body, want) {
			t.Errorf("%s: read %d bytes, not the %d wanted", tt.path, len(body), len(want))
		}
		if resp.Encoding != wantEnc || resp.ContentLength != wantLen || resp.Total != wantLen || resp.Validator() != wantV {
			t.Errorf("%s: Encoding %q length %d total %d validator %q; want %q %d %q",
				tt.path, resp.Encoding, resp.ContentLength, resp.Total, resp.Validator(), wantEnc, wantLen, wantV)
		}
		if tt.decoded && resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: Content-Encoding still in the header", tt.path)
		}
	}
}

// TestDecodeRanges: a range of an encoded body cannot be decoded, so it
// is a bad range (and a resume starts over); the whole encoded body
// answered as a range is decoded; a decoded answer never continues a part.
func TestDecodeRanges(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t)
	img := fs.Bytes("img", 50<<10)
	s.File("/a.jpg", fs.File{Body: fs.Encode("gzip", img), ContentType: "image/jpeg", ContentEncoding: "gzip", ETag: `"v1"`})
	c := newClient(t, Config{IgnoreRobots: true})
	ctx := context.Background()

	_, err := c.Get(ctx, s.URL("/a.jpg"), WithRange(1000, `"v1"`))
	if !errors.Is(err, ErrBadRange) || Retryable(err) {
		t.Errorf("range of an encoded body: %v, want a final ErrBadRange", err)
	}
	resp, body, err := readAll(ctx, c, s.URL("/a.jpg"), WithRange(0, ""))
	if err != nil || !bytes.Equal(body, img) {
		t.Fatalf("whole encoded body as a range: %v, %d bytes", err, len(body))
	}
	if resp.Offset != 0 || resp.Total != -1 {
		t.Errorf("offset %d total %d, want 0 and unknown", resp.Offset, resp.Total)
	}
	if err := resp.Continues(0, -1, ""); !errors.Is(err, ErrRangeMismatch) {
		t.Errorf("Continues of a decoded answer: %v, want ErrRangeMismatch", err)
	}
}

// TestDecodeBroken: a cut or corrupt encoded body fails to read, never
// ending as a short file; an empty one is an empty body.
func TestDecodeBroken(t *testing.T) {
	t.Parallel()
	img := fs.Bytes("img", 200<<10)
	gz := fs.Encode("gzip", img)
	br := fs.Encode("br", img)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cut.gz.jpg":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz[:len(gz)/2]) // chunked: ends cleanly, the stream does not
		case "/cut.br.jpg":
			w.Header().Set("Content-Encoding", "br")
			w.Write(br[:len(br)/2])
		case "/junk.jpg":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte("this is not gzip at all"))
		case "/empty.jpg":
			w.Header().Set("Content-Encoding", "gzip")
		}
	})
	c := newClient(t, Config{IgnoreRobots: true})
	for _, p := range []string{"/cut.gz.jpg", "/cut.br.jpg", "/junk.jpg"} {
		_, body, err := readAll(context.Background(), c, srv.URL+p)
		if err == nil {
			t.Errorf("%s: read %d bytes without an error", p, len(body))
		}
	}
	_, body, err := readAll(context.Background(), c, srv.URL+"/empty.jpg")
	if err != nil || len(body) != 0 {
		t.Errorf("empty encoded body: %v, %d bytes", err, len(body))
	}
}

// TestAcceptEncoding: a file is asked for as it is stored, a page in any
// coding the client decodes; each coding of a page is decoded under its cap.
func TestAcceptEncoding(t *testing.T) {
	t.Parallel()
	html := bytes.Repeat([]byte("<p>page</p>"), 1000)
	var (
		mu  sync.Mutex
		got []string
	)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Accept-Encoding"))
		mu.Unlock()
		if c := r.URL.Query().Get("c"); c != "" {
			w.Header().Set("Content-Encoding", strings.TrimSuffix(c, "-raw"))
			w.Write(fs.Encode(c, html))
			return
		}
		w.Write(html)
	})
	c := newClient(t, Config{IgnoreRobots: true})
	ctx := context.Background()
	if _, _, err := readAll(ctx, c, srv.URL+"/f"); err != nil {
		t.Fatal(err)
	}
	for _, coding := range []string{"gzip", "deflate", "deflate-raw", "br"} {
		page, err := c.GetPage(ctx, srv.URL+"/p?c="+coding, int64(len(html)))
		if err != nil || !bytes.Equal(page.Body, html) {
			t.Errorf("%s page: %v", coding, err)
		}
		if _, err := c.GetPage(ctx, srv.URL+"/p?c="+coding, int64(len(html)-1)); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s page over the cap: %v, want ErrTooLarge", coding, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got[0] != "identity" || got[1] != "gzip, deflate, br" {
		t.Errorf("Accept-Encoding of a file %q, of a page %q", got[0], got[1])
	}
}
