package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"crawl/pipeline"
)

// parseQueue reads a --queue value, for crawl, crawl get and crawl worker
// alike: sqlite (the embedded queue) is "", a redis:// URL with a host is
// itself, which names the server as pipeline.Config.Queue does. Anything
// else is an error naming the flag.
func parseQueue(q string) (string, error) {
	if q == "sqlite" {
		return "", nil
	}
	u, err := url.Parse(q)
	if err != nil || u.Scheme != "redis" || u.Host == "" {
		return "", fmt.Errorf("--queue %q: want sqlite or redis://host:port/db", q)
	}
	return q, nil
}

// workerFlags are the flags of crawl worker.
type workerFlags struct {
	queue, stage, out, job string
	quiet, progress        bool
}

// newWorker is `crawl worker`: join a distributed crawl whose queues live
// on a Redis server.
func newWorker(stderr io.Writer, code *int) *cobra.Command {
	w := &workerFlags{}
	cmd := &cobra.Command{
		Use:   "worker --queue redis://host:port/db [--stage list|parse|download|all] --out DIR",
		Short: "Join a crawl whose queues live on a Redis server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt, err := w.options()
			if err != nil {
				return err
			}
			if err := makeOut(opt.Out, w.out); err != nil {
				return err
			}
			return runWorker(cmd.Context(), opt, w, stderr, code)
		},
	}
	w.define(cmd.Flags())
	return cmd
}

// define defines the worker's flags on f.
func (w *workerFlags) define(f *pflag.FlagSet) {
	f.StringVar(&w.queue, "queue", "", "the Redis server holding the crawl's queues: redis://host:port/db")
	f.StringVar(&w.stage, "stage", "all", "the stages to run here: list, parse, download or all")
	f.StringVar(&w.out, "out", "downloads", "where this worker's files go (created if missing)")
	f.StringVar(&w.job, "job", "", "the crawl to join (default: the one crawl running on the server)")
	f.BoolVar(&w.quiet, "quiet", false, "no progress bar")
	f.BoolVar(&w.progress, "progress", false, "show a progress bar even when stderr is not a terminal")
}

// options checks the worker's flags and turns them into the options of
// pipeline.RunWorker: a Redis --queue, a known --stage (all runs every
// stage) and --out made absolute. It creates nothing.
func (w *workerFlags) options() (pipeline.WorkerOptions, error) {
	if w.queue == "" {
		return pipeline.WorkerOptions{}, errors.New("--queue redis://host:port/db is required")
	}
	if q, err := parseQueue(w.queue); err != nil || q == "" {
		return pipeline.WorkerOptions{}, fmt.Errorf("--queue %q: a worker joins a crawl on a Redis server: want redis://host:port/db", w.queue)
	}
	var stages []string
	switch w.stage {
	case "all", "":
	case pipeline.QueueList, pipeline.QueueParse, pipeline.QueueDownload:
		stages = []string{w.stage}
	default:
		return pipeline.WorkerOptions{}, fmt.Errorf("--stage %q: want list, parse, download or all", w.stage)
	}
	abs, err := filepath.Abs(w.out)
	if err != nil {
		return pipeline.WorkerOptions{}, fmt.Errorf("--out %q: %w", w.out, err)
	}
	return pipeline.WorkerOptions{Queue: w.queue, Job: w.job, Out: abs, Stages: stages}, nil
}

// runWorker runs the worker until its crawl is complete or ctx ends,
// prints one summary line and sets *code: interrupted (130) when ctx
// ended, failed (1) when the run reported an error. A usage error found
// by the run is returned as it is; a worker that could not start is a
// runFailure.
func runWorker(ctx context.Context, opt pipeline.WorkerOptions, w *workerFlags, stderr io.Writer, code *int) error {
	bar := newProgress(stderr, w.quiet, w.progress)
	res, err := pipeline.RunWorker(ctx, opt, pipeline.Options{Stderr: stderr, Progress: bar.update})
	if err != nil {
		var ue *pipeline.UsageError
		if errors.As(err, &ue) {
			return err
		}
		if res == nil {
			if ctx.Err() != nil {
				*code = exitInterrupted
				return nil
			}
			return &runFailure{err: err, code: exitFailed}
		}
		fmt.Fprintf(stderr, "crawl worker: %s\n", oneLine(err))
	}
	state := "crawl complete"
	if res.Interrupted {
		state = "interrupted"
	}
	fmt.Fprintf(stderr, "crawl worker: %s in %s: %d downloaded (%s), %d skipped\n",
		state, res.Elapsed.Round(10*time.Millisecond), res.Downloaded, pipeline.HumanBytes(res.Bytes), res.Skipped)
	switch {
	case res.Interrupted:
		*code = exitInterrupted
	case err != nil:
		*code = exitFailed
	}
	return nil
}
