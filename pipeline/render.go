package pipeline

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"crawl/fetcher"
	"crawl/fetcher/browser"
	"crawl/parser"
)

// pageSource loads the listing and detail pages of a crawl: over HTTP
// (httpSource), or in a browser with --render (renderSource).
type pageSource interface {
	// get loads the page t asks for, holding its memory under g. A
	// non-2xx answer is a *fetcher.StatusError; a page larger than
	// --max-page-size an error wrapping fetcher.ErrTooLarge.
	get(ctx context.Context, t PageTask, g *pageGrant) (*loadedPage, error)
}

// loadedPage is a page as a pageSource loaded it.
type loadedPage struct {
	fetcher.Page
	forced   string   // the encoding to decode it with; "" detects
	requests []string // what the page requested while it rendered (net:); nil over HTTP
}

// httpSource fetches pages with the stage's HTTP client.
type httpSource struct {
	client   *fetcher.Client
	encoding string // --encoding
	limit    int64  // --max-page-size
}

func (h httpSource) get(ctx context.Context, t PageTask, g *pageGrant) (*loadedPage, error) {
	page, err := h.client.GetPage(ctx, t.URL, h.limit, fetcher.WithReferer(t.From), fetcher.WithBodyGate(g.cover))
	if err != nil {
		return nil, err
	}
	return &loadedPage{Page: *page, forced: h.encoding}, nil
}

// source is where the stage's pages come from.
func (s *pageStage) source() pageSource {
	if s.src != nil {
		return s.src
	}
	return httpSource{client: s.client, encoding: s.cfg.Encoding, limit: s.cfg.maxPageSize()}
}

// newPageStage returns the part the list and parse stages share; with
// --render it loads pages in a browser, which close stops.
func newPageStage(r *runner, cp *compiled) (ps pageStage, close func(), err error) {
	ps = pageStage{runner: r, cp: cp, budget: newBudget(r.cfg.pageBudget())}
	ps.budget.onUse = collectFor(ps.budget)
	if !r.cfg.Render {
		return ps, func() {}, nil
	}
	b, err := r.cfg.newBrowser(r.client)
	if err != nil {
		return ps, nil, err
	}
	ps.src = &renderSource{b: b, client: r.client, sess: r.sess, limit: r.cfg.maxPageSize()}
	return ps, func() { b.Close() }, nil
}

// renderSource loads pages in headless Chromium. The browser and the
// crawl share one cookie session: the session's cookies are given to the
// browser before a page loads, and the cookies the browser received join
// the session, so that the downloads that follow carry them.
type renderSource struct {
	b      *browser.Browser
	client *fetcher.Client // for the Referer rules and back-off
	sess   *session
	limit  int64 // --max-page-size, on the rendered HTML

	mu    sync.Mutex
	given int64 // the version of the session the browser was given
}

func (r *renderSource) get(ctx context.Context, t PageTask, g *pageGrant) (*loadedPage, error) {
	r.giveSession(ctx)
	p, err := r.render(ctx, t)
	if err != nil {
		return nil, err
	}
	r.sess.keep(p.Cookies)
	if size := int64(len(p.HTML)); size > r.limit {
		return nil, fmt.Errorf("render %s: larger than %d bytes: %w", t.URL, r.limit, fetcher.ErrTooLarge)
	} else if err := g.cover(ctx, size); err != nil {
		return nil, err
	}
	page := fetcher.Page{URL: p.URL, Header: http.Header{"Content-Type": {renderedType(p.ContentType)}}, Body: p.HTML}
	return &loadedPage{Page: page, forced: "utf-8", requests: p.Requests}, nil
}

// render loads the page, tried again as a fetch would be (--retries, with
// back-off) after an answer or failure another try may mend.
func (r *renderSource) render(ctx context.Context, t PageTask) (*browser.Page, error) {
	referer := r.client.PageReferer(t.From, t.URL)
	var p *browser.Page
	err := r.client.Retry(ctx, func() error {
		var err error
		p, err = r.b.Render(ctx, t.URL, referer)
		return err
	})
	return p, err
}

