package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"crawl/store"
)

// WorkerOptions say which distributed crawl a worker joins and how.
type WorkerOptions struct {
	Queue  string   // redis://host:port/db
	Job    string   // the crawl's name; "" joins the one crawl running there
	Out    string   // absolute path of this worker's output folder
	Stages []string // the stages this worker runs (list, parse, download)
	Wait   time.Duration
}

// RunWorker joins a crawl whose queues live on a server shared by several
// machines (a Redis URL): it waits for
// the crawl to appear (when started before its coordinator), runs the
// chosen stages here, writing files under its own Out, and leaves when the
// coordinator has seen the crawl complete, or when ctx is cancelled.
func RunWorker(ctx context.Context, w WorkerOptions, opt Options) (*Result, error) {
	start := time.Now()
	job, err := findJob(ctx, w, opt)
	if err != nil {
		return nil, err
	}
	r, closeR, err := store.OpenQueue(ctx, w.Queue, job, nil, store.Options{})
	if err != nil {
		return nil, err
	}
	raw, err := waitMeta(ctx, r, "config")
	closeR()
	if err != nil {
		if ctx.Err() != nil {
			return &Result{Interrupted: true}, nil
		}
		return nil, err
	}
	var cfg Config
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return nil, fmt.Errorf("read the config of crawl %s: %w", job, err)
	}
	cfg.Out, cfg.Queue, cfg.Job, cfg.Worker = w.Out, w.Queue, job, WorkerName(w.Out)
	if _, err := cfg.compile(); err != nil {
		return nil, err
	}
	stages := w.Stages
	if len(stages) == 0 {
		stages = []string{QueueList, QueueParse, QueueDownload}
		if cfg.Mode == ModeGet {
			stages = []string{QueueDownload}
		}
	}
	fmt.Fprintf(opt.Stderr, "crawl worker: joined crawl %s on %s as %s (%s)\n", job, w.Queue, cfg.Worker, strings.Join(stages, ", "))

	local, unlock, err := openLocal(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer local.Close()
	db, closeDB, err := openBackend(ctx, &cfg, local)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	if err := cfg.save(); err != nil {
		return nil, err
	}
	res := &Result{}
	done := func(ctx context.Context, _ map[string]store.QueueCounts) (bool, error) {
		state, err := db.Meta(ctx, "state")
		return state == "complete", err
	}
	runErr := supervise(ctx, &cfg, opt, db, stages, res, done, nil)
	wctx := context.WithoutCancel(ctx)
	if err := writeManifest(wctx, &cfg, db, local, cfg.Worker); err != nil && runErr == nil {
		runErr = err
	}
	if err := store.NewDir(cfg.Out, nil).Sync(); err != nil && runErr == nil {
		runErr = err
	}
	res.Elapsed = time.Since(start)
	if opt.Progress != nil {
		opt.Progress(res.Progress, true)
	}
	return res, runErr
}

// findJob picks the crawl to join: the one named, else the one crawl on the
// server that is not complete, waiting for one to appear.
func findJob(ctx context.Context, w WorkerOptions, opt Options) (string, error) {
	if w.Job != "" {
		return w.Job, nil
	}
	said := false
	for {
		jobs, err := store.Jobs(ctx, w.Queue)
		if err != nil {
			return "", err
		}
		var running []string
		for _, j := range jobs {
			r, closeR, err := store.OpenQueue(ctx, w.Queue, j, nil, store.Options{})
			if err != nil {
				return "", err
			}
			state, err := r.Meta(ctx, "state")
			closeR()
			if err != nil {
				return "", err
			}
			if state != "complete" {
				running = append(running, j)
			}
		}
		switch {
		case len(running) == 1:
			return running[0], nil
		case len(running) > 1:
			slices.Sort(running)
			return "", &UsageError{Err: fmt.Errorf("%d crawls are running on %s (%s): name one with --job", len(running), w.Queue, strings.Join(running, ", "))}
		}
		if !said {
			fmt.Fprintf(opt.Stderr, "crawl worker: waiting for a crawl to start on %s\n", w.Queue)
			said = true
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(max(w.Wait, 200*time.Millisecond)):
		}
	}
}

// waitMeta waits until key is set in the crawl's meta (the coordinator
// writes the config as it starts).
func waitMeta(ctx context.Context, r store.Backend, key string) (string, error) {
	for {
		v, err := r.Meta(ctx, key)
		if err != nil || v != "" {
			return v, err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
