package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"crawl/fetcher"
	"crawl/store"
)

// StageCommand is the hidden subcommand by which the supervisor re-executes
// its own binary as a stage process: BINARY StageCommand STAGE STATEDIR.
const StageCommand = "__stage"

// runner is what every stage process runs on: the crawl's config and
// queues, the HTTP client, the events it tells its supervisor and its log,
// and the pool of workers that lease its tasks and settle them. Each stage
// (listStage, parseStage, downloadStage) is a runner and what that stage
// alone needs.
type runner struct {
	cfg    *Config
	db     store.Backend // queues and records, on whichever backend the crawl runs
	client *fetcher.Client
	sess   *session // the crawl's cookies, shared with its other processes
	ev     *emitter
	log    io.Writer
	owner  string
	// wake hears when the supervisor saw tasks queued that this stage
	// takes: an idle pool leases at once instead of at its next peek.
	// nil: no wake-ups.
	wake <-chan struct{}
	// idleCap, if not 0, is the longest an idle pool waits between two
	// looks for tasks (else idlePeek, or 100 ms on a backend that cannot
	// peek).
	idleCap time.Duration
}

// RunStage runs one stage (list, parse or download) of the crawl whose state
// is in stateDir until ctx is cancelled. Events go to stdout, logs to stderr;
// each byte on stdin wakes the stage up to lease at once (see wakeups).
func RunStage(ctx context.Context, name, stateDir string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(stateDir)
	if err != nil {
		return err
	}
	cp, err := cfg.compile()
	if err != nil {
		return err
	}
	local, err := store.Open(ctx, filepath.Join(stateDir, "state.db"))
	if err != nil {
		return err
	}
	defer local.Close()
	db, closeDB, err := openBackend(ctx, cfg, local)
	if err != nil {
		return err
	}
	defer closeDB()
	var gate fetcher.HostGate
	if db.Shared() {
		// --per-host and --delay hold across the machines of the crawl.
		g, err := fetcher.OpenRedisGate(ctx, cfg.Queue, cfg.Job)
		if err != nil {
			return err
		}
		defer g.Close()
		gate = g
	}
	// --per-host and --delay hold across the run's processes through lock
	// files, but for a batch download on the embedded queue: its download
	// stage is the only process that fetches.
	lockDir := filepath.Join(stateDir, "hosts")
	if cfg.Mode == ModeGet && !db.Shared() {
		lockDir = ""
	}
	client, err := newClient(cfg, lockDir, gate, name, stderr)
	if err != nil {
		return err
	}
	defer client.Close()
	sess := newSession(db, client, stderr)
	sess.load(ctx, math.MaxInt64)
	go sess.poll(ctx)
	r := &runner{
		cfg:    cfg,
		db:     db,
		client: client,
		sess:   sess,
		ev:     newEmitter(stdout),
		log:    stderr,
		owner:  ownerName(name, os.Getpid()),
		wake:   wakeups(stdin),
	}
	go r.heartbeat(ctx)
	r.ev.emit(Event{Kind: EvStarted, Info: r.owner})
	switch name {
	case QueueList, QueueParse:
		ps, closeSource, err := newPageStage(r, cp)
		if err != nil {
			return err
		}
		defer closeSource()
		if name == QueueList {
			return (&listStage{ps}).run(ctx)
		}
		return (&parseStage{ps}).run(ctx)
	case QueueDownload:
		return newDownloadStage(r, store.NewDir(cfg.Out, local)).run(ctx)
	}
	return fmt.Errorf("unknown stage %q", name)
}

