package storetest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"crawl/store"
)

// testPutDedupe: Put adds tasks atomically and skips keys seen in this
// generation, whatever state their task is in.
func testPutDedupe(t *testing.T, f *fixture) {
	b := f.open(stable)
	many := make([]store.Task, 1500)
	for i := range many {
		many[i] = store.Task{Queue: "bulk", Key: fmt.Sprintf("http://h/%d.jpg", i)}
	}
	steps := []struct {
		name    string
		tasks   []store.Task
		added   int
		wantErr bool
	}{
		{"first", tasks("list", "p1", "p2"), 2, false},
		{"again", tasks("list", "p1"), 0, false},
		{"same key in another queue", tasks("parse", "p1"), 1, false},
		{"twice in one call", tasks("download", "u", "u"), 1, false},
		{"nothing", nil, 0, false},
		{"an empty key fails the whole call", tasks("list", "p3", ""), 0, true},
		{"an empty queue", tasks("", "x"), 0, true},
		{"what the failed call held", tasks("list", "p3"), 1, false},
		{"keys are case-sensitive", tasks("list", "P1"), 1, false},
		{"keys are any text", tasks("list", "http://h/图 片.jpg?a=1&b=:2"), 1, false},
		{"many in one call", many, len(many), false},
	}
	for _, s := range steps {
		added, err := b.Put(f.ctx, s.tasks...)
		if (err != nil) != s.wantErr {
			t.Fatalf("%s: err = %v, want an error: %v", s.name, err, s.wantErr)
		}
		if added != s.added {
			t.Errorf("%s: added %d, want %d", s.name, added, s.added)
		}
	}
	wantCounts(t, b, "after the puts", map[string]store.QueueCounts{
		"list": {Ready: 5}, "parse": {Ready: 1}, "download": {Ready: 1}, "bulk": {Ready: len(many)},
	})

	// A key stays seen whatever becomes of its task.
	l := leaseKeys(t, b, "list", 3, "A", "p1", "p2", "p3")
	ack(t, b, l[0].ID)
	fail(t, b, l[1].ID, "http://h/p2", "gone", "seed")
	for _, tt := range []struct{ state, key string }{
		{"done", "p1"}, {"failed", "p2"}, {"leased", "p3"}, {"ready", "P1"},
	} {
		if n, err := b.Put(f.ctx, tasks("list", tt.key)...); err != nil || n != 0 {
			t.Errorf("put of the key of a %s task: added %d, %v; want 0", tt.state, n, err)
		}
	}
}

// testLease: Lease hands out ready tasks in the order they were put, with
// their data, each to one owner, and never blocks.
func testLease(t *testing.T, f *fixture) {
	b := f.open(stable)
	var ts []store.Task
	for i := range 5 {
		ts = append(ts, store.Task{Queue: "download", Key: fmt.Sprintf("u%d", i), Data: []byte{byte(i), 0, 0xff}})
	}
	ts = append(ts, store.Task{Queue: "download", Key: "nil data"}, store.Task{Queue: "download", Key: "empty data", Data: []byte{}})
	put(t, b, ts...)
	put(t, b, tasks("parse", "u0")...)

	a := leaseKeys(t, b, "download", 2, "A", "u0", "u1")
	for i, task := range a {
		if task.Queue != "download" || task.ID <= 0 || !slices.Equal(task.Data, []byte{byte(i), 0, 0xff}) {
			t.Errorf("leased %+v, want queue download, a positive ID and data %v", task, []byte{byte(i), 0, 0xff})
		}
	}
	bb := leaseKeys(t, b, "download", 10, "B", "u2", "u3", "u4", "nil data", "empty data")
	for _, task := range bb[3:] {
		if len(task.Data) != 0 {
			t.Errorf("%q leased with data %q, want none", task.Key, task.Data)
		}
	}
	p := leaseKeys(t, b, "parse", 10, "A", "u0")

	// IDs come in order within a Lease, and name one task across queues.
	all := ids(slices.Concat(a, bb, p))
	for _, batch := range [][]store.Task{a, bb} {
		if !slices.IsSorted(ids(batch)) {
			t.Errorf("lease returned IDs %v, want them in order", ids(batch))
		}
	}
	seen := map[int64]bool{}
	for _, id := range all {
		if seen[id] {
			t.Errorf("ID %d names two tasks: %v", id, all)
		}
		seen[id] = true
	}

	for _, tt := range []struct {
		name, queue string
		max         int
	}{
		{"an empty queue", "download", 10},
		{"a queue that never had a task", "never", 10},
		{"max 0", "parse", 0},
		{"a negative max", "parse", -1},
	} {
		got, err := b.Lease(f.ctx, tt.queue, tt.max, "C")
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("lease of %s: %v, %v; want an empty slice", tt.name, got, err)
		}
	}
	if got, err := b.Lease(f.ctx, "download", 1, ""); err == nil {
		t.Errorf("lease for an empty owner: %v, want an error", got)
	}
	wantCounts(t, b, "all leased", map[string]store.QueueCounts{"download": {Leased: 7}, "parse": {Leased: 1}})
}

