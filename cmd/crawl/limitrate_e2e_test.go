package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestLimitRateFlag: crawl get --limit-rate downloads everything (how
// well the rate is kept is fetcher's BenchmarkLimitRate); a bad rate is a
// one-line usage error.
func TestLimitRateFlag(t *testing.T) {
	srv, _ := serveDemo(t)
	out := filepath.Join(t.TempDir(), "out")
	r := runCrawl(t, t.TempDir(), "", "get", "--out", out, "--quiet", "--limit-rate", "64M", "--split", "2",
		srv.URL+"/img/g1-1.png", srv.URL+"/img/g1-2.png", srv.URL+"/img/g2-1.png")
	mustCode(t, r, 0)
	if n := len(files(t, out)); n != 3 {
		t.Errorf("%d files, want 3", n)
	}
	for _, bad := range []string{"fast", "-5K", "2MB"} {
		r := runCrawl(t, t.TempDir(), "", "get", "--out", filepath.Join(t.TempDir(), "o"), "--limit-rate", bad, srv.URL+"/img/g1-1.png")
		mustCode(t, r, exitUsage)
		if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "--limit-rate") {
			t.Errorf("--limit-rate %s: stderr %q, want one line naming the flag", bad, r.stderr)
		}
	}
}
