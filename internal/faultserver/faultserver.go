// Package faultserver is an HTTP server for tests that misbehaves on
// purpose, the way real servers do: it answers 5xx a few times before it
// works, asks clients to come back later with Retry-After (in seconds or as
// an HTTP date), cuts a body short and closes or resets the connection,
// stalls in the middle of a body, trickles bytes slowly, sends an HTML error
// page with status 200 where a file should be, sends an empty body, streams
// with chunked encoding and no length, ignores Range, answers 416, changes a
// file (and its ETag) between two runs, and redirects in chains, in loops
// and to another host.
//
// Each path is configured on its own with [Server.File], [Server.Redirect]
// or [Server.HandleFunc]. The server listens on two addresses, so that a
// client sees two hosts ([Server.URL] and [Server.OtherURL]), or on as
// many as a test asks for ([Server.MoreHosts]), and it counts
// what it sees: every request with its Range and If-Range headers, status
// and body bytes sent ([Server.Requests]), and the most requests and the
// most connections open at once per host ([Server.PeakRequests],
// [Server.PeakConns]).
//
// A typical test:
//
//	srv := faultserver.New()
//	defer srv.Close()
//	srv.File("/a.jpg", faultserver.File{
//		Body:   faultserver.Bytes("a", 3<<20),
//		ETag:   `"v1"`,
//		Faults: []faultserver.Fault{{Kind: faultserver.Truncate, After: 1 << 20}},
//	})
//	// ... fetch srv.URL("/a.jpg") ...
//	reqs := srv.Requests("/a.jpg") // the second one carries Range: bytes=1048576-
package faultserver

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/andybalholm/brotli"
)

// Kind is what a Fault does to one request.
type Kind int

// The kinds of fault.
const (
	// Status answers Fault.Status (503 if 0) with a small HTML body and,
	// if Fault.RetryAfter is set, that Retry-After header.
	Status Kind = iota + 1
	// Truncate sends the status and headers the request deserves (the full
	// Content-Length), Fault.After bytes of the body, then closes the
	// connection.
	Truncate
	// Stall sends the headers and Fault.After bytes of the body, then
	// nothing more until the client gives up (or the server is closed).
	Stall
	// Reset sends the headers and Fault.After bytes of the body, then
	// resets the connection (TCP RST).
	Reset
	// Drop closes the connection before any answer.
	Drop
	// HTML answers 200 with an HTML error page served as text/html.
	HTML
	// Disguised answers 200 with an HTML error page served with the file's
	// own Content-Type (image/jpeg, say): only its first bytes tell.
	Disguised
	// Empty answers 200 with the file's headers and a zero-byte body.
	Empty
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Status:
		return "status"
	case Truncate:
		return "truncate"
	case Stall:
		return "stall"
	case Reset:
		return "reset"
	case Drop:
		return "drop"
	case HTML:
		return "html"
	case Disguised:
		return "disguised"
	case Empty:
		return "empty"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Fault is one misbehaviour, the answer to one request.
type Fault struct {
	Kind       Kind
	Status     int    // for Status: the status code; 0 → 503
	RetryAfter string // for Status: the Retry-After value ("2", or an HTTP date); "" → none
	After      int64  // for Truncate, Stall and Reset: body bytes sent first
}

// Times returns n copies of f, for File.Faults: "answer 503 three times".
func Times(n int, f Fault) []Fault {
	out := make([]Fault, n)
	for i := range out {
		out[i] = f
	}
	return out
}

// File is a resource served at one path, with the faults it shows.
type File struct {
	Body            []byte
	ContentType     string    // "" → application/octet-stream
	ContentEncoding string    // e.g. "gzip": sent as Content-Encoding (Body is sent as it is)
	ETag            string    // the ETag header, quoted (`"v1"`); "" → none
	LastModified    time.Time // the Last-Modified header; zero → none
	// IgnoreRange makes every answer a 200 with the whole body, Range or not.
	IgnoreRange bool
	// Chunked leaves out Content-Length: the body goes out in chunks.
	Chunked bool
	// Rate, in bytes per second, trickles the body out; 0 sends it at once.
	Rate int
	// Always, if set, is the answer to every request, after Faults.
	Always *Fault
	// Faults are the answers to the first len(Faults) requests for the
	// path, in order; later requests are served properly (or get Always).
	Faults []Fault
}

// Request is what the server saw of one request and what it answered. A
// request is logged as soon as it arrives; Status, Sent and Fault are
// filled in when its answer is over (Done).
type Request struct {
	Host    string // the Host header: Server.Host or Server.OtherHost
	Path    string
	Range   string // the Range header, "" if none
	IfRange string // the If-Range header, "" if none
	Referer string // the Referer header, "" if none
	Start   time.Time
	End     time.Time // when the request was counted over (see recorder)
	// ClientGone: the client closed the connection while the answer was
	// being sent; the server sees that a moment after it happens, so End
	// is late by that moment.
	ClientGone bool
	Done       bool  // the answer is over
	Status     int   // the status sent (0 if the connection was dropped first)
	Sent       int64 // body bytes sent
	Fault      Kind  // the fault shown, 0 if none
}

// route answers one path.
type route struct {
	file    *File
	handler http.HandlerFunc
	served  atomic.Int64 // requests answered since the route was set
}

// Server is a running fault-injecting HTTP server on 127.0.0.1, reachable
// as two hosts. It is safe for concurrent use.
type Server struct {
	main, other *httptest.Server
	more        *http.Server // serves the listeners of MoreHosts; nil until then
	closing     chan struct{}
	closeOnce   sync.Once

	mu        sync.Mutex
	routes    map[string]*route
	log       []Request
	inflight  map[string]int // by Host header
	peakReqs  map[string]int
	conns     map[string]int // by listener address
	peakConns map[string]int
}

// New starts a Server. Close it when done.
func New() *Server {
	s := &Server{
		closing:   make(chan struct{}),
		routes:    map[string]*route{},
		inflight:  map[string]int{},
		peakReqs:  map[string]int{},
		conns:     map[string]int{},
		peakConns: map[string]int{},
	}
	s.main = s.start()
	s.other = s.start()
	return s
}

func (s *Server) start() *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	srv.Config.ConnState = s.connState
	srv.Start()
	return srv
}