// testLeaseAckFail: a task ends done or failed, and then is not handed
// out again.
func testLeaseAckFail(t *testing.T, f *fixture) {
	b := f.open(stable)
	put(t, b, tasks("download", "u0", "u1", "u2", "u3")...)
	put(t, b, tasks("parse", "other")...)
	l := leaseKeys(t, b, "download", 4, "A", "u0", "u1", "u2", "u3")
	wantCounts(t, b, "all leased", map[string]store.QueueCounts{"download": {Leased: 4}, "parse": {Ready: 1}})
	ack(t, b, l[0].ID)
	fail(t, b, l[1].ID, "http://x/u1", "http 404 Not Found", "http://x/page")
	wantCounts(t, b, "after an ack and a fail", map[string]store.QueueCounts{
		"download": {Leased: 2, Done: 1, Failed: 1}, "parse": {Ready: 1},
	})
	want := []store.Failure{{Queue: "download", URL: "http://x/u1", Reason: "http 404 Not Found", Source: "http://x/page"}}
	if fs := failures(t, b); !slices.Equal(fs, want) {
		t.Errorf("failures %+v, want %+v", fs, want)
	}
	leaseKeys(t, b, "download", 10, "B")
	ack(t, b, l[2].ID)
	ack(t, b, l[3].ID)
	wantCounts(t, b, "all finished", map[string]store.QueueCounts{
		"download": {Done: 3, Failed: 1}, "parse": {Ready: 1},
	})
	leaseKeys(t, b, "download", 10, "B")
}

// testFinishedTasks: what Ack, AckFile and Fail do to a task that is done
// or failed already, or that another owner holds.
func testFinishedTasks(t *testing.T, f *fixture) {
	b := f.open(stable)
	put(t, b, tasks("q", "done", "failed", "failed then acked", "held by B")...)
	l := leaseKeys(t, b, "q", 3, "A", "done", "failed", "failed then acked")
	bl := leaseKeys(t, b, "q", 1, "B", "held by B")
	done, failed, failedThenAcked, heldByB := l[0].ID, l[1].ID, l[2].ID, bl[0].ID
	ack(t, b, done)
	fail(t, b, failed, "http://h/f", "gone", "s")
	fail(t, b, failedThenAcked, "http://h/fa", "gone", "s")

	steps := []struct {
		name string
		op   func() error
	}{
		{"ack of a done task", func() error { return b.Ack(f.ctx, done) }},
		{"ack with next of a done task", func() error { return b.Ack(f.ctx, done, tasks("next", "n1")...) }},
		{"fail of a done task", func() error { return b.Fail(f.ctx, done, "http://h/d", "late", "s") }},
		{"ack file of a done task", func() error {
			return b.AckFile(f.ctx, done, store.File{URL: "http://h/d", Path: "d.jpg", Bytes: 1})
		}},
		{"fail of a failed task again", func() error { return b.Fail(f.ctx, failed, "http://h/f2", "gone for good", "s2") }},
		{"ack of a failed task", func() error { return b.Ack(f.ctx, failedThenAcked) }},
		{"ack of a task another owner holds", func() error { return b.Ack(f.ctx, heldByB) }},
	}
	for _, s := range steps {
		if err := s.op(); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
	}
	wantCounts(t, b, "after the steps", map[string]store.QueueCounts{
		"q": {Done: 3, Failed: 1}, "next": {Ready: 1},
	})
	want := []store.Failure{{Queue: "q", URL: "http://h/f2", Reason: "gone for good", Source: "s2"}}
	if fs := failures(t, b); !slices.Equal(fs, want) {
		t.Errorf("failures %+v, want %+v", fs, want)
	}
	if rec, ok := fileByURL(t, b, "http://h/d"); !ok || rec.Path != "d.jpg" {
		t.Errorf("record of the done task acked with a file: %+v, %v", rec, ok)
	}
	leaseKeys(t, b, "q", 10, "C")
}

