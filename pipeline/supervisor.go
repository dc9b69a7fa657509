package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"crawl/pipeline/input"
	"crawl/store"
)

// Options are how a run talks to its surroundings.
type Options struct {
	Stdin    io.Reader                   // read for --list -
	Stderr   io.Writer                   // the stage processes' logs
	Progress func(Progress, bool)        // called as work advances; the bool is true on the last call
	Exe      string                      // the binary to start stages from; "" → this one
	Now      func() time.Time            // clock for the summary; nil → time.Now
	Started  func(stage string, pid int) // told of every stage process started (tests kill them)
	// CSV is Config.CSV opened already (input.OpenCSV), so that its
	// problems were usage errors before the run; nil: Run opens it. Run
	// closes it.
	CSV *input.CSVReader
}

// Progress is the state of a run as the supervisor sees it.
type Progress struct {
	Found      int       // files found so far
	Downloaded int       // files written in this run
	Skipped    int       // files already done by an earlier run
	TooBig     int       // files skipped for --max-size
	Failed     int       // URLs failed for good
	Bytes      int64     // bytes written in this run
	Pages      int       // pages read in this run
	Transfers  Transfers // the files in progress, with their bytes
}

// Result is what a run did.
type Result struct {
	Progress
	Failures    []store.Failure
	TooBigURLs  []string
	FailedCSV   string // OUT/failed.csv when failures were written there
	Elapsed     time.Duration
	Interrupted bool
}

// ExitCode is the exit status the contract gives for r.
func (r *Result) ExitCode() int {
	switch {
	case r.Interrupted:
		return 130
	case len(r.Failures) > 0:
		return 1
	}
	return 0
}

const maxRestarts = 20

// child is a running stage process.
type child struct {
	stage string
	cmd   *exec.Cmd
	done  chan error
}

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
	if cfg.IsRedis() && cfg.Worker == "" {
		cfg.Worker = WorkerName(cfg.Out)
	}
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
	if err := prepare(ctx, db, cfg); err != nil {
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
			if err != nil {
				return false, err
			}
		default:
		}
		return seeded.Load() && drained(counts), nil
	}
	runErr := supervise(ctx, cfg, opt, db, stages, res, done)
	stopRun()

	wctx := context.WithoutCancel(ctx)
	if runErr == nil && !res.Interrupted {
		if err := db.SetMeta(wctx, "state", "complete"); err != nil {
			runErr = err
		}
	}
	if err := writeManifest(wctx, cfg, db, local, ""); err != nil && runErr == nil {
		runErr = err
	}
	failures, err := db.Failures(wctx)
	if err != nil && runErr == nil {
		runErr = err
	}
	if err == nil {
		path, werr := store.WriteFailed(wctx, cfg.Out, failures)
		if werr != nil && runErr == nil {
			runErr = werr
		}
		res.FailedCSV = path
	}
	res.Failures = failures
	res.Failed = len(failures)
	// The stages synced what they wrote as they went; this covers the
	// last files, the records and the manifest.
	if err := store.NewDir(cfg.Out, nil).Sync(); err != nil && runErr == nil {
		runErr = err
	}
	res.Elapsed = now().Sub(start)
	if opt.Progress != nil {
		opt.Progress(res.Progress, true)
	}
	return res, runErr
}

