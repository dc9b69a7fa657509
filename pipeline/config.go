package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"crawl/fetcher"
	"crawl/parser"
	"crawl/pipeline/input"
)

// Mode says which job a run does.
type Mode string

const (
	// ModeCrawl walks listing pages, detail pages and downloads their images.
	ModeCrawl Mode = "crawl"
	// ModeGet downloads the URLs it is given.
	ModeGet Mode = "get"
)

// Config is everything a run and its stage processes need. The supervisor
// writes it to OUT/.crawl/config.json; each stage process reads it back.
type Config struct {
	Mode Mode   `json:"mode"`
	Out  string `json:"out"` // absolute path of the output folder

	// Site crawl.
	Pages      Pages    `json:"pages"`
	ListURL    string   `json:"list_url"`
	FirstURL   string   `json:"first_url,omitempty"`
	Links      string   `json:"links,omitempty"`
	Images     string   `json:"images,omitempty"`
	StripQuery bool     `json:"strip_query,omitempty"`
	Rewrites   []string `json:"rewrites,omitempty"`
	Encoding   string   `json:"encoding,omitempty"`
	Next       string   `json:"next,omitempty"`  // selector of a detail page's next page in the same gallery
	Title      string   `json:"title,omitempty"` // selector of {title} on a detail page; "" is <title>
	// MaxNext is how many pages of one gallery --next reads at most
	// (--max-next); 0 is DefaultMaxNext.
	MaxNext int `json:"max_next,omitempty"`

	// Batch download: URLs given on the command line, list files and a CSV
	// file ("-" is stdin) with the columns to read.
	URLs        []string `json:"-"`
	Lists       []string `json:"-"`
	CSV         string   `json:"-"`
	URLCol      string   `json:"-"` // 1-based number or header name; "" detects
	NameCol     string   `json:"-"` // 1-based number or header name; "" is none
	CSVEncoding string   `json:"-"` // forced encoding of the CSV; "" detects
	// CSVHeader is the CSV's header row (nil when it has none); Validate
	// lets the --name template use its names as fields.
	CSVHeader []string `json:"-"`

	// Where the queues live: "" or "sqlite" (embedded), or redis://host:port/db
	// with the crawl's name on that server and the name of this machine's worker.
	Queue  string `json:"queue,omitempty"`
	Job    string `json:"job,omitempty"`
	Worker string `json:"worker,omitempty"`

	// Shared.
	Name         string        `json:"name"`
	Workers      int           `json:"workers"`
	PerHost      int           `json:"per_host"`
	Delay        time.Duration `json:"delay"`
	Retries      int           `json:"retries"`
	RetryWait    time.Duration `json:"retry_wait"`
	Timeout      time.Duration `json:"timeout"`
	MaxSize      int64         `json:"max_size"`                // 0: no limit
	MaxPageSize  int64         `json:"max_page_size,omitempty"` // cap on a listing or detail page; 0: DefaultMaxPageSize
	UserAgent    string        `json:"user_agent,omitempty"`
	Headers      []string      `json:"headers,omitempty"`
	Cookie       string        `json:"cookie,omitempty"`
	IgnoreRobots bool          `json:"ignore_robots,omitempty"`
	Overwrite    bool          `json:"overwrite,omitempty"`
	Split        int           `json:"split,omitempty"` // connections for one large file (--split); <= 1: one
	// Variant is which variant of an HLS master playlist to save
	// (--variant): "" (best), "worst", or a height such as "720".
	Variant string `json:"variant,omitempty"`
	// Remux is --remux: "mp4" saves an HLS stream of MPEG-TS segments as
	// .mp4 (with ffmpeg); "" keeps it as .ts.
	Remux   string `json:"remux,omitempty"`
	Verbose bool   `json:"verbose,omitempty"`

	// Proxy is --proxy, for every request; "" reads the environment
	// (HTTP_PROXY and the rest, in each process) unless NoEnvProxy
	// (--proxy '').
	Proxy      string `json:"proxy,omitempty"`
	NoEnvProxy bool   `json:"no_env_proxy,omitempty"`
	// LimitRate is --limit-rate in bytes per second, kept by each download
	// stage process over all its downloads (so per worker with Redis); 0
	// is none.
	LimitRate int64 `json:"limit_rate,omitempty"`

	// What a browser sends: --referer (a URL for every request, "none", or
	// "" as a browser sends it), and --cookies, read by Validate into
	// Cookies, which the supervisor stores in the crawl's cookie session.
	Referer     string           `json:"referer,omitempty"`
	CookiesFile string           `json:"-"`
	Cookies     []fetcher.Cookie `json:"-"`

	// Render loads listing and detail pages in headless Chromium
	// (--render), waiting as RenderWait says (--render-wait: a CSS
	// selector or a duration; "" until the network is quiet). Validate
	// finds the program, Chromium.
	Render     bool   `json:"render,omitempty"`
	RenderWait string `json:"render_wait,omitempty"`
	Chromium   string `json:"chromium,omitempty"`
}