// testUnknownIDs: an ID that names no task is ErrNoTask for every call
// that takes one, and nothing is stored.
func testUnknownIDs(t *testing.T, f *fixture) {
	b := f.open(stable)
	put(t, b, tasks("q", "a")...)
	leaseKeys(t, b, "q", 1, "A", "a")
	ops := []struct {
		name string
		op   func(id int64) error
	}{
		{"ack", func(id int64) error { return b.Ack(f.ctx, id) }},
		{"ack with next", func(id int64) error { return b.Ack(f.ctx, id, tasks("q", "next")...) }},
		{"ack file", func(id int64) error {
			return b.AckFile(f.ctx, id, store.File{URL: "http://h/x", Path: "x.jpg"})
		}},
		{"ack files", func(id int64) error {
			errs, err := b.AckFiles(f.ctx, []store.FileAck{{ID: id, File: store.File{URL: "http://h/y", Path: "y.jpg"}}})
			if err != nil {
				return fmt.Errorf("the whole batch failed: %w", err)
			}
			return errs[0]
		}},
		{"fail", func(id int64) error { return b.Fail(f.ctx, id, "http://h/z", "r", "s") }},
	}
	for _, id := range []int64{0, -1, math.MaxInt64} {
		for _, o := range ops {
			if err := o.op(id); !errors.Is(err, store.ErrNoTask) {
				t.Errorf("%s of ID %d: %v, want ErrNoTask", o.name, id, err)
			}
		}
	}
	wantCounts(t, b, "after the calls", map[string]store.QueueCounts{"q": {Leased: 1}})
	if fs := failures(t, b); len(fs) != 0 {
		t.Errorf("failures %+v, want none", fs)
	}
	if fs := files(t, b); len(fs) != 0 {
		t.Errorf("file records %+v, want none", fs)
	}
}

// testAckWithNextIsAtomic: Ack marks the task done and puts its follow-ups
// in one step, or does neither.
func testAckWithNextIsAtomic(t *testing.T, f *fixture) {
	b := f.open(stable)
	put(t, b, store.Task{Queue: "list", Key: "page1"}, store.Task{Queue: "parse", Key: "seen"})
	l := leaseKeys(t, b, "list", 1, "A", "page1")

	// A bad follow-up: nothing happens, the task stays leased.
	bad := []store.Task{{Queue: "parse", Key: "d1"}, {Queue: "download", Key: "img"}, {Queue: "parse"}}
	if err := b.Ack(f.ctx, l[0].ID, bad...); err == nil {
		t.Fatal("ack with a follow-up without a key succeeded")
	}
	wantCounts(t, b, "after a failed ack", map[string]store.QueueCounts{"list": {Leased: 1}, "parse": {Ready: 1}})

	// Good ones: the task is done and its follow-ups are there (in a new
	// queue too); the seen one is skipped.
	next := []store.Task{{Queue: "parse", Key: "d1", Data: []byte("x")}, {Queue: "download", Key: "img"},
		{Queue: "parse", Key: "d2"}, {Queue: "parse", Key: "seen"}}
	ack(t, b, l[0].ID, next...)
	wantCounts(t, b, "after the ack", map[string]store.QueueCounts{
		"list": {Done: 1}, "parse": {Ready: 3}, "download": {Ready: 1},
	})
	p := leaseKeys(t, b, "parse", 10, "A", "seen", "d1", "d2")
	if string(p[1].Data) != "x" {
		t.Errorf("follow-up leased with data %q, want %q", p[1].Data, "x")
	}

	// Acking it again (another owner finished it too) counts it once and
	// still puts the follow-ups.
	ack(t, b, l[0].ID, tasks("parse", "d2", "d3")...)
	wantCounts(t, b, "after a second ack", map[string]store.QueueCounts{
		"list": {Done: 1}, "parse": {Ready: 1, Leased: 3}, "download": {Ready: 1},
	})
}