// openLocal takes OUT/.crawl for this run and opens its SQLite database.
func openLocal(ctx context.Context, cfg *Config) (*store.DB, func(), error) {
	stateDir := cfg.stateDir()
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

// writeManifest writes OUT/manifest.csv. In a distributed crawl the
// coordinator (only == "") lists every file with the worker holding it, and
// a worker lists the files it holds.
func writeManifest(ctx context.Context, cfg *Config, db Backend, local *store.DB, only string) error {
	dir := store.NewDir(cfg.Out, local)
	r, ok := db.(*store.RedisDB)
	if !ok {
		return dir.WriteManifest(ctx)
	}
	all, err := r.WorkerFiles(ctx)
	if err != nil {
		return err
	}
	var files []store.File
	var workers []string
	for _, f := range all {
		if only != "" && f.Worker != only {
			continue
		}
		files = append(files, f.File)
		workers = append(workers, f.Worker)
	}
	if only != "" {
		return dir.WriteManifestOf(ctx, files, nil, "")
	}
	return dir.WriteManifestOf(ctx, files, workers, cfg.Worker)
}

// supervise starts a process for each stage, passes their events on as
// progress, restarts any that dies, and stops them all when done says the
// work is over or ctx is cancelled (res.Interrupted).
func supervise(ctx context.Context, cfg *Config, opt Options, db Backend, stages []string, res *Result,
	done func(context.Context, map[string]store.QueueCounts) (bool, error)) error {
	exe := opt.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("find own binary: %w", err)
		}
	}
	stateDir := cfg.stateDir()
	events := make(chan Event, 256)
	exits := make(chan *child, len(stages))
	children := map[string]*child{}
	startChild := func(stage string) error {
		c, err := startStage(exe, stage, stateDir, opt.Stderr, events, exits)
		if err != nil {
			return err
		}
		children[stage] = c
		if opt.Started != nil {
			opt.Started(stage, c.cmd.Process.Pid)
		}
		return nil
	}
	p := &res.Progress
	apply := func(ev Event) {
		p.Transfers.Track(ev, time.Now())
		switch ev.Kind {
		case EvFile:
			p.Downloaded++
			p.Bytes += ev.Bytes
		case EvSkip:
			p.Skipped++
		case EvTooBig:
			p.TooBig++
			res.TooBigURLs = append(res.TooBigURLs, ev.URL+": "+ev.Reason)
		case EvFail:
			p.Failed++
		case EvPage:
			p.Pages++
		}
	}
	for _, st := range stages {
		if err := startChild(st); err != nil {
			stopChildren(children, exits, events, nil)
			return err
		}
	}
	restarts := 0
	// The queues are counted often, so that the run ends soon after its
	// last file; the progress is drawn at most every progressDraw.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var drawn time.Time
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			res.Interrupted = true
			break loop
		case ev := <-events:
			apply(ev)
		case c := <-exits:
			if children[c.stage] != c {
				continue
			}
			delete(children, c.stage)
			// A Ctrl-C reaches the children too; give it a moment to reach us.
			select {
			case <-ctx.Done():
				res.Interrupted = true
				break loop
			case <-time.After(50 * time.Millisecond):
			}
			restarts++
			if _, err := db.Release(ctx, ownerName(c.stage, c.cmd.Process.Pid)); err != nil {
				runErr = err
				break loop
			}
			if restarts > maxRestarts {
				runErr = fmt.Errorf("%s stage keeps dying (%d restarts): %v", c.stage, restarts, <-c.done)
				break loop
			}
			fmt.Fprintf(opt.Stderr, "crawl: %s stage exited (%v); restarting it\n", c.stage, c.exitErr())
			time.Sleep(time.Duration(restarts) * 100 * time.Millisecond)
			if err := startChild(c.stage); err != nil {
				runErr = err
				break loop
			}
		case <-tick.C:
			counts, err := db.Counts(ctx)
			if err != nil {
				if ctx.Err() != nil {
					continue
				}
				runErr = err
				break loop
			}
			d := counts[QueueDownload]
			p.Found = d.Ready + d.Leased + d.Done + d.Failed
			if opt.Progress != nil && time.Since(drawn) >= progressDraw {
				drawn = time.Now()
				opt.Progress(*p, false)
			}
			over, err := done(ctx, counts)
			if err != nil {
				runErr = err
				break loop
			}
			if over {
				break loop
			}
		}
	}
	stopChildren(children, exits, events, apply)
	for {
		select {
		case ev := <-events:
			apply(ev)
			continue
		default:
		}
		break
	}
	return runErr
}

// progressDraw is how often the supervisor hands the progress on.
const progressDraw = 100 * time.Millisecond

// prepare decides whether this run resumes the last one or starts a new
// generation, and takes back every lease of processes that are gone.
func prepare(ctx context.Context, db Backend, cfg *Config) error {
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
	}
	if !cfg.IsRedis() {
		// No process of an embedded crawl outlives its run (OUT/.crawl/lock
		// is ours), so every lease left is a dead process's. On Redis, live
		// workers hold leases; a dead one's run out within seconds.
		if _, err := db.Release(ctx, ""); err != nil {
			return err
		}
	}
	if err := db.SetMeta(ctx, "fingerprint", fp); err != nil {
		return err
	}
	if err := db.SetMeta(ctx, "state", "running"); err != nil || !cfg.IsRedis() {
		return err
	}
	// Workers read the crawl's settings from here.
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return db.SetMeta(ctx, "config", string(b))
}