// Bounds of the pool flags: beyond them a run only wastes memory and
// sockets (each worker holds buffers and a connection of its own).
const (
	// MaxWorkers is the most --workers may ask for.
	MaxWorkers = 1000
	// MaxPerHost is the most --per-host may ask for.
	MaxPerHost = 256
	// DefaultMaxNext is how many pages of one gallery --next reads at
	// most unless --max-next says otherwise.
	DefaultMaxNext = 1000
)

// UsageError is a problem with what the user asked for: exit code 2. It is
// the type package input reports a bad list or CSV file with, so a usage
// error from either package is found by one errors.As.
type UsageError = input.UsageError

// usagef makes a *UsageError from a format and its arguments.
func usagef(format string, args ...any) error { return input.Usagef(format, args...) }

// Validate checks the configuration and compiles every selector, rule and
// template once, so that a bad one is a usage error before anything is
// written. It fills in the defaults of an empty --name, --max-next 0 and
// --variant best.
func (c *Config) Validate() error {
	if err := c.checkLimits(); err != nil {
		return err
	}
	if err := c.checkProxy(); err != nil {
		return err
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	if err := c.checkRequests(); err != nil {
		return err
	}
	if c.Mode == ModeGet {
		for _, u := range c.URLs {
			if err := checkHTTPURL("URL", u); err != nil {
				return err
			}
		}
		return nil
	}
	return c.checkSite()
}

// checkLimits checks --out and the numbers that bound the run: the pool,
// the per-host limit, retries, durations, sizes, --max-next (0 becomes
// DefaultMaxNext) and --split.
func (c *Config) checkLimits() error {
	if c.Out == "" {
		return usagef("--out must not be empty")
	}
	if c.Workers < 1 || c.Workers > MaxWorkers {
		return usagef("--workers must be from 1 to %d, not %d", MaxWorkers, c.Workers)
	}
	if c.PerHost < 1 || c.PerHost > MaxPerHost {
		return usagef("--per-host must be from 1 to %d, not %d", MaxPerHost, c.PerHost)
	}
	if c.Retries < 0 {
		return usagef("--retries must not be negative")
	}
	if c.Delay < 0 || c.Timeout < 0 || c.RetryWait < 0 {
		return usagef("durations must not be negative")
	}
	if c.MaxSize < 0 {
		return usagef("--max-size must not be negative")
	}
	if c.MaxNext < 0 {
		return usagef("--max-next must be at least 1, not %d", c.MaxNext)
	}
	if c.MaxNext == 0 {
		c.MaxNext = DefaultMaxNext
	}
	if c.Split < 0 || c.Split > MaxSplit {
		return usagef("--split must be from 1 to %d, not %d", MaxSplit, c.Split)
	}
	return nil
}

// checkOutput checks what decides the files written: the --name template
// (an empty one becomes {name}{ext}; with --csv, header names in it become
// column numbers), --variant (best becomes "") and --remux, and that the
// CSV column and encoding flags come only with crawl get --csv.
func (c *Config) checkOutput() error {
	if c.Name == "" {
		c.Name = "{name}{ext}"
	}
	if c.Variant == "best" {
		c.Variant = ""
	}
	if _, err := parser.ChooseVariant([]parser.Variant{{}}, c.Variant); err != nil {
		return usagef("--variant %q: want best, worst or a height such as 720", c.Variant)
	}
	if err := checkRemux(c.Remux); err != nil {
		return err
	}
	if c.Mode != ModeGet || c.CSV == "" {
		for _, f := range [][2]string{{"--url-col", c.URLCol}, {"--name-col", c.NameCol}, {"--csv-encoding", c.CSVEncoding}} {
			if f[1] != "" {
				return usagef("%s needs --csv", f[0])
			}
		}
	}
	name, err := checkTemplate(c.Name, c.Mode == ModeGet && c.CSV != "", c.CSVHeader)
	if err != nil {
		return err
	}
	c.Name = name
	return nil
}

// checkRequests checks what goes into every request: --header lines,
// --referer, and the --cookies file, which it loads into c.Cookies.
func (c *Config) checkRequests() error {
	for _, h := range c.Headers {
		if name, _, ok := strings.Cut(h, ":"); !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(name, " \t") {
			return usagef("--header %q: want 'Name: value'", h)
		}
	}
	if c.Referer != "" && c.Referer != fetcher.NoReferer {
		if err := checkHTTPURL("--referer", c.Referer); err != nil {
			return usagef("--referer %q: want an http(s) URL or none", c.Referer)
		}
	}
	if c.CookiesFile != "" {
		cookies, err := fetcher.LoadCookies(c.CookiesFile)
		if err != nil {
			return usagef("--cookies: %w", err)
		}
		c.Cookies = cookies
	}
	return nil
}

// checkSite checks a site crawl's listing pages (--list-url, --first-url,
// --pages) and --images, then compiles its selectors and rules and checks
// --render.
func (c *Config) checkSite() error {
	if c.ListURL == "" {
		return usagef("--list-url is required (flag or profile)")
	}
	if err := checkHTTPURL("--list-url", strings.ReplaceAll(c.ListURL, "{page}", "1")); err != nil {
		return err
	}
	if c.FirstURL != "" {
		if err := checkHTTPURL("--first-url", c.FirstURL); err != nil {
			return err
		}
	}
	if len(c.Pages.Ranges) == 0 {
		return usagef("--pages is required (flag or profile)")
	}
	if !strings.Contains(c.ListURL, "{page}") && c.Pages.Count() != 1 && !(c.Pages.Count() == 2 && c.FirstURL != "") {
		return usagef("--list-url %q has no {page} field but --pages names several pages", c.ListURL)
	}
	if c.Images == "" {
		return usagef("--images is required (flag or profile)")
	}
	cp, err := c.compile()
	if err != nil {
		return err
	}
	return c.checkRender(cp)
}

// checkProxy checks --proxy, or else the proxy variables of the
// environment.
func (c *Config) checkProxy() error {
	if c.Proxy != "" {
		if _, err := fetcher.ParseProxy(c.Proxy); err != nil {
			return usagef("--proxy: %v", err)
		}
		return nil
	}
	if !c.NoEnvProxy {
		if _, err := fetcher.ReadEnvProxy(os.Getenv); err != nil {
			return usagef("proxy from the environment: %v", err)
		}
	}
	return nil
}

// checkHTTPURL checks that raw, the value of flag, is an absolute http(s)
// URL with a host.
func checkHTTPURL(flag, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("%s %q is not an http(s) URL", flag, raw)
	}
	return nil
}

