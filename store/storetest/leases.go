package storetest

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crawl/store"
)

// testRelease: released leases are ready again at once, from any handle;
// "" releases every lease.
func testRelease(t *testing.T, f *fixture) {
	b := f.open(stable)
	other := f.open(stable)
	put(t, b, tasks("q", "k0", "k1", "k2", "k3", "k4", "k5")...)
	a := leaseKeys(t, b, "q", 2, "A", "k0", "k1")
	leaseKeys(t, b, "q", 2, "B", "k2", "k3")

	release(t, other, "A", 2)
	release(t, other, "A", 0)
	release(t, b, "nobody", 0)
	wantCounts(t, b, "after A's release", map[string]store.QueueCounts{"q": {Ready: 4, Leased: 2}})
	c := lease(t, other, "q", 10, "C")
	if got := keys(c); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"k0", "k1", "k4", "k5"}) {
		t.Fatalf("C leased %q after A's release, want k0 k1 k4 k5", got)
	}
	// The old owner's ack counts, and so does the new owner's after it.
	ack(t, b, a[0].ID)
	ack(t, other, byKey(c)["k0"].ID)

	release(t, b, "", 5)
	release(t, b, "", 0)
	wantCounts(t, b, "after releasing every lease", map[string]store.QueueCounts{"q": {Ready: 5, Done: 1}})
	if d := lease(t, other, "q", 10, "D"); len(d) != 5 {
		t.Errorf("D leased %q after every lease was released, want 5 tasks", keys(d))
	}
}

// testLeaseExpiry: once its TTL has passed, a lease is taken over by the
// next Lease, before any ready task; its old owner's Ack still counts, and
// its Extend does not take it back. A lease that ran out but that no one
// took over yet is its owner's again after Extend.
func testLeaseExpiry(t *testing.T, f *fixture) {
	b := f.open(short)
	ttl := b.Timing().TTL
	put(t, b, tasks("q", "k0", "k1", "kd")...)
	old := leaseKeys(t, b, "q", 2, "B", "k0", "k1")
	leaseKeys(t, b, "q", 1, "D", "kd")
	put(t, b, tasks("q", "k2", "k3")...)
	sleepUntil(time.Now().Add(ttl + margin))

	c := leaseKeys(t, b, "q", 2, "C", "k0", "k1")
	ack(t, b, old[0].ID)
	ack(t, b, c[0].ID)
	if err := b.Extend(f.ctx, "B"); err != nil {
		t.Fatal(err)
	}
	revived := time.Now()
	if err := b.Extend(f.ctx, "D"); err != nil {
		t.Fatal(err)
	}
	got := byKey(lease(t, b, "q", 10, "C"))
	now := time.Now()
	if _, ok := got["k2"]; !ok || got["k3"].Key == "" {
		t.Errorf("C leased %q, want the ready k2 and k3 among them", keys(slices.Collect(maps.Values(got))))
	}
	release(t, b, "B", 0)
	if _, ok := got["kd"]; ok {
		takenEarly(t, "kd, extended after its lease ran out,", revived, now, ttl)
		release(t, b, "D", 0)
		release(t, b, "C", 4)
	} else {
		release(t, b, "D", 1)
		release(t, b, "C", 3)
	}
	wantCounts(t, b, "at the end", map[string]store.QueueCounts{"q": {Ready: 4, Done: 1}})
}

