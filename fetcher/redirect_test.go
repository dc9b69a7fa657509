package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// redirector starts a server that redirects every path but /robots.txt
// (a 404) to target+path.
func redirector(t *testing.T, target func() string) *httptest.Server {
	t.Helper()
	return newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, target()+r.URL.Path, http.StatusFound)
	})
}

// TestRedirectObeysTargetRobots: a redirect to another host obeys that
// host's robots.txt; a disallowed target is never asked for, and the
// failure names robots.txt.
func TestRedirectObeysTargetRobots(t *testing.T) {
	t.Parallel()
	var asked atomic.Int64
	target := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			io.WriteString(w, "User-agent: *\nDisallow: /private/\n")
		default:
			asked.Add(1)
			io.WriteString(w, "file")
		}
	})
	origin := redirector(t, func() string { return target.URL })
	c := newClient(t, Config{Retries: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	resp, err := c.Get(ctx, origin.URL+"/private/a.jpg")
	if err == nil {
		resp.Body.Close()
		t.Fatal("redirect to a path the target's robots.txt disallows: no error")
	}
	if !errors.Is(err, ErrDisallowed) || !strings.Contains(err.Error(), "robots.txt") {
		t.Errorf("err = %v, want one wrapping ErrDisallowed and naming robots.txt", err)
	}
	if Retryable(err) {
		t.Errorf("Retryable(%v) = true", err)
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("target asked for %d files, want none", n)
	}

	resp, err = c.Get(ctx, origin.URL+"/public/a.jpg")
	if err != nil {
		t.Fatalf("redirect to an allowed path: %v", err)
	}
	resp.Body.Close()
	if resp.URL != target.URL+"/public/a.jpg" {
		t.Errorf("URL = %q, want the target's", resp.URL)
	}
}

// TestRedirectTakesTargetSlot: requests redirected to a host from several
// others hold that host's per-host slot, not their first host's: with
// --per-host 1 the target never answers two at once, and the slots of the
// first hosts are given back, whatever became of the redirected request.
func TestRedirectTakesTargetSlot(t *testing.T) {
	t.Parallel()
	var flight inFlight
	target := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		flight.enter()
		defer flight.leave()
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
			return
		case "/big":
			w.Write(make([]byte, 1<<20))
			return
		}
		// Long enough for another request to come in, were it let.
		waitOrDone(r, 20*time.Millisecond)
		io.WriteString(w, "file")
	})
	var origins []*httptest.Server
	for range 3 {
		origins = append(origins, redirector(t, func() string { return target.URL }))
	}
	c := newClient(t, Config{PerHost: 1, IgnoreRobots: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	get := func(url string) {
		defer wg.Done()
		resp, err := c.Get(ctx, url)
		if err != nil {
			errs <- err
			return
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			errs <- fmt.Errorf("read %s: %w", url, err)
		}
	}
	for i := range 4 {
		for _, o := range origins {
			wg.Add(1)
			go get(fmt.Sprintf("%s/f%d", o.URL, i))
		}
	}
	wg.Add(1)
	go get(target.URL + "/direct")
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p := flight.peak.Load(); p > 1 {
		t.Errorf("target answered %d requests at once, want at most 1 (--per-host 1)", p)
	}

	// Redirected requests that fail or are closed early give back every
	// slot: a later request to each host still goes through.
	if _, err := c.Get(ctx, origins[0].URL+"/missing"); err == nil {
		t.Error("redirect to a 404: no error")
	}
	resp, err := c.Get(ctx, origins[1].URL+"/big")
	if err != nil {
		t.Fatalf("redirect to a large file: %v", err)
	}
	resp.Body.Read(make([]byte, 10))
	resp.Body.Close()
	for _, url := range []string{origins[0].URL + "/robots.txt", origins[1].URL + "/robots.txt", target.URL + "/last"} {
		var se *StatusError
		resp, err := c.Get(ctx, url)
		switch {
		case errors.As(err, &se):
		case err != nil:
			t.Errorf("after the redirects, %s: %v", url, err)
		default:
			resp.Body.Close()
		}
	}
}

// TestRedirectsBetweenLimitedHosts: two hosts limited to one request each
// that redirect to each other do not hold each other's slots.
func TestRedirectsBetweenLimitedHosts(t *testing.T) {
	t.Parallel()
	var a, b *httptest.Server
	serve := func(other func() string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/to/") {
				http.Redirect(w, r, other()+"/file/"+strings.TrimPrefix(r.URL.Path, "/to/"), http.StatusFound)
				return
			}
			io.WriteString(w, "file")
		}
	}
	a = newServer(t, serve(func() string { return b.URL }))
	b = newServer(t, serve(func() string { return a.URL }))
	c := newClient(t, Config{PerHost: 1, IgnoreRobots: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 8 {
		for _, srv := range []*httptest.Server{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := c.Get(ctx, fmt.Sprintf("%s/to/%d", srv.URL, i))
				if err != nil {
					failed.Add(1)
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
	}
	wg.Wait()
	if failed.Load() > 0 && ctx.Err() != nil {
		t.Error("requests redirected between two hosts limited to 1 waited for each other")
	}
}

// TestRedirectKeepsTargetDelay: --delay holds between two requests
// redirected to one host from two others.
func TestRedirectKeepsTargetDelay(t *testing.T) {
	t.Parallel()
	const delay = 150 * time.Millisecond
	var mu sync.Mutex
	var starts []time.Time
	target := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		io.WriteString(w, "file")
	})
	o1 := redirector(t, func() string { return target.URL })
	o2 := redirector(t, func() string { return target.URL })
	c := newClient(t, Config{Delay: delay, IgnoreRobots: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, o := range []string{o1.URL, o2.URL} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(ctx, o+"/f")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
	if len(starts) != 2 {
		t.Fatalf("target saw %d requests, want 2", len(starts))
	}
	gap := starts[1].Sub(starts[0])
	if gap < delay*2/3 {
		t.Errorf("target's two requests started %v apart, want about %v (--delay)", gap, delay)
	}
}
