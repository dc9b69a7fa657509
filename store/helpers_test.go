package store

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// openTest opens a fresh database in t.TempDir and closes it at the end.
func openTest(t testing.TB) *DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "state", "crawl.db"))
}

// openAt opens the database at path and closes it at the end of t.
func openAt(t testing.TB, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// clock is a settable time source for db.now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(db ...*DB) *clock {
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	for _, d := range db {
		d.now = c.now
	}
	return c
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func keys(tasks []Task) []string {
	out := make([]string, len(tasks))
	for i, t := range tasks {
		out[i] = t.Key
	}
	return out
}
