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
	"strings"
	"sync/atomic"
	"syscall"
	"time"

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
}

// Progress is the state of a run as the supervisor sees it.
type Progress struct {
	Found      int   // files found so far
	Downloaded int   // files written in this run
	Skipped    int   // files already done by an earlier run
	TooBig     int   // files skipped for --max-size
	Failed     int   // URLs failed for good
	Bytes      int64 // bytes written in this run
	Pages      int   // pages read in this run
}

// Result is what a run did.
type Result struct {
	Progress
	Failures    []store.Failure
	TooBigURLs  []string
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
// happened. Cancelling ctx interrupts the run (Result.Interrupted).
func Run(ctx context.Context, cfg *Config, opt Options) (*Result, error) {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	exe := opt.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find own binary: %w", err)
		}
	}
	stateDir := cfg.stateDir()
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", stateDir, err)
	}
	unlock, err := lockDir(stateDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	db, err := store.Open(ctx, filepath.Join(stateDir, "state.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
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
	go func() {
		err := seed(runCtx, db, cfg, opt.Stdin)
		seeded.Store(err == nil)
		seedErr <- err
	}()

	stages := []string{QueueDownload}
	if cfg.Mode == ModeCrawl {
		stages = []string{QueueList, QueueParse, QueueDownload}
	}
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
	for _, st := range stages {
		if err := startChild(st); err != nil {
			stopChildren(children, exits, events, nil)
			return nil, err
		}
	}

	res := &Result{}
	var p Progress
	apply := func(ev Event) {
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
	report := func(last bool) {
		if opt.Progress != nil {
			opt.Progress(p, last)
		}
	}
	restarts := 0
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			res.Interrupted = true
			break loop
		case err := <-seedErr:
			if err != nil {
				runErr = err
				break loop
			}
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
			owner := fmt.Sprintf("%s-%d", c.stage, c.cmd.Process.Pid)
			if _, err := db.Release(ctx, owner); err != nil {
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
			report(false)
			if seeded.Load() && drained(counts) {
				break loop
			}
		}
	}
	stopRun()
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
	wctx := context.WithoutCancel(ctx)
	if runErr == nil && !res.Interrupted {
		if err := db.SetMeta(wctx, "state", "complete"); err != nil {
			runErr = err
		}
	}
	if err := store.NewDir(cfg.Out, db).WriteManifest(wctx); err != nil && runErr == nil {
		runErr = err
	}
	failures, err := db.Failures(wctx)
	if err != nil && runErr == nil {
		runErr = err
	}
	res.Failures = failures
	p.Failed = len(failures)
	res.Progress = p
	res.Elapsed = now().Sub(start)
	report(true)
	return res, runErr
}

// prepare decides whether this run resumes the last one or starts a new
// generation, and takes back every lease of processes that are gone.
func prepare(ctx context.Context, db *store.DB, cfg *Config) error {
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
	if _, err := db.Release(ctx, ""); err != nil {
		return err
	}
	if err := db.SetMeta(ctx, "fingerprint", fp); err != nil {
		return err
	}
	return db.SetMeta(ctx, "state", "running")
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
func seed(ctx context.Context, db *store.DB, cfg *Config, stdin io.Reader) error {
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
	add := func(u, source string) error {
		n++
		tasks = append(tasks, fileTask(FileTask{URL: u, Source: source, N: n}))
		if len(tasks) >= batch {
			return flush()
		}
		return nil
	}
	for _, u := range cfg.URLs {
		if err := add(u, "command line"); err != nil {
			return err
		}
	}
	for _, list := range cfg.Lists {
		if err := readList(list, stdin, func(u string) error { return add(u, list) }); err != nil {
			return err
		}
	}
	return flush()
}

// readList calls fn for each URL of a list file ("-": stdin), skipping blank
// lines and lines starting with '#'.
func readList(name string, stdin io.Reader, fn func(string) error) error {
	var r io.Reader
	if name == "-" {
		if stdin == nil {
			stdin = os.Stdin
		}
		r = stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return &UsageError{Err: fmt.Errorf("--list: %w", err)}
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			line = strings.TrimPrefix(line, "\ufeff")
			first = false
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read list %s: %w", name, err)
	}
	return nil
}

// CheckList reports whether a --list file can be read, before anything is
// written.
func CheckList(name string) error {
	if name == "-" {
		return nil
	}
	f, err := os.Open(name)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("--list: %w", err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return &UsageError{Err: fmt.Errorf("--list: %w", err)}
	}
	if st.IsDir() {
		return &UsageError{Err: fmt.Errorf("--list %s: is a folder", name)}
	}
	return nil
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