// Close stops the server: stalled answers end, connections are closed.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.main.CloseClientConnections()
		s.other.CloseClientConnections()
		s.main.Close()
		s.other.Close()
		s.mu.Lock()
		more := s.more
		s.mu.Unlock()
		if more != nil {
			more.Close()
		}
	})
}

// MoreHosts starts n more listeners on 127.0.0.1, each a host of its own
// to a client ("127.0.0.1:PORT"), serving the same routes, and returns
// their base URLs ("http://127.0.0.1:PORT"). They close with the server.
func (s *Server) MoreHosts(n int) ([]string, error) {
	s.mu.Lock()
	if s.more == nil {
		s.more = &http.Server{Handler: http.HandlerFunc(s.serve), ConnState: s.connState}
	}
	srv := s.more
	s.mu.Unlock()
	urls := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return urls, fmt.Errorf("faultserver: listen: %w", err)
		}
		go srv.Serve(ln)
		urls = append(urls, "http://"+ln.Addr().String())
	}
	return urls, nil
}

// Host is the main host, "127.0.0.1:PORT".
func (s *Server) Host() string { return s.main.Listener.Addr().String() }

// OtherHost is the second host, "127.0.0.1:OTHERPORT": same routes, another
// host to a client.
func (s *Server) OtherHost() string { return s.other.Listener.Addr().String() }

// URL returns the URL of path on the main host.
func (s *Server) URL(path string) string { return s.main.URL + path }

// OtherURL returns the URL of path on the other host.
func (s *Server) OtherURL(path string) string { return s.other.URL + path }

// File serves f at path (an exact URL path, such as "/img/a.jpg"),
// replacing whatever was there: a test changes a file between two runs
// by calling File again. Its Faults start over; the request log is kept.
func (s *Server) File(path string, f File) {
	f.Body = bytes.Clone(f.Body)
	f.Faults = append([]Fault(nil), f.Faults...)
	s.set(path, &route{file: &f})
}

// Redirect answers path with a redirect (status 302 if 0) to target, a path
// on the same host or a full URL (another host: see OtherURL).
func (s *Server) Redirect(path, target string, status int) {
	if status == 0 {
		status = http.StatusFound
	}
	s.set(path, &route{handler: func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, status)
	}})
}