// testConcurrentAcks: acks with follow-ups that goroutines of one process
// make at once (a page stage's workers) each come out as they would alone,
// however the backend stores them: a task acked twice puts its follow-ups
// again, one that is gone is ErrNoTask and puts nothing, a follow-up
// without a key fails only its own ack, and a key that several put is
// there once.
func testConcurrentAcks(t *testing.T, f *fixture) {
	b := f.open(stable)
	const n = 40
	var pages []store.Task
	for i := range n {
		pages = append(pages, store.Task{Queue: "list", Key: fmt.Sprint("page", i)})
	}
	put(t, b, pages...)
	l := lease(t, b, "list", n, "A")
	if len(l) != n {
		t.Fatalf("leased %d pages, want %d", len(l), n)
	}
	ack(t, b, l[0].ID) // acked once already: acked again below

	type call struct {
		id   int64
		next []store.Task
	}
	calls := make([]call, 0, n+1)
	for i, p := range l {
		next := tasks("parse", fmt.Sprint("d", i, "a"), fmt.Sprint("d", i, "b"), "shared")
		if i == 1 {
			next = append(next, store.Task{Queue: "parse"}) // no key
		}
		calls = append(calls, call{p.ID, next})
	}
	gone := l[n-1].ID + 1000
	calls = append(calls, call{gone, tasks("parse", "ghost")})

	errs := make([]error, len(calls))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			<-start
			errs[i] = b.Ack(f.ctx, c.id, c.next...)
		})
	}
	close(start)
	wg.Wait()

	for i, err := range errs {
		switch {
		case i == 1:
			if err == nil || errors.Is(err, store.ErrNoTask) {
				t.Errorf("ack with a follow-up without a key: %v, want an error other than ErrNoTask", err)
			}
		case calls[i].id == gone:
			if !errors.Is(err, store.ErrNoTask) {
				t.Errorf("ack of an unknown ID: %v, want ErrNoTask", err)
			}
		case err != nil:
			t.Errorf("ack of task %d: %v", calls[i].id, err)
		}
	}
	// Every page but the one with the bad follow-up is done; the follow-ups
	// of the others are there, "shared" once, none of the bad ack's nor
	// the unknown ID's.
	wantCounts(t, b, "after the acks", map[string]store.QueueCounts{
		"list": {Done: n - 1, Leased: 1}, "parse": {Ready: 2*(n-1) + 1},
	})
	got := map[string]bool{}
	for _, d := range lease(t, b, "parse", 3*n, "B") {
		got[d.Key] = true
	}
	for _, k := range []string{"d1a", "d1b", "ghost"} {
		if got[k] {
			t.Errorf("follow-up %s was put", k)
		}
	}
	for _, k := range []string{"d0a", "d0b", "d2a", "shared", fmt.Sprint("d", n-1, "b")} {
		if !got[k] {
			t.Errorf("follow-up %s is missing", k)
		}
	}
}

