package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"crawl/fetcher"
	"crawl/store"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

// errFinal marks a download error that another try would not mend.
type errFinal struct{ err error }

func (e errFinal) Error() string { return e.err.Error() }
func (e errFinal) Unwrap() error { return e.err }

var errTooBig = errors.New("larger than --max-size")

// Downloads over several connections (--split).
const (
	maxSplit = 64 // the most connections --split may ask for
	// minSegment is the smallest piece of a split download, and a file
	// gets at most one connection per minSegment bytes: one under twice
	// that comes in one stream.
	minSegment = 4 << 20
)

// errChanged is the answer to a segment's request that is not that range
// of the version the part holds: the file changed on the server (If-Range
// failed), or the server no longer serves ranges. The part starts over.
var errChanged = errors.New("the file changed on the server or it stopped serving ranges")

// fileDownload is one file being downloaded: its task, its name and, once
// that is reserved, its part.
type fileDownload struct {
	s    *stage
	ft   FileTask
	nm   name        // reserved, or waiting for the response's type
	part *store.Part // nil until the name is reserved and the part open
	m    *meter
}

// download fetches one file into its reserved path. When the --name
// template wants an {ext} that the URL lacks, the name is known only once
// the response tells the type (Content-Type, else the first bytes); a
// rerun finds it reserved, and its .part, by the URL.
func (s *stage) download(ctx context.Context, t store.Task) {
	ft, early, err := s.namer.take(t)
	if ctx.Err() != nil {
		return // stopping: the task stays leased, and is taken back
	}
	if err != nil {
		s.fail(ctx, t, "", "", err)
		return
	}
	if !downloadable(ft.URL) {
		s.fail(ctx, t, ft.URL, ft.Source, errors.New("not an http(s) URL"))
		return
	}
	done, stale := s.recorded(ctx, t, ft.URL, early.fresh)
	if done {
		return
	}
	nm, err := s.namer.name(ctx, ft, early)
	if err != nil {
		if ctx.Err() == nil {
			s.fail(ctx, t, ft.URL, ft.Source, fmt.Errorf("reserve name: %w", err))
		}
		return
	}
	d := &fileDownload{s: s, ft: ft, nm: nm, m: newMeter(s.ev, ft.URL)}
	if !nm.waits() {
		if !nm.fresh && !s.cfg.Overwrite && !stale {
			// A file at our reserved path was renamed into place, whole and
			// checked, by a run that died before recording it.
			if size, sum, err := s.dir.HashFile(nm.path); err == nil {
				s.record(ctx, t, store.File{URL: ft.URL, Path: nm.path, Bytes: size, SHA256: sum, Source: ft.Source}, EvSkip)
				return
			}
		}
		if err := d.openPart(ctx); err != nil {
			if ctx.Err() == nil {
				s.fail(ctx, t, ft.URL, ft.Source, err)
			}
			return
		}
	}
	var ctype string
	var total int64
	for attempt := 0; ; attempt++ {
		ctype, total, err = d.attempt(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			d.nm = s.namer.unguess(ctx, ft, d.nm)
			d.close() // keep the .part: the next run resumes it
			return
		}
		var final errFinal
		retryable := fetcher.Retryable(err) || errors.Is(err, errChanged)
		if errors.As(err, &final) || attempt >= s.client.Retries() || !retryable {
			if !errors.As(err, &final) && attempt > 0 && retryable {
				err = fmt.Errorf("%w (gave up after %d retries)", err, attempt)
			}
			d.remove()
			d.nm = s.namer.unguess(ctx, ft, d.nm)
			if d.part == nil {
				s.namer.keep(ctx, ft, d.nm)
			}
			if errors.Is(err, errTooBig) {
				if s.ack(ctx, t) {
					s.ev.emit(Event{Kind: EvTooBig, URL: ft.URL, Reason: err.Error()})
				}
				return
			}
			s.fail(ctx, t, ft.URL, ft.Source, err)
			return
		}
		s.ev.emit(Event{Kind: EvRetry, URL: ft.URL, Reason: err.Error()})
		select {
		case <-ctx.Done():
			d.nm = s.namer.unguess(ctx, ft, d.nm)
			d.close()
			return
		case <-time.After(s.client.Backoff(attempt, err)):
		}
	}
	size, sum, err := d.part.Commit(total)
	if err != nil {
		d.remove()
		s.fail(ctx, t, ft.URL, ft.Source, err)
		return
	}
	s.dirty.Store(true)
	s.record(ctx, t, store.File{URL: ft.URL, Path: d.nm.path, Bytes: size, SHA256: sum, ContentType: ctype, Source: ft.Source}, EvFile)
}

