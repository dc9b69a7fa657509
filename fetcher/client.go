package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultUserAgent is the User-Agent sent when Config.UserAgent is empty:
// a current desktop browser, since many gallery sites refuse anything else.
const DefaultUserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// Config is the configuration of a Client. The zero value is usable.
type Config struct {
	UserAgent    string        // "" → DefaultUserAgent
	Header       http.Header   // extra request headers (from --header)
	Cookie       string        // raw "a=b; c=d", sent as Cookie header when non-empty
	Timeout      time.Duration // connect timeout, response-header timeout, and body stall timeout; 0 → 30s
	Retries      int           // retries after a failed attempt (0 = try once); negative → 0
	RetryWait    time.Duration // base back-off; 0 → 1s. wait = RetryWait*2^attempt, jitter ×[0.5,1.5), capped at 60s
	PerHost      int           // max requests in flight to one host; <=0 → 4
	Delay        time.Duration // min time between the starts of two requests to one host
	LockDir      string        // if non-empty: PerHost and Delay hold across all processes using this dir (flock files)
	IgnoreRobots bool          // when false, robots.txt is fetched once per host (per process) and obeyed
	MaxRedirects int           // 0 → 10
	MaxConns     int           // idle-connection pool size hint (download workers); 0 → 16
	// Gate, when set, also limits requests per host (PerHost at once, Delay
	// apart) for a crawl spread over several machines; Delay is then kept
	// by the gate alone.
	Gate HostGate

	// Proxy is the proxy of every request, robots.txt included: an http://,
	// https://, socks5:// or socks5h:// URL (see ParseProxy). When it is
	// "", the environment names one (see EnvProxy), unless NoEnvProxy.
	Proxy      string
	NoEnvProxy bool
	// RateLimit is the most bytes per second that all the response bodies
	// of this client together are read at; 0 is no limit.
	RateLimit int64
	// Log, when set, is told once per host which proxy the host goes
	// through (never a password), when a proxy is configured at all.
	Log io.Writer
	// Referer is "" to send the Referer a browser would (see [Referer])
	// from the page each request names with [WithReferer], NoReferer to
	// send none, or a URL to send with every request. A Referer in Header
	// wins over all three.
	Referer string
	// Cookies start the client's cookie jar (from --cookies); the cookies
	// that answers set join it. Each goes only where its domain, path and
	// Secure flag allow.
	Cookies []Cookie
}

// HostGate is a per-host limit kept outside this process, such as on a
// Redis server that every machine of a crawl shares ([RedisGate]).
type HostGate interface {
	AcquireHost(ctx context.Context, host string, perHost int, delay time.Duration) (release func(), err error)
}

// Client is a concurrency-safe HTTP client with per-host limits, robots.txt,
// retries and stall timeouts. Create it with New and Close it when done.
type Client struct {
	cfg    Config
	tr     *http.Transport
	routes *proxyRoutes // nil: no proxy
	rate   tokenWaiter  // nil: no rate limit
	hc     *http.Client
	limits *hostLimiter
	robots *robotsCache
	closed atomic.Bool
	// userReferer: Config.Header has a Referer, sent as it is.
	userReferer bool
	session     *session
}

// New returns a Client for cfg. With cfg.LockDir set, the directory is
// created if missing.
func New(cfg Config) (*Client, error) {
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	cfg.Header = cfg.Header.Clone()
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	cfg.Retries = max(cfg.Retries, 0)
	if cfg.RetryWait <= 0 {
		cfg.RetryWait = time.Second
	}
	if cfg.PerHost <= 0 {
		cfg.PerHost = 4
	}
	cfg.Delay = max(cfg.Delay, 0)
	if cfg.MaxRedirects <= 0 {
		cfg.MaxRedirects = 10
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	if cfg.LockDir != "" {
		if err := os.MkdirAll(cfg.LockDir, 0o755); err != nil {
			return nil, fmt.Errorf("create lock dir: %w", err)
		}
	}

	idle := max(cfg.MaxConns, cfg.PerHost)
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          max(100, idle),
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		ExpectContinueTimeout: time.Second,
		// Byte ranges and Content-Length must refer to the bytes on the
		// wire, so no transparent gzip; GetPage asks for gzip itself.
		DisableCompression: true,
	}
	routes, err := newProxyRoutes(cfg, tr, dialer)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:    cfg,
		tr:     tr,
		routes: routes,
		rate:   newRateLimit(cfg.RateLimit),
		limits: newHostLimiter(cfg.PerHost, localDelay(cfg), cfg.LockDir),
		robots: newRobotsCache(),

		userReferer: cfg.Header.Get("Referer") != "",
	}
	sess, err := newSession(cfg.Cookies)
	if err != nil {
		return nil, err
	}
	c.cfg.Cookies = nil // in the jar now
	c.session = sess
	c.hc = &http.Client{Transport: tr, CheckRedirect: c.checkRedirect, Jar: sess}
	if routes != nil {
		c.hc.Transport = routes
	}
	return c, nil
}

