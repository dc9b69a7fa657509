package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"crawl/pipeline"
)

// barScale is the bar's maximum: it shows a fraction, in thousandths.
const barScale = 1000

// progress draws one overall bar on stderr. It moves with the files done
// of the files found so far, a file in progress counting for the share of
// its bytes that has arrived; the text after it gives the files, the bytes
// and the rate and, while large files are in progress, their bytes of
// their sizes and, when nothing else is left to do, the time left.
type progress struct {
	bar   *progressbar.ProgressBar
	start time.Time
	now   func() time.Time
}

func newProgress(w io.Writer, quiet, force bool) *progress {
	if quiet {
		return &progress{}
	}
	if !force {
		f, ok := w.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return &progress{}
		}
	}
	bar := progressbar.NewOptions64(barScale,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionShowDescriptionAtLineEnd(),
	)
	return &progress{bar: bar, start: time.Now(), now: time.Now}
}

// update is the pipeline's progress callback.
func (p *progress) update(s pipeline.Progress, last bool) {
	if p.bar == nil {
		return
	}
	if last {
		_ = p.bar.Finish()
		return
	}
	frac, desc := describe(s, p.now(), p.now().Sub(p.start))
	p.bar.Describe(desc)
	_ = p.bar.Set64(int64(frac * barScale))
}

// describe gives the bar's position (0 to 1) and its text for the state s
// of a run that has been going for elapsed.
func describe(s pipeline.Progress, now time.Time, elapsed time.Duration) (float64, string) {
	done := s.Downloaded + s.Skipped + s.Failed + s.TooBig
	f := s.Transfers.InFlight(now)
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d files", done, max(s.Found, done))
	if s.Bytes > 0 || f.Bytes != f.SizedBytes || f.SizedTotal == 0 {
		// (Said below when it is all of files in progress of known size.)
		fmt.Fprintf(&b, " · %s", pipeline.HumanBytes(s.Bytes+f.Bytes))
	}
	rate := f.Rate
	if f.Files == 0 && elapsed > 0 {
		rate = float64(s.Bytes) / elapsed.Seconds()
	}
	fmt.Fprintf(&b, " · %s/s", pipeline.HumanBytes(int64(rate)))
	var frac float64
	if s.Found > 0 {
		// A file in progress counts for the share of it that has arrived.
		part := 0.0
		if f.SizedTotal > 0 {
			part = float64(f.Sized) * min(float64(f.SizedBytes)/float64(f.SizedTotal), 1)
		}
		frac = min((float64(done)+part)/float64(s.Found), 1)
	}
	if f.SizedTotal > 0 {
		fmt.Fprintf(&b, " · %s of %s", pipeline.HumanBytes(f.SizedBytes), pipeline.HumanBytes(f.SizedTotal))
		// The time left, when all that is left is in progress.
		if f.Sized == f.Files && done+f.Files >= s.Found && f.Rate > 0 {
			left := time.Duration(float64(f.SizedTotal-f.SizedBytes) / f.Rate * float64(time.Second))
			fmt.Fprintf(&b, " · ETA %s", formatETA(left))
		}
	}
	return frac, b.String()
}

// formatETA writes a time left as 45s, 3m05s or 2h07m.
func formatETA(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, sec)
	}
	return fmt.Sprintf("%ds", sec)
}