// recorded looks for a record of rawURL's file, whose name was reserved
// just now (fresh) or earlier. A file recorded and whole on disk (on Redis,
// recorded by any worker) is done: the task is acknowledged as skipped.
// stale: it is recorded, but not whole on disk (a power cut, or a hand).
func (s *stage) recorded(ctx context.Context, t store.Task, rawURL string, fresh bool) (done, stale bool) {
	// A name reserved just now was never recorded here (on Redis the
	// record may be another worker's).
	if !s.cfg.Overwrite && (!fresh || s.cfg.IsRedis()) {
		if f, ok, err := s.db.FileByURL(ctx, rawURL); err == nil && ok {
			// On Redis the record may be another worker's, its file on
			// another machine's disk: done all the same.
			if st, err := os.Stat(filepath.Join(s.cfg.Out, filepath.FromSlash(f.Path))); s.cfg.IsRedis() || err == nil && st.Size() == f.Bytes {
				if s.ack(ctx, t) {
					s.ev.emit(Event{Kind: EvSkip, URL: rawURL, Path: f.Path, Bytes: f.Bytes})
				}
				return true, false
			}
			stale = !s.cfg.IsRedis()
		}
	}
	return false, stale
}

// openPart opens the part of the file under its reserved name, or creates
// it if the name was reserved just now (fresh): nothing is there to
// resume.
func (d *fileDownload) openPart(ctx context.Context) error {
	open := d.s.dir.OpenPart
	if d.nm.fresh {
		open = d.s.dir.CreatePart
	}
	part, err := open(ctx, d.nm.path)
	if err != nil {
		return err
	}
	d.part = part
	return nil
}

// close closes the part, if any, keeping it for a later resume.
func (d *fileDownload) close() {
	if d.part != nil {
		if err := d.part.Close(); err != nil {
			fmt.Fprintf(d.s.log, "crawl: %s: %v\n", d.s.owner, err)
		}
	}
}

// remove deletes the part, if any.
func (d *fileDownload) remove() {
	if d.part != nil {
		d.part.Remove()
	}
}

// record acknowledges the task with the record of its file, which is in
// place, and tells the supervisor: through the acker when it runs (the
// worker goes on at once), else at once.
func (s *stage) record(ctx context.Context, t store.Task, f store.File, kind string) {
	if s.acks != nil {
		s.acks <- fileAck{task: t, file: f, kind: kind}
		return
	}
	if s.settle(ctx, "record "+f.URL, func(c context.Context) error { return s.db.AckFile(c, t.ID, f) }) {
		s.ev.emit(Event{Kind: kind, URL: f.URL, Path: f.Path, Bytes: f.Bytes})
	}
}

