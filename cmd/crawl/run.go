package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"crawl/pipeline"
	"crawl/pipeline/input"
)

// Exit codes of the contract.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// options holds the flags of one invocation.
type options struct {
	cfg      pipeline.Config
	site     string
	pages    string
	out      string
	delay    time.Duration
	maxSize  string
	maxPage  string
	queue    string
	job      string
	proxy    proxyValue
	version  bool
	rate     string
	quiet    bool
	progress bool
	csv      *input.CSVReader // --csv, opened before the run; the run closes it
}

// run is the whole program: it parses args, runs the command and returns
// the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	code := exitOK
	root := newRoot(ctx, stdin, stdout, stderr, &code)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "crawl: %s\n", oneLine(err))
		var fail *runFailure
		if errors.As(err, &fail) {
			return fail.code
		}
		return exitUsage
	}
	return code
}

// runFailure is an error that is not the user's: it carries its exit code.
type runFailure struct {
	err  error
	code int
}

func (e *runFailure) Error() string { return e.err.Error() }
func (e *runFailure) Unwrap() error { return e.err }

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// newRoot is the whole command tree: crawl itself (a site crawl), get,
// demo, worker, version and the hidden stage command that the supervisor
// starts. crawl and get share one options value, so a shared flag means
// the same under either.
func newRoot(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, code *int) *cobra.Command {
	o := &options{}
	root := newCrawl(o, stdin, stdout, stderr, code)
	root.AddCommand(newGet(o, stdin, stderr, code))
	root.AddCommand(newDemo(stdin, stderr, code))
	root.AddCommand(newWorker(stderr, code))
	root.AddCommand(newVersion(stdout))
	root.AddCommand(newStage(stdout, stderr, code))
	return root
}

