package pipeline

import (
	"strings"
	"testing"

	fault "crawl/internal/faultserver"
)

// TestSplit: with --split a large file comes over several connections,
// each a range of the version the first answer named; a server that
// ignores ranges gets one request, and the file comes in one stream.
func TestSplit(t *testing.T) {
	body := fault.Bytes("split", 3*minSegment)
	for _, c := range []struct {
		name        string
		ignoreRange bool
	}{
		{"ranges served", false},
		{"ranges ignored", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			srv.File("/big.bin", fault.File{Body: body, ETag: `"v1"`, IgnoreRange: c.ignoreRange})
			url := srv.URL("/big.bin")
			e := newDownloadEnv(t, func(cfg *Config) { cfg.Split = 4 })
			e.get(FileTask{URL: url})
			e.wantFiles(map[string][]byte{"big.bin": body})
			e.wantRecord(url, "big.bin", body)
			reqs := requests(t, srv, "/big.bin")
			if reqs[0].Range != "bytes=0-" {
				t.Errorf("first request asks for %q, want the whole file as a range", reqs[0].Range)
			}
			if c.ignoreRange {
				if len(reqs) != 1 || reqs[0].Status != 200 || reqs[0].Sent != int64(len(body)) {
					t.Errorf("requests %+v, want one 200 with the whole file", reqs)
				}
				return
			}
			if len(reqs) < 2 {
				t.Fatalf("%d requests, want several", len(reqs))
			}
			var sent int64
			for _, r := range reqs {
				if r.Status != 206 {
					t.Errorf("request %q answered %d", r.Range, r.Status)
				}
				if r != reqs[0] && (r.IfRange != `"v1"` || !strings.HasPrefix(r.Range, "bytes=")) {
					t.Errorf("segment request Range %q If-Range %q", r.Range, r.IfRange)
				}
				sent += r.Sent
			}
			// The first answer runs on to the end of the file until its
			// piece is in: what it sends past its piece is not counted.
			if sent < int64(len(body)) {
				t.Errorf("%d bytes sent in all, want at least %d", sent, len(body))
			}
		})
	}
}