// TakeCookies returns the cookies that answers set since the last call
// (nil if none), as records that another Client can take in with
// AddCookies: each with its domain and path, and an expiry of -1 when it
// deletes the cookie. A cookie the jar refused for its domain is not among
// them.
func (c *Client) TakeCookies() []Cookie { return c.session.take() }

// AddCookies puts cookies into the client's jar, such as those another
// Client took with TakeCookies; a later one of the same domain, path and
// name replaces an earlier, and one already expired deletes it. They are
// not returned by TakeCookies.
func (c *Client) AddCookies(cookies []Cookie) { c.session.add(cookies) }

// Close releases the lock files and idle connections. Requests made after
// Close fail; bodies still open may be read and closed as usual.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.tr.CloseIdleConnections()
	if c.routes != nil {
		c.routes.closeIdle()
	}
	return c.limits.close()
}

// checkRedirect stops a redirect chain that is too long or comes back to a
// URL already visited. A redirect to another host is a first request to
// that host: the answer that redirected is finished and its host's slot
// given back, then the target's robots.txt is obeyed and a slot of its
// host taken (its --delay kept), which the request holds from then on.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	next := req.URL.String()
	for _, prev := range via {
		if prev.URL.String() == next {
			return fmt.Errorf("redirect to %s: %w", next, ErrRedirectLoop)
		}
	}
	if len(via) > c.cfg.MaxRedirects {
		return fmt.Errorf("stopped after %d redirects", c.cfg.MaxRedirects)
	}
	f, _ := req.Context().Value(flightKey{}).(*flight)
	if f != nil {
		if err := c.redirectSlot(f, req); err != nil {
			return err
		}
	}
	// net/http sends the redirecting URL as Referer; a browser keeps the
	// page the request was made from, under its policy for the new URL.
	if c.userReferer {
		req.Header["Referer"] = via[0].Header["Referer"]
		return nil
	}
	var from string
	if f != nil {
		from = f.from
	}
	if ref := c.referer(from, req.URL); ref != "" {
		req.Header.Set("Referer", ref)
	} else {
		req.Header.Del("Referer")
	}
	return nil
}

// flight is what a request made by once carries in its context through
// its redirects: the page it is made from, and the per-host slot it holds.
type flight struct {
	ctx     context.Context // the caller's: for the waits of a redirect
	from    string          // the page the request is made from (WithReferer), "" if none
	host    string          // the host key of the slot held
	release func()          // gives the slot back; nil when none is held
}

// flightKey is the context key of a request's *flight.
type flightKey struct{}

// done gives back the slot the request holds, if any.
func (f *flight) done() {
	if f.release != nil {
		f.release()
		f.release = nil
	}
}

// redirectSlot moves the request of f to the host of req, the target of
// a redirect, when that is another host: the redirect's answer is read
// and closed and its slot given back first (so that two hosts redirecting
// to each other cannot hold each other's slots), then the target is
// checked against its robots.txt and a slot of its host taken.
func (c *Client) redirectSlot(f *flight, req *http.Request) error {
	host := hostKey(req.URL)
	if host == f.host {
		return nil
	}
	if prev := req.Response; prev != nil {
		// What net/http would do right after this check, done first so
		// that the answer is over before its slot goes.
		if prev.ContentLength == -1 || prev.ContentLength <= 2<<10 {
			_, _ = io.CopyN(io.Discard, prev.Body, 2<<10)
		}
		prev.Body.Close()
	}
	f.done()
	f.host = host
	if !c.cfg.IgnoreRobots {
		ok, err := c.allowed(f.ctx, req.URL)
		if err != nil {
			return fmt.Errorf("redirect to %s: robots.txt: %w", req.URL, err)
		}
		if !ok {
			return fmt.Errorf("redirect to %s: %w", req.URL, ErrDisallowed)
		}
	}
	release, err := c.acquire(f.ctx, req.URL)
	if err != nil {
		return fmt.Errorf("redirect to %s: %w", req.URL, err)
	}
	f.release = release
	return nil
}

