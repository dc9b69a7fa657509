package pipeline

import (
	"io"
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

// settled is how many files the run has settled so far: downloaded,
// skipped, too big or failed (failed pages count too).
func (r *Result) settled() int {
	return r.Downloaded + r.Skipped + r.TooBig + r.Failed
}

// tally counts one event of a stage process into r: the files downloaded
// (and their bytes), skipped, too big or failed, the pages read, and the
// files in progress as of now.
func (r *Result) tally(ev Event, now time.Time) {
	r.Transfers.Track(ev, now)
	switch ev.Kind {
	case EvFile:
		r.Downloaded++
		r.Bytes += ev.Bytes
	case EvSkip:
		r.Skipped++
	case EvTooBig:
		r.TooBig++
		r.TooBigURLs = append(r.TooBigURLs, ev.URL+": "+ev.Reason)
	case EvFail:
		r.Failed++
	case EvPage:
		r.Pages++
	}
}
