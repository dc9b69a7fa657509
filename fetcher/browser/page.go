package browser

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"crawl/fetcher"
)

// Page is a page as the browser rendered it.
type Page struct {
	URL string // the final URL, after redirects
	// HTML is document.documentElement.outerHTML, UTF-8; for an answer the
	// browser shows as text (JSON, plain text), that text as it came.
	HTML []byte
	// ContentType is the document's type: "text/html", or the answer's
	// own type when the browser showed it as text ("application/json").
	ContentType string
	// Requests are the URLs of the requests the page made while it
	// rendered (its own first; scripts, XHR, fetch, media...), in the order
	// they were made, each once; images are not loaded, and the browser's
	// own favicon request is left out.
	Requests []string
	// Cookies are the cookies that changed in the browser during the
	// load: set by the page's answers or its scripts.
	Cookies []fetcher.Cookie
}

// Render loads rawURL in a tab, with referer as its Referer ("" for
// none), once the Gate admits it; waits for it to settle (Config.Wait);
// scrolls down until it stops growing, so that lazy content loads; and
// returns it. An answer that is not a 2xx is a *fetcher.StatusError. A
// browser that died under the page is started again, and the page
// loaded once more.
func (b *Browser) Render(ctx context.Context, rawURL, referer string) (*Page, error) {
	select {
	case b.tabs <- struct{}{}:
		defer func() { <-b.tabs }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if b.cfg.Gate != nil {
		release, err := b.cfg.Gate.Admit(ctx, rawURL)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	for try := 0; ; try++ {
		in, err := b.browser(ctx)
		if err != nil {
			return nil, err
		}
		p, err := b.load(ctx, in, rawURL, referer)
		if err != nil && try == 0 && ctx.Err() == nil && in.ctx.Err() != nil {
			continue // the browser died under the page
		}
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", rawURL, err)
		}
		return p, nil
	}
}

// load renders rawURL in a tab of in: an idle one, or a new one.
func (b *Browser) load(ctx context.Context, in *instance, rawURL, referer string) (*Page, error) {
	t, err := b.takeTab(in)
	if err != nil {
		return nil, err
	}
	log := newNetLog()
	t.log.Store(log)
	stop := context.AfterFunc(ctx, t.close)
	p, err := b.loadIn(t.ctx, log, rawURL, referer)
	t.log.Store(nil)
	if stop() && err == nil {
		in.putTab(t)
	} else {
		t.close()
	}
	return p, err
}

// loadIn renders rawURL in tab, whose events go to log.
func (b *Browser) loadIn(tab context.Context, log *netLog, rawURL, referer string) (*Page, error) {
	if err := b.giveCookies(tab); err != nil {
		return nil, fmt.Errorf("set cookies: %w", err)
	}
	if err := b.navigate(tab, log, rawURL, referer); err != nil {
		return nil, err
	}
	if err := b.settle(tab, log); err != nil {
		return nil, err
	}
	if err := scroll(tab, log); err != nil {
		return nil, err
	}
	got, err := chromedp.Run(tab, chromedp.Evaluate[rendered](captureJS))
	if err != nil {
		return nil, fmt.Errorf("read the rendered page: %w", err)
	}
	cookies, err := b.takeCookies(tab)
	if err != nil {
		return nil, fmt.Errorf("read the browser's cookies: %w", err)
	}
	return &Page{URL: got.URL, HTML: []byte(got.HTML), ContentType: got.Type, Requests: log.urls(), Cookies: cookies}, nil
}

// tab is a browser tab, used by one page load at a time and kept for the
// next while the browser lives: a new tab costs Chromium a process.
type tab struct {
	ctx   context.Context
	close context.CancelFunc
	log   atomic.Pointer[netLog] // the events' listener: the load under way; nil between loads
}

// takeTab returns an idle tab of in, or opens a new one.
func (b *Browser) takeTab(in *instance) (*tab, error) {
	in.mu.Lock()
	if n := len(in.idle); n > 0 {
		t := in.idle[n-1]
		in.idle = in.idle[:n-1]
		in.mu.Unlock()
		return t, nil
	}
	in.mu.Unlock()
	ctx, cancel := chromedp.NewContext(in.ctx)
	t := &tab{ctx: ctx, close: cancel}
	err := chromedp.Listen(ctx, func(ev any) {
		if l := t.log.Load(); l != nil {
			l.event(ev)
		}
	})
	if err == nil {
		err = b.prepareTab(ctx)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	return t, nil
}

// putTab keeps t for the next load, once it has left its page (whose
// scripts would otherwise go on talking to the site).
func (in *instance) putTab(t *tab) {
	ctx, cancel := context.WithTimeout(t.ctx, closeTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: "about:blank"}); err != nil {
		t.close()
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.idle = append(in.idle, t)
}

// prepareTab turns on the network events and gives the tab the extra
// headers.
func (b *Browser) prepareTab(tab context.Context) error {
	if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
		return fmt.Errorf("enable network events: %w", err)
	}
	if h := b.extraHeaders(); len(h) > 0 {
		if _, err := chromedp.Call(tab, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: h}); err != nil {
			return fmt.Errorf("set headers: %w", err)
		}
	}
	return nil
}

