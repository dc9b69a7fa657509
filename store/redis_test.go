package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestRedisPutDedupe(t *testing.T) {
	ctx := context.Background()
	_, db := newRedisTest(t)
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
	got, err = db.Lease(ctx, "download", 10, "w", time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatalf("lease: %v %v", got, err)
	}
	if err := db.Fail(ctx, got[0].ID, "u", "r", "s"); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Put(ctx, Task{Queue: "download", Key: "u"}); err != nil || n != 0 {
		t.Errorf("put of a failed key: added %d, %v", n, err)
	}
}

func TestRedisLeaseAckRetryFail(t *testing.T) {
	ctx := context.Background()
	_, db := newRedisTest(t)
	const day = 24 * time.Hour
	var tasks []Task
	for i := range 5 {
		tasks = append(tasks, Task{Queue: "download", Key: fmt.Sprintf("u%d", i), Data: []byte{byte(i), 0, 0xff}})
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
		if task.Queue != "download" || task.Attempts != 0 || !slices.Equal(task.Data, []byte{byte(i), 0, 0xff}) || task.ID <= 0 {
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
	if !slices.IsSorted(ids(append(a, b...))) {
		t.Errorf("IDs not in put order: %v %v", ids(a), ids(b))
	}
	if c, err := db.Lease(ctx, "download", 10, "C", day); err != nil || c == nil || len(c) != 0 {
		t.Fatalf("lease of an empty queue: %v, %v; want empty slice", c, err)
	}
	if c, err := db.Lease(ctx, "never", 10, "C", day); err != nil || c == nil || len(c) != 0 {
		t.Fatalf("lease of a queue that never had a task: %v, %v; want empty slice", c, err)
	}
	if c, err := db.Lease(ctx, "download", 0, "C", day); err != nil || len(c) != 0 {
		t.Fatalf("lease of max 0: %v, %v", c, err)
	}
	for _, owner := range []string{"", releasedConsumer} {
		if _, err := db.Lease(ctx, "download", 1, owner, day); err == nil {
			t.Errorf("lease with owner %q succeeded", owner)
		}
	}

	// u0 done, u1 retried now, u2 retried a little later, u3 failed.
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
	const later = 500 * time.Millisecond
	if err := db.Ack(ctx, a[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := db.Retry(ctx, a[1].ID, 0); err != nil {
		t.Fatal(err)
	}
	retried := time.Now()
	if err := db.Retry(ctx, b[0].ID, later); err != nil {
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
	time.Sleep(time.Until(retried.Add(later + 20*time.Millisecond)))
	c2, err := db.Lease(ctx, "download", 10, "C", day)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2) != 1 || c2[0].Key != "u2" || c2[0].Attempts != 1 || !slices.Equal(c2[0].Data, []byte{2, 0, 0xff}) {
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

func TestRedisStateChangesOfFinishedTasks(t *testing.T) {
	ctx := context.Background()
	_, db := newRedisTest(t)
	if _, err := db.Put(ctx, Task{Queue: "q", Key: "a"}, Task{Queue: "q", Key: "b"}, Task{Queue: "q", Key: "c"}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Lease(ctx, "q", 3, "A", time.Minute)
	if err != nil || len(got) != 3 {
		t.Fatal(got, err)
	}
	done, failed, failedThenDone := got[0].ID, got[1].ID, got[2].ID
	if err := db.Ack(ctx, done); err != nil {
		t.Fatal(err)
	}
	if err := db.Fail(ctx, failed, "u", "gone", "s"); err != nil {
		t.Fatal(err)
	}
	if err := db.Fail(ctx, failedThenDone, "u3", "gone", "s"); err != nil {
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
		{"fail failed again", func() error { return db.Fail(ctx, failed, "u", "gone for good", "s") }},
		{"ack failed", func() error { return db.Ack(ctx, failedThenDone) }},
	}
	for _, s := range steps {
		if err := s.op(); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
	}
	c, _ := db.Counts(ctx)
	if c["q"] != (QueueCounts{Done: 2, Failed: 1}) {
		t.Errorf("counts %+v, want two done and one failed", c["q"])
	}
	fs, _ := db.Failures(ctx)
	if want := []Failure{{Queue: "q", URL: "u", Reason: "gone for good", Source: "s"}}; !slices.Equal(fs, want) {
		t.Errorf("failures %+v, want %+v", fs, want)
	}

	for name, op := range map[string]func() error{
		"ack":          func() error { return db.Ack(ctx, 999) },
		"ack file":     func() error { return db.AckFile(ctx, 999, File{URL: "u", Path: "p"}) },
		"retry":        func() error { return db.Retry(ctx, 999, 0) },
		"fail":         func() error { return db.Fail(ctx, 999, "u", "r", "s") },
		"ack negative": func() error { return db.Ack(ctx, -1) },
		"ack future":   func() error { return db.Ack(ctx, 1000<<queueBits|done&maxQueues) },
		"retry future": func() error { return db.Retry(ctx, 1000<<queueBits|done&maxQueues, 0) },
	} {
		if err := op(); !errors.Is(err, ErrNoTask) {
			t.Errorf("%s of an unknown id: %v, want ErrNoTask", name, err)
		}
	}
}

func TestRedisAckWithNextIsAtomic(t *testing.T) {
	ctx := context.Background()
	_, db := newRedisTest(t)
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
	if !mapsEqual(c, map[string]QueueCounts{"list": {Leased: 1}, "parse": {Ready: 1}}) {
		t.Fatalf("after a failed ack: %+v", c)
	}
	// A good one: done and the new tasks are there (a new queue too), the
	// seen one skipped.
	next := []Task{{Queue: "parse", Key: "d1", Data: []byte("x")}, {Queue: "download", Key: "img"},
		{Queue: "parse", Key: "d2"}, {Queue: "parse", Key: "seen"}}
	if err := db.Ack(ctx, l[0].ID, next...); err != nil {
		t.Fatal(err)
	}
	c, _ = db.Counts(ctx)
	want := map[string]QueueCounts{"list": {Done: 1}, "parse": {Ready: 3}, "download": {Ready: 1}}
	if !mapsEqual(c, want) {
		t.Fatalf("after ack: %+v, want %+v", c, want)
	}
	p, err := db.Lease(ctx, "parse", 10, "A", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(p); !slices.Equal(got, []string{"seen", "d1", "d2"}) || string(p[1].Data) != "x" {
		t.Errorf("parse queue %v", p)
	}
	// Acking again (another owner finished it too) counts it once and still
	// puts the next tasks.
	if err := db.Ack(ctx, l[0].ID, Task{Queue: "parse", Key: "d3"}); err != nil {
		t.Fatal(err)
	}
	c, _ = db.Counts(ctx)
	if c["list"] != (QueueCounts{Done: 1}) || c["parse"] != (QueueCounts{Ready: 1, Leased: 3}) {
		t.Errorf("after a second ack: %+v", c)
	}
}

// TestRedisLeaseExpiryExtendRelease mirrors TestLeaseExpiryExtendRelease
// with real time: a lease runs out once it has been idle for the ttl of the
// Lease that takes it over.
func TestRedisLeaseExpiryExtendRelease(t *testing.T) {
	ctx := context.Background()
	_, db := newRedisTest(t)
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
	const ttl = 400 * time.Millisecond
	time.Sleep(ttl + 50*time.Millisecond)
	if err := db.Extend(ctx, "A", ttl); err != nil { // A's leases are fresh again; B's ran out
		t.Fatal(err)
	}
	got := lease("C", 10, ttl)
	if !slices.Equal(got, []string{"2", "3", "4", "5"}) {
		t.Fatalf("C leased %v, want B's expired 2 3 first, then 4 5", got)
	}
	// B comes back: its Extend does not steal C's tasks back.
	if err := db.Extend(ctx, "B", time.Hour); err != nil {
		t.Fatal(err)
	}
	db.mu.Lock()
	for id, h := range db.held {
		if h.owner == "B" {
			t.Errorf("B's Extend still keeps task %d, which C took over", id)
		}
	}
	db.mu.Unlock()
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
	if err := db.Retry(ctx, 0, 0); !errors.Is(err, ErrNoTask) {
		t.Errorf("retry of id 0: %v", err)
	}
	if n, err := db.Release(ctx, ""); err != nil || n != 6 {
		t.Fatalf("release all: %d %v, want 6", n, err)
	}
	if n, err := db.Release(ctx, ""); err != nil || n != 0 {
		t.Fatalf("release all again: %d %v, want 0", n, err)
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
	// A released task that is retried is left as it is (it is not leased).
	if _, err := db.Release(ctx, "E"); err != nil {
		t.Fatal(err)
	}
	if err := db.Retry(ctx, got2[0].ID, 0); err != nil {
		t.Fatal(err)
	}
	c, _ = db.Counts(ctx)
	if c["q"] != (QueueCounts{Ready: 6}) {
		t.Errorf("counts after retry of a released task %+v", c["q"])
	}
}

// TestRedisDeadWorkerReclaim: a worker that leased and died (its handle
// closed, no heartbeat) loses its tasks to another worker once they have
// been idle for the ttl; a live worker that extends keeps them; a lease
// whose reply never reached its owner is not kept alive by its Extend.
func TestRedisDeadWorkerReclaim(t *testing.T) {
	ctx := context.Background()
	srv := startRedis(t)
	const ttl = 300 * time.Millisecond
	live := openRedisTest(t, srv, "j")
	other := openRedisTest(t, srv, "j")
	dead, err := OpenRedis(ctx, srv.URL, "j")
	if err != nil {
		t.Fatal(err)
	}
	var tasks []Task
	for i := range 9 {
		tasks = append(tasks, Task{Queue: "q", Key: fmt.Sprint(i)})
	}
	if _, err := live.Put(ctx, tasks...); err != nil {
		t.Fatal(err)
	}
	if got, err := dead.Lease(ctx, "q", 3, "dead", ttl); err != nil || len(got) != 3 {
		t.Fatal(got, err)
	}
	dead.Close()
	mine, err := live.Lease(ctx, "q", 3, "live", ttl)
	if err != nil || len(mine) != 3 {
		t.Fatal(mine, err)
	}
	// A lease whose reply was lost: the server handed entries to "live"
	// that the handle never saw.
	lost, err := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 2, DisableIdentity: true}).
		XReadGroup(ctx, &redis.XReadGroupArgs{Group: redisGroup, Consumer: "live",
			Streams: []string{live.key("q:q"), ">"}, Count: 3}).Result()
	if err != nil || len(lost[0].Messages) != 3 {
		t.Fatal(lost, err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // live's heartbeat
		defer wg.Done()
		tick := time.NewTicker(ttl / 10)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if err := live.Extend(ctx, "live", ttl); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	time.Sleep(ttl + 100*time.Millisecond)
	got, err := other.Lease(ctx, "q", 10, "other", ttl)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"0", "1", "2", "6", "7", "8"}; !slices.Equal(keys(got), want) {
		t.Fatalf("other leased %v, want the dead worker's and the lost lease's %v", keys(got), want)
	}
	for _, task := range mine {
		if err := live.Ack(ctx, task.ID); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := other.Counts(ctx)
	if c["q"] != (QueueCounts{Leased: 6, Done: 3}) {
		t.Errorf("counts %+v", c["q"])
	}
}

func TestRedisRestart(t *testing.T) {
	ctx := context.Background()
	_, db := newRedisTest(t)
	put := func(q string, ks ...string) {
		t.Helper()
		for _, k := range ks {
			if _, err := db.Put(ctx, Task{Queue: q, Key: k}); err != nil {
				t.Fatal(err)
			}
		}
	}
	put("list", "done", "failed", "leased", "delayed", "ready")
	put("download", "done")
	finish := func(q string) {
		l, err := db.Lease(ctx, q, 4, "A", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range l {
			switch task.Key {
			case "done":
				err = db.Ack(ctx, task.ID)
			case "failed":
				err = db.Fail(ctx, task.ID, "u", "r", "s")
			case "delayed":
				err = db.Retry(ctx, task.ID, time.Hour)
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
	if !mapsEqual(c, map[string]QueueCounts{"list": {Ready: 2, Leased: 1}, "download": {Done: 1}}) {
		t.Fatalf("after restart of list: %+v", c)
	}
	if f, _ := db.Failures(ctx); len(f) != 0 {
		t.Errorf("failures survived restart: %v", f)
	}
	tests := []struct {
		q, key string
		added  int
	}{
		{"list", "done", 1}, {"list", "failed", 1}, {"list", "leased", 0}, {"list", "delayed", 0},
		{"list", "ready", 0}, {"download", "done", 0},
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
	if err := db.Restart(ctx, "no such queue"); err != nil {
		t.Errorf("restart of an unknown queue: %v", err)
	}
}

func TestRedisMeta(t *testing.T) {
	ctx := context.Background()
	srv, db := newRedisTest(t)
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
	other := openRedisTest(t, srv, "test")
	if got, _ := other.Meta(ctx, "job"); got != "crawl-2" {
		t.Errorf("meta through a second handle: %q", got)
	}
	if db.Job() != "test" {
		t.Errorf("Job() = %q", db.Job())
	}
}

func TestRedisFiles(t *testing.T) {
	ctx := context.Background()
	srv, db := newRedisTest(t)
	db.SetWorker("w1")
	urls := []string{"http://h/b.jpg", "http://h/a.jpg", "http://h/c.jpg", "http://h/d.jpg"}
	var tasks []Task
	for _, u := range urls {
		tasks = append(tasks, Task{Queue: "download", Key: u})
	}
	if _, err := db.Put(ctx, tasks...); err != nil {
		t.Fatal(err)
	}
	leased, err := db.Lease(ctx, "download", 4, "w", time.Minute)
	if err != nil || len(leased) != 4 {
		t.Fatal(leased, err)
	}
	files := []File{
		{URL: urls[0], Path: "b.jpg", Bytes: 10, SHA256: sum("b"), ContentType: "image/jpeg", Source: "http://h/p1"},
		{URL: urls[1], Path: "sub/a 1:2.jpg", Bytes: 20, SHA256: sum("a"), ContentType: "image/png", Source: "list.txt"},
		{URL: urls[3], Path: "电影/d.jpg", Bytes: 0, Source: ""},
	}
	second := openRedisTest(t, srv, "test")
	second.SetWorker("w2")
	for i, f := range files {
		h := db
		if i == 2 {
			h = second
		}
		if err := h.AckFile(ctx, leased[[]int{0, 1, 3}[i]].ID, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AckFile(ctx, leased[2].ID, File{URL: urls[2]}); err == nil {
		t.Error("AckFile without a path succeeded")
	}
	c, _ := db.Counts(ctx)
	if c["download"] != (QueueCounts{Done: 3, Leased: 1}) {
		t.Errorf("counts %+v", c["download"])
	}

	tests := []struct {
		url    string
		want   File
		worker string
		ok     bool
	}{
		{urls[0], files[0], "w1", true},
		{urls[1], files[1], "w1", true},
		{urls[2], File{}, "", false},
		{urls[3], files[2], "w2", true},
	}
	for _, tt := range tests {
		got, ok, err := second.FileByURL(ctx, tt.url)
		if err != nil || ok != tt.ok || got != tt.want {
			t.Errorf("FileByURL(%s) = %+v, %v, %v; want %+v, %v", tt.url, got, ok, err, tt.want, tt.ok)
		}
		wf, ok, err := second.WorkerFile(ctx, tt.url)
		if err != nil || ok != tt.ok || wf.File != tt.want || wf.Worker != tt.worker {
			t.Errorf("WorkerFile(%s) = %+v, %v, %v; want worker %q", tt.url, wf, ok, err, tt.worker)
		}
	}

	// Recording a URL again (--overwrite) replaces its record in place.
	if err := db.Restart(ctx, "download"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Put(ctx, Task{Queue: "download", Key: urls[0]}); err != nil {
		t.Fatal(err)
	}
	again, _ := db.Lease(ctx, "download", 1, "w", time.Minute)
	newer := files[0]
	newer.Bytes, newer.SHA256 = 11, sum("b2")
	if err := second.AckFile(ctx, again[0].ID, newer); err != nil {
		t.Fatal(err)
	}
	all, err := db.Files(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []File{newer, files[1], files[2]}; !slices.Equal(all, want) {
		t.Errorf("Files() = %+v, want %+v", all, want)
	}
	wall, err := db.WorkerFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var workers []string
	for _, f := range wall {
		workers = append(workers, f.Worker)
	}
	if want := []string{"w2", "w1", "w2"}; !slices.Equal(workers, want) {
		t.Errorf("workers %v, want %v", workers, want)
	}
}

// TestRedisManyFiles crosses the chunk size of Files.
func TestRedisManyFiles(t *testing.T) {
	ctx := context.Background()
	_, db := newRedisTest(t)
	const n = redisChunk + 7
	var tasks []Task
	for i := range n {
		tasks = append(tasks, Task{Queue: "download", Key: fmt.Sprint(i)})
	}
	if _, err := db.Put(ctx, tasks...); err != nil {
		t.Fatal(err)
	}
	for done := 0; done < n; {
		got, err := db.Lease(ctx, "download", 500, "w", time.Minute)
		if err != nil || len(got) == 0 {
			t.Fatal(got, err)
		}
		for _, task := range got {
			if err := db.AckFile(ctx, task.ID, File{URL: "http://h/" + task.Key, Path: task.Key}); err != nil {
				t.Fatal(err)
			}
		}
		done += len(got)
	}
	fs, err := db.Files(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != n || fs[0].Path != "0" || fs[n-1].Path != fmt.Sprint(n-1) {
		t.Errorf("%d files, first %+v", len(fs), fs[0])
	}
}

func TestRedisFailuresOrder(t *testing.T) {
	ctx := context.Background()
	_, db := newRedisTest(t)
	if _, err := db.Put(ctx, Task{Queue: "list", Key: "p1"}, Task{Queue: "download", Key: "u1"},
		Task{Queue: "list", Key: "p2"}, Task{Queue: "download", Key: "u2"}); err != nil {
		t.Fatal(err)
	}
	l, _ := db.Lease(ctx, "list", 2, "A", time.Minute)
	d, _ := db.Lease(ctx, "download", 2, "A", time.Minute)
	// u1 is retried first, so it fails last, under a new ID; it still
	// comes second: failures are in the order the tasks were first put.
	if err := db.Retry(ctx, d[0].ID, 0); err != nil {
		t.Fatal(err)
	}
	d2, _ := db.Lease(ctx, "download", 1, "A", time.Minute)
	for _, f := range []struct {
		id  int64
		url string
	}{{d[1].ID, "u2"}, {l[1].ID, "p2"}, {l[0].ID, "p1"}, {d2[0].ID, "u1"}} {
		if err := db.Fail(ctx, f.id, f.url, "reason "+f.url, "src"); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := db.Failures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Queue+":"+f.URL)
	}
	if want := []string{"list:p1", "download:u1", "list:p2", "download:u2"}; !slices.Equal(got, want) {
		t.Errorf("failures %v, want %v", got, want)
	}
}

// TestRedisConcurrentLeasers runs many goroutines over two handles, leasing,
// acking and retrying, and checks that no task is ever held by two of them
// at once and that every task ends done exactly once.
func TestRedisConcurrentLeasers(t *testing.T) {
	ctx := context.Background()
	srv := startRedis(t)
	dbs := []*RedisDB{openRedisTest(t, srv, "c"), openRedisTest(t, srv, "c")}
	const n = 1500
	var tasks []Task
	for i := range n {
		tasks = append(tasks, Task{Queue: "download", Key: fmt.Sprint(i)})
	}
	if _, err := dbs[0].Put(ctx, tasks...); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	held := map[string]string{} // task key → owner holding it now
	acked := map[string]int{}
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
					if o, ok := held[task.Key]; ok {
						mu.Unlock()
						errc <- fmt.Errorf("task %s leased by %s while %s holds it", task.Key, owner, o)
						return
					}
					held[task.Key] = owner
				}
				mu.Unlock()
				for _, task := range got {
					retry := task.Attempts < 2 && rng.IntN(10) == 0
					mu.Lock() // give it up before the queue can hand it out again
					delete(held, task.Key)
					if !retry {
						acked[task.Key]++
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
	for k, c := range acked {
		if c != 1 {
			t.Errorf("task %s acked %d times", k, c)
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

// TestRedisJobs: two crawls on one server share nothing, and Jobs lists
// both.
func TestRedisJobs(t *testing.T) {
	ctx := context.Background()
	srv := startRedis(t)
	if jobs, err := Jobs(ctx, srv.URL); err != nil || len(jobs) != 0 {
		t.Fatalf("jobs of an empty server: %v %v", jobs, err)
	}
	a := openRedisTest(t, srv, "crawl-a")
	b := openRedisTest(t, srv, "crawl b:2") // spaces and colons are fine
	for _, db := range []*RedisDB{a, b} {
		if n, err := db.Put(ctx, Task{Queue: "download", Key: "same"}); err != nil || n != 1 {
			t.Fatalf("put in %s: %d %v", db.Job(), n, err)
		}
	}
	if err := a.SetMeta(ctx, "state", "running"); err != nil {
		t.Fatal(err)
	}
	got, err := a.Lease(ctx, "download", 10, "w", time.Minute)
	if err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	if err := a.AckFile(ctx, got[0].ID, File{URL: "same", Path: "x"}); err != nil {
		t.Fatal(err)
	}
	cb, _ := b.Counts(ctx)
	if cb["download"] != (QueueCounts{Ready: 1}) {
		t.Errorf("b's counts %+v", cb)
	}
	if fs, _ := b.Files(ctx); len(fs) != 0 {
		t.Errorf("b sees a's files: %v", fs)
	}
	if v, _ := b.Meta(ctx, "state"); v != "" {
		t.Errorf("b sees a's meta: %q", v)
	}
	ca, _ := a.Counts(ctx)
	if ca["download"] != (QueueCounts{Done: 1}) {
		t.Errorf("a's counts %+v", ca)
	}
	jobs, err := Jobs(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"crawl b:2", "crawl-a"}; !slices.Equal(jobs, want) {
		t.Errorf("Jobs() = %v, want %v", jobs, want)
	}
	// A crawl whose keys were deleted is gone.
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 2, DisableIdentity: true})
	defer c.Close()
	if err := c.Del(ctx, "crawl:{crawl-a}:created").Err(); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := Jobs(ctx, srv.URL); !slices.Equal(jobs, []string{"crawl b:2"}) {
		t.Errorf("Jobs() after deleting crawl-a = %v", jobs)
	}
}

func TestRedisOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := startRedis(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url, job, want string
	}{
		{"bad scheme", "http://127.0.0.1:1/0", "j", "redis URL"},
		{"nobody listening", fmt.Sprintf("redis://127.0.0.1:%d/0", port), "j", "connect to redis"},
		{"password redacted", fmt.Sprintf("redis://u:secret@127.0.0.1:%d/0", port), "j", "connect to redis"},
		{"empty job", srv.URL, "", "empty job name"},
		{"brace in job", srv.URL, "a}b", "brace"},
		{"newline in job", srv.URL, "a\nb", "control"},
	}
	for _, tt := range tests {
		db, err := OpenRedis(ctx, tt.url, tt.job)
		if err == nil {
			db.Close()
			t.Errorf("%s: opened", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error %q, want it to say %q (and no password)", tt.name, err, tt.want)
		}
	}
	if _, err := Jobs(ctx, fmt.Sprintf("redis://127.0.0.1:%d/0", port)); err == nil {
		t.Error("Jobs of a server that is not there succeeded")
	}
}

func TestPackFields(t *testing.T) {
	tests := [][]string{
		{"", "", ""},
		{"http://h/a b.jpg", "12:34", "电影/x", "\x00\xff"},
		{"3:abc", ":", "::"},
	}
	for _, fs := range tests {
		got, err := unpackFields(packFields(fs...), len(fs))
		if err != nil || !slices.Equal(got, fs) {
			t.Errorf("round trip of %q: %q, %v", fs, got, err)
		}
	}
	for _, bad := range []string{"5:abc", "x:abc", "3abc", "-1:"} {
		if _, err := unpackFields(bad, 1); err == nil {
			t.Errorf("unpackFields(%q) succeeded", bad)
		}
	}
	if _, err := unpackFields(packFields("a", "b"), 3); err == nil {
		t.Error("wrong field count accepted")
	}
}

// BenchmarkRedisLeaseAck is BenchmarkLeaseAck on the Redis backend: one
// task's share of a Lease of `batch` tasks, then its own Ack, against a
// redis-server on loopback.
func BenchmarkRedisLeaseAck(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			_, db := newRedisTest(b)
			const chunk = 1000
			tasks := make([]Task, 0, chunk)
			for i := 0; i < b.N; i += chunk {
				tasks = tasks[:0]
				for j := i; j < min(i+chunk, b.N); j++ {
					tasks = append(tasks, Task{Queue: "download", Key: fmt.Sprintf("http://example.com/img/%d.jpg", j), Data: []byte(`{"url":"http://example.com/img/x.jpg","page":1,"n":2}`)})
				}
				if _, err := db.Put(ctx, tasks...); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			done := 0
			for done < b.N {
				got, err := db.Lease(ctx, "download", batch, "bench", time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) == 0 {
					b.Fatalf("queue empty after %d of %d", done, b.N)
				}
				for _, t := range got {
					if err := db.Ack(ctx, t.ID); err != nil {
						b.Fatal(err)
					}
				}
				done += len(got)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}

// BenchmarkRedisPut is BenchmarkPut on the Redis backend.
func BenchmarkRedisPut(b *testing.B) {
	ctx := context.Background()
	_, db := newRedisTest(b)
	tasks := make([]Task, 100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range tasks {
			tasks[j] = Task{Queue: "download", Key: fmt.Sprintf("http://example.com/%d/%d.jpg", i, j)}
		}
		if _, err := db.Put(ctx, tasks...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(tasks))/b.Elapsed().Seconds(), "tasks/s")
}

// BenchmarkRedisAckFileParallel is the download stage's pattern on the Redis
// backend: ten goroutines each recording a file for one task (no name
// reservation: that stays on each worker's disk).
func BenchmarkRedisAckFileParallel(b *testing.B) {
	ctx := context.Background()
	_, db := newRedisTest(b)
	var leased []Task
	for i := 0; i < b.N; i += maxLeaseBatch {
		tasks := make([]Task, 0, maxLeaseBatch)
		for j := i; j < min(i+maxLeaseBatch, b.N); j++ {
			tasks = append(tasks, Task{Queue: "download", Key: fmt.Sprintf("http://example.com/img/%d.jpg", j)})
		}
		if _, err := db.Put(ctx, tasks...); err != nil {
			b.Fatal(err)
		}
		got, err := db.Lease(ctx, "download", len(tasks), "bench", time.Hour)
		if err != nil || len(got) != len(tasks) {
			b.Fatalf("lease: %d, %v", len(got), err)
		}
		leased = append(leased, got...)
	}
	next := make(chan Task, len(leased))
	for _, t := range leased {
		next <- t
	}
	close(next)
	b.SetParallelism(5) // 10 goroutines on 2 cores, like --workers 10
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t := <-next
			f := File{URL: t.Key, Path: "img/" + t.Key[len("http://example.com/img/"):], Bytes: 1, SHA256: "x"}
			if err := db.AckFile(ctx, t.ID, f); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
}

// sharedStore is the method set DB and RedisDB have in common, so that one
// interface in the pipeline can hold either; this fails to compile when
// their signatures drift apart.
type sharedStore interface {
	Close() error
	Put(ctx context.Context, tasks ...Task) (int, error)
	Lease(ctx context.Context, queue string, max int, owner string, ttl time.Duration) ([]Task, error)
	Ack(ctx context.Context, id int64, next ...Task) error
	AckFile(ctx context.Context, id int64, f File) error
	Retry(ctx context.Context, id int64, after time.Duration) error
	Fail(ctx context.Context, id int64, url, reason, source string) error
	Extend(ctx context.Context, owner string, ttl time.Duration) error
	Release(ctx context.Context, owner string) (int, error)
	Counts(ctx context.Context) (map[string]QueueCounts, error)
	Failures(ctx context.Context) ([]Failure, error)
	Restart(ctx context.Context, queues ...string) error
	Meta(ctx context.Context, key string) (string, error)
	SetMeta(ctx context.Context, key, value string) error
	FileByURL(ctx context.Context, url string) (File, bool, error)
	Files(ctx context.Context) ([]File, error)
}

var (
	_ sharedStore = (*DB)(nil)
	_ sharedStore = (*RedisDB)(nil)
)