// templateFields are the fields a --name template may use.
var templateFields = map[string]bool{"name": true, "ext": true, "host": true, "page": true, "n": true, "title": true}

// fixedFields are the fields a CSV header name does not shadow in
// crawl get --csv ({title} and {page} mean nothing there).
var fixedFields = map[string]bool{"name": true, "ext": true, "host": true, "n": true}

// checkTemplate checks the fields of a --name template. With cells (crawl
// get --csv), {1}, {2}… and the names of header are fields too: the
// template is returned with each header name replaced by its column number,
// which is how the download stage finds the cell.
func checkTemplate(tmpl string, cells bool, header []string) (string, error) {
	var b strings.Builder
	rest := tmpl
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", usagef("--name %q: unclosed {", tmpl)
		}
		b.WriteString(rest[:i])
		field := rest[i+1 : i+j]
		rest = rest[i+j+1:]
		if cells {
			if n, ok := cellNumber(field); ok {
				if n < 1 {
					return "", usagef("--name %q: {%s}: CSV columns are numbered from 1", tmpl, field)
				}
				fmt.Fprintf(&b, "{%d}", n)
				continue
			}
			if !fixedFields[field] {
				if k := input.HeaderIndex(header, field); k >= 0 {
					fmt.Fprintf(&b, "{%d}", k+1)
					continue
				}
			}
		}
		if !templateFields[field] {
			names := make([]string, 0, len(templateFields))
			for f := range templateFields {
				names = append(names, "{"+f+"}")
			}
			sort.Strings(names)
			known := strings.Join(names, " ")
			if cells {
				known += ", {1} {2}… for the CSV's cells"
				if len(header) > 0 {
					known += " and its header names (" + strings.Join(header, ", ") + ")"
				}
			}
			return "", usagef("--name %q: unknown field {%s} (known: %s)", tmpl, field, known)
		}
		b.WriteString("{" + field + "}")
	}
}