// newClient returns the HTTP client of a stage process; with --verbose,
// log hears which proxy each host goes through. --limit-rate holds for the
// download stage, over all its downloads together.
func newClient(cfg *Config, lockDir string, gate fetcher.HostGate, stage string, log io.Writer) (*fetcher.Client, error) {
	var limit int64
	if stage == QueueDownload {
		limit = cfg.LimitRate
	}
	if lockDir != "" {
		if err := os.MkdirAll(lockDir, 0o755); err != nil {
			return nil, fmt.Errorf("create lock folder: %w", err)
		}
	}
	return fetcher.New(fetcher.Config{
		UserAgent:    cfg.UserAgent,
		Header:       cfg.header(),
		Cookie:       cfg.Cookie,
		Referer:      cfg.Referer,
		Timeout:      cfg.Timeout,
		Retries:      cfg.Retries,
		RetryWait:    cfg.RetryWait,
		PerHost:      cfg.PerHost,
		Delay:        cfg.Delay,
		LockDir:      lockDir,
		IgnoreRobots: cfg.IgnoreRobots,
		MaxConns:     cfg.Workers,
		Gate:         gate,
		Proxy:        cfg.Proxy,
		NoEnvProxy:   cfg.NoEnvProxy,
		RateLimit:    limit,
		Log:          verboseLog(cfg, log),
	})
}

// verboseLog is log with --verbose, else nil.
func verboseLog(cfg *Config, log io.Writer) io.Writer {
	if !cfg.Verbose {
		return nil
	}
	return log
}

// heartbeat extends the leases of this stage process until ctx is done.
func (s *runner) heartbeat(ctx context.Context) {
	t := time.NewTicker(s.db.Timing().Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.db.Extend(ctx, s.owner); err != nil && ctx.Err() == nil {
				fmt.Fprintf(s.log, "crawl: %s: extend leases: %v\n", s.owner, err)
			}
		}
	}
}

// wakeups returns a channel that hears a word for each read of in that
// brings bytes, until in ends: the supervisor writes a byte to a stage's
// stdin when tasks of its queue were stored. Words not yet heard merge
// into one.
func wakeups(in io.Reader) <-chan struct{} {
	if in == nil {
		return nil
	}
	wake := make(chan struct{}, 1)
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := in.Read(buf)
			if n > 0 {
				select {
				case wake <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return wake
}

// idlePeek is the longest an idle stage waits between two peeks; a lease
// that finds nothing makes it wait 1 ms, then twice as long each time.
const idlePeek = 16 * time.Millisecond

// pool leases tasks of queue and runs handle on each, at most n at once,
// until ctx is cancelled. It leases ahead, up to ahead more than are
// running, and while tasks wait it leases again only once there is room
// for half of ahead: a task finishing finds the next one waiting instead
// of paying a lease of its own, and a lease (with the name reservations
// prepare makes for it) is one transaction for many tasks. Its first lease
// is of 2n tasks at most, so that the first tasks start without waiting
// for a whole batch to be leased and prepared. prepare, if not nil, sees
// each leased batch before its tasks are handled. A handler that
// returns without acknowledging its task (because ctx was cancelled)
// leaves it leased: the next run, or the supervisor after this process
// dies, gives it back.
func (s *runner) pool(ctx context.Context, queue string, n, ahead int, handle func(context.Context, store.Task),
	prepare func(context.Context, []store.Task)) error {
	ahead = max(ahead, 1)
	limit := int64(n + ahead) // tasks held: running or waiting
	work := make(chan store.Task, limit)
	freed := make(chan struct{}, 1)
	var held atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				handle(ctx, t)
				held.Add(-1)
				select {
				case freed <- struct{}{}:
				default:
				}
			}
		}()
	}
	defer wg.Wait()
	defer close(work)
	idle := time.Duration(0)
	first := true
	maxIdle := 100 * time.Millisecond
	peek, canPeek := s.db.(store.DueChecker)
	if canPeek {
		maxIdle = idlePeek
	}
	if s.idleCap > 0 {
		maxIdle = s.idleCap
	}
	for {
		room := int(limit - held.Load())
		if room < max(ahead/2, 1) && len(work) > 0 {
			// Enough is waiting: lease again once more room is free.
			select {
			case <-ctx.Done():
				return nil
			case <-freed:
			}
			continue
		}
		if room == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-freed:
			}
			continue
		}
		if idle > 0 && canPeek {
			// Idle: lease only once there is something to lease (a lease
			// takes the write lock; the peek does not).
			if due, err := peek.HasDue(ctx, queue); err == nil && !due {
				idle = min(2*idle, maxIdle)
				if !s.idleWait(ctx, idle) {
					return nil
				}
				continue
			}
		}
		if first {
			// The first lease is small: the workers start on it while
			// the next, of what is left of ahead, is leased and prepared.
			room = min(room, 2*n)
		}
		tasks, err := s.db.Lease(ctx, queue, room, s.owner)
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(s.log, "crawl: %s: lease: %v\n", s.owner, err)
		}
		if len(tasks) == 0 {
			idle = min(max(2*idle, time.Millisecond), maxIdle)
			if !s.idleWait(ctx, idle) {
				return nil
			}
			continue
		}
		idle, first = 0, false
		if prepare != nil {
			prepare(ctx, tasks)
		}
		held.Add(int64(len(tasks)))
		for _, t := range tasks {
			work <- t
		}
	}
}

