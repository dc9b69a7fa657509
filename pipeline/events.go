package pipeline

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Event is one line of newline-delimited JSON that a stage process writes on
// its stdout for the supervisor.
type Event struct {
	Kind   string `json:"e"`           // see the Ev* constants
	URL    string `json:"u,omitempty"` // the file or page concerned
	Path   string `json:"p,omitempty"` // a file's path under OUT
	Bytes  int64  `json:"b,omitempty"`
	Total  int64  `json:"t,omitempty"` // EvBytes: the file's size, -1 if unknown
	Reason string `json:"r,omitempty"`
	Info   string `json:"i,omitempty"` // e.g. the encoding a page was read in
}

// Event kinds.
const (
	EvFile    = "file"    // a file was downloaded
	EvSkip    = "skip"    // a file was already on disk from an earlier run
	EvTooBig  = "toobig"  // a file was skipped for --max-size
	EvFail    = "fail"    // a URL failed for good
	EvPage    = "page"    // a page was read
	EvRetry   = "retry"   // a request will be tried again
	EvStarted = "started" // the stage is up
	EvBytes   = "bytes"   // a file in progress holds Bytes of Total (sent every progressEvery at most)
	EvPut     = "put"     // tasks were queued; Info names their queue
)

// progressEvery is how often, at most, the download of one file reports
// its bytes (EvBytes). A file done sooner never does.
const progressEvery = 150 * time.Millisecond

// meter counts the bytes of one download and reports them as EvBytes
// events, every progressEvery at most; safe for concurrent use (the
// segments of one file share it).
type meter struct {
	ev    *emitter
	url   string
	total atomic.Int64 // -1: unknown
	done  atomic.Int64
	last  atomic.Int64 // UnixNano of the last report (or of the start)
}

func newMeter(ev *emitter, url string) *meter {
	m := &meter{ev: ev, url: url}
	m.total.Store(-1)
	m.last.Store(time.Now().UnixNano())
	return m
}

// set says where the download stands: done bytes held of total (-1 if
// unknown), after a resume or a restart.
func (m *meter) set(done, total int64) {
	m.done.Store(done)
	m.total.Store(total)
}

// add counts n more bytes and reports them when it is time.
func (m *meter) add(n int) {
	done := m.done.Add(int64(n))
	now := time.Now().UnixNano()
	last := m.last.Load()
	if now-last >= int64(progressEvery) && m.last.CompareAndSwap(last, now) {
		m.ev.emit(Event{Kind: EvBytes, URL: m.url, Bytes: done, Total: m.total.Load()})
	}
}

// writer counts what goes through to w. When w reads for itself (an
// io.ReaderFrom, as a store.Part does to hash while it reads), so does the
// writer, counting what it reads.
func (m *meter) writer(w io.Writer) io.Writer {
	if _, ok := w.(io.ReaderFrom); ok {
		return meteredReaderFrom{meteredWriter{w, m}}
	}
	return meteredWriter{w, m}
}

type meteredWriter struct {
	w io.Writer
	m *meter
}

func (mw meteredWriter) Write(b []byte) (int, error) {
	n, err := mw.w.Write(b)
	mw.m.add(n)
	return n, err
}

type meteredReaderFrom struct{ meteredWriter }

func (mw meteredReaderFrom) ReadFrom(r io.Reader) (int64, error) {
	return mw.w.(io.ReaderFrom).ReadFrom(meteredReader{r, mw.m})
}

// meteredReader counts what is read from r.
type meteredReader struct {
	r io.Reader
	m *meter
}

func (mr meteredReader) Read(b []byte) (int, error) {
	n, err := mr.r.Read(b)
	mr.m.add(n)
	return n, err
}

// Transfers follows the files being downloaded through their EvBytes
// events: the bytes each holds, its size when known, and how fast it
// grows. The zero value is ready to use; it is not safe for concurrent use.
type Transfers struct {
	m map[string]*fileProgress
}

// fileProgress is what Transfers knows of one file in progress.
type fileProgress struct {
	done, total int64
	seen        time.Time // the last event
	rate        float64   // bytes per second, smoothed
}

// transferStale is how long a file without news still counts as in
// progress (its stage process may have died with it).
const transferStale = 10 * time.Second

// Track takes in one event of a stage: EvBytes updates its file, the end
// of a file (downloaded, skipped, failed) forgets it.
func (ts *Transfers) Track(ev Event, now time.Time) {
	switch ev.Kind {
	case EvBytes:
		if ts.m == nil {
			ts.m = map[string]*fileProgress{}
		}
		t := ts.m[ev.URL]
		if t == nil {
			ts.m[ev.URL] = &fileProgress{done: ev.Bytes, total: ev.Total, seen: now}
			return
		}
		if dt := now.Sub(t.seen).Seconds(); dt > 0 && ev.Bytes >= t.done {
			r := float64(ev.Bytes-t.done) / dt
			if t.rate == 0 {
				t.rate = r
			} else {
				t.rate = 0.7*t.rate + 0.3*r
			}
		}
		t.done, t.total, t.seen = ev.Bytes, ev.Total, now
	case EvFile, EvSkip, EvFail, EvTooBig:
		delete(ts.m, ev.URL)
	}
}

// InFlight is a summary of the files in progress.
type InFlight struct {
	Files      int     // files in progress
	Bytes      int64   // bytes they hold
	Rate       float64 // bytes per second they grow by
	Sized      int     // those of them whose size is known
	SizedBytes int64   // the bytes those hold
	SizedTotal int64   // the sum of their sizes
}

// InFlight sums up the files in progress heard of lately.
func (ts *Transfers) InFlight(now time.Time) InFlight {
	var f InFlight
	for url, t := range ts.m {
		if now.Sub(t.seen) > transferStale {
			delete(ts.m, url)
			continue
		}
		f.Files++
		f.Bytes += t.done
		f.Rate += t.rate
		if t.total >= 0 {
			f.Sized++
			f.SizedBytes += t.done
			f.SizedTotal += t.total
		}
	}
	return f
}

// emitter writes events, one JSON line each; safe for concurrent use.
type emitter struct {
	mu  sync.Mutex
	w   io.Writer
	buf bytes.Buffer
	enc *json.Encoder // into buf
}

func newEmitter(w io.Writer) *emitter {
	e := &emitter{w: w}
	e.enc = json.NewEncoder(&e.buf)
	return e
}

func (e *emitter) emit(ev Event) { e.emitAll([]Event{ev}) }

// emitAll writes several events with one write.
func (e *emitter) emitAll(evs []Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.buf.Reset()
	for _, ev := range evs {
		_ = e.enc.Encode(ev)
	}
	if e.buf.Len() > 0 {
		_, _ = e.w.Write(e.buf.Bytes()) // the supervisor going away is noticed through the context
	}
}