// HandleFunc answers path with h (listing pages, say); requests are still
// logged and counted, with the status h sends.
func (s *Server) HandleFunc(path string, h http.HandlerFunc) {
	s.set(path, &route{handler: h})
}

func (s *Server) set(path string, r *route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[path] = r
}

// Requests returns what the server saw for path, in the order the requests
// arrived.
func (s *Server) Requests(path string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.log {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// Count is the number of requests for path.
func (s *Server) Count(path string) int { return len(s.Requests(path)) }

// Ranges returns the Range headers of the requests for path that had one.
func (s *Server) Ranges(path string) []string {
	var out []string
	for _, r := range s.Requests(path) {
		if r.Range != "" {
			out = append(out, r.Range)
		}
	}
	return out
}

// All returns every request the server saw, in order.
func (s *Server) All() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// PeakRequests is the most requests to host (Host or OtherHost) that were
// being answered at once.
func (s *Server) PeakRequests(host string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakReqs[host]
}

// PeakRequestsSeen is PeakRequests for a client that ends requests by
// closing their connections (when it has read what it wanted): the server
// learns of such a close a moment after it happened, and may meanwhile see
// the client's next request. A request the client left counts as over
// lag before the server saw it go.
func (s *Server) PeakRequestsSeen(host string, lag time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	type edge struct {
		at time.Time
		d  int
	}
	var edges []edge
	for _, r := range s.log {
		if r.Host != host {
			continue
		}
		end := r.End
		if end.IsZero() {
			end = time.Now()
		} else if r.ClientGone {
			end = end.Add(-lag)
			if end.Before(r.Start) {
				end = r.Start
			}
		}
		edges = append(edges, edge{r.Start, 1}, edge{end, -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at.Equal(edges[j].at) {
			return edges[i].d < edges[j].d // an end before a start at the same time
		}
		return edges[i].at.Before(edges[j].at)
	})
	peak, n := 0, 0
	for _, e := range edges {
		n += e.d
		peak = max(peak, n)
	}
	return peak
}

// PeakConns is the most connections to host (Host or OtherHost) that were
// open at once, idle ones included.
func (s *Server) PeakConns(host string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakConns[host]
}

func (s *Server) connState(c net.Conn, state http.ConnState) {
	host := c.LocalAddr().String()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case http.StateNew:
		s.conns[host]++
		s.peakConns[host] = max(s.peakConns[host], s.conns[host])
	case http.StateHijacked, http.StateClosed:
		s.conns[host]--
	}
}

// recorder notes the status and body bytes of an answer. It counts the
// request over (end) just before the client can see its end: before the
// write that completes the Content-Length, or the hang-up; else when the
// handler returns. A client that waits for the end of one request before
// it starts the next is then never counted twice. A client that closes the
// connection first is gone: the request is over when the server sees that
// (a write fails, or the connection's context ends).
type recorder struct {
	http.ResponseWriter
	status int
	sent   int64
	want   int64 // the body's Content-Length, -1 if not known
	end    func()
	gone   func()
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.want = -1
		if n, err := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64); err == nil {
			w.want = n
		}
		if w.want == 0 {
			w.end()
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.want >= 0 && w.sent+int64(len(b)) >= w.want {
		w.end()
	}
	n, err := w.ResponseWriter.Write(b)
	w.sent += int64(n)
	if err != nil {
		w.gone()
	}
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	// The request is logged as it arrives; what was answered is filled in
	// when the answer is over.
	host := r.Host
	var once sync.Once
	var idx int
	var returned atomic.Bool
	finish := func(gone bool) {
		once.Do(func() {
			s.mu.Lock()
			s.inflight[host]--
			s.log[idx].End = time.Now()
			s.log[idx].ClientGone = gone
			s.mu.Unlock()
		})
	}
	end := func() { finish(false) }
	rec := &recorder{ResponseWriter: w, end: end, gone: func() { finish(true) }}
	// A client that stops reading and closes the connection is done with
	// the request, though the handler may still be writing.
	stop := context.AfterFunc(r.Context(), func() { finish(!returned.Load()) })
	defer stop()
	defer returned.Store(true)
	s.mu.Lock()
	rt := s.routes[r.URL.Path]
	s.inflight[host]++
	s.peakReqs[host] = max(s.peakReqs[host], s.inflight[host])
	idx = len(s.log)
	s.log = append(s.log, Request{
		Host:    host,
		Path:    r.URL.Path,
		Range:   r.Header.Get("Range"),
		IfRange: r.Header.Get("If-Range"),
		Referer: r.Header.Get("Referer"),
		Start:   time.Now(),
	})
	s.mu.Unlock()
	var shown Kind
	defer func() {
		// Returning early because the client went away (its context
		// ended) is the client leaving too.
		finish(r.Context().Err() != nil)
		s.mu.Lock()
		e := &s.log[idx]
		e.Done, e.Status, e.Sent, e.Fault = true, rec.status, rec.sent, shown
		s.mu.Unlock()
	}()

	switch {
	case rt == nil:
		http.NotFound(rec, r)
	case rt.handler != nil:
		rt.served.Add(1)
		rt.handler(rec, r)
	default:
		f := rt.file
		n := int(rt.served.Add(1)) - 1
		var fault *Fault
		if n < len(f.Faults) {
			fault = &f.Faults[n]
		} else if f.Always != nil {
			fault = f.Always
		}
		if fault != nil {
			shown = fault.Kind
		}
		s.serveFile(rec, r, f, fault)
	}
}

// errorPage is the body of error answers and of the HTML faults.
const errorPage = "<!DOCTYPE html>\n<html><head><title>Error</title></head>" +
	"<body><h1>Sorry</h1><p>The page you asked for is not available.</p></body></html>\n"

// serveFile answers r with f, showing fault (nil: none).
func (s *Server) serveFile(w *recorder, r *http.Request, f *File, fault *Fault) {
	ctype := f.ContentType
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	if fault != nil {
		switch fault.Kind {
		case Status:
			code := fault.Status
			if code == 0 {
				code = http.StatusServiceUnavailable
			}
			if fault.RetryAfter != "" {
				w.Header().Set("Retry-After", fault.RetryAfter)
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Length", strconv.Itoa(len(errorPage)))
			w.WriteHeader(code)
			w.Write([]byte(errorPage))
			return
		case Drop:
			s.hangUp(w, false)
			return
		case HTML, Disguised:
			if fault.Kind == HTML {
				ctype = "text/html; charset=utf-8"
			}
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Content-Length", strconv.Itoa(len(errorPage)))
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(errorPage))
			return
		case Empty:
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
			return
		}
	}

	h := w.Header()
	h.Set("Content-Type", ctype)
	if f.ContentEncoding != "" {
		h.Set("Content-Encoding", f.ContentEncoding)
	}
	if f.ETag != "" {
		h.Set("ETag", f.ETag)
	}
	if !f.LastModified.IsZero() {
		h.Set("Last-Modified", f.LastModified.UTC().Format(http.TimeFormat))
	}
	size := int64(len(f.Body))
	start, end, status := int64(0), size, http.StatusOK
	if !f.IgnoreRange {
		h.Set("Accept-Ranges", "bytes")
		if from, to, ok := parseRange(r.Header.Get("Range")); ok && f.ifRangeMatches(r.Header.Get("If-Range")) {
			if from >= size {
				h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
				h.Set("Content-Length", "0")
				w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
				return
			}
			if to < 0 || to >= size {
				to = size - 1
			}
			start, end, status = from, to+1, http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, to, size))
		}
	}
	if !f.Chunked {
		h.Set("Content-Length", strconv.FormatInt(end-start, 10))
	}
	w.WriteHeader(status)
	body := f.Body[start:end]

	var cut int64 = -1
	if fault != nil && (fault.Kind == Truncate || fault.Kind == Stall || fault.Kind == Reset) {
		cut = min(max(fault.After, 0), int64(len(body)))
		body = body[:cut]
	}
	if !s.send(w, r, body, f) {
		return
	}
	if cut < 0 {
		return
	}
	http.NewResponseController(w).Flush()
	switch fault.Kind {
	case Truncate:
		s.hangUp(w, false)
	case Reset:
		s.hangUp(w, true)
	case Stall:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
	}
}

