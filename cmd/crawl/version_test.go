package main

import (
	"bytes"
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	info := func(settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "crawl", Version: "v1.2.3"}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	cases := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"clean tree", info("vcs.revision", "abc123", "vcs.modified", "false"), true, "crawl v1.2.3 commit abc123 go1.99.1"},
		{"dirty tree", info("vcs.revision", "abc123", "vcs.modified", "true"), true, "crawl v1.2.3 commit abc123-dirty go1.99.1"},
		{"no vcs", info(), true, "crawl v1.2.3 commit unknown go1.99.1"},
		{"no build info", nil, false, "crawl (devel) commit unknown " + runtime.Version()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := versionLine(c.info, c.ok); got != c.want {
				t.Errorf("versionLine = %q, want %q", got, c.want)
			}
		})
	}
}

// TestVersionCommands: --version and the version command print the same
// line, naming the Go version, and exit 0.
func TestVersionCommands(t *testing.T) {
	var lines []string
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("crawl %s: exit %d, stderr %q", args[0], code, errb.String())
		}
		line := strings.TrimSpace(out.String())
		if !strings.HasPrefix(line, "crawl ") || !strings.Contains(line, " commit ") || !strings.HasSuffix(line, runtime.Version()) {
			t.Errorf("crawl %s printed %q", args[0], line)
		}
		lines = append(lines, line)
	}
	if lines[0] != lines[1] {
		t.Errorf("--version says %q, version says %q", lines[0], lines[1])
	}
}
