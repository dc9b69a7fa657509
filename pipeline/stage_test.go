package pipeline

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crawl/store"
)

// TestPool: the pool hands each leased task to one worker, never more than
// n at once, holds at most n + ahead leased, shows each leased batch to
// prepare before its tasks run, and returns once ctx is cancelled, the
// tasks done acknowledged.
func TestPool(t *testing.T) {
	const n = 3
	for _, ahead := range []int{2 * n, 8 * n} {
		t.Run(fmt.Sprintf("ahead=%d", ahead), func(t *testing.T) { testPool(t, n, ahead) })
	}
}

// testPool is TestPool with n workers leasing ahead tasks ahead.
func testPool(t *testing.T, n, ahead int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openQueue(t)
	const tasks = 120
	var put []store.Task
	for i := range tasks {
		put = append(put, fileTask(FileTask{URL: fmt.Sprintf("http://h/%d.jpg", i)}))
	}
	if _, err := db.Put(ctx, put...); err != nil {
		t.Fatal(err)
	}
	r := &runner{cfg: &Config{}, db: db, ev: newEmitter(&eventLog{}), log: testLog{t}, owner: "pool-test"}

	var mu sync.Mutex
	prepared := map[int64]bool{}
	handled := map[int64]int{}
	var running, peak atomic.Int32
	prepare := func(_ context.Context, batch []store.Task) {
		mu.Lock()
		defer mu.Unlock()
		for _, t := range batch {
			prepared[t.ID] = true
		}
	}
	var maxLeased atomic.Int64
	handle := func(ctx context.Context, task store.Task) {
		if c, err := db.Counts(ctx); err == nil {
			l := int64(c[QueueDownload].Leased)
			for m := maxLeased.Load(); l > m && !maxLeased.CompareAndSwap(m, l); m = maxLeased.Load() {
			}
		}
		now := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
		}
		mu.Lock()
		if !prepared[task.ID] {
			t.Errorf("task %d handled before prepare saw it", task.ID)
		}
		handled[task.ID]++
		done := len(handled) == tasks
		mu.Unlock()
		time.Sleep(time.Millisecond)
		r.ack(ctx, task)
		if done {
			cancel()
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- r.pool(ctx, QueueDownload, n, ahead, handle, prepare) }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the pool did not return")
	}
	for id, k := range handled {
		if k != 1 {
			t.Errorf("task %d handled %d times", id, k)
		}
	}
	if len(handled) != tasks {
		t.Errorf("%d tasks handled of %d", len(handled), tasks)
	}
	if p := peak.Load(); p > int32(n) {
		t.Errorf("%d tasks ran at once, want at most %d", p, n)
	}
	if m := maxLeased.Load(); m > int64(n+ahead) || m <= int64(n) {
		t.Errorf("%d tasks leased at once, want more than %d and at most %d", m, n, n+ahead)
	}
	c, err := db.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c[QueueDownload].Done != tasks {
		t.Errorf("%d tasks acknowledged, want %d", c[QueueDownload].Done, tasks)
	}
}

// TestPoolWakes: an idle pool leases at once when it is woken, however long
// it would have waited for its next look.
func TestPoolWakes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openQueue(t)
	stdin, wakeIn := io.Pipe()
	defer wakeIn.Close()
	r := &runner{cfg: &Config{}, db: db, ev: newEmitter(&eventLog{}), log: testLog{t}, owner: "wake-test",
		wake: wakeups(stdin), idleCap: time.Hour}
	handled := make(chan string, 1)
	go r.pool(ctx, QueueDownload, 2, 4, func(ctx context.Context, task store.Task) {
		handled <- task.Key
		r.ack(ctx, task)
	}, nil)
	// The pool finds nothing and waits twice as long each time: its looks
	// come at about 1, 3, 7, ... 2047 ms, and the next at 4095 ms. Woken
	// at 2100 ms, it has 1.5 s to lease before the limit, and would not
	// look again until about 2 s later.
	time.Sleep(2100 * time.Millisecond)
	if _, err := db.Put(ctx, fileTask(FileTask{URL: "http://h/a.jpg"})); err != nil {
		t.Fatal(err)
	}
	if _, err := wakeIn.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	select {
	case key := <-handled:
		if key != "http://h/a.jpg" {
			t.Errorf("handled %s", key)
		}
	case <-time.After(1500 * time.Millisecond):
		t.Fatal("the woken pool did not lease the task before its next look")
	}
}

// openQueue opens a queue database of its own for t, closed with t.
func openQueue(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
