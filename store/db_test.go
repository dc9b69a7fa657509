package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// A newer schema is refused.
	path := filepath.Join(dir, "new.db")
	db := openAt(t, path)
	if _, err := db.w.ExecContext(ctx, "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, path); err == nil {
		t.Error("opened a database with a newer schema")
	}
	// A path through a file cannot be created.
	if _, err := Open(ctx, filepath.Join(path, "sub", "x.db")); err == nil {
		t.Error("opened a database below a file")
	}
	// Odd characters in the path are fine.
	odd := filepath.Join(dir, "a?b#c%20 d", "crawl.db")
	db2 := openAt(t, odd)
	if _, err := db2.Put(ctx, Task{Queue: "q", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(odd); err != nil || fi.Size() == 0 {
		t.Errorf("database not at %s: %v", odd, err)
	}
}

// TestCountsKeptByTriggers checks the counts table against a count of the
// tasks themselves after every kind of state change.
func TestCountsKeptByTriggers(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	check := func(step string) {
		t.Helper()
		got, err := db.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.r.QueryContext(ctx, `SELECT queue, state, count(*) FROM tasks GROUP BY queue, state`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		want := map[string]QueueCounts{}
		for rows.Next() {
			var q string
			var st, n int
			if err := rows.Scan(&q, &st, &n); err != nil {
				t.Fatal(err)
			}
			c := want[q]
			switch st {
			case stateReady:
				c.Ready = n
			case stateLeased:
				c.Leased = n
			case stateDone:
				c.Done = n
			case stateFailed:
				c.Failed = n
			}
			want[q] = c
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after %s: Counts %v, tasks say %v", step, got, want)
		}
	}
	var tasks []Task
	for i := 0; i < 20; i++ {
		tasks = append(tasks, Task{Queue: []string{"list", "download"}[i%2], Key: fmt.Sprint(i)})
	}
	db.Put(ctx, tasks...)
	check("put")
	leased, _ := db.Lease(ctx, "download", 6, "a")
	check("lease")
	db.Ack(ctx, leased[0].ID, Task{Queue: "download", Key: "new"})
	db.AckFile(ctx, leased[1].ID, File{URL: "u", Path: "p"})
	db.Fail(ctx, leased[2].ID, "u", "r", "s")
	db.Ack(ctx, leased[2].ID)
	db.Fail(ctx, leased[3].ID, "u", "r", "s")
	check("ack, fail, ack of a failed task")
	db.Release(ctx, "a")
	check("release")
	db.Restart(ctx, "download")
	check("restart")
}

// TestHasDue tells whether a lease would find a task, without leasing.
func TestHasDue(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	clk := newClock(db)
	due := func() bool {
		t.Helper()
		ok, err := db.HasDue(ctx, "q")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if due() {
		t.Error("an empty queue has a task due")
	}
	if _, err := db.Put(ctx, Task{Queue: "q", Key: "a"}); err != nil {
		t.Fatal(err)
	}
	if !due() {
		t.Error("a ready task is not due")
	}
	leased, err := db.Lease(ctx, "q", 1, "w")
	if err != nil || len(leased) != 1 {
		t.Fatal(leased, err)
	}
	if due() {
		t.Error("a leased task is due")
	}
	clk.advance(2 * time.Minute)
	if !due() {
		t.Error("a task whose lease ran out is not due")
	}
	if err := db.Ack(ctx, leased[0].ID); err != nil {
		t.Fatal(err)
	}
	if due() {
		t.Error("a done task is due")
	}
}
