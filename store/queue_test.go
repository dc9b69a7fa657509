package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestPutDedupe(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	steps := []struct {
		name    string
		tasks   []Task
		added   int
		wantErr bool
	}{
		{"first", []Task{{Queue: "list", Key: "p1"}, {Queue: "list", Key: "p2"}}, 2, false},
		{"again", []Task{{Queue: "list", Key: "p1"}}, 0, false},
		{"same key other queue", []Task{{Queue: "parse", Key: "p1"}}, 1, false},
		{"duplicate in one call", []Task{{Queue: "download", Key: "u"}, {Queue: "download", Key: "u"}}, 1, false},
		{"nothing", nil, 0, false},
		{"empty key fails whole call", []Task{{Queue: "list", Key: "p3"}, {Queue: "list", Key: ""}}, 0, true},
		{"empty queue", []Task{{Queue: "", Key: "x"}}, 0, true},
		{"after failed call", []Task{{Queue: "list", Key: "p3"}}, 1, false},
		{"key is case-sensitive", []Task{{Queue: "list", Key: "P1"}}, 1, false},
	}
	for _, s := range steps {
		added, err := db.Put(ctx, s.tasks...)
		if (err != nil) != s.wantErr {
			t.Fatalf("%s: err = %v, want error %v", s.name, err, s.wantErr)
		}
		if added != s.added {
			t.Errorf("%s: added %d, want %d", s.name, added, s.added)
		}
	}
	counts, err := db.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]QueueCounts{"list": {Ready: 4}, "parse": {Ready: 1}, "download": {Ready: 1}}
	if !mapsEqual(counts, want) {
		t.Errorf("counts %v, want %v", counts, want)
	}

	// A done task's key is still seen; so is a failed one's.
	got, err := db.Lease(ctx, "parse", 10, "w", time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatalf("lease: %v %v", got, err)
	}
	if err := db.Ack(ctx, got[0].ID); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Put(ctx, Task{Queue: "parse", Key: "p1"}); err != nil || n != 0 {
		t.Errorf("put of a done key: added %d, %v", n, err)
	}
}

