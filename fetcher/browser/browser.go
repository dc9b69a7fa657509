package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"

	"crawl/fetcher"
)

// Gate admits a page load: robots.txt and a slot of the page's host.
// *fetcher.Client is one ([fetcher.Client.Admit]).
type Gate interface {
	Admit(ctx context.Context, rawURL string) (release func(), err error)
}

// Config is what a Browser is started with.
type Config struct {
	Exec      string      // the Chromium program (see Find)
	Proxy     *url.URL    // every request of the browser goes through it; nil: none
	UserAgent string      // "" → fetcher.DefaultUserAgent
	Header    http.Header // sent with every request the browser makes; a Referer among them is the caller's business (Render's referer)
	Tabs      int         // pages loaded at once; <= 0 → 4
	Wait      Wait        // what a page load waits for (ParseWait)
	// Timeout bounds one page load's navigation (up to the page's answer)
	// and an element wait; 0 → 30s.
	Timeout time.Duration
	Gate    Gate      // nil: every load is admitted
	Log     io.Writer // Chromium's own output, when set (for debugging)
	// Dir is the folder under which each start of Chromium gets a profile
	// folder of its own (crawl-chromium-PID-*), which is also Chromium's
	// temporary folder; those that a killed process left are removed at
	// the next start. "" is the system's temporary folder. Chromium puts a
	// socket in it: its path must stay short (about 50 bytes at most).
	Dir string
}

// Bounds of a page load past its answer.
const (
	quietFor     = 500 * time.Millisecond // network quiet this long: the page has settled
	settleLimit  = 10 * time.Second       // the most a load waits for quiet
	scrollQuiet  = 250 * time.Millisecond // quiet after one scroll step
	scrollLimit  = 3 * time.Second        // the most one scroll step waits
	maxScrolls   = 40                     // scroll steps of one page at most
	startTimeout = 30 * time.Second       // for Chromium to start
	closeTimeout = 5 * time.Second        // for Chromium to close when asked
)

// errClosed is the error of a Render after Close.
var errClosed = errors.New("browser closed")

// Browser is one headless Chromium, started on the first Render and
// again when it has died, loading at most Config.Tabs pages at once. It
// is safe for concurrent use.
type Browser struct {
	cfg  Config
	tabs chan struct{}

	mu      sync.Mutex
	closed  bool
	running *instance                 // nil before the first start
	known   map[string]fetcher.Cookie // the cookies the browser holds, as far as this knows, by domain, path and name
	pending []fetcher.Cookie          // added, not given to the browser yet
}

// instance is one run of the Chromium process.
type instance struct {
	ctx         context.Context // the browser's chromedp context; done when it died or was stopped
	stopBrowser context.CancelFunc
	stopAlloc   context.CancelFunc // kills the process and waits for it
	dir         string             // the profile folder under Config.Dir
	pgid        int                // Chromium's process group (its process ID)

	mu   sync.Mutex
	idle []*tab // tabs between loads
}

// New returns a Browser for cfg; Chromium starts on the first Render.
func New(cfg Config) *Browser {
	if cfg.Tabs <= 0 {
		cfg.Tabs = 4
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = fetcher.DefaultUserAgent
	}
	return &Browser{cfg: cfg, tabs: make(chan struct{}, cfg.Tabs), known: map[string]fetcher.Cookie{}}
}

// AddCookies gives cookies to the browser (before its next page load):
// those of the crawl's session, say. A cookie it holds already with the
// same value is left as it is; an expired one is not given.
func (b *Browser) AddCookies(cookies []fetcher.Cookie) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range cookies {
		if old, ok := b.known[cookieID(c)]; ok && old == c {
			continue
		}
		if c.Expires < 0 {
			delete(b.known, cookieID(c))
			continue
		}
		b.known[cookieID(c)] = c
		b.pending = append(b.pending, c)
	}
}

// Close stops Chromium, with its child processes, and removes its
// profile folder. Render fails after Close.
func (b *Browser) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.running != nil {
		b.running.stop()
		b.running = nil
	}
	return nil
}

