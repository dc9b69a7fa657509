package fetcher

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// hammer runs n Gets per client at once against url and reads each body.
func hammer(t *testing.T, clients []*Client, n int, url string) {
	t.Helper()
	var wg sync.WaitGroup
	for _, c := range clients {
		for range n {
			wg.Go(func() {
				resp, err := c.Get(context.Background(), url)
				if err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				defer resp.Body.Close()
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					t.Errorf("read: %v", err)
				}
			})
		}
	}
	wg.Wait()
}

func TestPerHostLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		perHost int
		clients int
		lockDir bool
	}{
		{"one slot", 1, 1, false},
		{"three slots", 3, 1, false},
		{"two clients sharing a lock dir, one slot", 1, 2, true},
		{"two clients sharing a lock dir, three slots", 3, 2, true},
		{"one client with a lock dir", 2, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var flight inFlight
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				flight.enter()
				defer flight.leave()
				time.Sleep(15 * time.Millisecond)
				io.WriteString(w, "body")
			})
			dir := ""
			if tt.lockDir {
				dir = filepath.Join(t.TempDir(), "locks") // New creates it
			}
			var clients []*Client
			for range tt.clients {
				clients = append(clients, newClient(t, Config{IgnoreRobots: true, PerHost: tt.perHost, LockDir: dir}))
			}
			hammer(t, clients, 12, srv.URL+"/f")
			if got, want := flight.total.Load(), int64(12*tt.clients); got != want {
				t.Errorf("server saw %d requests, want %d", got, want)
			}
			peak := flight.peak.Load()
			if peak > int64(tt.perHost) {
				t.Errorf("%d requests in flight at once, limit %d", peak, tt.perHost)
			}
			if peak < int64(tt.perHost) {
				t.Logf("note: only %d of %d slots were ever used at once", peak, tt.perHost)
			}
			if tt.lockDir {
				u, _ := url.Parse(srv.URL)
				locks, _ := filepath.Glob(filepath.Join(dir, safeHost(u.Host)+".*.lock"))
				if len(locks) == 0 || len(locks) > tt.perHost {
					t.Errorf("lock files %v, want 1..%d", locks, tt.perHost)
				}
			}
		})
	}
}

// TestSlotHeldUntilBodyClosed checks that the per-host slot is taken by an
// open body, in process and across clients sharing a lock dir, and given
// back by Close (of the body, or of the client holding it).
func TestSlotHeldUntilBodyClosed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		lockDir     bool
		otherClient bool // the waiting request uses a second client
		closeClient bool // release by closing the holder's Client instead of its bodies
	}{
		{"same client", false, false, false},
		{"same client with lock dir", true, false, false},
		{"other client sharing the lock dir", true, true, false},
		{"holder client closed", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var flight inFlight
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				flight.enter()
				defer flight.leave()
				io.WriteString(w, "body")
			})
			dir := ""
			if tt.lockDir {
				dir = t.TempDir()
			}
			const perHost = 2
			holder := newClient(t, Config{IgnoreRobots: true, PerHost: perHost, LockDir: dir})
			waiter := holder
			if tt.otherClient {
				waiter = newClient(t, Config{IgnoreRobots: true, PerHost: perHost, LockDir: dir})
			}
			var held []*Response
			for range perHost {
				resp, err := holder.Get(context.Background(), srv.URL)
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				held = append(held, resp)
			}

			// Every slot is taken: a request with a short deadline never
			// reaches the server.
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			_, err := waiter.Get(ctx, srv.URL)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Get with all slots taken: err = %v, want a deadline error", err)
			}
			if got := flight.total.Load(); got != perHost {
				t.Fatalf("server saw %d requests, want %d", got, perHost)
			}

			// Giving a slot back lets a waiting request through.
			done := make(chan error, 1)
			go func() {
				resp, err := waiter.Get(context.Background(), srv.URL)
				if err == nil {
					resp.Body.Close()
				}
				done <- err
			}()
			if tt.closeClient {
				holder.Close()
			} else {
				held[0].Body.Close()
			}
			if err := <-done; err != nil {
				t.Fatalf("Get after release: %v", err)
			}
			for _, r := range held {
				r.Body.Close()
			}
			if got := flight.total.Load(); got != perHost+1 {
				t.Errorf("server saw %d requests, want %d", got, perHost+1)
			}
		})
	}
}