// newCrawl is the root command, `crawl [flags]`: walk the listing pages of
// a site (from flags or the --site profile) and download what its detail
// pages hold. With --version it only prints the version.
func newCrawl(o *options, stdin io.Reader, stdout, stderr io.Writer, code *int) *cobra.Command {
	root := &cobra.Command{
		Use:   "crawl [flags]",
		Short: "Download every image or video behind a range of listing pages",
		Long: "crawl walks listing pages, follows their links to detail pages, picks image and video URLs\n" +
			"from those with XPath or CSS selectors and downloads them with a bounded, polite, resumable pool.",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.version {
				// Ours, not cobra's Version field: cobra prints that through
				// text/template, which keeps every method of every type in
				// the binary (9 MB more of it).
				_, err := fmt.Fprintln(stdout, buildVersion())
				return err
			}
			if err := prepareCrawl(cmd.Flags(), o); err != nil {
				return err
			}
			return execute(cmd.Context(), o, stdin, stderr, code)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	f := root.Flags()
	addSiteFlags(f, o)
	addSharedFlags(f, o)
	return root
}

// prepareCrawl completes o for a site crawl from the parsed flags: it reads
// the --site profile (flags given on the command line win), checks
// --max-next and parses --pages. It returns a usage error, having started
// nothing.
func prepareCrawl(f *pflag.FlagSet, o *options) error {
	if err := applyProfile(f, o.site, f.Changed("site")); err != nil {
		return err
	}
	o.cfg.Mode = pipeline.ModeCrawl
	if o.cfg.MaxNext < 1 {
		return fmt.Errorf("--max-next must be at least 1, not %d", o.cfg.MaxNext)
	}
	if o.pages != "" {
		p, err := pipeline.ParsePages(o.pages)
		if err != nil {
			return err
		}
		o.cfg.Pages = p
	}
	splitPerHost(f, o)
	proxyFlag(o)
	return nil
}

// addSiteFlags defines the flags only a site crawl has: the profile, the
// listing pages and the selectors that find detail pages and their files,
// and how those pages are read.
func addSiteFlags(f *pflag.FlagSet, o *options) {
	f.BoolVar(&o.version, "version", false, "print the version, commit and Go version")
	f.StringVar(&o.site, "site", "crawl.yaml", "site profile (YAML) whose keys are the long flag names with _ for -")
	f.StringVar(&o.pages, "pages", "", "listing pages to walk: 5, 1-5, 1,3,7-9 or open-ended 3-")
	f.StringVar(&o.cfg.ListURL, "list-url", "", "listing page URL; {page} is replaced by the page number")
	f.StringVar(&o.cfg.FirstURL, "first-url", "", "URL of page 1 when it does not follow the template")
	f.StringVar(&o.cfg.Links, "links", "", "selector for detail-page links on a listing page (XPath, or css:SELECTOR[@attr])")
	f.StringVar(&o.cfg.Images, "images", "", "selector for image/video URLs on a detail page")
	f.BoolVar(&o.cfg.StripQuery, "strip-query", false, "drop the query string of each image URL")
	f.StringArrayVar(&o.cfg.Rewrites, "rewrite", nil, "rewrite each image URL: 'REGEX=>REPLACEMENT' (repeatable)")
	f.StringVar(&o.cfg.Encoding, "encoding", "", "force the page encoding (gbk, gb18030, big5, shift_jis, utf-8, ...)")
	f.StringVar(&o.cfg.Next, "next", "", "on a detail page, the link to the next page of the same gallery (followed until none)")
	f.IntVar(&o.cfg.MaxNext, "max-next", pipeline.DefaultMaxNext, "with --next, read at most N pages of one gallery; a longer one is cut there and reported")
	f.StringVar(&o.cfg.Title, "title", "", "where {title} comes from on a detail page (default: <title>)")
	f.BoolVar(&o.cfg.Render, "render", false, "load listing and detail pages in headless Chromium and select on the rendered page")
	f.StringVar(&o.cfg.RenderWait, "render-wait", "", "with --render: wait for this CSS selector, or this long (2s), before selecting (default: until the network is quiet)")
	f.StringVar(&o.maxPage, "max-page-size", "16MiB", "refuse (and report) a listing or detail page larger than this once decoded; each page stage process may take 18 times it for the pages it reads at once")
}

// newGet is `crawl get [flags] [URL...]`: download the URLs given as
// arguments, in --list files and in a --csv file.
func newGet(o *options, stdin io.Reader, stderr io.Writer, code *int) *cobra.Command {
	get := &cobra.Command{
		Use:   "get [flags] [URL...]",
		Short: "Download URLs given on the command line, in a list file or in a CSV file",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cfg.Mode = pipeline.ModeGet
			o.cfg.URLs = args
			if err := checkGetInputs(o); err != nil {
				return err
			}
			if o.cfg.CSV != "" {
				if err := openCSV(o, stdin, stderr); err != nil {
					return err
				}
				defer func() {
					if o.csv != nil {
						o.csv.Close()
					}
				}()
			}
			splitPerHost(cmd.Flags(), o)
			proxyFlag(o)
			return execute(cmd.Context(), o, stdin, stderr, code)
		},
	}
	addInputFlags(get.Flags(), o)
	addSharedFlags(get.Flags(), o)
	return get
}

// addInputFlags defines the flags that name what crawl get downloads
// besides its arguments: list files and a CSV file with its columns.
func addInputFlags(f *pflag.FlagSet, o *options) {
	f.StringArrayVar(&o.cfg.Lists, "list", nil, "file with one URL per line (# comments); - reads standard input")
	f.StringVar(&o.cfg.CSV, "csv", "", "CSV file of URLs (a header row or none; UTF-8, UTF-16 or GBK); - reads standard input")
	f.StringVar(&o.cfg.URLCol, "url-col", "", "the CSV column holding the URL: 1-based number or header name (default: the first column of URLs)")
	f.StringVar(&o.cfg.NameCol, "name-col", "", "the CSV column to name each file after: <cell><ext> (number or header name)")
	f.StringVar(&o.cfg.CSVEncoding, "csv-encoding", "", "force the CSV's encoding (gbk, gb18030, utf-8, utf-16le, ...; default: detected)")
}

