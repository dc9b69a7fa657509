package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"
)

// Backend is the durable state of one crawl as every stage process sees it:
// the task queues with their leases, the seen set, the failures, the file
// records and a few named values. Two implementations keep the same
// contract: [DB], one SQLite file that the processes of one machine share,
// and [RedisDB], a Redis server that processes on several machines share.
// The conformance suite in crawl/store/storetest holds both to it.
//
// The queues are at-least-once. A task is put once per run generation,
// leased by one owner at a time, and ends acknowledged (done) or failed.
// What a call returned without error is durable: it survives the crash or
// kill -9 of the process that made it. A lease whose owner dies runs out
// after [LeaseTiming.TTL], or comes back at once through Release, and the
// task is handed out again: every handler must be safe to run twice.
//
// Lease hands each task out with its ID (Task.ID), by which Ack, AckFile
// and Fail name it in any process. IDs are positive, unique across the
// queues of a crawl, and never reused: a key put again after Restart is a
// new task with a new ID.
//
// Every method is safe for concurrent use by many goroutines. Errors name
// what failed; ErrNoTask (wrapped) means the task ID names no task of the
// crawl's current generation.
type Backend interface {
	// Put adds tasks to their queues, ready now, in one atomic step, and
	// returns how many were added. A task whose (Queue, Key) was put
	// before in this run generation, in any state, is skipped, and so is
	// a repeat within one call: this is the seen set. Keys are compared
	// byte for byte. A task without Queue or Key is an error, and then
	// nothing is added.
	Put(ctx context.Context, tasks ...Task) (added int, err error)

	// Lease hands out up to max ready tasks of queue and marks them
	// leased by owner for Timing().TTL. Ready means put and never handed
	// out, released, or leased under a lease that ran out (the task is
	// then taken over: its old owner's Ack still counts). Tasks whose
	// lease ran out are taken over first, and tasks never handed out go
	// in the order they were put. The tasks come back in ID order, and two
	// owners never hold the same task at once, across processes and
	// machines. Lease never blocks on an empty queue: it returns an empty
	// slice. max <= 0 hands out nothing; an empty owner, or one the
	// backend reserves, is an error. A backend may hand out fewer than max
	// at once.
	Lease(ctx context.Context, queue string, max int, owner string) ([]Task, error)

	// Extend is the heartbeat of owner: the leases owner took through this
	// handle and still holds run for another Timing().TTL from now, even
	// one that ran out if no one took it over yet. Leases that another
	// owner took over, or that were released, stay as they are. Whether
	// Extend also keeps owner's leases taken through other handles is up
	// to the backend: each process needs an owner name of its own. An
	// owner without leases is no error.
	Extend(ctx context.Context, owner string) error

	// Release makes every task leased by owner ready again now (the owner
	// died or stopped), whether or not its lease ran out, and returns how
	// many there were; "" releases every lease of the crawl. It works
	// through any handle, in any process, not only the owner's.
	Release(ctx context.Context, owner string) (int, error)

	// Timing is the lease timing the backend was opened with
	// (Options.Timing), or its default: how long a lease lasts, and how
	// often a lease holder should call Extend to keep its leases.
	Timing() LeaseTiming

	// Ack marks task id done and puts next, in one atomic step: either
	// the task is done and its follow-ups are queued, or neither
	// happened, so a crash between the two loses nothing. A follow-up
	// without Queue or Key is an error, and then nothing happens.
	//
	// The caller need not hold the lease: a ready task, or one another
	// owner holds, becomes done; acking a task that is done already is
	// not an error (next is still put; keys already seen are skipped);
	// and a failed task becomes done, and leaves Failures.
	//
	// ErrNoTask, and nothing happens, for an id whose task Restart
	// forgot, and for an id that never named a task: 0, a negative one,
	// or one above every ID handed out so far. IDs come from Lease: a
	// backend may take another made-up ID for a task done earlier.
	Ack(ctx context.Context, id int64, next ...Task) error

	// AckFile is Ack of a download task, without follow-ups, together
	// with the record of its file, which is in place on disk already, in
	// one atomic step. Recording a URL again replaces its record and keeps
	// its place in the record order. A record needs a URL and a path:
	// without, AckFile is an error (not ErrNoTask) and the task stays as
	// it was. ErrNoTask as for Ack, and then no record is stored.
	AckFile(ctx context.Context, id int64, f File) error

	// AckFiles is AckFile for several tasks, whose records are stored in
	// the order of acks: errs[i] is the outcome of acks[i] (nil, or
	// ErrNoTask or a bad record for that one alone). err is set when the
	// batch could not be tried at all; then no entry of errs may be
	// trusted and the caller tries again.
	AckFiles(ctx context.Context, acks []FileAck) (errs []error, err error)

	// Fail marks task id failed for good, with the URL it concerns, why,
	// and its source (the page or list it came from), for the summary and
	// failed.csv. As with Ack, the caller need not hold the lease. A task
	// that is done already stays done, and that is no error; failing a
	// failed task again replaces its URL, reason and source, and it keeps
	// its place in Failures. ErrNoTask as for Ack.
	Fail(ctx context.Context, id int64, url, reason, source string) error

	// Counts returns how many tasks of each queue are in each state, as
	// one consistent snapshot (see QueueCounts). A queue whose counts are
	// all zero is absent. Because Ack stores a task's follow-ups in the
	// same step that ends it, a snapshot with no Ready and no Leased task
	// in any queue means the crawl is complete.
	Counts(ctx context.Context) (map[string]QueueCounts, error)

	// Failures returns every task of this generation that failed for
	// good, in the order the tasks were put, across queues.
	Failures(ctx context.Context) ([]Failure, error)

	// Restart begins a new run generation: it forgets the done and failed
	// tasks of the given queues (of every queue if none is given), their
	// counts and failures, so that their keys may be put again, and their
	// IDs name no task any more (ErrNoTask). Ready and leased tasks stay,
	// under their IDs, and stay seen; they end done or failed in the new
	// generation. File records and meta stay. A queue that never had a
	// task is no error.
	Restart(ctx context.Context, queues ...string) error

	// Meta returns the value stored under key, "" if it is unset.
	Meta(ctx context.Context, key string) (string, error)

	// SetMeta stores value under key.
	SetMeta(ctx context.Context, key, value string) error

	// UpdateMeta stores update(old) under key, old being the value stored
	// there ("" if unset), in one atomic step: no other write to key comes
	// between the read and the write, from any process. update may be
	// called more than once (when key changed meanwhile, it is read and
	// updated again); when it returns an error, nothing is stored and
	// UpdateMeta returns that error.
	UpdateMeta(ctx context.Context, key string, update func(old string) (string, error)) error

	// FileByURL returns the record of the file downloaded from url, if
	// any, in any generation.
	FileByURL(ctx context.Context, url string) (File, bool, error)

	// Files yields every file record, in the order the URLs were first
	// recorded, reading them a chunk at a time: a listing of millions holds
	// only a chunk in memory. An error ends it, yielded with a zero File.
	Files(ctx context.Context) iter.Seq2[File, error]

	// Shared reports whether processes on other machines use this backend
	// too. Then a lease may belong to a live process elsewhere (so no one
	// may Release them all at the start of a run), and a file record may
	// name a file on another worker's disk (File.Worker).
	Shared() bool

	// Close closes the handle. Leases held through it stay until they run
	// out or are released.
	Close() error
}