// extraHeaders are Config.Header without Referer, which navigate sends.
func (b *Browser) extraHeaders() network.Headers {
	h := network.Headers{}
	for name, values := range b.cfg.Header {
		if strings.EqualFold(name, "Referer") || len(values) == 0 {
			continue
		}
		h[name] = strings.Join(values, ", ")
	}
	return h
}

// navigate opens rawURL in tab and checks the page's answer.
func (b *Browser) navigate(tab context.Context, log *netLog, rawURL, referer string) error {
	ctx, cancel := context.WithTimeout(tab, b.cfg.Timeout)
	defer cancel()
	res, err := chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: rawURL, Referrer: referer})
	if err != nil {
		return fmt.Errorf("navigate: %w", err)
	}
	if res.ErrorText != "" {
		return fmt.Errorf("navigate: %s", res.ErrorText)
	}
	if st, ok := log.status(network.RequestID(res.LoaderID)); ok && (st.code < 200 || st.code > 299) {
		return &fetcher.StatusError{URL: st.url, StatusCode: st.code, Status: strings.TrimSpace(fmt.Sprintf("%d %s", st.code, st.text))}
	}
	return nil
}

// settle waits as Config.Wait says: for an element, for a while, or until
// the network has been quiet for quietFor (at most settleLimit).
func (b *Browser) settle(tab context.Context, log *netLog) error {
	w := b.cfg.Wait
	switch {
	case w.Duration > 0:
		return fetcher.Sleep(tab, w.Duration)
	case w.Selector != "":
		ctx, cancel := context.WithTimeout(tab, b.cfg.Timeout)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(w.Selector))); err != nil {
			return fmt.Errorf("wait for %q: %w", w.Selector, err)
		}
		return nil
	}
	return log.quiet(tab, quietFor, settleLimit)
}

// scroll scrolls the page down a screen at a time, letting what each
// step starts load, until its end is in view and it stopped growing (at
// most maxScrolls steps).
func scroll(tab context.Context, log *netLog) error {
	last := -1.0
	for range maxScrolls {
		pos, err := chromedp.Run(tab, chromedp.Evaluate[[2]float64](scrollJS))
		if err != nil {
			return fmt.Errorf("scroll: %w", err)
		}
		if err := log.quiet(tab, scrollQuiet, scrollLimit); err != nil {
			return err
		}
		bottom, height := pos[0], pos[1]
		if bottom >= height && height == last {
			return nil
		}
		last = height
	}
	return nil
}

// scrollJS scrolls a screen down and tells where the view ends and how
// high the page is.
const scrollJS = `(() => {
	window.scrollBy(0, window.innerHeight);
	const h = Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0);
	return [window.scrollY + window.innerHeight, h];
})()`

