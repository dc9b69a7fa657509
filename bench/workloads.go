package main

// The workloads: what crawl is asked to do on each, what it must leave.

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

type workload struct {
	id   string
	what string
	// maySkip: an exit status 2 (bad usage) means this crawl does not have
	// the flag yet; the workload is reported as unsupported.
	maySkip bool
	// input writes the list or CSV file crawl reads, if any.
	input func(base string, g *group, path string) error
	// args is crawl's command line, without the shared flags.
	args func(base, in string, p profile) []string
	// bounded: interrupted after --w1m-for, measured for its first file.
	bounded bool
}

var workloads = []workload{
	{
		id: "w1", what: "site crawl, UTF-8",
		args: w1Args,
	},
	{
		// Not in -w's default list: it needs Chromium. Its cost is the
		// browser's, against w1's.
		id: "w1render", what: "w1 with --render (headless Chromium)",
		args: func(base, in string, p profile) []string {
			return append(w1Args(base, in, p), "--render")
		},
	},
	{
		id: "w2", what: "site crawl, GBK, {title} folders",
		args: func(base, _ string, p profile) []string {
			return []string{
				"--list-url", base + w2Template, "--first-url", base + w2First,
				"--pages", fmt.Sprintf("1-%d", p.W2Pages),
				"--links", w2Links, "--images", w2Images, "--strip-query",
				"--name", "{title}/{name}{ext}",
			}
		},
	},
	{
		id: "w1list", what: "w1's images as a URL list",
		input: func(base string, g *group, path string) error {
			return writeLines(path, func(w *bufio.Writer) {
				fmt.Fprintf(w, "# w1 images, %d URLs\n", len(g.Files))
				for _, f := range g.Files {
					fmt.Fprintf(w, "%s%s\n", base, f.URL)
				}
			})
		},
		args: func(_, in string, _ profile) []string { return []string{"get", "--list", in} },
	},
	{
		id: "w3", what: "CSV id,name,url, extensionless", maySkip: true,
		input: func(base string, g *group, path string) error {
			return writeLines(path, func(w *bufio.Writer) {
				for i, f := range g.Files {
					fmt.Fprintf(w, "%d,%s,%s%s\n", i+1, f.Name, base, f.URL)
				}
			})
		},
		args: func(_, in string, _ profile) []string {
			return []string{"get", "--csv", in, "--url-col", "3", "--name-col", "2"}
		},
	},
	{
		id: "w4", what: "one big file",
		args: func(base, _ string, _ profile) []string { return []string{"get", base + bigURL} },
	},
	{
		id: "w4slow", what: "big file, 25 MiB/s per conn, --split 8", maySkip: true,
		args: func(base, _ string, _ profile) []string {
			return []string{"get", "--split", "8", base + slowURL}
		},
	},
	{
		id: "w1m", what: "huge URL list, first file + memory", bounded: true,
		input: func(base string, g *group, path string) error {
			return writeLines(path, func(w *bufio.Writer) {
				for i := 1; i <= g.URLs; i++ {
					fmt.Fprintf(w, "%s"+mURLFmt+"\n", base, i)
				}
			})
		},
		args: func(_, in string, _ profile) []string { return []string{"get", "--list", in} },
	},
}

// w1Args is w1's command line.
func w1Args(base, _ string, p profile) []string {
	return []string{
		"--list-url", base + w1Template, "--first-url", base + w1First,
		"--pages", fmt.Sprintf("1-%d", p.W1Pages),
		"--links", w1Links, "--images", w1Images, "--strip-query",
	}
}

// sharedFlags go on every run: the concurrency the targets are set at.
func sharedFlags(out string) []string {
	return []string{"--workers", "10", "--per-host", "10", "--ignore-robots", "--quiet", "--out", out}
}

func workloadByID(id string) (workload, bool) {
	for _, w := range workloads {
		if w.id == id {
			return w, true
		}
	}
	return workload{}, false
}

func writeLines(path string, fill func(*bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fill(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// shellQuote renders a command line so it can be pasted into a shell.
func shellQuote(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,") == "" {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return b.String()
}
