package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"crawl/pipeline"
)

// progress draws one overall bar on stderr: files done of files found so
// far, bytes and rate.
type progress struct {
	bar   *progressbar.ProgressBar
	start time.Time
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
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("files"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionShowDescriptionAtLineEnd(),
	)
	return &progress{bar: bar, start: time.Now()}
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
	done := int64(s.Downloaded + s.Skipped + s.Failed + s.TooBig)
	if found := int64(s.Found); found > 0 && found != p.bar.GetMax64() {
		p.bar.ChangeMax64(found)
	}
	rate := float64(s.Bytes) / time.Since(p.start).Seconds()
	p.bar.Describe(fmt.Sprintf("%s, %s/s", pipeline.HumanBytes(s.Bytes), pipeline.HumanBytes(int64(rate))))
	_ = p.bar.Set64(done)
}