// referer is the Referer for a request to target made from the page at
// from ("" if none), under Config.Referer; "" sends none. A Referer in
// Config.Header is not its business.
func (c *Client) referer(from string, target *url.URL) string {
	switch c.cfg.Referer {
	case NoReferer:
		return ""
	case "":
		return Referer(from, target)
	}
	return c.cfg.Referer
}

// GetOption adjusts one Get request.
type GetOption func(*getOptions)

type getOptions struct {
	header    http.Header
	from      string // the page the request is made from (WithReferer)
	rangeFrom int64  // -1: no Range header
	rangeEnd  int64  // > rangeFrom: the range stops before this offset; else it is open
	ifRange   string
	page      bool                               // a page (GetPage): accept encoded bodies, and decode them always
	gate      func(context.Context, int64) error // WithBodyGate
}

// WithRange asks for the resource from byte offset on ("Range: bytes=OFFSET-")
// and, if ifRange is not "", only if it still matches that validator
// ("If-Range"; an ETag or a Last-Modified date, see Response.Validator).
// A negative offset is ignored.
func WithRange(offset int64, ifRange string) GetOption {
	return func(o *getOptions) {
		if offset < 0 {
			return
		}
		o.rangeFrom = offset
		o.ifRange = ifRange
	}
}

// WithRangeEnd is WithRange for the bytes [offset, end) only
// ("Range: bytes=OFFSET-END-1"): one segment of a file fetched over several
// connections. An end not past offset leaves the range open, as WithRange.
func WithRangeEnd(offset, end int64, ifRange string) GetOption {
	return func(o *getOptions) {
		WithRange(offset, ifRange)(o)
		if offset >= 0 && end > offset {
			o.rangeEnd = end
		}
	}
}

// WithReferer names the page the request is made from: its Referer is
// the one a browser would send (see [Referer]), unless Config.Referer or a
// Referer header in Config.Header says otherwise. A redirect keeps the page
// and applies the policy again to where it leads.
func WithReferer(page string) GetOption {
	return func(o *getOptions) { o.from = page }
}

// WithHeader sets one extra header for this request; it overrides the
// Config's headers of the same name.
func WithHeader(name, value string) GetOption {
	return func(o *getOptions) {
		if o.header == nil {
			o.header = make(http.Header)
		}
		o.header.Set(name, value)
	}
}

// Response is a successful (2xx) answer whose body is still to be read.
// A 206 always names its range: one whose Content-Range is missing or
// unusable fails the Get with an error wrapping ErrBadRange. Whether a
// range answer resumes a part is Continues' to say.
type Response struct {
	URL           string      // final URL after redirects
	StatusCode    int         // 2xx
	Header        http.Header // response headers
	ContentLength int64       // length of Body, -1 if unknown
	Offset        int64       // where Body starts in the full resource: the range start on a 206, else 0
	Total         int64       // full resource size if known (Content-Range total, or Content-Length on 200), else -1
	// Encoding is the content coding ("gzip", "deflate", "br", or a list
	// of them) that Body was decoded from, "" if it came as it is. A
	// decoded answer is the whole file, whose length is known only once
	// read (ContentLength and Total are -1), and has no Validator: a range
	// of its encoded bytes cannot resume a part.
	Encoding string
	// Body is the response body. Reads fail with an error wrapping
	// ErrStalled if no byte arrives for Config.Timeout. The caller must
	// Close it; Close releases the per-host slot.
	Body io.ReadCloser
}

// Validator returns the strong ETag if present, else Last-Modified, else "".
// It is what to pass to WithRange as ifRange when resuming.
func (r *Response) Validator() string {
	if r.Encoding != "" {
		return ""
	}
	if etag := strings.TrimSpace(r.Header.Get("ETag")); etag != "" && !strings.HasPrefix(etag, "W/") {
		return etag
	}
	return strings.TrimSpace(r.Header.Get("Last-Modified"))
}

// Page is a whole response body read by GetPage.
type Page struct {
	URL    string      // final URL, after redirects
	Header http.Header // response headers
	Body   []byte      // the body, decoded if it came gzip-, deflate- or br-encoded
}

