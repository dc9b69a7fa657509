package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"crawl"
)

// newDemo is `crawl demo`: it serves the bundled demo site on 127.0.0.1 and
// crawls it, offline.
func newDemo(stdin io.Reader, stderr io.Writer, code *int) *cobra.Command {
	var out string
	var quiet, progress bool
	cmd := &cobra.Command{
		Use:   "demo [--out DIR]",
		Short: "Serve the bundled demo site (GBK pages included) on 127.0.0.1 and crawl it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return &runFailure{err: fmt.Errorf("serve demo site: %w", err), code: exitFailed}
			}
			srv := &http.Server{Handler: crawl.DemoHandler()}
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					fmt.Fprintf(stderr, "crawl demo: server: %v\n", err)
				}
			}()
			defer srv.Close()
			base := "http://" + ln.Addr().String()
			fmt.Fprintf(stderr, "crawl demo: serving the demo site at %s\n", base)
			worst := exitOK
			for _, dc := range crawl.DemoCrawls {
				args := make([]string, 0, len(dc.Args)+6)
				for _, a := range dc.Args {
					args = append(args, strings.ReplaceAll(a, "{base}", base))
				}
				// The demo is self-contained: no ./crawl.yaml of the user's applies.
				args = append(args, "--site", os.DevNull, "--out", out)
				if quiet {
					args = append(args, "--quiet")
				}
				if progress {
					args = append(args, "--progress")
				}
				fmt.Fprintf(stderr, "crawl demo: %s: crawl %s\n", dc.Name, quoteArgs(args))
				c := run(cmd.Context(), args, stdin, io.Discard, stderr)
				if c == exitInterrupted {
					*code = c
					return nil
				}
				worst = max(worst, c)
			}
			fmt.Fprintf(stderr, "crawl demo: files are in %s (list: %s)\n", out, out+string(os.PathSeparator)+"manifest.csv")
			*code = worst
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "downloads", "where files go (created if missing)")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress bar")
	cmd.Flags().BoolVar(&progress, "progress", false, "show a progress bar even when stderr is not a terminal")
	return cmd
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \t'\"[]{}*?$&|;<>()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
