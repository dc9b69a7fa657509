package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"crawl/internal/redistest"
	"crawl/store"
	"crawl/store/storetest"
)

// TestSQLiteConformance runs the conformance suite on DB: a new database
// file per case, opened again for every handle.
func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Crawl {
		path := filepath.Join(t.TempDir(), "crawl.db")
		return func(t *testing.T, timing store.LeaseTiming) store.Backend {
			db, err := store.OpenWith(context.Background(), path, store.Options{Timing: timing})
			if err != nil {
				t.Fatal(err)
			}
			return db
		}
	})
}

// TestRedisConformance runs the conformance suite on RedisDB: one
// redis-server, a job named after the case per case.
func TestRedisConformance(t *testing.T) {
	srv := redistest.Start(t)
	storetest.Run(t, func(t *testing.T) storetest.Crawl {
		return func(t *testing.T, timing store.LeaseTiming) store.Backend {
			r, err := store.OpenRedis(context.Background(), srv.URL, t.Name(), store.Options{Timing: timing})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
	})
}
