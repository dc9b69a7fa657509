package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crawl/internal/redisconn"
	"crawl/internal/redistest"
)

// openGate opens the host gate of job on srv and closes it at the end of t.
func openGate(t *testing.T, srv *redistest.Server, job string) *RedisGate {
	t.Helper()
	g, err := OpenRedisGate(context.Background(), srv.URL, job)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Error(err)
		}
	})
	return g
}

// TestRedisAcquireHost: two gates (two machines) never have more than
// perHost requests to one host in flight, starts are spaced by the delay,
// hosts are independent, and a holder that dies loses its slot.
func TestRedisAcquireHost(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	gates := []*RedisGate{openGate(t, srv, "h"), openGate(t, srv, "h")}

	t.Run("per host", func(t *testing.T) {
		const perHost = 3
		var inFlight, peak, total atomic.Int32
		var wg sync.WaitGroup
		for w := range 12 {
			wg.Go(func() {
				g := gates[w%2]
				for range 8 {
					release, err := g.AcquireHost(ctx, "a.example", perHost, 0)
					if err != nil {
						t.Error(err)
						return
					}
					n := inFlight.Add(1)
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					total.Add(1)
					time.Sleep(2 * time.Millisecond)
					inFlight.Add(-1)
					release()
					release() // twice is harmless
				}
			})
		}
		wg.Wait()
		if p := peak.Load(); p > perHost || p < 2 {
			t.Errorf("peak %d requests in flight, want 2..%d", p, perHost)
		}
		if total.Load() != 96 {
			t.Errorf("%d requests, want 96", total.Load())
		}
	})

	t.Run("delay", func(t *testing.T) {
		const delay = 30 * time.Millisecond
		const n = 8
		var mu sync.Mutex
		var starts []time.Time
		var wg sync.WaitGroup
		begin := time.Now()
		for w := range n {
			wg.Go(func() {
				release, err := gates[w%2].AcquireHost(ctx, "slow.example", 4, delay)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				starts = append(starts, time.Now())
				mu.Unlock()
				release()
			})
		}
		wg.Wait()
		slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
		if len(starts) != n {
			t.Fatalf("%d starts", len(starts))
		}
		// Lower bounds only: the k-th start is at least k delays after the
		// first could have started.
		for k, s := range starts {
			if least := time.Duration(k) * delay; s.Sub(begin) < least-2*time.Millisecond {
				t.Errorf("start %d after %v, want at least %v", k, s.Sub(begin), least)
			}
		}
		// Another host is not held up by this one.
		release, err := gates[0].AcquireHost(ctx, "other.example", 1, delay)
		if err != nil {
			t.Fatal(err)
		}
		release()
	})

	t.Run("dead holder", func(t *testing.T) {
		dead, err := OpenRedisGate(ctx, srv.URL, "h")
		if err != nil {
			t.Fatal(err)
		}
		dead.ttl = 300 * time.Millisecond
		// The slot runs out a ttl or more after the server gave it, and so
		// after begin, however long the steps between take.
		begin := time.Now()
		if _, err := dead.AcquireHost(ctx, "b.example", 1, 0); err != nil {
			t.Fatal(err)
		}
		if err := dead.Close(); err != nil { // never released
			t.Fatal(err)
		}
		release, err := gates[0].AcquireHost(ctx, "b.example", 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		release()
		if waited := time.Since(begin); waited < 300*time.Millisecond {
			t.Errorf("took the dead holder's slot after %v, before it ran out", waited)
		}
		// A live holder keeps its slot past the ttl (its refresher, every
		// third of it, may be late by 600 ms).
		live := openGate(t, srv, "h")
		live.ttl = time.Second
		held, err := live.AcquireHost(ctx, "c.example", 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		c, cancel := context.WithTimeout(ctx, 2500*time.Millisecond)
		defer cancel()
		if _, err := gates[1].AcquireHost(c, "c.example", 1, 0); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("took a slot a live holder keeps: %v", err)
		}
		held()
	})

	if _, err := gates[0].AcquireHost(ctx, "x", 0, 0); err == nil {
		t.Error("per-host 0 accepted")
	}
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := gates[0].AcquireHost(c, "a.example", 1, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("acquire with a cancelled context: %v", err)
	}
}

// TestRedisGateJobs: gates of different crawls do not share slots, and
// TestRedisGateScriptsBySHA checks that the gate's scripts run by their
// SHA-1: no call sends a script's source.
func TestRedisGateScriptsBySHA(t *testing.T) {
	srv := redistest.Start(t)
	g := openGate(t, srv, "sha")
	release, err := g.AcquireHost(context.Background(), "a.example", 2, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	release()
	calls := srv.Calls(t)
	if calls["eval"][0] != 0 || calls["evalsha"] != [2]int{1, 0} {
		t.Errorf("evalsha (calls, failed) %v, eval %v; want one call by SHA-1", calls["evalsha"], calls["eval"])
	}
}

// TestRedisGateReusesSlots: requests one after another to a host take the
// slot the last one released, without asking the server again; a slot
// taken with a delay is not kept; another machine gets a released slot
// once it has lingered; Close gives back the slots kept. The slots linger
// a minute where the test counts on one being parked: 5 ms was shorter
// than a pause of the test on a loaded machine.
func TestRedisGateReusesSlots(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	g := openGate(t, srv, "reuse")
	g.linger = time.Minute
	get := func(g *RedisGate, perHost int, delay time.Duration) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		release, err := g.AcquireHost(c, "a.example", perHost, delay)
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	for range 5 {
		get(g, 1, 0)
	}
	if n := srv.Calls(t)["evalsha"][0]; n != 1 {
		t.Errorf("5 requests one after another: %d acquire scripts run, want 1", n)
	}
	get(g, 2, time.Millisecond)
	get(g, 2, time.Millisecond)
	if n := srv.Calls(t)["evalsha"][0]; n != 3 {
		t.Errorf("2 more with a delay: %d acquire scripts in all, want 3", n)
	}

	other := openGate(t, srv, "reuse")
	other.linger = time.Minute
	g.linger = slotLinger
	get(g, 1, 0)
	get(other, 1, 0) // waits for g's slot to linger out

	c, _, err := redisconn.Dial(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	key := "crawl:{reuse}:host:a.example"
	if n, err := c.ZCard(ctx, key).Result(); err != nil || n != 1 {
		t.Fatalf("slots held after a release: %d, %v; want the one kept for a next request", n, err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.ZCard(ctx, key).Result(); err != nil || n != 0 {
		t.Errorf("slots held after Close: %d, %v; want 0", n, err)
	}
}

// the keys are where RedisGate's doc says.
func TestRedisGateJobs(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	one, two := openGate(t, srv, "one"), openGate(t, srv, "two")
	r1, err := one.AcquireHost(ctx, "a.example:8080", 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r1()
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r2, err := two.AcquireHost(c, "a.example:8080", 1, time.Second)
	if err != nil {
		t.Fatalf("a slot of another crawl's host: %v", err)
	}
	defer r2()

	rc, _, err := redisconn.Dial(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	keys, err := rc.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := []string{
		"crawl:{one}:host:a.example:8080", "crawl:{one}:hostnext:a.example:8080",
		"crawl:{two}:host:a.example:8080", "crawl:{two}:hostnext:a.example:8080",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	for _, k := range keys {
		if ttl, err := rc.PTTL(ctx, k).Result(); err != nil || ttl <= 0 {
			t.Errorf("key %s: ttl %v, %v; want it to expire by itself", k, ttl, err)
		}
	}
}

// TestRedisGateClose: Close stops every refresher and returns; the gate
// then refuses new slots, and a release after Close is harmless.
func TestRedisGateClose(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	g, err := OpenRedisGate(ctx, srv.URL, "c")
	if err != nil {
		t.Fatal(err)
	}
	var releases []func()
	for i := range 5 {
		r, err := g.AcquireHost(ctx, fmt.Sprintf("h%d.example", i), 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	releases[0]()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for _, r := range releases {
		r()
	}
	if _, err := g.AcquireHost(ctx, "h9.example", 1, 0); !errors.Is(err, errGateClosed) {
		t.Errorf("acquire after Close: %v, want %v", err, errGateClosed)
	}
}

func TestOpenRedisGateFails(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	port := redistest.ClosedPort(t)
	tests := []struct {
		name, url, job, want string
	}{
		{"nobody listening", fmt.Sprintf("redis://u:secret@127.0.0.1:%d/0", port), "j", "connect to redis"},
		{"bad job", srv.URL, "a{b", "brace"},
	}
	for _, tt := range tests {
		g, err := OpenRedisGate(ctx, tt.url, tt.job)
		if err == nil {
			g.Close()
			t.Errorf("%s: opened", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error %q, want it to say %q (and no password)", tt.name, err, tt.want)
		}
	}
}

// TestClientRedisGate: two Clients, each with its own gate on one server
// (two machines), never have more than PerHost requests in flight to one
// host between them.
func TestClientRedisGate(t *testing.T) {
	srv := redistest.Start(t)
	var flight inFlight
	web := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		flight.enter()
		defer flight.leave()
		time.Sleep(10 * time.Millisecond)
		io.WriteString(w, "body")
	})
	const perHost = 2
	var clients []*Client
	for range 2 {
		clients = append(clients, newClient(t, Config{IgnoreRobots: true, PerHost: perHost, Gate: openGate(t, srv, "web")}))
	}
	hammer(t, clients, 10, web.URL+"/f")
	if got := flight.total.Load(); got != 20 {
		t.Errorf("server saw %d requests, want 20", got)
	}
	if peak := flight.peak.Load(); peak > perHost {
		t.Errorf("%d requests in flight at once, limit %d across both clients", peak, perHost)
	}
}