// testRestart: Restart forgets the finished tasks of its queues and keeps
// everything else.
func testRestart(t *testing.T, f *fixture) {
	b := f.open(stable)
	put(t, b, tasks("list", "done", "failed", "leased", "ready")...)
	put(t, b, tasks("download", "done")...)
	l := leaseKeys(t, b, "list", 3, "A", "done", "failed", "leased")
	done, failed, leased := l[0].ID, l[1].ID, l[2].ID
	ack(t, b, done)
	fail(t, b, failed, "http://h/failed", "gone", "s")
	d := leaseKeys(t, b, "download", 1, "A", "done")
	rec := store.File{URL: "http://h/1.jpg", Path: "1.jpg", Bytes: 1, SHA256: "ab", ContentType: "image/jpeg", Source: "done"}
	if err := b.AckFile(f.ctx, d[0].ID, rec); err != nil {
		t.Fatal(err)
	}
	if err := b.SetMeta(f.ctx, "state", "complete"); err != nil {
		t.Fatal(err)
	}

	if err := b.Restart(f.ctx, "list"); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, b, "after a restart of list", map[string]store.QueueCounts{
		"list": {Ready: 1, Leased: 1}, "download": {Done: 1},
	})
	if fs := failures(t, b); len(fs) != 0 {
		t.Errorf("failures after the restart: %+v, want none", fs)
	}

	// The finished tasks are forgotten.
	for _, tt := range []struct {
		name string
		op   func() error
	}{
		{"ack of the done task", func() error { return b.Ack(f.ctx, done) }},
		{"fail of the done task", func() error { return b.Fail(f.ctx, done, "u", "r", "s") }},
		{"ack file of the done task", func() error {
			return b.AckFile(f.ctx, done, store.File{URL: "http://h/2.jpg", Path: "2.jpg"})
		}},
		{"ack of the failed task", func() error { return b.Ack(f.ctx, failed) }},
		{"fail of the failed task", func() error { return b.Fail(f.ctx, failed, "u", "r", "s") }},
	} {
		if err := tt.op(); !errors.Is(err, store.ErrNoTask) {
			t.Errorf("%s: %v, want ErrNoTask", tt.name, err)
		}
	}

	// The leased task stays, under its ID: it can end done, and then it
	// is done like any other.
	for _, tt := range []struct {
		name string
		op   func() error
	}{
		{"ack of the leased task", func() error { return b.Ack(f.ctx, leased) }},
		{"ack of it again", func() error { return b.Ack(f.ctx, leased) }},
		{"fail of it", func() error { return b.Fail(f.ctx, leased, "u", "late", "s") }},
	} {
		if err := tt.op(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	wantCounts(t, b, "after the leased task ended", map[string]store.QueueCounts{
		"list": {Ready: 1, Done: 1}, "download": {Done: 1},
	})

	// The keys of the forgotten tasks may be put again; those that stayed
	// stay seen; other queues are untouched.
	for _, tt := range []struct {
		queue, key string
		added      int
	}{
		{"list", "done", 1}, {"list", "failed", 1}, {"list", "leased", 0}, {"list", "ready", 0}, {"download", "done", 0},
	} {
		if n, err := b.Put(f.ctx, tasks(tt.queue, tt.key)...); err != nil || n != tt.added {
			t.Errorf("put of %s %q after the restart: added %d, %v; want %d", tt.queue, tt.key, n, err, tt.added)
		}
	}

	// Records and meta stay.
	if got, ok := fileByURL(t, b, rec.URL); !ok || got != rec {
		t.Errorf("record after the restart: %+v, %v; want %+v", got, ok, rec)
	}
	if v, err := b.Meta(f.ctx, "state"); err != nil || v != "complete" {
		t.Errorf("meta after the restart: %q, %v", v, err)
	}

	// Every queue; a queue that never had a task is no error.
	if err := b.Restart(f.ctx); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, b, "after a restart of every queue", map[string]store.QueueCounts{"list": {Ready: 3}})
	if n, err := b.Put(f.ctx, tasks("download", "done")...); err != nil || n != 1 {
		t.Errorf("put after a restart of every queue: added %d, %v; want 1", n, err)
	}
	if err := b.Restart(f.ctx, "no such queue"); err != nil {
		t.Errorf("restart of a queue that never had a task: %v", err)
	}
	if got, ok := fileByURL(t, b, rec.URL); !ok || got != rec {
		t.Errorf("record after the second restart: %+v, %v; want %+v", got, ok, rec)
	}
}

// testIDsNeverReused: a task put again after Restart gets a new ID, and
// the old one stays forgotten.
func testIDsNeverReused(t *testing.T, f *fixture) {
	b := f.open(stable)
	put(t, b, tasks("q", "a", "b")...)
	old := leaseKeys(t, b, "q", 2, "A", "a", "b")
	ack(t, b, old[0].ID)
	fail(t, b, old[1].ID, "http://h/b", "gone", "s")
	if err := b.Restart(f.ctx); err != nil {
		t.Fatal(err)
	}
	put(t, b, tasks("q", "a", "b")...)
	again := leaseKeys(t, b, "q", 2, "A", "a", "b")
	for _, task := range again {
		if slices.Contains(ids(old), task.ID) {
			t.Errorf("%q put again got the ID %d of a forgotten task", task.Key, task.ID)
		}
	}
	for _, o := range old {
		if err := b.Ack(f.ctx, o.ID); !errors.Is(err, store.ErrNoTask) {
			t.Errorf("ack of the forgotten ID of %q: %v, want ErrNoTask", o.Key, err)
		}
	}
	wantCounts(t, b, "after the acks of forgotten IDs", map[string]store.QueueCounts{"q": {Leased: 2}})
}