// testExtend: Extend keeps the leases of its owner for another TTL, and
// only those; an extended lease still runs out once its owner stops.
func testExtend(t *testing.T, f *fixture) {
	b := f.open(short)
	ttl := b.Timing().TTL
	put(t, b, tasks("q", "k0", "k1")...)
	start := time.Now()
	leaseKeys(t, b, "q", 1, "A", "k0")
	leaseKeys(t, b, "q", 1, "B", "k1")
	leased := time.Now()
	if got := lease(t, b, "q", 10, "C"); len(got) > 0 {
		takenEarly(t, fmt.Sprintf("%q, just leased,", keys(got)), start, time.Now(), ttl)
		return
	}

	sleepUntil(leased.Add(ttl / 2))
	extended := time.Now()
	if err := b.Extend(f.ctx, "A"); err != nil {
		t.Fatal(err)
	}
	if err := b.Extend(f.ctx, "nobody"); err != nil {
		t.Errorf("extend of an owner without leases: %v", err)
	}
	sleepUntil(leased.Add(ttl + margin))
	got := byKey(lease(t, b, "q", 10, "C"))
	now := time.Now()
	if _, ok := got["k1"]; !ok {
		t.Errorf("C leased %q once B's lease had run out, want k1 among them", keys(slices.Collect(maps.Values(got))))
	}
	if _, ok := got["k0"]; ok {
		takenEarly(t, "k0, extended,", extended, now, ttl)
	} else {
		// A stopped extending: k0 runs out too.
		deadline := time.Now().Add(patience)
		for len(got) < 2 && time.Now().Before(deadline) {
			time.Sleep(b.Timing().Heartbeat)
			for _, task := range lease(t, b, "q", 10, "C") {
				got[task.Key] = task
			}
		}
		if _, ok := got["k0"]; !ok {
			t.Fatalf("an extended lease did not run out within %v after its owner stopped", patience)
		}
	}
	// A's Extend does not take k0 back from C.
	if err := b.Extend(f.ctx, "A"); err != nil {
		t.Fatal(err)
	}
	release(t, b, "A", 0)
	release(t, b, "C", 2)
}

// testDeadWorker: the leases of a worker that died (its handle closed,
// its heartbeat stopped) come back after the TTL, while a live worker
// that keeps extending keeps its own.
func testDeadWorker(t *testing.T, f *fixture) {
	live := f.open(short)
	other := f.open(short)
	ttl, beat := live.Timing().TTL, live.Timing().Heartbeat
	put(t, live, tasks("q", "d0", "d1", "d2", "l0", "l1", "l2")...)

	dead := f.crawl(t, short)
	deadFrom := time.Now()
	leaseKeys(t, dead, "q", 3, "dead", "d0", "d1", "d2")
	if err := dead.Close(); err != nil {
		t.Fatal(err)
	}

	// lastBeat holds when the last Extend that returned began (Unix ns).
	var lastBeat atomic.Int64
	lastBeat.Store(time.Now().UnixNano())
	mine := leaseKeys(t, live, "q", 3, "live", "l0", "l1", "l2")
	ctx, stop := context.WithCancel(f.ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(beat)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				began := time.Now()
				if err := live.Extend(ctx, "live"); err != nil {
					if ctx.Err() == nil {
						t.Errorf("heartbeat: %v", err)
					}
					return
				}
				lastBeat.Store(began.UnixNano())
			}
		}
	})
	defer wg.Wait()
	defer stop()

	taken := map[string]bool{}
	deadline := time.Now().Add(patience)
	for !(taken["d0"] && taken["d1"] && taken["d2"]) {
		if time.Now().After(deadline) {
			t.Fatalf("the dead worker's leases did not come back within %v (taken: %v)", patience, taken)
		}
		time.Sleep(beat)
		beatFrom := time.Unix(0, lastBeat.Load())
		got := lease(t, other, "q", 10, "other")
		now := time.Now()
		for _, task := range got {
			taken[task.Key] = true
			switch task.Key[0] {
			case 'd':
				if now.Sub(deadFrom) < ttl {
					t.Errorf("the dead worker's %s was taken over %v after it was leased, before its TTL of %v", task.Key, now.Sub(deadFrom), ttl)
				}
			case 'l':
				takenEarly(t, "the live worker's "+task.Key, beatFrom, now, ttl)
			}
		}
	}
	stop()
	wg.Wait()
	for _, task := range mine {
		ack(t, live, task.ID)
	}
	wantCounts(t, other, "at the end", map[string]store.QueueCounts{"q": {Leased: 3, Done: 3}})
}