// send writes body, at f.Rate bytes per second if set, in chunks when
// f.Chunked; false if the client went away.
func (s *Server) send(w *recorder, r *http.Request, body []byte, f *File) bool {
	rc := http.NewResponseController(w)
	chunk := len(body)
	var tick *time.Ticker
	const step = 20 * time.Millisecond
	switch {
	case f.Rate > 0:
		chunk = max(f.Rate/int(time.Second/step), 1)
		tick = time.NewTicker(step)
		defer tick.Stop()
	case f.Chunked:
		chunk = 32 << 10
	}
	for len(body) > 0 {
		n := min(chunk, len(body))
		if _, err := w.Write(body[:n]); err != nil {
			return false
		}
		body = body[n:]
		if f.Chunked || tick != nil {
			rc.Flush()
		}
		if tick != nil && len(body) > 0 {
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return false
			case <-s.closing:
				return false
			}
		}
	}
	return true
}

// hangUp closes the connection under w: with a TCP reset if rst, else an
// ordinary close.
func (s *Server) hangUp(w http.ResponseWriter, rst bool) {
	if rec, ok := w.(*recorder); ok {
		rec.end()
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(fmt.Sprintf("faultserver: hijack: %v", err))
	}
	if tc, ok := conn.(*net.TCPConn); ok && rst {
		tc.SetLinger(0)
	}
	conn.Close()
}