// Get performs a GET with retries (timeouts, connection errors, 408, 429,
// 5xx; exponential back-off with jitter; Retry-After in seconds or
// HTTP-date obeyed, capped at 5 min) for the request phase (up to and
// including the response headers). A non-2xx final answer is a
// *StatusError; when the retries were used up, the error says so ("gave up
// after N retries"). The per-host slot is held until Body is closed. The
// request accepts the file only as it is stored ("Accept-Encoding:
// identity"); an answer encoded all the same is decoded unless it is a
// compressed archive (see Response.Encoding).
func (c *Client) Get(ctx context.Context, rawURL string, opt ...GetOption) (*Response, error) {
	u, err := c.prepare(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	o := getOptions{rangeFrom: -1}
	for _, f := range opt {
		f(&o)
	}
	var resp *Response
	err = c.Retry(ctx, func() error {
		var err error
		resp, err = c.once(ctx, u, &o)
		return err
	})
	return resp, err
}

// GetPage is Get plus reading the whole body, which must not be larger
// than limit bytes (limit <= 0: no cap); a larger body fails with an error
// wrapping ErrTooLarge. The whole exchange is retried when the request or
// the body read fails (truncated, stalled, reset), up to Retries retries
// in all. A gzip, deflate or br body is decoded (the cap applies to the
// decoded size, so a small bomb is refused too). Of the options,
// WithReferer and WithHeader apply; a range is
// ignored (a page is read whole).
func (c *Client) GetPage(ctx context.Context, rawURL string, limit int64, opt ...GetOption) (*Page, error) {
	u, err := c.prepare(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	o := getOptions{page: true}
	for _, f := range opt {
		f(&o)
	}
	o.rangeFrom, o.rangeEnd, o.ifRange = -1, 0, ""
	var page *Page
	err = c.Retry(ctx, func() error {
		var err error
		page, err = c.pageOnce(ctx, u, limit, &o)
		return err
	})
	return page, err
}

// prepare parses rawURL and checks it against robots.txt.
func (c *Client) prepare(ctx context.Context, rawURL string) (*url.URL, error) {
	if c.closed.Load() {
		return nil, fmt.Errorf("fetch %s: %w", rawURL, errClosed)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("fetch %s: unsupported scheme %q", rawURL, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("fetch %s: no host", rawURL)
	}
	u.Fragment, u.RawFragment = "", ""
	if !c.cfg.IgnoreRobots {
		ok, err := c.allowed(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("fetch %s: robots.txt: %w", rawURL, err)
		}
		if !ok {
			return nil, fmt.Errorf("fetch %s: %w", rawURL, ErrDisallowed)
		}
	}
	return u, nil
}

// Retry calls attempt until it succeeds, fails for good (an error that is
// not Retryable), or Config.Retries retries are used up (the error then
// says so), sleeping Backoff between attempts. Get and GetPage retry
// through it; so can a caller that loads a page some other way.
func (c *Client) Retry(ctx context.Context, attempt func() error) error {
	for n := 0; ; n++ {
		err := attempt()
		if err == nil || !Retryable(err) || ctx.Err() != nil {
			return err
		}
		if n >= c.cfg.Retries {
			if n == 0 {
				return err
			}
			return fmt.Errorf("%w (gave up after %d retries)", err, n)
		}
		if werr := Sleep(ctx, c.Backoff(n, err)); werr != nil {
			return fmt.Errorf("%w (gave up waiting to retry: %w)", err, werr)
		}
	}
}

// localDelay is the delay the in-process limiter keeps: none when a gate
// keeps it for the whole crawl.
func localDelay(cfg Config) time.Duration {
	if cfg.Gate != nil {
		return 0
	}
	return cfg.Delay
}

// acquire waits for a slot of u's host, in this process, in LockDir and
// at the Gate when there is one, and for the host's delay; release gives
// it back (safe to call more than once).
func (c *Client) acquire(ctx context.Context, u *url.URL) (release func(), err error) {
	host := hostKey(u)
	release, err = c.limits.acquire(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("wait for host slot: %w", err)
	}
	if c.cfg.Gate == nil {
		return release, nil
	}
	gateRelease, err := c.cfg.Gate.AcquireHost(ctx, host, c.cfg.PerHost, c.cfg.Delay)
	if err != nil {
		release()
		return nil, fmt.Errorf("wait for host slot: %w", err)
	}
	local := release
	var once sync.Once
	return func() { once.Do(func() { gateRelease(); local() }) }, nil
}

// once makes one request to u, holding a per-host slot until the returned
// Response's Body is closed (or until it returns an error).
func (c *Client) once(ctx context.Context, u *url.URL, o *getOptions) (*Response, error) {
	if c.closed.Load() {
		return nil, fmt.Errorf("fetch %s: %w", u, errClosed)
	}
	release, err := c.acquire(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	// The slot held is the flight's: a redirect to another host trades
	// it for one of that host's (see redirectSlot).
	f := &flight{ctx: ctx, host: hostKey(u), release: release}
	if o.from != "" && c.cfg.Referer == "" && !c.userReferer {
		f.from = o.from
	}
	reqCtx, cancel := context.WithCancelCause(context.WithValue(ctx, flightKey{}, f))
	var conn net.Conn
	reqCtx = httptrace.WithClientTrace(reqCtx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { conn = info.Conn },
	})
	fail := func(err error) (*Response, error) {
		cancel(nil)
		f.done()
		return nil, err
	}
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail(fmt.Errorf("fetch %s: %w", u, err))
	}
	c.setHeaders(req, o)

	resp, err := c.hc.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return fail(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := newStatusError(resp)
		c.discard(resp.Body, cancel)
		return fail(se)
	}

	r := &Response{
		URL:           resp.Request.URL.String(),
		StatusCode:    resp.StatusCode,
		Header:        resp.Header,
		ContentLength: resp.ContentLength,
		Total:         -1,
	}
	if resp.ContentLength < 0 {
		r.ContentLength = -1
	}
	if r.Offset, r.Total, err = answerRange(resp.StatusCode, resp.Header, r.ContentLength); err != nil {
		c.discard(resp.Body, cancel)
		return fail(fmt.Errorf("fetch %s: %w", u, err))
	}
	body := newStallBody(resp.Body, u.String(), c.cfg.Timeout, cancel, f.done)
	if resp.ProtoMajor == 1 {
		body.conn = conn // an HTTP/2 connection is shared: never closed here
	}
	r.Body = body
	if c.rate != nil {
		r.Body = &rateBody{ReadCloser: body, ctx: reqCtx, url: u.String(), lim: c.rate}
	}
	if err := decodeAnswer(r, resp.Request.URL, o.page); err != nil {
		c.discard(r.Body, cancel)
		return fail(fmt.Errorf("fetch %s: %w", u, err))
	}
	return r, nil
}

// setHeaders puts the identity and option headers on req.
func (c *Client) setHeaders(req *http.Request, o *getOptions) {
	h := req.Header
	h.Set("User-Agent", c.cfg.UserAgent)
	h.Set("Accept", "*/*")
	if o.page {
		h.Set("Accept-Encoding", pageEncodings)
	} else {
		h.Set("Accept-Encoding", fileEncodings)
	}
	if !c.userReferer {
		if ref := c.referer(o.from, req.URL); ref != "" {
			h.Set("Referer", ref)
		}
	}
	for name, values := range c.cfg.Header {
		h[http.CanonicalHeaderKey(name)] = append([]string(nil), values...)
	}
	if c.cfg.Cookie != "" {
		h.Set("Cookie", c.cfg.Cookie)
	}
	if o.rangeFrom >= 0 {
		spec := "bytes=" + strconv.FormatInt(o.rangeFrom, 10) + "-"
		if o.rangeEnd > o.rangeFrom {
			spec += strconv.FormatInt(o.rangeEnd-1, 10)
		}
		h.Set("Range", spec)
		if o.ifRange != "" {
			h.Set("If-Range", o.ifRange)
		}
	}
	for name, values := range o.header {
		h[name] = append([]string(nil), values...)
	}
	if host := h.Get("Host"); host != "" {
		req.Host = host
	}
}

// discard reads a little of an unwanted body so the connection can be
// reused, giving up if it stalls, and closes it.
func (c *Client) discard(body io.ReadCloser, cancel context.CancelCauseFunc) {
	t := time.AfterFunc(c.cfg.Timeout, func() { cancel(ErrStalled) })
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	t.Stop()
	body.Close()
}

// pageOnce makes one request to u and reads the whole body.
func (c *Client) pageOnce(ctx context.Context, u *url.URL, limit int64, o *getOptions) (*Page, error) {
	resp, err := c.once(ctx, u, o)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	tooLarge := func() error {
		return fmt.Errorf("fetch %s: larger than %d bytes: %w", u, limit, ErrTooLarge)
	}
	// A decoded body's ContentLength is -1: the cap holds as it is read.
	if limit > 0 && resp.ContentLength > limit {
		return nil, tooLarge()
	}
	var body io.Reader = resp.Body
	if limit > 0 {
		body = io.LimitReader(body, limit+1)
	}
	body = gateBody(ctx, body, o.gate, resp.ContentLength)
	data, err := io.ReadAll(body)
	if err != nil {
		if errors.Is(err, ErrStalled) {
			return nil, err // already names the URL
		}
		return nil, fmt.Errorf("read body of %s: %w", u, err)
	}
	if limit > 0 && int64(len(data)) > limit {
		return nil, tooLarge()
	}
	return &Page{URL: resp.URL, Header: resp.Header, Body: data}, nil
}

// answerRange is where the body of an answer with status and header
// starts in the full resource, and the resource's size (-1 if unknown):
// for a 206, its Content-Range, which must be one range of bytes that the
// body's length (contentLength, -1 if unknown) agrees with; else byte 0,
// and the body's length. A 206 whose Content-Range is missing, not
// "bytes START-END/TOTAL" (TOTAL may be "*") or inconsistent is no range
// of anything: an error wrapping ErrBadRange.
func answerRange(status int, header http.Header, contentLength int64) (offset, total int64, err error) {
	if status != http.StatusPartialContent {
		return 0, max(contentLength, -1), nil
	}
	cr := header.Values("Content-Range")
	if len(cr) != 1 {
		return 0, -1, fmt.Errorf("%w: %d Content-Range headers", ErrBadRange, len(cr))
	}
	start, end, total, ok := parseContentRange(cr[0])
	if !ok {
		return 0, -1, fmt.Errorf("%w: Content-Range %q", ErrBadRange, cr[0])
	}
	if contentLength >= 0 && contentLength != end-start+1 {
		return 0, -1, fmt.Errorf("%w: Content-Range %q for %d bytes", ErrBadRange, cr[0], contentLength)
	}
	return start, total, nil
}

// parseContentRange reads "bytes START-END/TOTAL", where TOTAL may be "*"
// (total -1): START <= END, and END < TOTAL when TOTAL is known.
func parseContentRange(v string) (start, end, total int64, ok bool) {
	unit, rest, found := strings.Cut(strings.TrimSpace(v), " ")
	if !found || !strings.EqualFold(unit, "bytes") {
		return 0, 0, -1, false
	}
	span, size, found := strings.Cut(strings.TrimSpace(rest), "/")
	if !found {
		return 0, 0, -1, false
	}
	first, last, found := strings.Cut(span, "-")
	if !found {
		return 0, 0, -1, false
	}
	start, ok1 := parseBytePos(first)
	end, ok2 := parseBytePos(last)
	if !ok1 || !ok2 || end < start {
		return 0, 0, -1, false
	}
	total = -1
	if size = strings.TrimSpace(size); size != "*" {
		n, ok := parseBytePos(size)
		if !ok || n <= end {
			return 0, 0, -1, false
		}
		total = n
	}
	return start, end, total, true
}

// parseBytePos reads a byte position of a Content-Range: decimal digits
// only (no sign), which fit an int64.
func parseBytePos(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// Continues reports, with nil, that r is the range from byte offset on of
// the version a part holds, which a resume may append to it: a 206 whose
// Content-Range starts at offset, whose total is total (when total >= 0)
// and whose Validator is validator. Otherwise the error (wrapping
// ErrRangeMismatch) says what differs; the bytes of r are then not those
// the part lacks.
func (r *Response) Continues(offset, total int64, validator string) error {
	switch {
	case r.Encoding != "":
		return fmt.Errorf("%w: a %s-encoded answer is no range of the file", ErrRangeMismatch, r.Encoding)
	case r.StatusCode != http.StatusPartialContent:
		return fmt.Errorf("%w: status %d, not 206", ErrRangeMismatch, r.StatusCode)
	case r.Offset != offset:
		return fmt.Errorf("%w: range from byte %d, asked for %d", ErrRangeMismatch, r.Offset, offset)
	case total >= 0 && r.Total != total:
		return fmt.Errorf("%w: the file has %d bytes, was %d", ErrRangeMismatch, r.Total, total)
	case r.Validator() != validator:
		return fmt.Errorf("%w: version %q, part holds %q", ErrRangeMismatch, r.Validator(), validator)
	}
	return nil
}

// hostKey names the host of u for the per-host limits: the lowercased
// host with the scheme's default port dropped.
func hostKey(u *url.URL) string {
	h := strings.ToLower(u.Host)
	switch {
	case u.Scheme == "http" && strings.HasSuffix(h, ":80"):
		h = strings.TrimSuffix(h, ":80")
	case u.Scheme == "https" && strings.HasSuffix(h, ":443"):
		h = strings.TrimSuffix(h, ":443")
	}
	return h
}

// Sleep waits for d or until ctx is done, and returns ctx's error if that
// came first. The renderer waits through it too.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
