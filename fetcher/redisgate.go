package fetcher

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"crawl/internal/redisconn"

	"github.com/redis/go-redis/v9"
)

// defaultSlotTTL is how long a RedisGate slot outlives a holder that
// stopped refreshing it (it died); holders refresh every third of it.
const defaultSlotTTL = 10 * time.Second

// errGateClosed is returned by a RedisGate used after Close.
var errGateClosed = errors.New("host gate closed")

var (
	//go:embed lua/acquire_host.lua
	acquireHostLua    string
	scriptAcquireHost = redisconn.NewScript(acquireHostLua)

	//go:embed lua/refresh_host.lua
	refreshHostLua    string
	scriptRefreshHost = redisconn.NewScript(refreshHostLua)
)

var _ HostGate = (*RedisGate)(nil)

// RedisGate is a [HostGate] kept on a Redis server (6.2 or later), so that
// the per-host limits of one crawl hold across every process on every
// machine that opens a gate for it: at most perHost requests to a host at
// once, and at least delay between the starts of two of them, by the
// server's clock. Set it as Config.Gate. A *RedisGate is safe for
// concurrent use by many goroutines.
//
// A held slot is kept alive by a goroutine that refreshes it every few
// seconds until it is given back; if its holder dies (or its gate is closed
// without releasing it), the slot runs out within about ten seconds. A
// released slot stays with the gate for a few milliseconds, for the next
// request of this process to the same host (see slotLinger): a process that
// keeps a host busy pays a round trip to the server per second and slot,
// not per request.
//
// # Keys
//
// Each key starts with P = "crawl:{JOB}:", JOB being the crawl's name. The
// braces are literal: they are a Redis Cluster hash tag, so the gate's keys
// share a slot with every other key of the crawl.
//
//	P host:HOST      zset    the slots held: token → expiry (µs, server clock)
//	P hostnext:HOST  string  the earliest start (µs) of the next request to HOST
//
// HOST is the host as AcquireHost is given it; [Client] passes the lowercased
// host, with its port unless it is the scheme's default. Both keys expire by
// themselves when the host is left alone.
type RedisGate struct {
	c      *redis.Client
	where  string // the server URL without password, for errors
	prefix string // "crawl:{JOB}:"
	ttl    time.Duration
	linger time.Duration // slotLinger; longer in tests that look at a parked slot

	// done is cancelled by Close; it stops the refreshers and the calls
	// they make.
	done   context.Context
	cancel context.CancelFunc

	mu      sync.Mutex // guards closed against workers.Add, and idle
	closed  bool
	idle    map[string][]*gateSlot // zset key → the slots parked for the next request (see slotLinger)
	workers sync.WaitGroup         // the goroutines that keep slots alive or give them back
}

// OpenRedisGate connects to the Redis server at rawURL
// (redis://[user:pass@]host:port/db, rediss:// for TLS) and returns the
// host gate of the crawl named job. A job name is not empty, at most 200
// bytes, and has no braces or control characters. Close the gate when done.
func OpenRedisGate(ctx context.Context, rawURL, job string) (*RedisGate, error) {
	what := fmt.Sprintf("open host gate of crawl %q", job)
	if err := redisconn.CheckJob(job); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	c, where, err := redisconn.Dial(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := redisconn.LoadScripts(ctx, c, scriptAcquireHost, scriptRefreshHost); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: on %s: %w", what, where, err)
	}
	done, cancel := context.WithCancel(context.Background())
	return &RedisGate{
		c: c, where: where, prefix: "crawl:{" + job + "}:", ttl: defaultSlotTTL, linger: slotLinger,
		done: done, cancel: cancel, idle: map[string][]*gateSlot{},
	}, nil
}

// Slot reuse. A slot that its holder gives back stays with the gate for
// slotLinger, so that the next request of this process to the host takes it
// without a round trip to the server; it goes back to the server once it has
// waited that long unused, or, so that the other machines of the crawl get
// their turn, when it is given back slotReuse after the server gave it. A
// slot taken with a delay is given back at once: each start is booked at the
// server.
const (
	slotLinger = 5 * time.Millisecond
	slotReuse  = time.Second
)

// gateSlot is a slot that this gate holds at the server.
type gateSlot struct {
	key, token string    // the zset of the host's slots, and the slot's member in it
	perHost    int       // the limit it was taken under
	taken      time.Time // when the server gave it
	stop       func()    // stops its refresher
	parked     uint64    // counts the times it was given back here, to tell a stale linger timer (guarded by RedisGate.mu)
}