// giveSession gives the browser the session's cookies it lacks: those
// stored since it was last given them.
func (r *renderSource) giveSession(ctx context.Context) {
	if r.sess == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sess.have.Load() <= r.given {
		return
	}
	raw, err := r.sess.db.Meta(ctx, metaSession)
	if err != nil {
		return // the next page tries again
	}
	st, err := decodeSession(raw)
	if err != nil {
		return
	}
	r.b.AddCookies(st.since(r.given, math.MaxInt64))
	r.given = st.Version
}

// keep takes cookies a browser received into this process's jar and
// into the next save of the session.
func (s *session) keep(cookies []fetcher.Cookie) {
	if s == nil || len(cookies) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.client.AddCookies(cookies)
	s.pending = append(s.pending, cookies...)
}

// newBrowser returns the browser of a stage process: the crawl's
// identity and proxy, at most min(--workers, 4) pages at once, each
// admitted by client (robots.txt, --per-host, --delay).
func (c *Config) newBrowser(client *fetcher.Client) (*browser.Browser, error) {
	exec := c.Chromium
	if _, err := os.Stat(exec); exec == "" || err != nil {
		// Found on another machine (a worker's), or gone since.
		if exec, err = browser.Find(); err != nil {
			return nil, err
		}
	}
	wait, err := browser.ParseWait(c.RenderWait)
	if err != nil {
		return nil, err
	}
	proxy, err := c.browserProxy()
	if err != nil {
		return nil, err
	}
	h := c.header()
	if c.Cookie != "" {
		h.Set("Cookie", c.Cookie)
	}
	return browser.New(browser.Config{
		Exec:      exec,
		Proxy:     proxy,
		UserAgent: c.UserAgent,
		Header:    h,
		Tabs:      min(c.Workers, 4),
		Wait:      wait,
		Timeout:   c.Timeout,
		Gate:      client,
	}), nil
}

// browserProxy is the proxy of the browser: --proxy, or the one the
// environment names for the first listing page (one proxy serves the
// whole browser), or none.
func (c *Config) browserProxy() (*url.URL, error) {
	if c.Proxy != "" {
		return fetcher.ParseProxy(c.Proxy)
	}
	if c.NoEnvProxy {
		return nil, nil
	}
	env, err := fetcher.ReadEnvProxy(os.Getenv)
	if err != nil {
		return nil, err
	}
	first, err := url.Parse(c.PageURL(1))
	if err != nil {
		return nil, nil
	}
	p, _ := env.For(first)
	return p, nil
}

// checkRender checks --render, --render-wait and net: selectors, and
// finds Chromium for --render: a missing one is a usage error naming the
// package to install.
func (c *Config) checkRender(cp *compiled) error {
	if !c.Render {
		if c.RenderWait != "" {
			return usagef("--render-wait needs --render")
		}
		for _, f := range []struct {
			flag string
			sel  *parser.Selector
		}{{"--links", cp.links}, {"--images", cp.images}, {"--next", cp.next}, {"--title", cp.title}} {
			if f.sel != nil && f.sel.Rendered() {
				return usagef("%s %q: net: selects what a page requests while a browser renders it: add --render", f.flag, f.sel.String())
			}
		}
		return nil
	}
	if _, err := browser.ParseWait(c.RenderWait); err != nil {
		return usagef("%v", err)
	}
	proxy, err := c.browserProxy()
	if err != nil {
		return usagef("--render: %v", err)
	}
	if err := browser.ProxySupported(proxy); err != nil {
		return usagef("--render: %v", err)
	}
	exec, err := browser.Find()
	if err != nil {
		return usagef("%v", err)
	}
	c.Chromium = exec
	return nil
}

// header is --header as an http.Header.
func (c *Config) header() http.Header {
	h := http.Header{}
	for _, line := range c.Headers {
		name, value, _ := strings.Cut(line, ":")
		h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return h
}

// renderedType is the Content-Type of a rendered page's text: what the
// browser made of it (HTML, or a JSON answer's own type), always UTF-8.
func renderedType(docType string) string {
	if docType == "" {
		docType = "text/html"
	}
	return docType + "; charset=utf-8"
}