// testMeta: Meta reads what SetMeta stored, through any handle.
func testMeta(t *testing.T, f *fixture) {
	b := f.open(stable)
	steps := []struct{ key, set, want string }{
		{"job", "", ""},
		{"job", "crawl-1", "crawl-1"},
		{"job", "crawl-2", "crawl-2"},
		{"命令", "crawl --pages 1-5\n--out 下载", "crawl --pages 1-5\n--out 下载"},
	}
	for _, s := range steps {
		if s.set != "" {
			if err := b.SetMeta(f.ctx, s.key, s.set); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := b.Meta(f.ctx, s.key); err != nil || got != s.want {
			t.Errorf("Meta(%q) = %q, %v; want %q", s.key, got, err, s.want)
		}
	}
	other := f.open(stable)
	if got, err := other.Meta(f.ctx, "job"); err != nil || got != "crawl-2" {
		t.Errorf("meta through a second handle: %q, %v", got, err)
	}
	if err := other.SetMeta(f.ctx, "job", "crawl-3"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Meta(f.ctx, "job"); err != nil || got != "crawl-3" {
		t.Errorf("meta set through a second handle: %q, %v", got, err)
	}
}

// testUpdateMeta: concurrent updates of one key through two handles lose
// none of one another's changes, and a failed update stores nothing.
func testUpdateMeta(t *testing.T, f *fixture) {
	handles := []store.Backend{f.open(stable), f.open(stable)}
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for range each {
				errs <- handles[w%2].UpdateMeta(f.ctx, "count", func(old string) (string, error) {
					n := 0
					if old != "" {
						var err error
						if n, err = strconv.Atoi(old); err != nil {
							return "", err
						}
					}
					return strconv.Itoa(n + 1), nil
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, err := handles[0].Meta(f.ctx, "count"); err != nil || got != strconv.Itoa(workers*each) {
		t.Errorf("count after %d updates: %q, %v", workers*each, got, err)
	}
	boom := errors.New("boom")
	err := handles[1].UpdateMeta(f.ctx, "count", func(string) (string, error) { return "lost", boom })
	if !errors.Is(err, boom) {
		t.Errorf("failed update: %v, want it to wrap %v", err, boom)
	}
	if got, _ := handles[0].Meta(f.ctx, "count"); got != strconv.Itoa(workers*each) {
		t.Errorf("a failed update stored %q", got)
	}
}

// testFailuresOrder: Failures come in the order their tasks were first
// put, across queues, whatever the order they failed in.
func testFailuresOrder(t *testing.T, f *fixture) {
	b := f.open(stable)
	put(t, b, store.Task{Queue: "list", Key: "p1"}, store.Task{Queue: "download", Key: "u1"},
		store.Task{Queue: "list", Key: "p2"}, store.Task{Queue: "download", Key: "u2"})
	l := byKey(leaseKeys(t, b, "list", 2, "A", "p1", "p2"))
	d := byKey(leaseKeys(t, b, "download", 2, "A", "u1", "u2"))
	put(t, b, tasks("list", "p3")...)
	p3 := leaseKeys(t, b, "list", 1, "A", "p3")[0]
	for _, task := range []store.Task{p3, d["u2"], l["p2"], l["p1"], d["u1"]} {
		fail(t, b, task.ID, "http://h/"+task.Key, "reason "+task.Key, "src")
	}
	order := func() []string {
		var out []string
		for _, f := range failures(t, b) {
			out = append(out, f.Queue+":"+f.URL+":"+f.Reason)
		}
		return out
	}
	want := []string{"list:http://h/p1:reason p1", "download:http://h/u1:reason u1", "list:http://h/p2:reason p2",
		"download:http://h/u2:reason u2", "list:http://h/p3:reason p3"}
	if got := order(); !slices.Equal(got, want) {
		t.Errorf("failures %q, want %q", got, want)
	}
	// Failed again, a task keeps its place; acked, it leaves.
	fail(t, b, l["p2"].ID, "http://h/p2", "again", "src")
	ack(t, b, d["u1"].ID)
	want = []string{"list:http://h/p1:reason p1", "list:http://h/p2:again", "download:http://h/u2:reason u2", "list:http://h/p3:reason p3"}
	if got := order(); !slices.Equal(got, want) {
		t.Errorf("failures after a fail again and an ack: %q, want %q", got, want)
	}
}

// testTiming: Timing is the timing the backend was opened with.
func testTiming(t *testing.T, f *fixture) {
	for _, tt := range []struct {
		name     string
		in, want store.LeaseTiming
	}{
		{"both set", store.LeaseTiming{TTL: 1500 * time.Millisecond, Heartbeat: 100 * time.Millisecond},
			store.LeaseTiming{TTL: 1500 * time.Millisecond, Heartbeat: 100 * time.Millisecond}},
		{"heartbeat a quarter of the TTL", store.LeaseTiming{TTL: 2 * time.Second},
			store.LeaseTiming{TTL: 2 * time.Second, Heartbeat: 500 * time.Millisecond}},
	} {
		if got := f.open(tt.in).Timing(); got != tt.want {
			t.Errorf("%s: Timing() = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if d := f.open(store.LeaseTiming{}).Timing(); d.TTL <= 0 || d.Heartbeat <= 0 || d.Heartbeat >= d.TTL {
		t.Errorf("default Timing() = %+v, want a TTL and a shorter heartbeat", d)
	}
}