// checkGetInputs checks that crawl get has something to download, that
// every --list file can be read and that standard input is named at most
// once. It reads no URL yet.
func checkGetInputs(o *options) error {
	if len(o.cfg.URLs) == 0 && len(o.cfg.Lists) == 0 && o.cfg.CSV == "" {
		return errors.New("nothing to download: give URLs, --list FILE or --csv FILE")
	}
	stdinUsers := 0
	for _, l := range o.cfg.Lists {
		if l == "-" {
			stdinUsers++
		}
		if err := input.CheckList(l); err != nil {
			return err
		}
	}
	if o.cfg.CSV == "-" {
		stdinUsers++
	}
	if stdinUsers > 1 {
		return errors.New("standard input (-) can be read only once: give it to one --list or --csv")
	}
	return nil
}

// openCSV opens --csv before the run, so that a bad file or column is a
// usage error before anything is written and the run's --name can use its
// header. On success o.csv holds the open reader (the run closes it) and
// o.cfg.CSVHeader its header.
func openCSV(o *options, stdin io.Reader, stderr io.Writer) error {
	in, err := input.OpenCSV(o.cfg.CSVOptions(stderr), stdin)
	if err != nil {
		return err
	}
	o.csv = in
	o.cfg.CSVHeader = in.Header()
	return nil
}

// newStage is the hidden command the supervisor starts for each stage
// process: run STAGE of the crawl whose state is in STATEDIR.
func newStage(stdout, stderr io.Writer, code *int) *cobra.Command {
	return &cobra.Command{
		Use:    pipeline.StageCommand + " STAGE STATEDIR",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer startProfile(args[0], stderr)()
			tuneGC(args[0])
			if err := pipeline.RunStage(cmd.Context(), args[0], args[1], cmd.InOrStdin(), stdout, stderr); err != nil {
				return &runFailure{err: err, code: exitFailed}
			}
			if cmd.Context().Err() != nil {
				*code = exitInterrupted
			}
			return nil
		},
	}
}

