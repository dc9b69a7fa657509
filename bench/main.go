// Command bench is crawl's whole-run benchmark: it generates the workloads
// of issue 7 from a seed, serves them with nginx on 127.0.0.1, runs crawl
// on each several times into fresh folders, checks every file against the
// generator's SHA-256 manifest, and prints wall time, CPU and peak memory
// of crawl's whole process tree. Run it with scripts/bench.sh.
package main

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

type options struct {
	workloads string
	runs      int
	quick     bool
	crawl     string
	keep      bool
	jsonOut   string
	seed      uint64
	site      string
	mFor      time.Duration
	timeout   time.Duration
	pprof     string
	label     string
	mem       string
	memFor    time.Duration
	chart     string
	svg       string
}

func main() {
	var o options
	flag.StringVar(&o.workloads, "w", "w1,w2,w1list,w3,w4,w4slow,w1m", "workloads to run, comma-separated")
	flag.IntVar(&o.runs, "n", 0, "runs per workload (default 3, 1 with --quick)")
	flag.BoolVar(&o.quick, "quick", false, "much smaller workloads, 1 run each: seconds in all")
	flag.StringVar(&o.crawl, "crawl", "", "crawl binary to measure (default: build ./cmd/crawl into a temporary folder)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work folder: outputs of every run, inputs, logs, nginx.conf")
	flag.StringVar(&o.jsonOut, "json", "", "also write every run and the summary as JSON to this file")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the generated workloads")
	flag.StringVar(&o.site, "site", "", "folder of the generated workloads, reused while seed and profile match (default /tmp/crawl-bench-site-full or -quick)")
	flag.DurationVar(&o.mFor, "w1m-for", 0, "interrupt the w1m run after this long (default 20s, 5s with --quick)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up on one run after this long")
	flag.StringVar(&o.label, "label", "", "what the crawl binary is, for the output and JSON (scripts/bench.sh passes git describe)")
	flag.StringVar(&o.chart, "chart", "", "write no runs: draw the ratios of crawl against each peer, from the JSON of a side-by-side run (the shared benchmark's --json), as the SVG --svg")
	flag.StringVar(&o.svg, "svg", "docs/bench-ratios.svg", "the SVG file --chart writes")
	flag.StringVar(&o.pprof, "pprof", "", "write CPU and heap profiles of every crawl process under DIR/<workload>-<run>/ (CRAWL_PROFILE)")
	flag.StringVar(&o.mem, "mem", "", "instead of the workloads, the page memory cases (a,b,c,d,e or all; needs --crawl)")
	flag.DurationVar(&o.memFor, "mem-for", 10*time.Second, "how long case d of -mem runs")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: bench [flags]   (or scripts/bench.sh [flags])\n\nworkloads:\n")
		for _, w := range workloads {
			fmt.Fprintf(os.Stderr, "  %-7s %s\n", w.id, w.what)
		}
		fmt.Fprintf(os.Stderr, "\nflags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if o.chart != "" {
		if err := chartMain(o.chart, o.svg); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(2)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	run := benchMain
	if o.mem != "" {
		run = memMain
	}
	code, err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// runRecord is one run, as the JSON holds it.
type runRecord struct {
	Workload string    `json:"workload"`
	Run      int       `json:"run"`
	Command  string    `json:"command"`
	Status   string    `json:"status"`
	Message  string    `json:"message,omitempty"`
	Log      string    `json:"log,omitempty"`
	Measured *measured `json:"measured"`
	Verdict  *verdict  `json:"verdict,omitempty"`
}

type report struct {
	Meta    map[string]any `json:"meta"`
	Runs    []*runRecord   `json:"runs"`
	Summary []*summary     `json:"summary"`
}

func benchMain(ctx context.Context, o options) (int, error) {
	prof := fullProfile
	if o.quick {
		prof = quickProfile
	}
	if o.runs == 0 {
		o.runs = 3
		if o.quick {
			o.runs = 1
		}
	}
	if o.runs < 1 {
		return 2, errors.New("-n must be at least 1")
	}
	if o.mFor == 0 {
		o.mFor = 20 * time.Second
		if o.quick {
			o.mFor = 5 * time.Second
		}
	}
	if o.site == "" {
		o.site = filepath.Join(os.TempDir(), "crawl-bench-site-"+prof.Name)
	}
	var chosen []workload
	for _, id := range strings.Split(o.workloads, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		w, ok := workloadByID(id)
		if !ok {
			return 2, fmt.Errorf("-w: no workload %q (have w1, w2, w1list, w3, w4, w4slow, w1m, w1render)", id)
		}
		chosen = append(chosen, w)
	}
	if len(chosen) == 0 {
		return 2, errors.New("-w: no workload")
	}

	work, err := os.MkdirTemp("", "crawl-bench-")
	if err != nil {
		return 1, err
	}
	failed := false
	defer func() {
		switch {
		case o.keep:
			fmt.Printf("\nwork folder kept: %s\n", work)
		case failed:
			for _, d := range []string{"out", "inputs", "bin"} {
				os.RemoveAll(filepath.Join(work, d))
			}
			fmt.Printf("\nlogs kept: %s/logs\n", work)
		default:
			os.RemoveAll(work)
		}
	}()
	for _, d := range []string{"out", "inputs", "logs", "bin", "nginx"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return 1, err
		}
	}

	crawlBin := o.crawl
	crawlRev := ""
	if crawlBin == "" {
		crawlBin, crawlRev, err = buildCrawl(ctx, filepath.Join(work, "bin"))
		if err != nil {
			failed = true
			return 1, err
		}
	} else if crawlBin, err = filepath.Abs(crawlBin); err != nil {
		return 1, err
	}
	if _, err := os.Stat(crawlBin); err != nil {
		return 2, fmt.Errorf("--crawl: %w", err)
	}
	if o.label != "" {
		crawlRev = o.label
	} else if crawlRev == "" {
		crawlRev = vcsRevision(crawlBin)
	}

	// Generate what the chosen workloads need.
	groups := map[string]*group{}
	if err := os.MkdirAll(o.site, 0o755); err != nil {
		return 1, err
	}
	for _, w := range chosen {
		name := groupOf[w.id]
		if groups[name] != nil {
			continue
		}
		t0 := time.Now()
		g, made, err := ensureGroup(o.site, name, o.seed, prof)
		if err != nil {
			failed = true
			return 1, fmt.Errorf("generate %s: %w", name, err)
		}
		groups[name] = g
		if made {
			fmt.Printf("generated %-3s %6d files %8.1f MiB in %.1f s\n", name, len(g.Files), float64(g.Bytes)/(1<<20), time.Since(t0).Seconds())
		}
		if ctx.Err() != nil {
			return 130, ctx.Err()
		}
	}

	ngx, err := startNginx(ctx, filepath.Join(work, "nginx"), o.site)
	if err != nil {
		failed = true
		return 1, err
	}
	defer ngx.stop()

	rep := &report{Meta: map[string]any{
		"date":       time.Now().Format(time.RFC3339),
		"profile":    prof.Name,
		"seed":       o.seed,
		"runs":       o.runs,
		"crawl":      crawlBin,
		"crawl_rev":  crawlRev,
		"go":         runtime.Version(),
		"cpus":       runtime.NumCPU(),
		"cpu_model":  cpuModel(),
		"kernel":     kernel(),
		"nginx":      nginxVersion(),
		"server":     ngx.base,
		"site":       o.site,
		"w1m_for_s":  o.mFor.Seconds(),
		"concurrent": 10,
	}}
	rev := ""
	if crawlRev != "" {
		rev = " (" + crawlRev + ")"
	}
	fmt.Printf("crawl bench: %s profile, seed %d, %d run(s) each, %d CPUs shared with nginx %s on %s\n",
		prof.Name, o.seed, o.runs, runtime.NumCPU(), rep.Meta["nginx"], ngx.base)
	fmt.Printf("crawl: %s%s\nsite: %s\n", crawlBin, rev, o.site)

	interrupted := false
	for _, w := range chosen {
		if ctx.Err() != nil {
			interrupted = true
			break
		}
		g := groups[groupOf[w.id]]
		sum, recs, err := runWorkload(ctx, o, prof, w, g, ngx, crawlBin, work)
		rep.Runs = append(rep.Runs, recs...)
		if err != nil {
			failed = true
			return 1, err
		}
		rep.Summary = append(rep.Summary, sum)
		if sum.Status != "ok" && sum.Status != "unsupported" {
			failed = true
		}
	}
	if ctx.Err() != nil {
		interrupted = true
	}

	fmt.Println()
	printTable(os.Stdout, rep.Summary, prof)
	if o.jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", " ")
		if err != nil {
			return 1, err
		}
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			return 1, err
		}
		fmt.Printf("\nJSON: %s\n", o.jsonOut)
	}
	if interrupted {
		failed = true
		return 130, nil
	}
	if failed {
		return 1, nil
	}
	return 0, nil
}