// testConcurrentLeasers: goroutines leasing through two handles at once,
// acking and releasing, never hold one task at the same time, and every
// task ends done once.
func testConcurrentLeasers(t *testing.T, f *fixture) {
	hs := []store.Backend{f.open(stable), f.open(stable)}
	const n, workers = 240, 6
	var ts []store.Task
	for i := range n {
		ts = append(ts, store.Task{Queue: "download", Key: fmt.Sprint(i)})
	}
	put(t, hs[0], ts...)

	ctx, cancel := context.WithTimeout(f.ctx, time.Minute)
	defer cancel()
	var mu sync.Mutex
	held := map[int64]string{} // task → the owner holding it now
	acked := map[string]int{}  // key → times acked
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			if err := leaser(ctx, hs[w%2], fmt.Sprintf("w%d", w), uint64(w), &mu, held, acked); err != nil {
				t.Error(err)
				cancel()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(acked) != n {
		t.Errorf("%d tasks acked, want %d", len(acked), n)
	}
	for k, c := range acked {
		if c != 1 {
			t.Errorf("task %s acked %d times", k, c)
		}
	}
	wantCounts(t, hs[1], "at the end", map[string]store.QueueCounts{"download": {Done: n}})
}

// leaser leases from the download queue until it is drained, and acks
// what it leased, or now and then releases it. held and acked, guarded by
// mu, are shared by every leaser.
func leaser(ctx context.Context, b store.Backend, owner string, seed uint64, mu *sync.Mutex, held map[int64]string, acked map[string]int) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: the queue was not drained in time: %w", owner, err)
		}
		got, err := b.Lease(ctx, "download", 1+rng.IntN(8), owner)
		if err != nil {
			return err
		}
		if len(got) == 0 {
			c, err := b.Counts(ctx)
			if err != nil {
				return err
			}
			if c["download"].Ready == 0 && c["download"].Leased == 0 {
				return nil
			}
			time.Sleep(5 * time.Millisecond) // others still hold tasks
			continue
		}
		mu.Lock()
		for _, task := range got {
			if o, ok := held[task.ID]; ok {
				mu.Unlock()
				return fmt.Errorf("task %s leased by %s while %s holds it", task.Key, owner, o)
			}
			held[task.ID] = owner
		}
		mu.Unlock()
		giveBack := rng.IntN(10) == 0
		mu.Lock() // let go of them before the queue can hand them out again
		for _, task := range got {
			delete(held, task.ID)
			if !giveBack {
				acked[task.Key]++
			}
		}
		mu.Unlock()
		if giveBack {
			n, err := b.Release(ctx, owner)
			if err != nil {
				return err
			}
			if n != len(got) {
				return fmt.Errorf("%s released %d leases, want the %d it held", owner, n, len(got))
			}
			continue
		}
		for _, task := range got {
			if err := b.Ack(ctx, task.ID); err != nil {
				return err
			}
		}
	}
}

// testCountsSnapshot: Counts is one snapshot: while tasks are acked with
// their follow-ups, no snapshot shows a task done without its follow-ups.
func testCountsSnapshot(t *testing.T, f *fixture) {
	writer := f.open(stable)
	reader := f.open(stable)
	const pages, per = 60, 3
	var ts []store.Task
	for i := range pages {
		ts = append(ts, store.Task{Queue: "list", Key: fmt.Sprint(i)})
	}
	put(t, writer, ts...)

	ctx, cancel := context.WithCancel(f.ctx)
	errc := make(chan error, 1)
	defer func() {
		cancel()
		for range errc { // wait for the writer to stop
		}
	}()
	go func() {
		defer close(errc)
		for {
			got, err := writer.Lease(ctx, "list", 5, "writer")
			if err != nil || len(got) == 0 {
				errc <- err
				return
			}
			for _, task := range got {
				var next []store.Task
				for j := range per {
					next = append(next, store.Task{Queue: "download", Key: fmt.Sprintf("%s/%d", task.Key, j)})
				}
				if err := writer.Ack(ctx, task.ID, next...); err != nil {
					errc <- err
					return
				}
			}
		}
	}()
	check := func(c map[string]store.QueueCounts) bool {
		l, d := c["list"], c["download"]
		if l.Ready+l.Leased+l.Done+l.Failed != pages || d.Ready+d.Leased+d.Done+d.Failed != per*l.Done {
			t.Errorf("counts %+v: not one snapshot of %d pages with %d follow-ups for each page done", c, pages, per)
			return false
		}
		return true
	}
	snapshots, bad := 0, false
	for running := true; running; snapshots++ {
		select {
		case err := <-errc:
			if err != nil {
				t.Error(err)
			}
			running = false
		default:
		}
		if c := counts(t, reader); !bad && !check(c) {
			bad = true
		}
	}
	t.Logf("%d snapshots", snapshots)
	wantCounts(t, reader, "at the end", map[string]store.QueueCounts{"list": {Done: pages}, "download": {Ready: pages * per}})
}