func drained(counts map[string]store.QueueCounts) bool {
	for _, c := range counts {
		if c.Ready > 0 || c.Leased > 0 {
			return false
		}
	}
	return true
}

// seed puts the run's first tasks: the listing pages, or the URLs to get.
// in is cfg.CSV opened already, or nil; seed closes it.
func seed(ctx context.Context, db Backend, cfg *Config, stdin io.Reader, in *input.CSVReader, stderr io.Writer) error {
	if in != nil {
		defer in.Close()
	}
	if cfg.Mode == ModeCrawl {
		var tasks []store.Task
		for _, s := range cfg.Pages.seeds() {
			tasks = append(tasks, pageTask(QueueList, PageTask{URL: cfg.PageURL(s.page), Page: s.page, Open: s.open}))
		}
		_, err := db.Put(ctx, tasks...)
		return err
	}
	const batch = 1000
	var tasks []store.Task
	n := 0
	flush := func() error {
		if len(tasks) == 0 {
			return nil
		}
		_, err := db.Put(ctx, tasks...)
		tasks = tasks[:0]
		return err
	}
	add := func(t FileTask) error {
		n++
		t.N = n
		tasks = append(tasks, fileTask(t))
		if len(tasks) >= batch {
			return flush()
		}
		return nil
	}
	for _, u := range cfg.URLs {
		if err := add(FileTask{URL: u, Source: "command line"}); err != nil {
			return err
		}
	}
	for _, list := range cfg.Lists {
		if err := input.ReadList(list, stdin, func(u string) error { return add(FileTask{URL: u, Source: list}) }); err != nil {
			return usageError(err)
		}
	}
	if cfg.CSV != "" {
		if in == nil {
			var err error
			if in, err = input.OpenCSV(cfg.csvOptions(stderr), stdin); err != nil {
				return usageError(err)
			}
			defer in.Close()
		}
		if err := seedCSV(in, cfg, add); err != nil {
			return err
		}
	}
	return flush()
}

// seedCSV adds a task for every row of a CSV that holds a URL.
func seedCSV(in *input.CSVReader, cfg *Config, add func(FileTask) error) error {
	need := cellFields(cfg.Name)
	for {
		row, err := in.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		t := FileTask{URL: row.URL, Source: cfg.CSV, Name: row.Name, Cells: rowCells(row.Cells, need)}
		if row.Source != "" {
			t.Source = row.Source // a failed.csv keeps the source the URL first came from
		}
		if err := add(t); err != nil {
			return err
		}
	}
	return nil
}

// csvOptions are the CSV flags of cfg; skipped rows are reported on warn.
func (c *Config) csvOptions(warn io.Writer) input.CSVOptions {
	return input.CSVOptions{Path: c.CSV, URLCol: c.URLCol, NameCol: c.NameCol, Encoding: c.CSVEncoding, Warn: warn}
}

// usageError makes the *input.UsageError of a list or CSV file a
// *UsageError, as Run's callers know bad usage by; other errors are
// returned as they are.
func usageError(err error) error {
	var bad *input.UsageError
	if errors.As(err, &bad) {
		return &UsageError{Err: err}
	}
	return err
}

func startStage(exe, stage, stateDir string, stderr io.Writer, events chan<- Event, exits chan<- *child) (*child, error) {
	cmd := exec.Command(exe, StageCommand, stage, stateDir)
	cmd.Stderr = stderr
	cmd.SysProcAttr = childAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s stage: %w", stage, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s stage: %w", stage, err)
	}
	c := &child{stage: stage, cmd: cmd, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var ev Event
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				events <- ev
			}
		}
		c.done <- cmd.Wait()
		exits <- c
	}()
	return c, nil
}

func (c *child) exitErr() error {
	if c.cmd.ProcessState == nil {
		return nil
	}
	return errors.New(c.cmd.ProcessState.String())
}

// stopChildren asks every stage process to stop, waits for them (killing
// any that hangs), and passes on the events they still send.
func stopChildren(children map[string]*child, exits <-chan *child, events <-chan Event, apply func(Event)) {
	for _, c := range children {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(15 * time.Second)
	for len(children) > 0 {
		select {
		case c := <-exits:
			if children[c.stage] == c {
				delete(children, c.stage)
			}
		case ev := <-events:
			if apply != nil {
				apply(ev)
			}
		case <-deadline:
			for _, c := range children {
				_ = c.cmd.Process.Kill()
			}
			deadline = time.After(5 * time.Second)
		}
	}
}