// cellNumber reads a field made of digits, such as the 3 of {3}.
func cellNumber(field string) (int, bool) {
	if field == "" || strings.Trim(field, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(field)
	if err != nil {
		return 0, true // absurdly long: no such column, and an error
	}
	return n, true
}

// cellFields is the set of column numbers (1-based) a checked template uses.
func cellFields(tmpl string) []int {
	var out []int
	rest := tmpl
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return out
		}
		if n, ok := cellNumber(rest[i+1 : i+j]); ok && n >= 1 {
			out = append(out, n)
		}
		rest = rest[i+j+1:]
	}
}

// compiled holds the parsed selectors and rules of a site crawl.
type compiled struct {
	links, images *parser.Selector
	next, title   *parser.Selector
	rewrites      []*parser.Rewrite
}

func (c *Config) compile() (*compiled, error) {
	var out compiled
	var err error
	if c.Links != "" {
		if out.links, err = parser.Compile(c.Links); err != nil {
			return nil, usagef("--links: %v", err)
		}
	}
	if c.Images != "" {
		if out.images, err = parser.Compile(c.Images); err != nil {
			return nil, usagef("--images: %v", err)
		}
	}
	if c.Next != "" {
		if out.next, err = parser.Compile(c.Next); err != nil {
			return nil, usagef("--next: %v", err)
		}
	}
	if c.Title != "" {
		if out.title, err = parser.Compile(c.Title); err != nil {
			return nil, usagef("--title: %v", err)
		}
	}
	for _, r := range c.Rewrites {
		rw, err := parser.CompileRewrite(r)
		if err != nil {
			return nil, usagef("--rewrite: %v", err)
		}
		out.rewrites = append(out.rewrites, rw)
	}
	if c.Encoding != "" {
		if _, _, err := parser.LookupEncoding(c.Encoding); err != nil {
			return nil, usagef("--encoding: %v", err)
		}
	}
	return &out, nil
}

// imageURL applies --strip-query and the --rewrite rules to one image URL.
func (c *Config) imageURL(cp *compiled, u string) string {
	if c.StripQuery {
		u = parser.StripQuery(u)
	}
	for _, r := range cp.rewrites {
		u = r.Apply(u)
	}
	return u
}

// PageURL is the URL of listing page n.
func (c *Config) PageURL(n int) string {
	if n == 1 && c.FirstURL != "" {
		return c.FirstURL
	}
	return strings.ReplaceAll(c.ListURL, "{page}", strconv.Itoa(n))
}

// Fingerprint identifies what a run asks for, so a different command into
// the same folder starts afresh instead of resuming another crawl's queues.
// For crawl get it covers the inputs too (a digest of the URLs and the
// names of the lists and CSV), so that retrying OUT/failed.csv after an
// interrupted run tries its failed URLs again.
func (c *Config) Fingerprint() string {
	b, _ := json.Marshal(struct {
		Mode                             Mode
		Pages                            Pages
		ListURL, FirstURL, Links, Images string
		StripQuery                       bool
		Rewrites                         []string
		Encoding, Name, Next, Title      string
		Inputs                           string `json:",omitempty"`
	}{c.Mode, c.Pages, c.ListURL, c.FirstURL, c.Links, c.Images, c.StripQuery, c.Rewrites, c.Encoding, c.Name, c.Next, c.Title, c.inputs()})
	return string(b)
}

