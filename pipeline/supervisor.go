package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"crawl/store"
)

// Run does a whole crawl or batch download: it prepares OUT, seeds the
// queues, starts one process per stage, restarts any that dies, and when
// every queue is drained stops them, writes manifest.csv and returns what
// happened. Cancelling ctx interrupts the run (Result.Interrupted). With a
// Redis queue, Run is the coordinator of a crawl that workers on other
// machines (RunWorker) may join.
func Run(ctx context.Context, cfg *Config, opt Options) (*Result, error) {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	csvIn := opt.CSV
	defer func() {
		if csvIn != nil {
			csvIn.Close() // the seed did not get to read it
		}
	}()
	local, unlock, err := openLocal(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer local.Close()
	db, closeDB, err := openBackend(ctx, cfg, local)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	if db.Shared() && cfg.Worker == "" {
		cfg.Worker = WorkerName(cfg.Out)
	}
	if err := prepare(ctx, db, cfg); err != nil {
		return nil, err
	}
	if err := saveCookies(ctx, db, cfg.Cookies); err != nil {
		return nil, err
	}
	if err := cfg.save(); err != nil {
		return nil, err
	}

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var seeded atomic.Bool
	seedErr := make(chan error, 1)
	in := csvIn
	csvIn = nil
	go func() {
		err := seed(runCtx, db, cfg, opt.Stdin, in, opt.Stderr)
		seeded.Store(err == nil)
		seedErr <- err
	}()

	stages := []string{QueueDownload}
	if cfg.Mode == ModeCrawl {
		stages = []string{QueueList, QueueParse, QueueDownload}
	}
	res := &Result{}
	done := func(ctx context.Context, counts map[string]store.QueueCounts) (bool, error) {
		select {
		case err := <-seedErr:
			// A seed stopped by a Ctrl-C is no error: the run is
			// interrupted, and the next one seeds on from where it got.
			if err != nil && ctx.Err() == nil {
				return false, err
			}
		default:
		}
		if !seeded.Load() || !drained(counts) {
			return false, nil
		}
		// counts was read before seeded was: it may predate the seed's
		// last tasks (a short list is seeded in a few milliseconds). Count
		// again, now that the seed is known to be over.
		again, err := db.Counts(ctx)
		if err != nil {
			return false, err
		}
		return drained(again), nil
	}
	// A run whose work is over writes its manifest while the stages stop;
	// any other, in finish. It is written once either way.
	wctx := context.WithoutCancel(ctx)
	manifest := sync.OnceValue(func() error { return writeManifest(wctx, cfg, db, local, "") })
	runErr := supervise(ctx, cfg, opt, db, stages, res, done, func() { manifest() })
	stopRun()
	if err := finish(wctx, db, cfg, res, runErr == nil, manifest); err != nil && runErr == nil {
		runErr = err
	}
	res.Elapsed = now().Sub(start)
	if opt.Progress != nil {
		opt.Progress(res.Progress, true)
	}
	return res, runErr
}

// finish ends a run, whether it went well (ok) or not: a crawl that ran
// to its end without a stop is marked complete, manifest.csv (by manifest,
// unless it was already) and failed.csv are written and synced with the run's last files, the
// failures going into res. It goes on past an error, and returns the
// first.
func finish(ctx context.Context, db store.Backend, cfg *Config, res *Result, ok bool, manifest func() error) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if ok && !res.Interrupted {
		keep(db.SetMeta(ctx, "state", "complete"))
	}
	keep(manifest())
	failures, err := db.Failures(ctx)
	keep(err)
	if err == nil {
		path, err := store.WriteFailed(ctx, cfg.Out, failures)
		keep(err)
		res.FailedCSV = path
	}
	res.Failures = failures
	res.Failed = len(failures)
	// The stages synced what they wrote as they went; this covers the
	// last files, the records and the manifest.
	keep(store.NewDir(cfg.Out, nil).Sync())
	return first
}

// openLocal takes OUT/.crawl for this run and opens its SQLite database.
// OUT/.crawl must be a folder, not a symbolic link: crawl's state is not
// written through one (OUT itself may be a link).
func openLocal(ctx context.Context, cfg *Config) (*store.DB, func(), error) {
	stateDir := cfg.stateDir()
	if fi, err := os.Lstat(stateDir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, nil, fmt.Errorf("create %s: %s %w", stateDir, stateDir, store.ErrSymlink)
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create %s: %w", stateDir, err)
	}
	unlock, err := lockDir(stateDir)
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, filepath.Join(stateDir, "state.db"))
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return db, unlock, nil
}

// writeManifest writes OUT/manifest.csv from the backend's file records.
// In a crawl shared by several machines the coordinator (only == "") lists
// every file with the worker holding it, and a worker (only, its name)
// lists the files it holds.
func writeManifest(ctx context.Context, cfg *Config, db store.Backend, local *store.DB, only string) error {
	dir := store.NewDir(cfg.Out, local)
	all := db.Files(ctx)
	switch {
	case !db.Shared():
		return dir.WriteManifestOf(ctx, all, false, "")
	case only != "":
		return dir.WriteManifestOf(ctx, heldBy(all, only), false, "")
	}
	return dir.WriteManifestOf(ctx, all, true, cfg.Worker)
}