func TestDelay(t *testing.T) {
	t.Parallel()
	const delay = 80 * time.Millisecond
	tests := []struct {
		name    string
		clients int
		lockDir bool
	}{
		{"in memory", 1, false},
		{"lock dir", 1, true},
		{"two clients sharing a lock dir", 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
			dir := ""
			if tt.lockDir {
				dir = t.TempDir()
			}
			var clients []*Client
			for range tt.clients {
				clients = append(clients, newClient(t, Config{IgnoreRobots: true, PerHost: 4, Delay: delay, LockDir: dir}))
			}
			const perClient = 3
			start := time.Now()
			hammer(t, clients, perClient, srv.URL)
			n := perClient * tt.clients
			if elapsed, want := time.Since(start), time.Duration(n-1)*delay; elapsed < want {
				t.Errorf("%d requests took %v, want at least %v", n, elapsed, want)
			}
		})
	}
}

func TestDelayIsPerHost(t *testing.T) {
	t.Parallel()
	// Two hosts (two servers) with a long delay: one request to each does
	// not wait for the other.
	a := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	b := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	c := newClient(t, Config{IgnoreRobots: true, Delay: time.Hour, LockDir: t.TempDir()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, u := range []string{a.URL, b.URL} {
		resp, err := c.Get(ctx, u)
		if err != nil {
			t.Fatalf("Get %s: %v", u, err)
		}
		resp.Body.Close()
	}
	// A second request to a host must wait an hour: it gives up at the deadline.
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := c.Get(short, a.URL); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second request: err = %v, want a deadline error", err)
	}
}

func TestSafeHostAndHostKey(t *testing.T) {
	t.Parallel()
	keys := []struct{ url, key, safe string }{
		{"http://Example.COM/x", "example.com", "example.com"},
		{"http://example.com:80/x", "example.com", "example.com"},
		{"https://example.com:443/x", "example.com", "example.com"},
		{"https://example.com:80/x", "example.com:80", "example.com_80"},
		{"http://127.0.0.1:8080/", "127.0.0.1:8080", "127.0.0.1_8080"},
		{"http://[::1]:8080/", "[::1]:8080", "___1__8080"},
		{"http://user@host/", "host", "host"},
	}
	for _, k := range keys {
		u, err := url.Parse(k.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := hostKey(u); got != k.key {
			t.Errorf("hostKey(%q) = %q, want %q", k.url, got, k.key)
		}
		if got := safeHost(hostKey(u)); got != k.safe {
			t.Errorf("safeHost(%q) = %q, want %q", k.key, got, k.safe)
		}
	}
	if got := safeHost(".."); got != "_.." {
		t.Errorf("safeHost(..) = %q", got)
	}
}

// lockHelperEnv, when set to a lock dir, makes TestLockHelperProcess hold
// the one slot of helperHost there, say so on stdout and wait to be killed.
const (
	lockHelperEnv = "FETCHER_TEST_LOCK_HELPER"
	helperHost    = "helper.example"
)

func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv(lockHelperEnv)
	if dir == "" {
		t.Skip("helper process for TestLockSurvivesKill")
	}
	l := newHostLimiter(1, 0, dir)
	if _, err := l.acquire(context.Background(), helperHost); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	os.Exit(1)
}

// TestLockSurvivesKill checks the limit across real processes: a slot held
// by another process is not free, and becomes free when that process is
// killed with SIGKILL.
func TestLockSurvivesKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	l := newHostLimiter(1, 0, dir)
	defer l.close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := l.acquire(ctx, helperHost); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire while another process holds the slot: %v, want a deadline error", err)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	release, err := l.acquire(ctx2, helperHost)
	if err != nil {
		t.Fatalf("acquire after the holder was killed: %v", err)
	}
	release()
}

// BenchmarkHostSlot takes and gives back a slot of one host through a lock
// directory, as each request of a one-host crawl does.
func BenchmarkHostSlot(b *testing.B) {
	l := newHostLimiter(10, 0, b.TempDir())
	defer l.close()
	ctx := context.Background()
	for b.Loop() {
		release, err := l.acquire(ctx, "one.example")
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}