// ifRangeMatches reports whether a Range request with this If-Range header
// may get a part of f: no If-Range, or one naming f's current ETag or
// Last-Modified date.
func (f *File) ifRangeMatches(ifRange string) bool {
	if ifRange == "" {
		return true
	}
	if strings.HasPrefix(ifRange, `"`) {
		return f.ETag != "" && ifRange == f.ETag
	}
	if f.LastModified.IsZero() {
		return false
	}
	t, err := http.ParseTime(ifRange)
	return err == nil && t.Equal(f.LastModified.UTC().Truncate(time.Second))
}

// parseRange reads a single "bytes=FROM-" or "bytes=FROM-TO" range (TO is
// -1 when open). Suffix and multiple ranges are not supported (ok false:
// the whole body is sent, as the RFC allows).
func parseRange(v string) (from, to int64, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found || a == "" {
		return 0, 0, false
	}
	from, err := strconv.ParseInt(a, 10, 64)
	if err != nil || from < 0 {
		return 0, 0, false
	}
	to = -1
	if b != "" {
		if to, err = strconv.ParseInt(b, 10, 64); err != nil || to < from {
			return 0, 0, false
		}
	}
	return from, to, true
}

// Bytes returns n bytes that look random and depend only on seed: the body
// of a test file (two seeds, two versions). They never sniff as HTML.
func Bytes(seed string, n int) []byte {
	key := sha256.Sum256([]byte(seed))
	rng := rand.NewChaCha8(key)
	b := make([]byte, n)
	rng.Read(b)
	if n > 0 {
		b[0] = 0xFF // not '<' nor a space: no sniffer takes it for markup
	}
	return b
}

// GzipBomb returns a small gzip stream (a few KB per MiB) that inflates to
// at least n bytes of zeros: a hostile page. It is a series of gzip
// members, each 1 MiB inflated, which gzip readers read one after another.
func GzipBomb(n int64) []byte {
	const unit = 1 << 20
	var one bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	zw.Write(make([]byte, unit))
	zw.Close()
	members := max((n+unit-1)/unit, 1)
	return bytes.Repeat(one.Bytes(), int(members))
}

// Encode returns b encoded with coding, a body for File.ContentEncoding:
// "gzip", "deflate" (zlib-wrapped, as the RFC has it), "deflate-raw" (a
// bare deflate stream, sent as "deflate" by some servers) or "br". It
// panics on another coding.
func Encode(coding string, b []byte) []byte {
	var buf bytes.Buffer
	var zw interface {
		Write([]byte) (int, error)
		Close() error
	}
	switch coding {
	case "gzip":
		zw = gzip.NewWriter(&buf)
	case "deflate":
		zw = zlib.NewWriter(&buf)
	case "deflate-raw":
		zw, _ = flate.NewWriter(&buf, flate.DefaultCompression)
	case "br":
		zw = brotli.NewWriter(&buf)
	default:
		panic("faultserver: unknown coding " + coding)
	}
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}
