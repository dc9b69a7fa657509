package pipeline

import (
	"fmt"
	"strings"
	"testing"
	"time"

	fault "crawl/internal/faultserver"
	"crawl/store"
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

// splitPart writes a part for url's file, reserved as name, laid out in
// three pieces of body as a stopped split download leaves it: the first
// piece whole, the second half written, the third not begun.
func (e *downloadEnv) splitPart(url, name string, body []byte, validator string) []store.Segment {
	e.t.Helper()
	p := e.reservedPart(url, name)
	segs := store.SplitEven(int64(len(body)), 3)
	if err := p.Split(int64(len(body)), validator, segs); err != nil {
		e.t.Fatal(err)
	}
	half := segs[1].Start + (segs[1].End-segs[1].Start)/2
	for i, upto := range []int64{segs[0].End, half} {
		if _, err := p.SegmentWriter(i).Write(body[segs[i].Start:upto]); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		e.t.Fatal(err)
	}
	segs[1].Done = half - segs[1].Start
	return segs
}

// TestSplitResume: a split download stopped halfway asks for what its
// pieces lack, each range checked against the version they hold; when the
// file changed on the server, the part starts over.
func TestSplitResume(t *testing.T) {
	body := fault.Bytes("split", 3*minSegment)
	for _, changed := range []bool{false, true} {
		t.Run(fmt.Sprintf("changed=%v", changed), func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			etag := `"v1"`
			if changed {
				etag = `"v2"`
			}
			srv.File("/big.bin", fault.File{Body: body, ETag: etag})
			url := srv.URL("/big.bin")
			e := newDownloadEnv(t, func(cfg *Config) { cfg.Split = 4 })
			held := body
			if changed {
				held = fault.Bytes("old", len(body))
			}
			segs := e.splitPart(url, "big.bin", held, `"v1"`)
			e.get(FileTask{URL: url})
			e.wantFiles(map[string][]byte{"big.bin": body})
			e.wantRecord(url, "big.bin", body)
			reqs := requests(t, srv, "/big.bin")
			if changed {
				// The pieces are asked for as the version they hold, which
				// the server no longer has; then the whole file again, and
				// its new pieces as the new version. (The server may note a
				// request given up on later than the next one.)
				seen := map[string]int{}
				for _, r := range reqs {
					switch {
					case r.Range == "bytes=0-" && r.IfRange == "":
						seen["whole"]++
					case r.IfRange == `"v1"` || r.IfRange == `"v2"`:
						seen[r.IfRange]++
					default:
						t.Errorf("request Range %q If-Range %q", r.Range, r.IfRange)
					}
				}
				if seen["whole"] != 1 || seen[`"v1"`] == 0 || seen[`"v2"`] == 0 {
					t.Errorf("requests %+v: want pieces of v1, then the whole file, then pieces of v2", reqs)
				}
				return
			}
			var ranges []string
			for _, r := range reqs {
				if r.IfRange != `"v1"` {
					t.Errorf("request Range %q If-Range %q", r.Range, r.IfRange)
				}
				ranges = append(ranges, r.Range)
			}
			want := []string{
				fmt.Sprintf("bytes=%d-%d", segs[1].Start+segs[1].Done, segs[1].End-1),
				fmt.Sprintf("bytes=%d-%d", segs[2].Start, segs[2].End-1),
			}
			if len(ranges) != 2 || !(ranges[0] == want[0] && ranges[1] == want[1] || ranges[0] == want[1] && ranges[1] == want[0]) {
				t.Errorf("ranges %q, want %q", ranges, want)
			}
		})
	}
}

func TestPieceSize(t *testing.T) {
	for _, c := range []struct {
		total int64
		n     int
		want  int64
	}{
		{1 << 30, 8, 16 << 20},    // 64 pieces
		{64 << 20, 4, 4 << 20},    // never under minSegment
		{100 << 30, 8, 100 << 20}, // at most store.MaxSegments pieces
		{8 << 30, 2, 64 << 20},    // maxPiece
	} {
		if got := pieceSize(c.total, c.n); got != c.want {
			t.Errorf("pieceSize(%d, %d) = %d, want %d", c.total, c.n, got, c.want)
		}
	}
}

// TestSplitWithinPerHost: a split download, its first request included,
// never has more than --per-host requests in flight to the host. The first
// answer, to the whole file, is closed by the client once its piece is in;
// the server is taken to learn of that 50ms late, as a distant one may.
func TestSplitWithinPerHost(t *testing.T) {
	body := fault.Bytes("perhost", 6*minSegment)
	for _, c := range []struct{ split, perHost int }{{4, 4}, {4, 2}, {8, 3}, {2, 4}} {
		t.Run(fmt.Sprintf("split %d per-host %d", c.split, c.perHost), func(t *testing.T) {
			srv := fault.New()
			defer srv.Close()
			srv.File("/big.bin", fault.File{Body: body, ETag: `"v1"`, Rate: 64 << 20})
			url := srv.URL("/big.bin")
			e := newDownloadEnv(t, func(cfg *Config) { cfg.Split, cfg.PerHost = c.split, c.perHost })
			e.get(FileTask{URL: url})
			e.wantFiles(map[string][]byte{"big.bin": body})
			e.wantRecord(url, "big.bin", body)
			reqs := requests(t, srv, "/big.bin")
			if len(reqs) < 2 {
				t.Fatalf("%d requests, want several", len(reqs))
			}
			if p := srv.PeakRequestsSeen(srv.Host(), -50*time.Millisecond); p > c.perHost {
				t.Errorf("%d requests at once, --per-host %d", p, c.perHost)
				t0 := reqs[0].Start
				for _, r := range reqs {
					t.Logf("%s: start %v, end %v, client gone %v, sent %d", r.Range, r.Start.Sub(t0), r.End.Sub(t0), r.ClientGone, r.Sent)
				}
			}
			if p := srv.PeakRequests(srv.Host()); p > c.perHost {
				t.Errorf("%d requests at once as the server saw them, --per-host %d", p, c.perHost)
			}
		})
	}
}