// AcquireHost waits until a request to host may start: until fewer than
// perHost requests to host are in flight on every machine of the crawl,
// and delay has passed since the start of the last one. It returns the
// function that ends the request; release is safe to call more than once,
// and the slot is kept alive until it is called. perHost must be at least
// 1; a delay of 0 or less means none.
//
// The error wraps ctx.Err() when ctx ends first, and names the server's
// error when the server cannot be reached. After Close it is an error.
func (g *RedisGate) AcquireHost(ctx context.Context, host string, perHost int, delay time.Duration) (release func(), err error) {
	what := "acquire a slot for " + host
	if perHost < 1 {
		return nil, fmt.Errorf("%s: per-host limit %d is below 1", what, perHost)
	}
	slots, next := g.prefix+"host:"+host, g.prefix+"hostnext:"+host
	if delay <= 0 {
		if s := g.reuse(slots, perHost); s != nil {
			return g.releaser(s, true), nil
		}
	}
	ttl := g.ttl
	s := &gateSlot{key: slots, token: rand.Text(), perHost: perHost}
	delayUS := int64(0)
	if delay > 0 {
		delayUS = max(delay.Microseconds(), 1)
	}
	var wait time.Duration
	for n := 0; ; n++ {
		if g.done.Err() != nil {
			return nil, fmt.Errorf("%s: %w", what, errGateClosed)
		}
		v, err := scriptAcquireHost.Run(ctx, g.c, []string{slots, next},
			s.token, perHost, delayUS, ttl.Microseconds()).Int64()
		if err != nil {
			return nil, fmt.Errorf("%s on %s: %w", what, g.where, err)
		}
		if v >= 0 {
			wait = time.Duration(v) * time.Microsecond
			break
		}
		if err := Sleep(ctx, pollWait(n)); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	s.taken = time.Now()
	if err := g.hold(s, ttl); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err) // the slot runs out by itself
	}
	release = g.releaser(s, delay <= 0)
	if err := Sleep(ctx, wait); err != nil {
		release()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return release, nil
}

// hold starts the goroutine that keeps slot s alive at the server until
// s.stop is called.
func (g *RedisGate) hold(s *gateSlot, ttl time.Duration) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errGateClosed
	}
	g.workers.Add(1)
	g.mu.Unlock()

	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer g.workers.Done()
		defer close(stopped)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-g.done.Done():
				return
			case <-t.C:
				// A failed refresh is tried again at the next tick; if the
				// server stays away, the slot runs out there by itself.
				c, cancel := context.WithTimeout(g.done, ttl/3)
				_ = scriptRefreshHost.Run(c, g.c, []string{s.key}, s.token, ttl.Microseconds()).Err()
				cancel()
			}
		}
	}()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			close(stop)
			<-stopped
		})
	}
	return nil
}

// releaser returns the function that ends the request holding s: it keeps
// the slot here for the next request (see slotLinger) if keep, else gives
// it back to the server.
func (g *RedisGate) releaser(s *gateSlot, keep bool) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			if !keep || !g.park(s) {
				g.giveBack(s)
			}
		})
	}
}

// park keeps s for the next request to its host, unless the gate is closed
// or s is due back at the server (slotReuse); it reports whether it did.
// s goes back to the server after slotLinger (g.linger) unless a request
// takes it.
func (g *RedisGate) park(s *gateSlot) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || time.Since(s.taken) >= slotReuse {
		return false
	}
	s.parked++
	n := s.parked
	g.idle[s.key] = append(g.idle[s.key], s)
	time.AfterFunc(g.linger, func() { g.lingered(s, n) })
	return true
}

// lingered gives s back to the server if it is still parked since its
// n-th parking.
func (g *RedisGate) lingered(s *gateSlot, n uint64) {
	g.mu.Lock()
	ok := !g.closed && s.parked == n && g.unpark(s)
	if ok {
		g.workers.Add(1)
	}
	g.mu.Unlock()
	if ok {
		defer g.workers.Done()
		g.giveBack(s)
	}
}

// reuse takes a parked slot of the zset key taken under perHost, the one
// parked last; nil if there is none.
func (g *RedisGate) reuse(key string, perHost int) *gateSlot {
	g.mu.Lock()
	defer g.mu.Unlock()
	idle := g.idle[key]
	for i := len(idle) - 1; i >= 0; i-- {
		if s := idle[i]; s.perHost == perHost {
			g.unpark(s)
			s.parked++ // its linger timer is stale now
			return s
		}
	}
	return nil
}

// unpark removes s from the parked slots; it reports whether s was
// parked. g.mu is held.
func (g *RedisGate) unpark(s *gateSlot) bool {
	idle := g.idle[s.key]
	i := slices.Index(idle, s)
	if i < 0 {
		return false
	}
	idle = slices.Delete(idle, i, i+1)
	if len(idle) == 0 {
		delete(g.idle, s.key)
	} else {
		g.idle[s.key] = idle
	}
	return true
}

// giveBack stops keeping s alive and removes it at the server.
func (g *RedisGate) giveBack(s *gateSlot) {
	s.stop()
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = g.c.ZRem(c, s.key, s.token).Err() // if this fails, the slot runs out by itself
}

// Close gives back the released slots the gate keeps for a next request,
// stops keeping the others alive, waits for the goroutines that did, and
// closes the connection to the server. Slots still held by a request are
// not given back: they run out within about ten seconds, as if their holder
// had died. Closing twice is harmless.
func (g *RedisGate) Close() error {
	g.mu.Lock()
	already := g.closed
	g.closed = true
	idle := g.idle
	g.idle = nil
	g.mu.Unlock()
	if already {
		return nil
	}
	for _, slots := range idle {
		for _, s := range slots {
			g.giveBack(s)
		}
	}
	g.cancel()
	g.workers.Wait()
	if err := g.c.Close(); err != nil {
		return fmt.Errorf("close host gate on redis %s: %w", g.where, err)
	}
	return nil
}