// attempt makes one try at the whole file: it resumes what the part holds
// when it can (from its end, or each of its segments), reserves the name
// first if it waits for the response, and streams the body into the part,
// over several connections when --split asks and the server allows. It
// returns the Content-Type and the size the whole file must have (-1 if
// unknown).
func (d *fileDownload) attempt(ctx context.Context) (string, int64, error) {
	s, ft := d.s, d.ft
	if d.part != nil && d.part.Segments() != nil {
		ctype, total, err := d.resumeSegments(ctx)
		if !errors.Is(err, errChanged) {
			return ctype, total, err
		}
		// Start over, with one request for the whole file.
		if err := d.part.Reset(); err != nil {
			return "", 0, errFinal{err}
		}
	}
	var opts []fetcher.GetOption
	switch {
	case d.part != nil && d.part.Size() > 0:
		if v := d.part.Validator(); v != "" {
			opts = append(opts, fetcher.WithRange(d.part.Size(), v))
		} else if err := d.part.Reset(); err != nil {
			return "", 0, errFinal{err}
		}
	case s.cfg.Split > 1:
		// The whole file as a range: a 206 naming its size says the
		// server can serve it in segments too.
		opts = append(opts, fetcher.WithRange(0, ""))
	}
	resp, err := s.client.Get(ctx, ft.URL, opts...)
	var se *fetcher.StatusError
	if len(opts) > 0 && errors.As(err, &se) && se.StatusCode == http.StatusRequestedRangeNotSatisfiable {
		// The part may hold the whole file already (a run died before the
		// rename), or the file shrank: start over.
		if d.part != nil {
			if err := d.part.Reset(); err != nil {
				return "", 0, errFinal{err}
			}
		}
		resp, err = s.client.Get(ctx, ft.URL)
	}
	if err != nil {
		return "", 0, errFinal{err} // the fetcher has already retried the request
	}
	defer resp.Body.Close()
	if d.part != nil && resp.Offset != d.part.Size() {
		// The server ignored the range (200) or answered another one: start over.
		if err := d.part.Reset(); err != nil {
			return "", 0, errFinal{err}
		}
	}
	if resp.Offset != 0 && (d.part == nil || resp.Offset != d.part.Size()) {
		return "", 0, fmt.Errorf("server answered range from byte %d, wanted 0", resp.Offset)
	}
	ctype := resp.Header.Get("Content-Type")
	if ft.Checked && isHTML(ctype) {
		return "", 0, errFinal{fmt.Errorf("got an HTML page (%s), not a file", ctype)}
	}
	if s.cfg.MaxSize > 0 && resp.Total > s.cfg.MaxSize {
		return "", 0, errFinal{fmt.Errorf("%w (%d bytes)", errTooBig, resp.Total)}
	}
	held := resp.Offset
	body := io.Reader(resp.Body)
	if s.cfg.MaxSize > 0 {
		body = io.LimitReader(body, s.cfg.MaxSize-held+1)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var head []byte
	var headErr error
	if held == 0 && (ft.Checked || d.part == nil) {
		// The first bytes: an error page served as image/jpeg is not an
		// image, and a name may wait for them to get its extension.
		n, err := io.ReadFull(body, buf[:512])
		head = buf[:n:n]
		if ft.Checked && n > 0 && strings.HasPrefix(http.DetectContentType(head), "text/html") {
			return "", 0, errFinal{errors.New("got an HTML page, not a file")}
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			headErr = fmt.Errorf("read %s: %w", ft.URL, err)
		}
	}
	if d.part == nil {
		nm, err := s.namer.reserveLate(ctx, ft, d.nm, store.Extension(ctype, head))
		d.nm = nm
		if err != nil {
			return "", 0, errFinal{fmt.Errorf("reserve name: %w", err)}
		}
		if err := d.openPart(ctx); err != nil {
			return "", 0, errFinal{err}
		}
		if d.part.Size() != 0 || d.part.Segments() != nil {
			// Not ours to resume from the first byte: start clean.
			if err := d.part.Reset(); err != nil {
				return "", 0, errFinal{err}
			}
		}
	}
	if err := d.part.SetValidator(resp.Validator()); err != nil {
		return "", 0, errFinal{err}
	}
	d.m.set(held, resp.Total)
	if n := d.segments(resp); n > 1 && headErr == nil {
		ctype, total, err := d.split(ctx, resp, head, n)
		if errors.Is(err, errChanged) {
			if rerr := d.part.Reset(); rerr != nil {
				return "", 0, errFinal{rerr}
			}
		}
		return ctype, total, err
	}
	if err := d.part.Expect(resp.Total); err != nil {
		return "", 0, errFinal{err} // a full disk
	}
	w := d.m.writer(d.part)
	if len(head) > 0 {
		if _, err := w.Write(head); err != nil {
			return "", 0, errFinal{err} // names the part
		}
	}
	if headErr != nil {
		return "", 0, headErr
	}
	boosted := s.procs.big(resp.Total)
	_, err = copyBody(w, body, buf)
	boosted()
	if err != nil {
		return "", 0, err
	}
	if s.cfg.MaxSize > 0 && d.part.Size() > s.cfg.MaxSize {
		return "", 0, errFinal{fmt.Errorf("%w (over %d bytes)", errTooBig, s.cfg.MaxSize)}
	}
	if resp.Total >= 0 && d.part.Size() != resp.Total {
		return "", 0, fmt.Errorf("body ended at %d of %d bytes: %w", d.part.Size(), resp.Total, io.ErrUnexpectedEOF)
	}
	if d.part.Size() == 0 {
		return "", 0, errFinal{errors.New("empty body")}
	}
	return ctype, resp.Total, nil
}

// segments is how many connections to fetch the file of resp over: more
// than one only with --split, for an answer to the whole file as a range
// (206 from byte 0, the size known) into an empty part, and never more
// than --per-host, nor more than one per minSegment bytes.
func (d *fileDownload) segments(resp *fetcher.Response) int {
	cfg := d.s.cfg
	if cfg.Split <= 1 || resp.StatusCode != http.StatusPartialContent || resp.Offset != 0 ||
		resp.Total < 2*minSegment || d.part.Size() != 0 {
		return 1
	}
	return int(min(int64(cfg.Split), int64(cfg.PerHost), resp.Total/minSegment))
}

// Pieces of a split download: the file is cut in pieces taken in order by
// the connections, each connection taking the next piece nobody has once
// its own is in. A fast connection takes more pieces than a slow one, the
// bytes on disk grow as one prefix (hashed as they come), and what is left
// at the end is at most a piece per connection.
const (
	piecesPerConn = 8        // about this many pieces per connection
	maxPiece      = 64 << 20 // the largest piece, unless the file needs more
)

// pieceSize is the size of the pieces of a file of total bytes fetched
// over n connections.
func pieceSize(total int64, n int) int64 {
	size := min(max(total/int64(n*piecesPerConn), minSegment), maxPiece)
	return max(size, (total+store.MaxSegments-1)/store.MaxSegments)
}

// split lays the part out in pieces of the file resp answers with (a 206
// from byte 0, whose first bytes head were read already) and fetches them
// over n connections, the first piece from resp.
func (d *fileDownload) split(ctx context.Context, resp *fetcher.Response, head []byte, n int) (string, int64, error) {
	total := resp.Total
	size := pieceSize(total, n)
	pieces := store.SplitEven(total, int((total+size-1)/size))
	if err := d.part.Split(total, resp.Validator(), pieces); err != nil {
		return "", 0, errFinal{err}
	}
	return d.fetchSegments(ctx, n, resp.Header.Get("Content-Type"), resp, head)
}

// resumeSegments fetches what the pieces of a part laid out by an earlier
// try still lack, each with a range checked by If-Range. A part without a
// validator cannot be checked against the server's version: it starts over
// (errChanged).
func (d *fileDownload) resumeSegments(ctx context.Context) (string, int64, error) {
	if d.part.Validator() == "" {
		return "", 0, errChanged
	}
	d.m.set(d.part.Size(), d.part.Total())
	n := max(1, min(d.s.cfg.Split, d.s.cfg.PerHost))
	return d.fetchSegments(ctx, n, "", nil, nil)
}

// fetchSegments fetches every unfinished piece of the part over n
// connections (each request also waits for its per-host slot), taking the
// pieces in order, while the bytes written so far are hashed. first, when
// not nil, is the answer that starts piece 0, with its first bytes head
// already read. A piece whose body breaks off is taken up again from where
// it stopped, up to --retries times, while the others go on; one that
// fails for good stops the others, and the part keeps what they wrote, for
// the next try.
func (d *fileDownload) fetchSegments(ctx context.Context, n int, ctype string, first *fetcher.Response, head []byte) (string, int64, error) {
	total := d.part.Total()
	validator := d.part.Validator()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex // guards next, firstErr, ctype
		next     int        // the first piece not yet taken
		firstErr error
	)
	segs := d.part.Segments()
	take := func() int { // the next unfinished piece, -1 when none is left
		mu.Lock()
		defer mu.Unlock()
		for ; next < len(segs); next++ {
			if segs[next].Left() > 0 && firstErr == nil {
				next++
				return next - 1
			}
		}
		return -1
	}
	if first != nil && segs[0].Done == 0 {
		next = 1 // piece 0 comes from first
	} else {
		first = nil
	}
	hashDone := make(chan struct{})
	stopHash := make(chan struct{})
	go func() {
		defer close(hashDone)
		d.hashAhead(stopHash)
	}()
	for w := range max(n, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var i int
			var resp *fetcher.Response
			var h []byte
			if w == 0 && first != nil {
				i, resp, h = 0, first, head
			} else {
				i = take()
			}
			for ; i >= 0 && ctx.Err() == nil; i = take() {
				ct, err := d.retrySegment(ctx, i, d.part.Segments()[i], total, validator, resp, h)
				resp, h = nil, nil
				mu.Lock()
				if ctype == "" {
					ctype = ct
				}
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stopHash)
	<-hashDone
	if firstErr != nil {
		return "", 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	for _, seg := range d.part.Segments() {
		if seg.Left() > 0 {
			return "", 0, fmt.Errorf("piece %d-%d: %d bytes missing: %w", seg.Start, seg.End, seg.Left(), io.ErrUnexpectedEOF)
		}
	}
	return ctype, total, nil
}

// hashAhead hashes the part's bytes as they come in, until stop is closed,
// so that little is left to hash when the last piece is in. A failure only
// leaves more for Commit, which hashes what is left.
func (d *fileDownload) hashAhead(stop <-chan struct{}) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, err := d.part.HashAhead(64 << 20)
		if err != nil {
			return
		}
		if n == 0 {
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}
}

// retrySegment is fetchSegment, tried again while it fails in a way another
// try may mend (the fetcher retries the requests; this retries the bodies).
func (d *fileDownload) retrySegment(ctx context.Context, i int, seg store.Segment, total int64, validator string,
	resp *fetcher.Response, head []byte) (string, error) {
	for try := 0; ; try++ {
		ct, err := d.fetchSegment(ctx, i, seg, total, validator, resp, head)
		var final errFinal
		if err == nil || ctx.Err() != nil || errors.As(err, &final) || errors.Is(err, errChanged) ||
			!fetcher.Retryable(err) || try >= d.s.client.Retries() {
			return ct, err
		}
		d.s.ev.emit(Event{Kind: EvRetry, URL: d.ft.URL, Reason: err.Error()})
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(d.s.client.Backoff(try, err)):
		}
		resp, head = nil, nil // the first answer serves once
		seg = d.part.Segments()[i]
	}
}