// inputs is a digest of what crawl get reads its URLs from.
func (c *Config) inputs() string {
	if c.Mode != ModeGet {
		return ""
	}
	h := sha256.New()
	for _, u := range c.URLs {
		h.Write([]byte(u))
		h.Write([]byte{0})
	}
	b, _ := json.Marshal([]any{c.Lists, c.CSV, c.URLCol, c.NameCol, c.CSVEncoding})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func (c *Config) stateDir() string { return filepath.Join(c.Out, ".crawl") }

func (c *Config) save() error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	path := filepath.Join(c.stateDir(), "config.json")
	tmp := path + ".tmp"
	if err := writeNew(tmp, b); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// writeNew writes b to path as a new file: whatever is at path (a file
// left by a killed run, or a symbolic link) is removed first, never
// written through.
func writeNew(path string, b []byte) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func loadConfig(stateDir string) (*Config, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	return &c, nil
}

// Pages is a set of listing page numbers: closed ranges, and possibly one
// open-ended range walked until a page is missing or yields nothing.
type Pages struct {
	Ranges [][2]int `json:"ranges"` // inclusive; an open-ended range has hi == 0
}

// ParsePages reads a --pages spec: "5", "1-5", "1,3,7-9" or "3-".
func ParsePages(spec string) (Pages, error) {
	var p Pages
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return p, usagef("--pages: empty spec")
	}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil || a < 1 {
			return Pages{}, usagef("--pages %q: %q is not a page number of 1 or more", spec, part)
		}
		b := a
		if isRange {
			hi = strings.TrimSpace(hi)
			if hi == "" {
				b = 0
			} else if b, err = strconv.Atoi(hi); err != nil || b < a {
				return Pages{}, usagef("--pages %q: bad range %q", spec, part)
			}
		}
		p.Ranges = append(p.Ranges, [2]int{a, b})
	}
	open := 0
	for _, r := range p.Ranges {
		if r[1] == 0 {
			open++
		}
	}
	if open > 1 {
		return Pages{}, usagef("--pages %q: only one open-ended range is allowed", spec)
	}
	return p, nil
}

// Count is the number of pages named, counting an open-ended range as one.
func (p Pages) Count() int {
	n := 0
	for _, r := range p.Ranges {
		if r[1] == 0 {
			n++
		} else {
			n += r[1] - r[0] + 1
		}
	}
	return n
}

// pagePos is how far the seeding of the listing pages got: the next page
// is N of range R (N == 0: the range's first page).
type pagePos struct{ R, N int }

// next returns up to limit pages from pos on, in order, each page once,
// and the position after them; none once every page is given. A page of
// an open-ended range opens its walk (its successor is queued once it
// yields links).
func (p Pages) next(pos pagePos, limit int) ([]pageSeed, pagePos) {
	var out []pageSeed
	for len(out) < limit && pos.R < len(p.Ranges) {
		r := p.Ranges[pos.R]
		n := max(pos.N, r[0])
		if r[1] == 0 || n > r[1] { // an open range gives its first page only
			if r[1] == 0 && pos.N == 0 && !p.named(pos.R, n) {
				out = append(out, pageSeed{page: n, open: true})
			}
			pos = pagePos{R: pos.R + 1}
			continue
		}
		if !p.named(pos.R, n) {
			out = append(out, pageSeed{page: n})
		}
		pos.N = n + 1
	}
	return out, pos
}

// named says whether a range before range r names page n already.
func (p Pages) named(r, n int) bool {
	for _, q := range p.Ranges[:r] {
		if n == q[0] || (q[1] != 0 && n >= q[0] && n <= q[1]) {
			return true
		}
	}
	return false
}

type pageSeed struct {
	page int
	open bool
}

// ParseRate reads a --limit-rate value as wget does: bytes per second,
// with an optional k or K (1024) or m or M (1024²) suffix, and g or G; a
// fraction such as 1.5M is allowed. 0 is no limit.
func ParseRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	if t != "" {
		switch t[len(t)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(t, "eExXpP_") {
		return 0, fmt.Errorf("bad rate %q (want bytes per second, such as 500K or 2M)", s)
	}
	n := f * mult
	if n > math.MaxInt64/2 {
		return 0, fmt.Errorf("rate %q is too large", s)
	}
	if n > 0 && n < 1 {
		n = 1
	}
	return int64(n), nil
}

// ParseSize reads a size such as 50MB, 1.5GiB, 800k or 1024.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
		"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
	}[unit]
	if mult == 0 {
		return 0, errors.New("bad size unit in " + strconv.Quote(s) + " (use B, KB, MB, GB)")
	}
	return int64(f * mult), nil
}

// maxNext is how many pages of one gallery --next reads at most.
func (c *Config) maxNext() int {
	if c.MaxNext <= 0 {
		return DefaultMaxNext
	}
	return c.MaxNext
}
