package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"crawl/pipeline"
)

// checkQueue checks a --queue value: sqlite, or a redis:// URL.
func checkQueue(q string) error {
	if q == "sqlite" {
		return nil
	}
	u, err := url.Parse(q)
	if err != nil || u.Scheme != "redis" || u.Host == "" {
		return fmt.Errorf("--queue %q: want sqlite or redis://host:port/db", q)
	}
	return nil
}

// newWorker is `crawl worker`: join a distributed crawl whose queues live
// on a Redis server.
func newWorker(stderr io.Writer, code *int) *cobra.Command {
	var queue, stage, out, job string
	var quiet, progress bool
	cmd := &cobra.Command{
		Use:   "worker --queue redis://host:port/db [--stage list|parse|download|all] --out DIR",
		Short: "Join a crawl whose queues live on a Redis server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if queue == "" {
				return errors.New("--queue redis://host:port/db is required")
			}
			if err := checkQueue(queue); err != nil || queue == "sqlite" {
				return fmt.Errorf("--queue %q: a worker joins a crawl on a Redis server: want redis://host:port/db", queue)
			}
			var stages []string
			switch stage {
			case "all", "":
			case pipeline.QueueList, pipeline.QueueParse, pipeline.QueueDownload:
				stages = []string{stage}
			default:
				return fmt.Errorf("--stage %q: want list, parse, download or all", stage)
			}
			abs, err := filepath.Abs(out)
			if err != nil {
				return fmt.Errorf("--out %q: %w", out, err)
			}
			if st, err := os.Stat(abs); err == nil && !st.IsDir() {
				return fmt.Errorf("--out %s: not a folder", out)
			}
			if err := os.MkdirAll(abs, 0o755); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			bar := newProgress(stderr, quiet, progress)
			res, err := pipeline.RunWorker(cmd.Context(), pipeline.WorkerOptions{Queue: queue, Job: job, Out: abs, Stages: stages},
				pipeline.Options{Stderr: stderr, Progress: bar.update})
			if err != nil {
				var ue *pipeline.UsageError
				if errors.As(err, &ue) {
					return err
				}
				if res == nil {
					if cmd.Context().Err() != nil {
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
		},
	}
	f := cmd.Flags()
	f.StringVar(&queue, "queue", "", "the Redis server holding the crawl's queues: redis://host:port/db")
	f.StringVar(&stage, "stage", "all", "the stages to run here: list, parse, download or all")
	f.StringVar(&out, "out", "downloads", "where this worker's files go (created if missing)")
	f.StringVar(&job, "job", "", "the crawl to join (default: the one crawl running on the server)")
	f.BoolVar(&quiet, "quiet", false, "no progress bar")
	f.BoolVar(&progress, "progress", false, "show a progress bar even when stderr is not a terminal")
	return cmd
}