// fetchSegment fetches what segment i (seg) of a file of total bytes lacks
// into the part: from resp when given (its first bytes head already read),
// else with a request of its own for that range, checked by If-Range
// against validator. It returns the answer's Content-Type.
func (d *fileDownload) fetchSegment(ctx context.Context, i int, seg store.Segment, total int64, validator string,
	resp *fetcher.Response, head []byte) (string, error) {
	from := seg.Start + seg.Done
	if resp == nil {
		var err error
		resp, err = d.s.client.Get(ctx, d.ft.URL, fetcher.WithRangeEnd(from, seg.End, validator))
		var se *fetcher.StatusError
		switch {
		case errors.As(err, &se) && se.StatusCode == http.StatusRequestedRangeNotSatisfiable:
			return "", errChanged
		case err != nil:
			return "", errFinal{err} // the fetcher has already retried the request
		}
		if resp.StatusCode != http.StatusPartialContent || resp.Offset != from || resp.Total != total {
			resp.Body.Close()
			return "", errChanged
		}
	}
	// Closed as soon as the segment is in, which frees its per-host slot:
	// the first answer runs on to the end of the file.
	defer resp.Body.Close()
	w := d.m.writer(d.part.SegmentWriter(i))
	if len(head) > 0 {
		if _, err := w.Write(head); err != nil {
			return "", errFinal{err} // names the part
		}
		from += int64(len(head))
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	want := seg.End - from
	n, err := copyBody(w, io.LimitReader(resp.Body, want), *bp)
	if err != nil {
		return "", err
	}
	if n != want {
		return "", fmt.Errorf("segment %d-%d ended at byte %d: %w", seg.Start, seg.End, from+n, io.ErrUnexpectedEOF)
	}
	return resp.Header.Get("Content-Type"), nil
}

// copyBody streams src into the part; a failed write (a full disk) is final.
// A dst that reads for itself (io.ReaderFrom: a Part, which hashes on
// another goroutine while it reads) does so, and buf goes unused.
func copyBody(dst io.Writer, src io.Reader, buf []byte) (int64, error) {
	if rf, ok := dst.(io.ReaderFrom); ok {
		er := &errReader{r: src}
		n, err := rf.ReadFrom(er)
		switch {
		case err == nil:
			return n, nil
		case er.err != nil && err == er.err:
			return n, fmt.Errorf("read body: %w", err)
		default:
			return n, errFinal{err} // names the part
		}
	}
	var n int64
	for {
		k, rerr := src.Read(buf)
		if k > 0 {
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return n, errFinal{werr} // names the part
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, fmt.Errorf("read body: %w", rerr)
		}
	}
}

func isHTML(ctype string) bool {
	mt, _, err := mime.ParseMediaType(ctype)
	return err == nil && (mt == "text/html" || mt == "application/xhtml+xml")
}

// errReader remembers the error, other than io.EOF, that reading r ended
// with.
type errReader struct {
	r   io.Reader
	err error
}

func (er *errReader) Read(b []byte) (int, error) {
	n, err := er.r.Read(b)
	if err != nil && err != io.EOF {
		er.err = err
	}
	return n, err
}
