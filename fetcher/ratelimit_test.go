package fetcher

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingLimit is the client's real limiter, with a count of the tokens
// taken from it.
type countingLimit struct {
	tokenWaiter
	taken, waits, biggest atomic.Int64
}

func (c *countingLimit) WaitN(ctx context.Context, n int) error {
	c.taken.Add(int64(n))
	c.waits.Add(1)
	for {
		b := c.biggest.Load()
		if int64(n) <= b || c.biggest.CompareAndSwap(b, int64(n)) {
			break
		}
	}
	return c.tokenWaiter.WaitN(ctx, n)
}

// payload is size bytes of a pattern that shows a lost or repeated piece.
func payload(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// TestRateLimitApplied: with RateLimit, every body byte of every request
// (several at once, as a split download makes) is taken from one shared
// limit, at most a burst per read, and arrives whole. Whether the limit is
// kept in time is BenchmarkLimitRate's business.
func TestRateLimitApplied(t *testing.T) {
	data := payload(3<<20 + 123)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f.bin", time.Time{}, bytes.NewReader(data))
	})
	c := newClient(t, Config{RateLimit: 1 << 30, IgnoreRobots: true})
	lim := &countingLimit{tokenWaiter: c.rate}
	c.rate = lim
	if lim.Burst() != rateBurst {
		t.Fatalf("burst %d, want %d", lim.Burst(), rateBurst)
	}

	const conns = 4
	piece := (len(data) + conns - 1) / conns
	got := make([][]byte, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := i*piece, min((i+1)*piece, len(data))
			resp, err := c.Get(context.Background(), srv.URL+"/f.bin", WithRangeEnd(int64(from), int64(to), ""))
			if err != nil {
				t.Errorf("piece %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			buf := make([]byte, 1<<20) // reads larger than a burst
			var out bytes.Buffer
			if _, err := io.CopyBuffer(&out, struct{ io.Reader }{resp.Body}, buf); err != nil {
				t.Errorf("piece %d: %v", i, err)
			}
			got[i] = out.Bytes()
		}()
	}
	wg.Wait()
	if whole := bytes.Join(got, nil); !bytes.Equal(whole, data) {
		t.Fatalf("got %d bytes, not the %d sent", len(whole), len(data))
	}
	if lim.taken.Load() != int64(len(data)) {
		t.Errorf("the limit counted %d bytes, want %d", lim.taken.Load(), len(data))
	}
	if lim.biggest.Load() > rateBurst {
		t.Errorf("a read took %d bytes at once, more than a burst (%d)", lim.biggest.Load(), rateBurst)
	}
	if min := int64(len(data) / rateBurst); lim.waits.Load() < min {
		t.Errorf("%d waits for %d bytes: bursts larger than %d", lim.waits.Load(), len(data), rateBurst)
	}
}

// TestRateLimitSmallBurst: a limit below a burst takes at most a second's
// worth of bytes at once; no limit adds no reader.
func TestRateLimitSmallBurst(t *testing.T) {
	if b := newRateLimit(1000).Burst(); b != 1000 {
		t.Errorf("burst of 1000 B/s: %d", b)
	}
	if newRateLimit(0) != nil {
		t.Error("a zero rate limits")
	}
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })
	c := newClient(t, Config{IgnoreRobots: true})
	resp, err := c.Get(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, ok := resp.Body.(*rateBody); ok || c.rate != nil {
		t.Error("a client without RateLimit limits its bodies")
	}
}

// TestRateLimitCancel: a read waiting for the limit ends when the
// request's context does.
func TestRateLimitCancel(t *testing.T) {
	data := payload(64 << 10)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write(data) })
	c := newClient(t, Config{RateLimit: 1024, IgnoreRobots: true}) // 64 s for the body
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := c.Get(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	if _, err := resp.Body.Read(buf); err != nil { // the first second's worth
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("read on after its context ended")
	}
}

// BenchmarkLimitRate reports the rate that all bodies together achieve
// under a 4 MiB/s limit, over one and over eight connections, against a
// local server that is much faster: B/s should be just under 4194304.
func BenchmarkLimitRate(b *testing.B) {
	const limit = 4 << 20
	const seconds = 10 // long enough that the start and the end weigh little
	data := payload(limit * seconds)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f.bin", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()
	for _, conns := range []int{1, 8} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			for b.Loop() {
				c, err := New(Config{RateLimit: limit, IgnoreRobots: true, PerHost: conns})
				if err != nil {
					b.Fatal(err)
				}
				piece := len(data) / conns
				var total atomic.Int64
				start := time.Now()
				var wg sync.WaitGroup
				for i := range conns {
					wg.Add(1)
					go func() {
						defer wg.Done()
						from := i * piece
						resp, err := c.Get(context.Background(), srv.URL+"/f.bin", WithRangeEnd(int64(from), int64(from+piece), ""))
						if err != nil {
							b.Error(err)
							return
						}
						defer resp.Body.Close()
						n, err := io.Copy(io.Discard, resp.Body)
						if err != nil {
							b.Error(err)
						}
						total.Add(n)
					}()
				}
				wg.Wait()
				elapsed := time.Since(start)
				c.Close()
				rateGot := float64(total.Load()) / elapsed.Seconds()
				b.ReportMetric(rateGot, "B/s")
				b.ReportMetric(rateGot/limit, "of-limit")
				b.SetBytes(total.Load())
			}
		})
	}
}