// runWorkload runs crawl on w o.runs times and sums the runs up.
func runWorkload(ctx context.Context, o options, prof profile, w workload, g *group, ngx *nginx, crawlBin, work string) (*summary, []*runRecord, error) {
	in := ""
	if w.input != nil {
		in = filepath.Join(work, "inputs", w.id+inputExt(w))
		if err := w.input(ngx.base, g, in); err != nil {
			return nil, nil, err
		}
	}
	warmCache(filepath.Join(o.site, g.Name))
	expected := g.Files

	var recs []*runRecord
	for i := 1; i <= o.runs; i++ {
		if ctx.Err() != nil {
			break
		}
		out := filepath.Join(work, "out", fmt.Sprintf("%s-%d", w.id, i))
		if err := os.RemoveAll(out); err != nil {
			return nil, recs, err
		}
		args := append(w.args(ngx.base, in, prof), sharedFlags(out)...)
		sp := runSpec{
			bin: crawlBin, args: args, dir: work,
			log:      filepath.Join(work, "logs", fmt.Sprintf("%s-%d.log", w.id, i)),
			timeout:  o.timeout,
			nginxPID: ngx.pids,
		}
		if w.bounded {
			sp.bound, sp.watch = o.mFor, out
			if err := os.MkdirAll(out, 0o755); err != nil {
				return nil, recs, err
			}
		}
		if o.pprof != "" {
			dir, err := filepath.Abs(filepath.Join(o.pprof, fmt.Sprintf("%s-%d", w.id, i)))
			if err != nil {
				return nil, recs, err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, recs, err
			}
			sp.env = append(sp.env, "CRAWL_PROFILE="+dir)
		}
		m, err := run(ctx, sp)
		if err != nil {
			return nil, recs, fmt.Errorf("%s: %w", w.id, err)
		}
		rec := &runRecord{
			Workload: w.id, Run: i, Measured: m, Log: sp.log,
			Command: "crawl " + shellQuote(args),
		}
		recs = append(recs, rec)
		logText, _ := os.ReadFile(sp.log)

		switch {
		case m.Exit == 2 && w.maySkip:
			rec.Status = "unsupported"
			rec.Message = firstLine(string(logText))
		case m.TimedOut:
			rec.Status = "timed out"
		case m.Signal != "":
			rec.Status = "killed by " + m.Signal
		case w.bounded && (m.Exit == 130 || m.Exit == 0):
			rec.Status = "ok"
		case m.Exit != 0:
			rec.Status = fmt.Sprintf("exit %d", m.Exit)
			rec.Message = lastLines(string(logText), 3)
		default:
			rec.Status = "ok"
		}
		if rec.Status == "unsupported" {
			fmt.Printf("  %-6s #%d: unsupported by this crawl (exit 2: %s)\n", w.id, i, rec.Message)
			break
		}

		var v *verdict
		if w.bounded {
			v, err = verifyM(out, g)
		} else {
			v, err = verify(out, expected)
			if err == nil && w.id == "w2" {
				countTitles(v, out, g)
			}
		}
		if err != nil {
			v = &verdict{Expected: len(expected)}
			v.problem("cannot read %s: %v", out, err)
		}
		rec.Verdict = v
		if rec.Status == "ok" && (v.Bad > 0 || v.Missing > 0 || v.Extra > 0 || (v.Parts > 0 && !w.bounded) || v.OK == 0) {
			rec.Status = "wrong files"
		}
		if m.Orphans > 0 {
			rec.Message = joinNote(rec.Message, fmt.Sprintf("%d process(es) of the tree outlived crawl (killed)", m.Orphans))
		}
		if m.SampledCPU > 1.1*m.CPU+0.1 {
			rec.Message = joinNote(rec.Message, fmt.Sprintf("rusage CPU %.2f s < %.2f s seen in /proc: children not waited?", m.CPU, m.SampledCPU))
		}
		printRun(rec)
		if !o.keep {
			os.RemoveAll(out)
		}
	}
	return summarize(w, recs, expected), recs, nil
}

func inputExt(w workload) string {
	if w.id == "w3" {
		return ".csv"
	}
	return ".txt"
}

// buildCrawl builds ./cmd/crawl of the module we are in.
func buildCrawl(ctx context.Context, dir string) (bin, rev string, err error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", "", errors.New("not inside crawl's module: run from the repository or give --crawl")
	}
	root := filepath.Dir(gomod)
	bin = filepath.Join(dir, "crawl")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/crawl")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("go build ./cmd/crawl: %w", err)
	}
	rev = vcsRevision(bin)
	if rev == "" { // built with -buildvcs=false
		if b, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output(); err == nil {
			rev = "built from " + strings.TrimSpace(string(b))
		}
	}
	return bin, rev, nil
}

// vcsRevision is the commit a Go binary was built from, as its build
// information records it ("abc1234+dirty" when the tree had changes).
func vcsRevision(bin string) string {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return ""
	}
	rev, dirty := "", ""
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 7:
			rev = s.Value[:7]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "+dirty"
		}
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}

// warmCache reads every file of dir, so that nginx serves from memory.
func warmCache(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if f, err := os.Open(p); err == nil {
			_, _ = io.Copy(io.Discard, f)
			f.Close()
		}
		return nil
	})
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