// DueChecker is a Backend that can tell cheaply, by reading only, whether
// Lease would find a task in queue now: an idle consumer asks it often
// instead of taking the write lock with Lease. [DB] is one.
type DueChecker interface {
	HasDue(ctx context.Context, queue string) (bool, error)
}

// Both backends keep the contract.
var (
	_ Backend    = (*DB)(nil)
	_ Backend    = (*RedisDB)(nil)
	_ DueChecker = (*DB)(nil)
)

// LeaseTiming is how long a lease lasts unless extended, and how often its
// holder extends it (a fraction of TTL, so that a late heartbeat or two
// does not lose the lease).
type LeaseTiming struct {
	TTL       time.Duration
	Heartbeat time.Duration
}

// Default lease timings. An embedded crawl's processes all run under one
// supervisor, which releases a dead stage's leases itself, so its leases
// are long. A Redis crawl spans machines: a dead worker's tasks must come
// back within seconds, so its leases are short and kept alive often.
var (
	sqliteTiming = LeaseTiming{TTL: 60 * time.Second, Heartbeat: 15 * time.Second}
	redisTiming  = LeaseTiming{TTL: 6 * time.Second, Heartbeat: 2 * time.Second}
)

// Options change how a backend is opened. The zero value is what a crawl
// uses.
type Options struct {
	// Timing overrides the backend's lease timing when its TTL is set
	// (tests shorten it). A zero Heartbeat is a quarter of TTL.
	Timing LeaseTiming
}

// timing returns the lease timing of a backend whose default is def.
func (o Options) timing(def LeaseTiming) LeaseTiming {
	if o.Timing.TTL <= 0 {
		return def
	}
	t := o.Timing
	if t.Heartbeat <= 0 {
		t.Heartbeat = t.TTL / 4
	}
	return t
}

// IsShared reports whether the --queue value spec names a server that
// several machines share (a redis:// or rediss:// URL), rather than the
// embedded database ("" or "sqlite").
func IsShared(spec string) bool {
	return strings.HasPrefix(spec, "redis://") || strings.HasPrefix(spec, "rediss://")
}

// OpenQueue opens the queues that spec names for the crawl job: for ""
// or "sqlite", local itself (the caller keeps closing local); for a Redis
// URL, the crawl job on that server. The returned func closes what
// OpenQueue opened.
func OpenQueue(ctx context.Context, spec, job string, local *DB, opt Options) (Backend, func() error, error) {
	if !IsShared(spec) {
		if spec != "" && spec != "sqlite" {
			return nil, nil, fmt.Errorf("queue %q: want sqlite or redis://host:port/db", spec)
		}
		if local == nil {
			return nil, nil, errors.New("open the embedded queue: no database")
		}
		return local, func() error { return nil }, nil
	}
	r, err := OpenRedis(ctx, spec, job, opt)
	if err != nil {
		return nil, nil, err
	}
	return r, r.Close, nil
}

// checkTasks rejects a task without a queue or key.
func checkTasks(tasks []Task) error {
	for _, t := range tasks {
		if t.Queue == "" || t.Key == "" {
			return fmt.Errorf("task %q in queue %q: empty queue or key", t.Key, t.Queue)
		}
	}
	return nil
}