// heldBy yields the records of files that worker holds.
func heldBy(files iter.Seq2[store.File, error], worker string) iter.Seq2[store.File, error] {
	return func(yield func(store.File, error) bool) {
		for f, err := range files {
			if (err != nil || f.Worker == worker) && !yield(f, err) {
				return
			}
		}
	}
}

// supervise starts a process for each stage, passes their events on as
// progress, restarts any that dies, and stops them all when done says the
// work is over or ctx is cancelled (res.Interrupted). When done said so,
// whileStopping (if not nil) runs while the processes stop: no task is
// left to them then, so nothing they still do changes the queues' records.
func supervise(ctx context.Context, cfg *Config, opt Options, db store.Backend, stages []string, res *Result,
	done func(context.Context, map[string]store.QueueCounts) (bool, error), whileStopping func()) error {
	procs, err := newChildren(opt.Exe, cfg.stateDir(), opt.Stderr, opt.Started, len(stages))
	if err != nil {
		return err
	}
	tally := func(ev Event) { res.tally(ev, time.Now()) }
	for _, st := range stages {
		if err := procs.start(st); err != nil {
			procs.stop(nil)
			return err
		}
	}
	// The queues are counted often, so that the run ends soon after its
	// last file, and at once when the files settled reach the files found
	// (at most every checkSoon); the progress is drawn at most every
	// progressDraw.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var drawn, checked time.Time
	var runErr error
	// check counts the queues and reports whether the run is over.
	check := func() (over bool, err error) {
		checked = time.Now()
		counts, err := db.Counts(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return false, nil
			}
			return false, err
		}
		d := counts[QueueDownload]
		res.Found = d.Ready + d.Leased + d.Done + d.Failed
		if opt.Progress != nil && time.Since(drawn) >= progressDraw {
			drawn = time.Now()
			opt.Progress(res.Progress, false)
		}
		return done(ctx, counts)
	}
loop:
	for {
		var over bool
		var err error
		select {
		case <-ctx.Done():
			res.Interrupted = true
			break loop
		case ev := <-procs.events:
			if ev.Kind == EvPut {
				procs.wake(ev.Info)
			}
			tally(ev)
			if res.settled() >= res.Found && time.Since(checked) >= checkSoon {
				over, err = check()
			}
		case <-tick.C:
			over, err = check()
		case c := <-procs.exits:
			if !procs.exited(c) {
				continue
			}
			over, err = replace(ctx, db, procs, c, res)
		}
		if err != nil {
			runErr = err
			break loop
		}
		if over {
			if whileStopping != nil {
				meanwhile := make(chan struct{})
				go func() {
					defer close(meanwhile)
					whileStopping()
				}()
				defer func() { <-meanwhile }()
			}
			break loop
		}
	}
	procs.stop(tally)
	return runErr
}

// replace restarts the stage of c, a process that died, once its leases
// are given back. It reports that the run must stop (over) when the death
// was a Ctrl-C reaching the children first (res.Interrupted), or with the
// error that keeps the stage from running again.
func replace(ctx context.Context, db store.Backend, procs *children, c *child, res *Result) (over bool, err error) {
	// A Ctrl-C reaches the children too; give it a moment to reach us.
	select {
	case <-ctx.Done():
		res.Interrupted = true
		return true, nil
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := db.Release(ctx, ownerName(c.stage, c.cmd.Process.Pid)); err != nil {
		if ctx.Err() != nil {
			res.Interrupted = true // the Ctrl-C came in just now
			return true, nil
		}
		return true, err
	}
	return false, procs.restart(c)
}

// progressDraw is how often the supervisor hands the progress on.
const progressDraw = 100 * time.Millisecond

// checkSoon is the least time between two counts of the queues that the
// stages' events ask for.
const checkSoon = 2 * time.Millisecond

// prepare decides whether this run resumes the last one or starts a new
// generation, and takes back every lease of processes that are gone.
func prepare(ctx context.Context, db store.Backend, cfg *Config) error {
	fp := cfg.Fingerprint()
	prevFP, err := db.Meta(ctx, "fingerprint")
	if err != nil {
		return err
	}
	state, err := db.Meta(ctx, "state")
	if err != nil {
		return err
	}
	if prevFP != fp || state == "complete" || cfg.Overwrite {
		// A finished crawl run again walks its pages again (new images are
		// found) while files already on disk are skipped by the downloader.
		if err := db.Restart(ctx, QueueList, QueueParse, QueueDownload); err != nil {
			return err
		}
		if err := db.SetMeta(ctx, pagesSeededKey, ""); err != nil { // seed from the first page
			return err
		}
	}
	if !db.Shared() {
		// No process of an embedded crawl outlives its run (OUT/.crawl/lock
		// is ours), so every lease left is a dead process's. On a shared
		// backend, live workers hold leases; a dead one's run out within
		// seconds.
		if _, err := db.Release(ctx, ""); err != nil {
			return err
		}
	}
	if err := db.SetMeta(ctx, "fingerprint", fp); err != nil {
		return err
	}
	if err := db.SetMeta(ctx, "state", "running"); err != nil || !db.Shared() {
		return err
	}
	// Workers read the crawl's settings from here.
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return db.SetMeta(ctx, "config", string(b))
}
