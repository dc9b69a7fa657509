package fetcher

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
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
// seconds until it is released; if its holder dies (or its gate is closed
// without releasing it), the slot runs out within about ten seconds.
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

	// done is cancelled by Close; it stops the refreshers and the calls
	// they make.
	done   context.Context
	cancel context.CancelFunc

	mu         sync.Mutex // guards closed against refreshers.Add
	closed     bool
	refreshers sync.WaitGroup
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
		c: c, where: where, prefix: "crawl:{" + job + "}:", ttl: defaultSlotTTL,
		done: done, cancel: cancel,
	}, nil
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
	ttl := g.ttl
	token := rand.Text()
	slots, next := g.prefix+"host:"+host, g.prefix+"hostnext:"+host
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
			token, perHost, delayUS, ttl.Microseconds()).Int64()
		if err != nil {
			return nil, fmt.Errorf("%s on %s: %w", what, g.where, err)
		}
		if v >= 0 {
			wait = time.Duration(v) * time.Microsecond
			break
		}
		if err := sleep(ctx, pollWait(n)); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	release, err = g.hold(slots, token, ttl)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err) // the slot runs out by itself
	}
	if err := sleep(ctx, wait); err != nil {
		release()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return release, nil
}

// hold starts the goroutine that keeps token's slot in the zset slots
// alive, and returns the function that stops it and gives the slot back.
func (g *RedisGate) hold(slots, token string, ttl time.Duration) (release func(), err error) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil, errGateClosed
	}
	g.refreshers.Add(1)
	g.mu.Unlock()

	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer g.refreshers.Done()
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
				_ = scriptRefreshHost.Run(c, g.c, []string{slots}, token, ttl.Microseconds()).Err()
				cancel()
			}
		}
	}()

	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-stopped
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = g.c.ZRem(c, slots, token).Err() // if this fails, the slot runs out by itself
		})
	}, nil
}

// Close stops keeping the gate's held slots alive, waits for the
// goroutines that did, and closes the connection to the server. Slots still
// held are not given back: they run out within about ten seconds, as if
// their holder had died. Closing twice is harmless.
func (g *RedisGate) Close() error {
	g.mu.Lock()
	already := g.closed
	g.closed = true
	g.mu.Unlock()
	if already {
		return nil
	}
	g.cancel()
	g.refreshers.Wait()
	if err := g.c.Close(); err != nil {
		return fmt.Errorf("close host gate on redis %s: %w", g.where, err)
	}
	return nil
}
