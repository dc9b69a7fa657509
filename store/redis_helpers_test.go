package store

import (
	"context"
	"testing"

	"crawl/internal/redistest"
)

// startRedis starts a private redis-server for t.
func startRedis(t testing.TB) *redistest.Server { return redistest.Start(t) }

// closedPort returns a loopback TCP port that refuses connections until t
// ends.
func closedPort(t testing.TB) int { return redistest.ClosedPort(t) }

// openRedisTest opens job on srv and closes it at the end of t.
func openRedisTest(t testing.TB, srv *redistest.Server, job string, opt Options) *RedisDB {
	t.Helper()
	r, err := OpenRedis(context.Background(), srv.URL, job, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// newRedisTest starts a server and opens the job "test" on it.
func newRedisTest(t testing.TB) (*redistest.Server, *RedisDB) {
	t.Helper()
	srv := startRedis(t)
	return srv, openRedisTest(t, srv, "test", Options{})
}