func mapsEqual(a, b map[string]QueueCounts) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestLeaseAckRetryFail(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	clk := newClock(db)
	const day = 24 * time.Hour
	var tasks []Task
	for i := range 5 {
		tasks = append(tasks, Task{Queue: "download", Key: fmt.Sprintf("u%d", i), Data: []byte{byte(i)}})
	}
	tasks = append(tasks, Task{Queue: "download", Key: "nodata"})
	if _, err := db.Put(ctx, tasks...); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Put(ctx, Task{Queue: "parse", Key: "other"}); err != nil {
		t.Fatal(err)
	}

	a, err := db.Lease(ctx, "download", 2, "A", day)
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(a); !slices.Equal(got, []string{"u0", "u1"}) {
		t.Fatalf("first lease: %v, want u0 u1 (FIFO)", got)
	}
	for i, task := range a {
		if task.Queue != "download" || task.Attempts != 0 || !slices.Equal(task.Data, []byte{byte(i)}) || task.ID == 0 {
			t.Errorf("leased task %+v", task)
		}
	}
	b, err := db.Lease(ctx, "download", 10, "B", day)
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(b); !slices.Equal(got, []string{"u2", "u3", "u4", "nodata"}) {
		t.Fatalf("second lease: %v", got)
	}
	if len(b[3].Data) != 0 {
		t.Errorf("task put without data leased with Data %#v", b[3].Data)
	}
	if c, err := db.Lease(ctx, "download", 10, "C", day); err != nil || c == nil || len(c) != 0 {
		t.Fatalf("lease of an empty queue: %v, %v; want empty slice", c, err)
	}
	if c, err := db.Lease(ctx, "download", 0, "C", day); err != nil || len(c) != 0 {
		t.Fatalf("lease of max 0: %v, %v", c, err)
	}
	if _, err := db.Lease(ctx, "download", 1, "", day); err == nil {
		t.Error("lease with an empty owner succeeded")
	}

	// u0 done, u1 retried now, u2 retried in an hour, u3 failed.
	check := func(step string, want QueueCounts) {
		t.Helper()
		c, err := db.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c["download"] != want {
			t.Errorf("%s: download counts %+v, want %+v", step, c["download"], want)
		}
		if c["parse"] != (QueueCounts{Ready: 1}) {
			t.Errorf("%s: parse counts %+v", step, c["parse"])
		}
	}
	check("all leased", QueueCounts{Leased: 6})
	if err := db.Ack(ctx, a[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := db.Retry(ctx, a[1].ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := db.Retry(ctx, b[0].ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.Fail(ctx, b[1].ID, "http://x/u3", "http 404 Not Found", "http://x/page"); err != nil {
		t.Fatal(err)
	}
	check("after ack, retries, fail", QueueCounts{Ready: 2, Leased: 2, Done: 1, Failed: 1})

	c, err := db.Lease(ctx, "download", 10, "C", day)
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 1 || c[0].Key != "u1" || c[0].Attempts != 1 {
		t.Fatalf("lease after retry: %+v, want u1 with Attempts 1", c)
	}
	clk.advance(time.Hour)
	c2, err := db.Lease(ctx, "download", 10, "C", day)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2) != 1 || c2[0].Key != "u2" || c2[0].Attempts != 1 {
		t.Fatalf("lease once the retry is due: %+v, want u2", c2)
	}
	if err := db.Retry(ctx, c[0].ID, 0); err != nil {
		t.Fatal(err)
	}
	c3, err := db.Lease(ctx, "download", 10, "C", day)
	if err != nil || len(c3) != 1 || c3[0].Attempts != 2 {
		t.Fatalf("second retry: %+v, %v; want Attempts 2", c3, err)
	}

	fails, err := db.Failures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Failure{{Queue: "download", URL: "http://x/u3", Reason: "http 404 Not Found", Source: "http://x/page"}}
	if !slices.Equal(fails, want) {
		t.Errorf("failures %+v, want %+v", fails, want)
	}
}

func TestStateChangesOfFinishedTasks(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if _, err := db.Put(ctx, Task{Queue: "q", Key: "a"}, Task{Queue: "q", Key: "b"}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Lease(ctx, "q", 2, "A", time.Minute)
	if err != nil || len(got) != 2 {
		t.Fatal(got, err)
	}
	done, failed := got[0].ID, got[1].ID
	if err := db.Ack(ctx, done); err != nil {
		t.Fatal(err)
	}
	if err := db.Fail(ctx, failed, "u", "gone", "s"); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		op   func() error
	}{
		{"ack twice", func() error { return db.Ack(ctx, done) }},
		{"retry done", func() error { return db.Retry(ctx, done, 0) }},
		{"fail done", func() error { return db.Fail(ctx, done, "u", "late", "s") }},
		{"retry failed", func() error { return db.Retry(ctx, failed, 0) }},
	}
	for _, s := range steps {
		if err := s.op(); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
	}
	c, _ := db.Counts(ctx)
	if c["q"] != (QueueCounts{Done: 1, Failed: 1}) {
		t.Errorf("counts %+v, want one done and one failed", c["q"])
	}

	for name, op := range map[string]func() error{
		"ack":      func() error { return db.Ack(ctx, 999) },
		"ack file": func() error { return db.AckFile(ctx, 999, File{URL: "u", Path: "p"}) },
		"retry":    func() error { return db.Retry(ctx, 999, 0) },
		"fail":     func() error { return db.Fail(ctx, 999, "u", "r", "s") },
	} {
		if err := op(); !errors.Is(err, ErrNoTask) {
			t.Errorf("%s of an unknown id: %v, want ErrNoTask", name, err)
		}
	}
}

func TestAckWithNextIsAtomic(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if _, err := db.Put(ctx, Task{Queue: "list", Key: "page1"}, Task{Queue: "parse", Key: "seen"}); err != nil {
		t.Fatal(err)
	}
	l, err := db.Lease(ctx, "list", 1, "A", time.Minute)
	if err != nil || len(l) != 1 {
		t.Fatal(l, err)
	}
	// A bad next task: nothing happens, the task stays leased.
	err = db.Ack(ctx, l[0].ID, Task{Queue: "parse", Key: "d1"}, Task{Queue: "parse"})
	if err == nil {
		t.Fatal("ack with an invalid next task succeeded")
	}
	c, _ := db.Counts(ctx)
	if c["list"] != (QueueCounts{Leased: 1}) || c["parse"] != (QueueCounts{Ready: 1}) {
		t.Fatalf("after a failed ack: %+v", c)
	}
	// A good one: done and the new tasks are there, the seen one skipped.
	next := []Task{{Queue: "parse", Key: "d1", Data: []byte("x")}, {Queue: "parse", Key: "d2"}, {Queue: "parse", Key: "seen"}}
	if err := db.Ack(ctx, l[0].ID, next...); err != nil {
		t.Fatal(err)
	}
	c, _ = db.Counts(ctx)
	if c["list"] != (QueueCounts{Done: 1}) || c["parse"] != (QueueCounts{Ready: 3}) {
		t.Fatalf("after ack: %+v", c)
	}
	p, err := db.Lease(ctx, "parse", 10, "A", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(p); !slices.Equal(got, []string{"seen", "d1", "d2"}) || string(p[1].Data) != "x" {
		t.Errorf("parse queue %v", p)
	}
}

func TestLeaseExpiryExtendRelease(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	clk := newClock(db)
	var tasks []Task
	for i := range 6 {
		tasks = append(tasks, Task{Queue: "q", Key: fmt.Sprint(i)})
	}
	if _, err := db.Put(ctx, tasks...); err != nil {
		t.Fatal(err)
	}
	lease := func(owner string, max int, ttl time.Duration) []string {
		t.Helper()
		got, err := db.Lease(ctx, "q", max, owner, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return keys(got)
	}
	if got := lease("A", 2, time.Minute); !slices.Equal(got, []string{"0", "1"}) {
		t.Fatalf("A leased %v", got)
	}
	if got := lease("B", 2, time.Minute); !slices.Equal(got, []string{"2", "3"}) {
		t.Fatalf("B leased %v", got)
	}
	clk.advance(50 * time.Second)
	if err := db.Extend(ctx, "A", time.Minute); err != nil { // A: until 110s; B: until 60s
		t.Fatal(err)
	}
	clk.advance(20 * time.Second) // 70s: B's leases ran out, A's did not
	got := lease("C", 10, time.Minute)
	if !slices.Equal(got, []string{"2", "3", "4", "5"}) {
		t.Fatalf("C leased %v, want B's expired 2 3 first, then 4 5", got)
	}
	// B comes back: its Extend does not steal C's tasks back.
	if err := db.Extend(ctx, "B", time.Hour); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Release(ctx, "B"); err != nil || n != 0 {
		t.Fatalf("release B: %d %v, want 0", n, err)
	}
	if n, err := db.Release(ctx, "C"); err != nil || n != 4 {
		t.Fatalf("release C: %d %v, want 4", n, err)
	}
	c, _ := db.Counts(ctx)
	if c["q"] != (QueueCounts{Ready: 4, Leased: 2}) {
		t.Fatalf("counts after release %+v", c["q"])
	}
	if got := lease("D", 10, time.Minute); len(got) != 4 {
		t.Fatalf("D leased %v after release, want 4 tasks", got)
	}
	if n, err := db.Release(ctx, ""); err != nil || n != 6 {
		t.Fatalf("release all: %d %v, want 6", n, err)
	}
	got2, err := db.Lease(ctx, "q", 10, "E", time.Minute)
	if err != nil || len(got2) != 6 {
		t.Fatalf("lease after release all: %v %v", got2, err)
	}
	for _, task := range got2 {
		if task.Attempts != 0 {
			t.Errorf("release changed attempts: %+v", task)
		}
	}
}

func TestRestart(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	put := func(q string, ks ...string) {
		t.Helper()
		for _, k := range ks {
			if _, err := db.Put(ctx, Task{Queue: q, Key: k}); err != nil {
				t.Fatal(err)
			}
		}
	}
	put("list", "done", "failed", "leased", "ready")
	put("download", "done")
	finish := func(q string) {
		l, err := db.Lease(ctx, q, 3, "A", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range l {
			switch task.Key {
			case "done":
				err = db.Ack(ctx, task.ID)
			case "failed":
				err = db.Fail(ctx, task.ID, "u", "r", "s")
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	finish("list")
	finish("download")
	if err := db.Restart(ctx, "list"); err != nil {
		t.Fatal(err)
	}
	c, _ := db.Counts(ctx)
	if c["list"] != (QueueCounts{Ready: 1, Leased: 1}) || c["download"] != (QueueCounts{Done: 1}) {
		t.Fatalf("after restart of list: %+v", c)
	}
	if f, _ := db.Failures(ctx); len(f) != 0 {
		t.Errorf("failures survived restart: %v", f)
	}
	tests := []struct {
		q, key string
		added  int
	}{
		{"list", "done", 1}, {"list", "failed", 1}, {"list", "leased", 0}, {"list", "ready", 0}, {"download", "done", 0},
	}
	for _, tt := range tests {
		if n, err := db.Put(ctx, Task{Queue: tt.q, Key: tt.key}); err != nil || n != tt.added {
			t.Errorf("put %s/%s after restart: added %d (%v), want %d", tt.q, tt.key, n, err, tt.added)
		}
	}
	if err := db.Restart(ctx); err != nil { // every queue
		t.Fatal(err)
	}
	if n, err := db.Put(ctx, Task{Queue: "download", Key: "done"}); err != nil || n != 1 {
		t.Errorf("put after restart of every queue: %d %v", n, err)
	}
}

func TestMeta(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	db := openAt(t, path)
	tests := []struct{ key, set, want string }{
		{"job", "", ""},
		{"job", "crawl-1", "crawl-1"},
		{"job", "crawl-2", "crawl-2"},
		{"命令", "crawl --pages 1-5", "crawl --pages 1-5"},
	}
	for _, tt := range tests {
		if tt.set != "" {
			if err := db.SetMeta(ctx, tt.key, tt.set); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := db.Meta(ctx, tt.key); err != nil || got != tt.want {
			t.Errorf("Meta(%q) = %q, %v; want %q", tt.key, got, err, tt.want)
		}
	}
	other := openAt(t, path)
	if got, _ := other.Meta(ctx, "job"); got != "crawl-2" {
		t.Errorf("meta through a second handle: %q", got)
	}
}

// TestConcurrentLeasers runs many goroutines over two *DB handles on one
// file, leasing, acking and retrying, and checks that no task is ever held by
// two of them at once and that every task ends done exactly once.
func TestConcurrentLeasers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	dbs := []*DB{openAt(t, path), openAt(t, path)}
	const n = 1500
	var tasks []Task
	for i := range n {
		tasks = append(tasks, Task{Queue: "download", Key: fmt.Sprint(i)})
	}
	if _, err := dbs[0].Put(ctx, tasks...); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	held := map[int64]string{} // task → owner holding it now
	acked := map[int64]int{}
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := dbs[w%2]
			owner := fmt.Sprintf("w%d", w)
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for {
				got, err := db.Lease(ctx, "download", 1+rng.IntN(8), owner, time.Minute)
				if err != nil {
					errc <- err
					return
				}
				if len(got) == 0 {
					c, err := db.Counts(ctx)
					if err != nil {
						errc <- err
						return
					}
					if c["download"].Ready == 0 && c["download"].Leased == 0 {
						return
					}
					time.Sleep(time.Millisecond) // others still hold tasks
					continue
				}
				mu.Lock()
				for _, task := range got {
					if o, ok := held[task.ID]; ok {
						mu.Unlock()
						errc <- fmt.Errorf("task %d leased by %s while %s holds it", task.ID, owner, o)
						return
					}
					held[task.ID] = owner
				}
				mu.Unlock()
				for _, task := range got {
					retry := task.Attempts < 2 && rng.IntN(10) == 0
					mu.Lock() // give it up before the queue can hand it out again
					delete(held, task.ID)
					if !retry {
						acked[task.ID]++
					}
					mu.Unlock()
					if retry {
						err = db.Retry(ctx, task.ID, 0)
					} else {
						err = db.Ack(ctx, task.ID)
					}
					if err != nil {
						errc <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if len(acked) != n {
		t.Errorf("%d tasks acked, want %d", len(acked), n)
	}
	for id, k := range acked {
		if k != 1 {
			t.Errorf("task %d acked %d times", id, k)
		}
	}
	c, err := dbs[1].Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c["download"] != (QueueCounts{Done: n}) {
		t.Errorf("counts %+v, want %d done", c["download"], n)
	}
}

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
	leased, _ := db.Lease(ctx, "download", 6, "a", time.Minute)
	check("lease")
	db.Ack(ctx, leased[0].ID, Task{Queue: "download", Key: "new"})
	db.AckFile(ctx, leased[1].ID, File{URL: "u", Path: "p"})
	db.Retry(ctx, leased[2].ID, 0)
	db.Fail(ctx, leased[3].ID, "u", "r", "s")
	check("ack, retry, fail")
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
	leased, err := db.Lease(ctx, "q", 1, "w", time.Minute)
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
