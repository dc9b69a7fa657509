package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is the release this binary is, when the build sets it
// (-ldflags "-X main.version=v1.2.3"); otherwise the module's version from
// the build information is shown.
var version = ""

// versionLine is what `crawl --version` and `crawl version` print: the
// version, the commit it was built from ("-dirty" when the tree had
// changes) and the Go version.
func versionLine(info *debug.BuildInfo, ok bool) string {
	v, commit, goVersion := version, "unknown", runtime.Version()
	if ok {
		if v == "" {
			v = info.Main.Version
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		modified := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && commit != "unknown" {
			commit += "-dirty"
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return fmt.Sprintf("crawl %s commit %s %s", v, commit, goVersion)
}

// buildVersion is versionLine for this binary.
func buildVersion() string {
	return versionLine(debug.ReadBuildInfo())
}

// newVersion is `crawl version`.
func newVersion(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(stdout, buildVersion())
			return err
		},
	}
}