// addSharedFlags defines the flags crawl and crawl get both have: where files
// go and how they are named, how politely and how hard hosts are asked,
// request headers, the proxy, and where the queues live.
func addSharedFlags(f *pflag.FlagSet, o *options) {
	f.StringVar(&o.out, "out", "downloads", "where files go (created if missing)")
	f.StringVar(&o.cfg.Name, "name", "{name}{ext}", "file path under --out: {name} {ext} {host} {page} {n} {title} (with --csv also {1} {2}... and header names); / makes folders")
	f.IntVar(&o.cfg.Workers, "workers", 10, "size of the download pool")
	f.IntVar(&o.cfg.PerHost, "per-host", 4, "at most N requests at once to one host")
	f.DurationVar(&o.cfg.Delay, "delay", 0, "at least this long between two requests to one host")
	f.IntVar(&o.cfg.Retries, "retries", 3, "retries after a failed request, with exponential back-off")
	f.DurationVar(&o.cfg.RetryWait, "retry-wait", time.Second, "first back-off wait; doubles with each retry")
	f.DurationVar(&o.cfg.Timeout, "timeout", 30*time.Second, "for connecting, for a response to start, and for any stall in a body")
	f.StringVar(&o.maxSize, "max-size", "", "skip (and report) files larger than this, e.g. 50MB")
	f.StringVar(&o.cfg.UserAgent, "user-agent", "", "User-Agent header (default: a browser-like one)")
	f.StringArrayVar(&o.cfg.Headers, "header", nil, "extra request header 'Name: value' (repeatable)")
	f.StringVar(&o.cfg.Cookie, "cookie", "", "Cookie header, e.g. 'a=b; c=d'")
	f.Var(&o.proxy, "proxy", "proxy for every request: http://, https://, socks5:// or socks5h://HOST:PORT; '' ignores HTTP_PROXY, HTTPS_PROXY, ALL_PROXY")
	f.StringVar(&o.rate, "limit-rate", "", "all downloads together stay under RATE bytes per second: 500K, 2M (K=1024, M=1024²)")
	f.StringVar(&o.cfg.CookiesFile, "cookies", "", "Netscape cookies.txt (as browser export extensions, curl -c and wget write) to start the crawl's cookies from")
	f.StringVar(&o.cfg.Referer, "referer", "", "Referer for every request, or none (default: as a browser sends it)")
	f.BoolVar(&o.cfg.IgnoreRobots, "ignore-robots", false, "do not fetch or obey robots.txt")
	f.BoolVar(&o.cfg.Overwrite, "overwrite", false, "download again even what is already done")
	f.IntVar(&o.cfg.Split, "split", 1, "download each large file over N connections with Range when the server allows it")
	f.StringVar(&o.cfg.Variant, "variant", "best", "for an HLS master playlist, which variant to save: best, worst or a height such as 720")
	f.StringVar(&o.cfg.Remux, "remux", "", "save an HLS stream of MPEG-TS segments as .mp4 (needs ffmpeg): mp4")
	f.StringVar(&o.queue, "queue", "sqlite", "where the stage queues live: sqlite (embedded, in OUT/.crawl/) or redis://host:port/db")
	f.StringVar(&o.job, "job", "", "with a Redis queue: the crawl's name (default: derived from the command)")
	f.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	f.BoolVar(&o.progress, "progress", false, "show a progress bar even when stderr is not a terminal")
	f.BoolVarP(&o.cfg.Verbose, "verbose", "v", false, "log every page read, with its encoding")
}

// splitPerHost raises the --per-host default to --split N: a user who asks
// for N connections to one file gets them unless --per-host (flag or
// profile) says otherwise, and every connection still counts against it.
func splitPerHost(f *pflag.FlagSet, o *options) {
	ph := f.Lookup("per-host")
	if o.cfg.Split > o.cfg.PerHost && !ph.Changed && ph.Value.String() == ph.DefValue {
		o.cfg.PerHost = o.cfg.Split
	}
}

// proxyValue is the value of --proxy; it knows whether it was given (on
// the command line or in the profile), since ” then means no proxy at
// all, not the environment's.
type proxyValue struct {
	url string
	set bool
}

func (p *proxyValue) String() string { return p.url }
func (p *proxyValue) Type() string   { return "URL" }
func (p *proxyValue) Set(s string) error {
	p.url, p.set = s, true
	return nil
}

// proxyFlag sets the proxy of the run from --proxy: a URL, or ” for none
// at all; without it the environment decides.
func proxyFlag(o *options) {
	if !o.proxy.set {
		return
	}
	o.cfg.Proxy = strings.TrimSpace(o.proxy.url)
	o.cfg.NoEnvProxy = o.cfg.Proxy == ""
}

// execute checks and completes the configuration, runs the pipeline and
// reports. Every usage error is returned before --out is created.
func execute(ctx context.Context, o *options, stdin io.Reader, stderr io.Writer, code *int) error {
	if err := checkCommandLine(o); err != nil {
		return err
	}
	if err := parseSizes(o); err != nil {
		return err
	}
	out, err := filepath.Abs(o.out)
	if err != nil {
		return fmt.Errorf("--out %q: %w", o.out, err)
	}
	o.cfg.Out = out
	if err := o.cfg.Validate(); err != nil {
		return err
	}
	announceJob(o, stderr)
	if err := makeOut(out, o.out); err != nil {
		return err
	}
	return runPipeline(ctx, o, stdin, stderr, code)
}