// stop ends an instance: Chromium is asked to close, which it does with
// its child processes (for at most closeTimeout); then its process is
// killed and waited for, with any child still using its profile folder,
// and the folder removed.
func (in *instance) stop() {
	ctx, cancel := context.WithTimeout(in.ctx, closeTimeout)
	_ = chromedp.Cancel(ctx) // an error: it died, or did not close in time
	cancel()
	in.stopBrowser()
	in.stopAlloc()
	for range 3 { // a child may fork as its parent dies: look again
		killed := killUsing(in.dir)
		if len(killed) == 0 {
			break
		}
		waitGone(killed, time.Second)
	}
	reapGroup(in.pgid, time.Second)
	os.RemoveAll(in.dir)
}

// browser returns the running instance, starting Chromium when none
// runs or the last one died. A browser started anew is given every
// cookie known.
func (b *Browser) browser(ctx context.Context) (*instance, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errClosed
	}
	if b.running != nil && b.running.ctx.Err() == nil {
		return b.running, nil
	}
	if b.running != nil {
		b.running.stop() // it died: its leftovers go
		b.running = nil
		b.pending = b.pending[:0]
		for _, c := range b.known {
			b.pending = append(b.pending, c)
		}
	}
	in, err := b.start(ctx)
	if err != nil {
		return nil, err
	}
	b.running = in
	return in, nil
}

// start starts Chromium and waits until it answers.
func (b *Browser) start(ctx context.Context) (*instance, error) {
	adoptOrphans()
	opts := b.allocatorOptions()
	dir, err := newProfileDir(b.cfg.Dir)
	if err != nil {
		return nil, err
	}
	opts = append(opts, chromedp.UserDataDir(dir), chromedp.Env("TMPDIR="+dir))
	allocCtx, stopAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, stopBrowser := chromedp.NewContext(allocCtx)
	in := &instance{ctx: bctx, stopBrowser: stopBrowser, stopAlloc: stopAlloc, dir: dir}
	// The first call starts the browser, which lives as long as bctx: a
	// timeout or the caller's ctx must not end it, only this start.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	select {
	case err = <-started:
	case <-ctx.Done():
		err = ctx.Err()
	case <-time.After(startTimeout):
		err = fmt.Errorf("no answer in %s", startTimeout)
	}
	in.pgid = in.pid()
	if err != nil {
		in.stop()
		return nil, fmt.Errorf("start chromium %s: %w", b.cfg.Exec, err)
	}
	return in, nil
}

// allocatorOptions are Chromium's command line: headless, without its
// own background traffic, images not loaded, the
// crawl's proxy and User-Agent, dying with this process.
func (b *Browser) allocatorOptions() []chromedp.ExecAllocatorOption {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(b.cfg.Exec),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("blink-settings", "imagesEnabled=false"),
		// A page left is not kept alive for a back button no one presses.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,BackForwardCache"),
		chromedp.UserAgent(b.cfg.UserAgent),
		chromedp.ModifyCmdFunc(dieWithParent),
	)
	if b.cfg.Proxy != nil {
		opts = append(opts, chromedp.ProxyServer(proxyServer(b.cfg.Proxy)),
			// Loopback hosts too go through the proxy, as in the crawl's
			// HTTP client.
			chromedp.Flag("proxy-bypass-list", "<-loopback>"))
	} else {
		opts = append(opts, chromedp.Flag("no-proxy-server", true))
	}
	if b.cfg.Log != nil {
		opts = append(opts, chromedp.CombinedOutput(b.cfg.Log))
	}
	return opts
}

// proxyServer is the --proxy-server value of a proxy URL: Chromium has no
// socks5h (it always lets a SOCKS5 proxy resolve host names).
func proxyServer(p *url.URL) string {
	scheme := p.Scheme
	if scheme == "socks5h" {
		scheme = "socks5"
	}
	return scheme + "://" + p.Host
}

// ProxySupported reports, with nil, that the browser can use proxy p: it
// cannot send a proxy user name and password.
func ProxySupported(p *url.URL) error {
	if p != nil && p.User != nil {
		return fmt.Errorf("proxy %s: the browser cannot log in to a proxy (user:password); use one that needs no login", strings.SplitN(p.Redacted(), "@", 2)[1])
	}
	return nil
}

// pid is the process ID of the instance's Chromium, 0 if unknown.
func (in *instance) pid() int {
	if c := chromedp.FromContext(in.ctx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		return c.Browser.Process().Pid
	}
	return 0
}