// rendered is what captureJS returns.
type rendered struct {
	URL  string `json:"url"`
	HTML string `json:"html"`
	Type string `json:"type"`
}

// captureJS puts the real address of a lazy image (data-src and its
// kin) into a src that is empty or a data: placeholder, then returns the
// page's URL, type and HTML. An answer the browser shows as text (a JSON
// API's, in a <pre> of a page it made up) gives that text instead, so
// that the parser reads the JSON.
const captureJS = `(() => {
	const type = document.contentType || 'text/html';
	if (!/html|xml/i.test(type)) {
		const pre = document.querySelector('body > pre');
		return {url: location.href, type: type, html: pre ? pre.textContent : (document.body ? document.body.textContent : '')};
	}
	const lazy = ['data-src', 'data-original', 'data-lazy-src', 'data-lazy', 'data-url', 'data-echo'];
	for (const el of document.querySelectorAll('img, source, video, audio, iframe')) {
		const src = (el.getAttribute('src') || '').trim();
		if (src !== '' && !src.startsWith('data:')) continue;
		for (const name of lazy) {
			const v = (el.getAttribute(name) || '').trim();
			if (v !== '' && !v.startsWith('data:')) { el.setAttribute('src', v); break; }
		}
	}
	return {url: location.href, type: type, html: document.documentElement.outerHTML};
})()`

// netLog follows the requests of one tab: which are in flight, when the
// last one started or ended, the URLs asked for and the pages' answers.
type netLog struct {
	mu       sync.Mutex
	inflight map[network.RequestID]bool
	last     time.Time
	seen     map[string]bool
	order    []string
	answers  map[network.RequestID]answer // of documents
}

// answer is the status of a document's response.
type answer struct {
	url  string
	code int
	text string
}

func newNetLog() *netLog {
	return &netLog{inflight: map[network.RequestID]bool{}, last: time.Now(), seen: map[string]bool{}, answers: map[network.RequestID]answer{}}
}

// event takes in one event of the tab (it runs on the tab's reading
// goroutine: it must be quick).
func (l *netLog) event(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		l.inflight[e.RequestID] = true
		l.last = time.Now()
		if u := e.Request.URL; !l.seen[u] && isPageRequest(e) {
			l.seen[u] = true
			l.order = append(l.order, u)
		}
	case *network.EventResponseReceived:
		if e.Type == network.ResourceTypeDocument {
			l.answers[e.RequestID] = answer{url: e.Response.URL, code: int(e.Response.Status), text: e.Response.StatusText}
		}
	case *network.EventLoadingFinished:
		l.done(e.RequestID)
	case *network.EventLoadingFailed:
		l.done(e.RequestID)
	}
}

// isPageRequest reports whether e is a request of the page over HTTP,
// not one of the browser's own (its favicon) nor of a data: or blob: URL.
func isPageRequest(e *network.EventRequestWillBeSent) bool {
	u := e.Request.URL
	if !strings.HasPrefix(u, "http:") && !strings.HasPrefix(u, "https:") {
		return false
	}
	return !(e.Type == network.ResourceTypeOther && strings.HasSuffix(u, "/favicon.ico"))
}

func (l *netLog) done(id network.RequestID) {
	if l.inflight[id] {
		delete(l.inflight, id)
		l.last = time.Now()
	}
}

// status is the answer to the document request id.
func (l *netLog) status(id network.RequestID) (answer, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.answers[id]
	return a, ok
}

// urls returns the URLs requested so far, in order.
func (l *netLog) urls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.order...)
}

// quiet waits until no request has been in flight for idle, or limit
// has passed (a page that never stops talking, such as one polling its
// server, is taken as it is then).
func (l *netLog) quiet(ctx context.Context, idle, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		l.mu.Lock()
		still := len(l.inflight) == 0 && time.Since(l.last) >= idle
		l.mu.Unlock()
		if still || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
