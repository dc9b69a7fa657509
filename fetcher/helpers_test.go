package fetcher

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// newClient returns a Client for cfg with a short RetryWait, closed at the
// end of the test.
func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.RetryWait == 0 {
		cfg.RetryWait = 5 * time.Millisecond
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newServer starts an httptest server closed at the end of the test.
func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// dropConnection closes the connection of w without answering.
func dropConnection(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	conn.Close()
}

// inFlight counts concurrent requests and remembers the most seen at once.
type inFlight struct {
	cur, peak, total atomic.Int64
}

func (f *inFlight) enter() {
	f.total.Add(1)
	n := f.cur.Add(1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (f *inFlight) leave() { f.cur.Add(-1) }

// waitOrDone blocks for d or until the request is abandoned by the client.
func waitOrDone(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}