// checkCommandLine checks what only the command line can get wrong (a
// value the configuration would take, such as --split 0 or an empty
// --name) and --queue with --job; a Redis --queue becomes o.cfg.Queue.
func checkCommandLine(o *options) error {
	queue, err := parseQueue(o.queue)
	if err != nil {
		return err
	}
	if o.cfg.Split < 1 { // Validate takes 0 as one connection; on the command line it is a mistake
		return fmt.Errorf("--split must be from 1 to %d, not %d", pipeline.MaxSplit, o.cfg.Split)
	}
	if o.cfg.Name == "" { // the flag's default is not empty: the flag or the profile gave ''
		return errors.New("--name must not be empty (flag or profile); leave it out for {name}{ext}")
	}
	o.cfg.Queue = queue
	if queue == "" && o.job != "" {
		return errors.New("--job names a crawl on a Redis server: give --queue redis://host:port/db too")
	}
	return nil
}

// parseSizes parses --max-size, --max-page-size and --limit-rate into
// o.cfg; a flag left empty keeps the configuration's value.
func parseSizes(o *options) error {
	if o.maxSize != "" {
		n, err := pipeline.ParseSize(o.maxSize)
		if err != nil {
			return fmt.Errorf("--max-size: %w", err)
		}
		o.cfg.MaxSize = n
	}
	if o.maxPage != "" {
		n, err := pipeline.ParseSize(o.maxPage)
		if err != nil || n < 1 {
			return fmt.Errorf("--max-page-size %q: want a size of at least 1 byte, such as 32MiB", o.maxPage)
		}
		o.cfg.MaxPageSize = n
	}
	if o.rate != "" {
		n, err := pipeline.ParseRate(o.rate)
		if err != nil {
			return fmt.Errorf("--limit-rate: %w", err)
		}
		o.cfg.LimitRate = n
	}
	return nil
}

// announceJob names the job of a crawl on a Redis server (--job, or one
// derived from the command) and tells the user how other machines join it.
// A crawl with the embedded queue has no job.
func announceJob(o *options, stderr io.Writer) {
	if o.cfg.Queue == "" {
		return
	}
	o.cfg.Job = o.job
	if o.cfg.Job == "" {
		o.cfg.Job = o.cfg.DefaultJob()
	}
	fmt.Fprintf(stderr, "crawl: crawl %s on %s; join it from other machines with: crawl worker --queue %s --job %s --out DIR\n",
		o.cfg.Job, o.cfg.Queue, o.cfg.Queue, o.cfg.Job)
}

// makeOut creates the --out folder abs (given names it as the user wrote
// it, for errors); an existing folder is kept as it is, a file in its place
// is an error.
func makeOut(abs, given string) error {
	if st, err := os.Stat(abs); err == nil && !st.IsDir() {
		return fmt.Errorf("--out %s: not a folder", given)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// runPipeline runs the checked configuration and sets *code from the
// result. A usage error found only by the run is returned as it is; a run
// that could not start is a runFailure; an error after the start is
// reported on stderr next to the summary.
func runPipeline(ctx context.Context, o *options, stdin io.Reader, stderr io.Writer, code *int) error {
	defer startProfile("supervisor", stderr)()
	tuneGC("supervisor")
	bar := newProgress(stderr, o.quiet, o.progress)
	in := o.csv
	o.csv = nil // the run closes it
	res, err := pipeline.Run(ctx, &o.cfg, pipeline.Options{Stdin: stdin, Stderr: stderr, Progress: bar.update, CSV: in})
	if err != nil {
		var ue *pipeline.UsageError
		if errors.As(err, &ue) {
			return err
		}
		if res == nil {
			return &runFailure{err: err, code: exitFailed}
		}
		fmt.Fprintf(stderr, "crawl: %s\n", oneLine(err))
	}
	res.Summary(stderr)
	*code = res.ExitCode()
	if err != nil && *code == exitOK {
		*code = exitFailed
	}
	return nil
}
