package pipeline

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
)

// Summary writes the end-of-run report: files downloaded, skipped as
// already done, failed (each failed URL with its reason), bytes and time.
func (r *Result) Summary(w io.Writer) {
	state := "done"
	if r.Interrupted {
		state = "interrupted (run the same command again to resume)"
	}
	fmt.Fprintf(w, "crawl: %s in %s: %d downloaded (%s), %d skipped as already done, %d failed",
		state, r.Elapsed.Round(10*time.Millisecond), r.Downloaded, HumanBytes(r.Bytes), r.Skipped, len(r.Failures))
	if r.TooBig > 0 {
		fmt.Fprintf(w, ", %d skipped as larger than --max-size", r.TooBig)
	}
	fmt.Fprintln(w)
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  failed %s: %s\n", f.URL, f.Reason)
	}
	for _, s := range r.TooBigURLs {
		fmt.Fprintf(w, "  skipped %s\n", s)
	}
	if r.FailedCSV != "" {
		fmt.Fprintf(w, "crawl: the failed URLs are in %s; crawl get --csv %s --out %s tries them again\n",
			r.FailedCSV, shellWord(r.FailedCSV), shellWord(filepath.Dir(r.FailedCSV)))
	}
}

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:+,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// HumanBytes formats a byte count with binary units.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
