// Package storetest is the conformance suite of [store.Backend]: one set
// of cases that every backend runs, in a few lines, to show that it keeps
// the contract that the doc comments of store.Backend state.
//
// A backend's test hands [Run] a function that makes a fresh crawl for
// each case and returns how to open handles on it:
//
//	func TestSQLiteConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Crawl {
//			path := filepath.Join(t.TempDir(), "crawl.db")
//			return func(t *testing.T, timing store.LeaseTiming) store.Backend {
//				db, err := store.OpenWith(context.Background(), path, store.Options{Timing: timing})
//				if err != nil {
//					t.Fatal(err)
//				}
//				return db
//			}
//		})
//	}
//
// The cases run against the real thing (a file, a server), never a mock.
// The cases in which leases run out use real time and TTLs of a fraction
// of a second. They assert only what holds however busy the machine is:
// that a lease must have run out once a TTL has passed since it was taken
// or extended, and that no task was taken over while its lease, by the
// clock, could not have run out yet. A machine that stalls for longer than
// a TTL can only make a check prove less, never fail it.
package storetest

import (
	"context"
	"testing"
	"time"

	"crawl/store"
)

// Crawl opens one more handle on a crawl, as another process of the crawl
// would: every handle it returns sees the same queues, seen set, records
// and meta. timing is the lease timing to open the handle with (the zero
// value: the backend's default); in the cases that lease tasks, every
// handle gets the same timing. Crawl fails t if the handle cannot be
// opened. The suite closes every handle it opens.
type Crawl func(t *testing.T, timing store.LeaseTiming) store.Backend

// Run runs every case of the suite as a subtest of t. newCrawl is called
// once per case and makes an empty crawl that no other case sees (a new
// database file, or a new job name on a server).
func Run(t *testing.T, newCrawl func(t *testing.T) Crawl) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, &fixture{t: t, ctx: context.Background(), crawl: newCrawl(t)})
		})
	}
}

// cases is the suite, in the order it runs.
var cases = []struct {
	name string
	run  func(t *testing.T, f *fixture)
}{
	{"PutDedupe", testPutDedupe},
	{"Lease", testLease},
	{"LeaseAckFail", testLeaseAckFail},
	{"FinishedTasks", testFinishedTasks},
	{"UnknownIDs", testUnknownIDs},
	{"AckWithNextIsAtomic", testAckWithNextIsAtomic},
	{"ConcurrentAcks", testConcurrentAcks},
	{"Restart", testRestart},
	{"IDsNeverReused", testIDsNeverReused},
	{"Meta", testMeta},
	{"UpdateMeta", testUpdateMeta},
	{"Files", testFiles},
	{"AckFiles", testAckFiles},
	{"FailuresOrder", testFailuresOrder},
	{"Release", testRelease},
	{"LeaseExpiry", testLeaseExpiry},
	{"Extend", testExtend},
	{"DeadWorker", testDeadWorker},
	{"ConcurrentLeasers", testConcurrentLeasers},
	{"CountsSnapshot", testCountsSnapshot},
	{"Timing", testTiming},
}

// Lease timings of the cases. stable is for cases in which no lease may
// run out on its own; short for those in which leases run out.
var (
	stable = store.LeaseTiming{TTL: time.Hour, Heartbeat: 15 * time.Minute}
	short  = store.LeaseTiming{TTL: 400 * time.Millisecond, Heartbeat: 50 * time.Millisecond}
)

const (
	// margin is added to a wait that must outlast a TTL, for the
	// granularity of the backends' clocks.
	margin = 100 * time.Millisecond
	// patience bounds a wait for something that must happen (a lease
	// running out); only a broken backend reaches it.
	patience = 20 * time.Second
)

// fixture is one case's crawl.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	crawl Crawl
}

// open opens a handle on the case's crawl and closes it when the case
// ends.
func (f *fixture) open(timing store.LeaseTiming) store.Backend {
	f.t.Helper()
	b := f.crawl(f.t, timing)
	f.t.Cleanup(func() {
		if err := b.Close(); err != nil {
			f.t.Errorf("close: %v", err)
		}
	})
	return b
}
