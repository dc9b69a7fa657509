package storetest

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"crawl/store"
)

// tasks returns a task of queue for each key, without data.
func tasks(queue string, keys ...string) []store.Task {
	ts := make([]store.Task, len(keys))
	for i, k := range keys {
		ts[i] = store.Task{Queue: queue, Key: k}
	}
	return ts
}

// put puts ts and fails t unless every one was added.
func put(t *testing.T, b store.Backend, ts ...store.Task) {
	t.Helper()
	n, err := b.Put(context.Background(), ts...)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if n != len(ts) {
		t.Fatalf("put %d tasks: %d added", len(ts), n)
	}
}

// lease leases up to max tasks of queue for owner.
func lease(t *testing.T, b store.Backend, queue string, max int, owner string) []store.Task {
	t.Helper()
	got, err := b.Lease(context.Background(), queue, max, owner)
	if err != nil {
		t.Fatalf("lease %d from %q for %s: %v", max, queue, owner, err)
	}
	return got
}

// leaseKeys leases up to max tasks of queue for owner and fails t unless
// they are the tasks of want, in that order.
func leaseKeys(t *testing.T, b store.Backend, queue string, max int, owner string, want ...string) []store.Task {
	t.Helper()
	got := lease(t, b, queue, max, owner)
	if k := keys(got); !slices.Equal(k, want) {
		t.Fatalf("%s leased %q from %q, want %q", owner, k, queue, want)
	}
	return got
}

// ack acknowledges id with next and fails t if that fails.
func ack(t *testing.T, b store.Backend, id int64, next ...store.Task) {
	t.Helper()
	if err := b.Ack(context.Background(), id, next...); err != nil {
		t.Fatalf("ack: %v", err)
	}
}

// fail fails id and fails t if that fails.
func fail(t *testing.T, b store.Backend, id int64, url, reason, source string) {
	t.Helper()
	if err := b.Fail(context.Background(), id, url, reason, source); err != nil {
		t.Fatalf("fail: %v", err)
	}
}

// release releases owner's leases and fails t unless there were want.
func release(t *testing.T, b store.Backend, owner string, want int) {
	t.Helper()
	n, err := b.Release(context.Background(), owner)
	if err != nil {
		t.Fatalf("release %q: %v", owner, err)
	}
	if n != want {
		t.Fatalf("release %q: %d leases, want %d", owner, n, want)
	}
}

// counts returns the counts of every queue.
func counts(t *testing.T, b store.Backend) map[string]store.QueueCounts {
	t.Helper()
	c, err := b.Counts(context.Background())
	if err != nil {
		t.Fatalf("counts: %v", err)
	}
	return c
}

// wantCounts fails t unless the counts are want exactly (queues absent
// from want must be absent).
func wantCounts(t *testing.T, b store.Backend, step string, want map[string]store.QueueCounts) {
	t.Helper()
	if got := counts(t, b); !maps.Equal(got, want) {
		t.Fatalf("%s: counts %+v, want %+v", step, got, want)
	}
}

// failures returns the failures.
func failures(t *testing.T, b store.Backend) []store.Failure {
	t.Helper()
	fs, err := b.Failures(context.Background())
	if err != nil {
		t.Fatalf("failures: %v", err)
	}
	return fs
}

// fileByURL returns the record of url, and whether there is one.
func fileByURL(t *testing.T, b store.Backend, url string) (store.File, bool) {
	t.Helper()
	f, ok, err := b.FileByURL(context.Background(), url)
	if err != nil {
		t.Fatalf("file by URL %s: %v", url, err)
	}
	return f, ok
}

// files returns every file record.
func files(t *testing.T, b store.Backend) []store.File {
	t.Helper()
	var fs []store.File
	for f, err := range b.Files(context.Background()) {
		if err != nil {
			t.Fatalf("files: %v", err)
		}
		fs = append(fs, f)
	}
	return fs
}

// keys returns the keys of ts.
func keys(ts []store.Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Key
	}
	return out
}

// ids returns the IDs of ts.
func ids(ts []store.Task) []int64 {
	out := make([]int64, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

// byKey returns ts by key.
func byKey(ts []store.Task) map[string]store.Task {
	m := make(map[string]store.Task, len(ts))
	for _, t := range ts {
		m[t.Key] = t
	}
	return m
}

// sleepUntil sleeps until when.
func sleepUntil(when time.Time) { time.Sleep(time.Until(when)) }

// takenEarly fails t if a task whose lease began, or was last extended,
// at from (or later) was taken over already, when the takeover came back
// at now: the lease could not have run out yet. A takeover later than
// that proves nothing either way, and is only logged.
func takenEarly(t *testing.T, what string, from, now time.Time, ttl time.Duration) {
	t.Helper()
	if held := now.Sub(from); held < ttl {
		t.Errorf("%s was taken over %v after its lease began or was extended, before its TTL of %v", what, held, ttl)
	} else {
		t.Logf("%s was taken over %v after its lease began or was extended: the machine stalled for longer than a TTL, so this proves nothing", what, held)
	}
}