// idleWait waits d before an idle pool looks for tasks again, or less if
// the supervisor wakes the stage; false once ctx is done.
func (s *runner) idleWait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-s.wake:
	}
	return true
}

// settle records the outcome of a task. Once the work is done its record
// must be stored even if a stop was asked for meanwhile.
func settleCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// ack acknowledges task t together with the next tasks it found; it
// reports whether that was stored.
func (s *runner) ack(ctx context.Context, t store.Task, next ...store.Task) bool {
	ok := s.settle(ctx, fmt.Sprintf("ack task %d", t.ID), func(c context.Context) error { return s.db.Ack(c, t.ID, next...) })
	if ok {
		s.queued(next)
	}
	return ok
}

// queued tells the supervisor which queues tasks were just stored in, so
// that it wakes the stages that take them (EvPut).
func (s *runner) queued(tasks []store.Task) {
	var evs []Event
	for _, t := range tasks {
		if !slices.ContainsFunc(evs, func(ev Event) bool { return ev.Info == t.Queue }) {
			evs = append(evs, Event{Kind: EvPut, Info: t.Queue})
		}
	}
	s.ev.emitAll(evs)
}

// fail records that url failed for good, and why, and tells the supervisor.
func (s *runner) fail(ctx context.Context, t store.Task, url, source string, reason error) {
	msg := reason.Error()
	if s.settle(ctx, "record failure of "+url, func(c context.Context) error { return s.db.Fail(c, t.ID, url, msg, source) }) {
		s.ev.emit(Event{Kind: EvFail, URL: url, Reason: msg})
	}
}

// Waits between two tries of settle.
const (
	settleFirstWait = 50 * time.Millisecond
	settleMaxWait   = 2 * time.Second
)

// settle stores the outcome of a download with write, and tries again while
// the database cannot take it. On a full disk the outcome is often the
// failure that filled it; room comes back as failed downloads remove their
// parts, or when the user frees some, and the run then ends as it should
// instead of waiting forever for a task that was never settled. It gives up
// when ctx is done (the task stays leased, and is taken back) or when the
// task is gone, and reports whether the outcome was stored.
func (s *runner) settle(ctx context.Context, what string, write func(context.Context) error) bool {
	wait := settleFirstWait
	for try := 0; ; try++ {
		c, cancel := settleCtx(ctx)
		err := write(c)
		cancel()
		switch {
		case err == nil:
			if try > 0 {
				fmt.Fprintf(s.log, "crawl: %s: %s: done after %d tries\n", s.owner, what, try+1)
			}
			return true
		case errors.Is(err, store.ErrNoTask):
			fmt.Fprintf(s.log, "crawl: %s: %s: %v\n", s.owner, what, err)
			return false
		case try == 0:
			fmt.Fprintf(s.log, "crawl: %s: %s: %v; trying again until it is stored (free some disk space, or press Ctrl-C to stop)\n",
				s.owner, what, err)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, settleMaxWait)
	}
}

// warn logs err, which does not stop the work at hand.
func (s *runner) warn(err error) {
	fmt.Fprintf(s.log, "crawl: %s: %v\n", s.owner, err)
}
