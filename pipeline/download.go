package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"crawl/fetcher"
	"crawl/store"
)

// bufPool holds the buffers bodies are read through.
var bufPool = make(bufFree, keptBufs)

// keptBufs is how many idle body buffers bufPool keeps.
const keptBufs = 32

// bufFree is a free list of 128 KiB buffers. Unlike a sync.Pool it keeps
// them across collections: a download stage of small files collects every
// few dozen milliseconds, and a sync.Pool made about 45 buffers anew on
// w3 (7% of the bytes the stage allocated). At most keptBufs are kept;
// more are made while more are in use.
type bufFree chan *[]byte

// Get returns an idle buffer, or a new one.
func (f bufFree) Get() *[]byte {
	select {
	case b := <-f:
		return b
	default:
		b := make([]byte, 128<<10)
		return &b
	}
}

// Put gives b back, to be kept if fewer than keptBufs are.
func (f bufFree) Put(b *[]byte) {
	select {
	case f <- b:
	default:
	}
}

// errFinal marks a download error that another try would not mend.
type errFinal struct{ err error }

func (e errFinal) Error() string { return e.err.Error() }
func (e errFinal) Unwrap() error { return e.err }

var errTooBig = errors.New("larger than --max-size")

// downloadStage fetches the files of the download queue into the output
// folder: each file is named by the namer and brought into its part by a
// transfer (see attempt); the acker stores the records of finished files
// in batches, and the syncer makes them durable.
type downloadStage struct {
	*runner
	dir   *store.Dir // this machine's output folder, its names in the local database
	namer *namer
	acks  chan fileAck // to the acker
	procs *procBoost   // one more P while a big body streams
	dirty atomic.Bool  // a file was committed since the last sync
	// busy counts the downloads under way; idle hears when it falls to
	// zero, and tells the acker to store what it holds without waiting
	// for the rest of its window (the run's last files, or a pause).
	busy atomic.Int64
	idle chan struct{}
	// looked holds the records looked up for leased tasks, a batch in one
	// query or round trip (task ID → lookedUp).
	looked sync.Map
}

// recordFinder is a backend that looks up the records of many URLs at once.
type recordFinder interface {
	FilesByURL(ctx context.Context, urls []string) (files []store.File, found []bool, err error)
}

// lookedUp is the record of url looked up as its task was leased: rec, if
// found.
type lookedUp struct {
	url   string
	rec   store.File
	found bool
}

func newDownloadStage(r *runner, dir *store.Dir) *downloadStage {
	s := &downloadStage{runner: r, dir: dir, acks: make(chan fileAck, ackQueue), procs: newProcBoost(),
		idle: make(chan struct{}, 1)}
	s.namer = newNamer(dir, r.cfg.Name, r.warn)
	return s
}

// run downloads the files of the download queue until ctx is cancelled.
func (s *downloadStage) run(ctx context.Context) error {
	stop := s.start(ctx)
	defer stop()
	n := s.cfg.Workers
	return s.pool(ctx, QueueDownload, n, downloadAhead(n, s.db.Shared()), s.counted, s.prepare)
}

// prepare takes a leased batch before its files start: their names are
// reserved (namer.reserveAhead), and the records they may have looked up
// in one query or round trip (lookAhead).
func (s *downloadStage) prepare(ctx context.Context, tasks []store.Task) {
	s.namer.reserveAhead(ctx, tasks)
	s.lookAhead(ctx, tasks)
}

// lookAhead looks up the records of a leased batch that recorded will ask
// for: on a shared backend every file's (any worker may hold it), else
// those whose names were not reserved just now (a rerun's). A file then
// costs no query or round trip of its own to learn whether it is done. A
// lookup that fails leaves each file to look its own up.
func (s *downloadStage) lookAhead(ctx context.Context, tasks []store.Task) {
	finder, ok := s.db.(recordFinder)
	if !ok || s.cfg.Overwrite {
		return
	}
	var urls []string
	var ids []int64
	for _, t := range tasks {
		if v, ok := s.namer.ahead.Load(t.ID); ok && v.(leasedName).name.fresh && !s.db.Shared() {
			continue // never recorded here: recorded asks nothing
		}
		urls, ids = append(urls, t.Key), append(ids, t.ID)
	}
	if len(urls) < 2 {
		return
	}
	files, found, err := finder.FilesByURL(ctx, urls)
	if err != nil {
		return
	}
	for i, id := range ids {
		s.looked.Store(id, lookedUp{url: urls[i], rec: files[i], found: found[i]})
	}
}

// recordOf is the record of rawURL, the file of task t: as looked up at
// lease, else asked for now.
func (s *downloadStage) recordOf(ctx context.Context, t store.Task, rawURL string) (store.File, bool, error) {
	if v, ok := s.looked.LoadAndDelete(t.ID); ok {
		if l := v.(lookedUp); l.url == rawURL {
			return l.rec, l.found, nil
		}
	}
	return s.db.FileByURL(ctx, rawURL)
}

// downloadAhead is how many file tasks a download stage of n workers
// leases ahead of those running. With the embedded queue it is the only
// download stage of its crawl and leases 256 ahead (32n if fewer, 2n if
// more): the workers still find tasks waiting while the acker holds the
// write lock for a batch of records, and a lease and its names are one
// transaction for 128 tasks or more. On w3, 8n rather than 2n took a fifth
// less wall time and a tenth less CPU, and 256 rather than 8n (for ten
// workers) 3% less CPU again; `go test -bench DownloadPool ./pipeline`
// compares them. On a shared queue it leases 2n, leaving the rest to the
// other machines' workers.
func downloadAhead(n int, shared bool) int {
	if shared {
		return 2 * n
	}
	return min(32*n, max(2*n, 256))
}

// counted is download, counted in busy: the last download to end while no
// other is under way tells the acker so.
func (s *downloadStage) counted(ctx context.Context, t store.Task) {
	s.busy.Add(1)
	defer func() {
		s.looked.Delete(t.ID) // unused if the download ended early
		if s.busy.Add(-1) == 0 {
			select {
			case s.idle <- struct{}{}:
			default:
			}
		}
	}()
	s.download(ctx, t)
}

// start starts what serves the workers: the syncer, the acker and the
// namer's reserver. The returned func, called once the workers are done,
// stops them in the reverse order: the records left are stored, then
// synced.
func (s *downloadStage) start(ctx context.Context) (stop func()) {
	stopSync := s.syncer()
	stopAcks := s.startAcker(ctx)
	stopNames := s.namer.start(ctx)
	return func() {
		stopNames()
		stopAcks()
		stopSync()
	}
}

// syncEvery is how often a download stage makes the files it committed
// durable against a power cut (Dir.Sync); it syncs once more when it stops.
const syncEvery = 250 * time.Millisecond

// syncer syncs the output folder every syncEvery while files are being
// committed. The returned func stops it and syncs what is left.
func (s *downloadStage) syncer() (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	sync := func() {
		if s.dirty.Swap(false) {
			if err := s.dir.Sync(); err != nil {
				fmt.Fprintf(s.log, "crawl: %s: %v\n", s.owner, err)
			}
		}
	}
	go func() {
		defer close(exited)
		t := time.NewTicker(syncEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sync()
			}
		}
	}()
	return func() {
		close(done)
		<-exited
		sync()
	}
}

// fileDownload is one file being downloaded: its task, its name and, once
// that is reserved, its part.
type fileDownload struct {
	s    *downloadStage
	t    store.Task
	ft   FileTask
	nm   name        // reserved, or waiting for the response's type
	part *store.Part // nil until the name is reserved and the part open
	m    *meter
	// total is the size of the file whose bytes the part holds, as the
	// answer that started the part said; -1 when not known (a part left
	// by an earlier run, or an answer without a length). A resume must
	// be of a file of that size.
	total int64
	// An HLS stream's extras (see hls_ffmpeg.go): the part of its separate
	// audio, and the file ffmpeg made of its parts, which commit puts in
	// place of the part ("" when the part is the file).
	audio *store.Part
	made  string
}

// download fetches one file into its reserved path. When the --name
// template wants an {ext} that the URL lacks, the name is known only once
// the response tells the type (Content-Type, else the first bytes); a
// rerun finds it reserved, and its .part, by the URL.
func (s *downloadStage) download(ctx context.Context, t store.Task) {
	ft, early, err := s.namer.take(t)
	if ctx.Err() != nil {
		return // stopping: the task stays leased, and is taken back
	}
	if err != nil {
		s.fail(ctx, t, "", "", err)
		return
	}
	if !early.ahead && !downloadable(ft.URL) { // reserveAhead named only downloadable URLs
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
	d := &fileDownload{s: s, t: t, ft: ft, nm: nm, m: newMeter(s.ev, ft.URL), total: -1}
	if !nm.waits() && !d.start(ctx, stale) {
		return
	}
	ctype, total, ok := d.tries(ctx)
	if !ok {
		return
	}
	d.commit(ctx, ctype, total)
}

// recorded looks for a record of rawURL's file, whose name was reserved
// just now (fresh) or earlier. A file recorded and whole on disk (on Redis,
// recorded by any worker) is done: the task is acknowledged as skipped.
// stale: it is recorded, but not whole on disk (a power cut, or a hand).
func (s *downloadStage) recorded(ctx context.Context, t store.Task, rawURL string, fresh bool) (done, stale bool) {
	// A name reserved just now was never recorded here (on a shared
	// backend the record may be another worker's).
	if !s.cfg.Overwrite && (!fresh || s.db.Shared()) {
		if f, ok, err := s.recordOf(ctx, t, rawURL); err == nil && ok {
			// The record may be another worker's, its file on another
			// machine's disk: done all the same.
			elsewhere := f.Worker != s.cfg.Worker
			if elsewhere {
				if s.ack(ctx, t) {
					s.ev.emit(Event{Kind: EvSkip, URL: rawURL, Path: f.Path, Bytes: f.Bytes})
				}
				return true, false
			}
			if st, err := os.Stat(filepath.Join(s.cfg.Out, filepath.FromSlash(f.Path))); err == nil && st.Size() == f.Bytes {
				// Acknowledged with the batch of records, its own stored
				// again as it is: a rerun costs no transaction a file.
				s.record(t, f, EvSkip)
				return true, false
			}
			stale = true
		}
	}
	return false, stale
}

// start takes up a file whose name is reserved: a file already whole under
// it is recorded as it is, unless its record is stale; else its part is
// opened. It reports whether the download goes on.
func (d *fileDownload) start(ctx context.Context, stale bool) bool {
	s := d.s
	if !d.nm.fresh && !s.cfg.Overwrite && !stale {
		// A file at our reserved path was renamed into place, whole and
		// checked, by a run that died before recording it.
		if size, sum, err := s.dir.HashFile(d.nm.path); err == nil {
			s.record(d.t, store.File{URL: d.ft.URL, Path: d.nm.path, Bytes: size, SHA256: sum, Source: d.ft.Source}, EvSkip)
			return false
		}
	}
	if err := d.openPart(ctx); err != nil {
		if ctx.Err() == nil {
			s.fail(ctx, d.t, d.ft.URL, d.ft.Source, err)
		}
		return false
	}
	return true
}

// tries makes tries at the file until it is whole in its part, trying
// again after an error that another try may mend, up to --retries times.
// It returns the file's Content-Type and size, and reports whether it is
// whole; when not, its task is settled (failed, or skipped as too big), or
// left leased when ctx was cancelled.
func (d *fileDownload) tries(ctx context.Context) (ctype string, total int64, ok bool) {
	s := d.s
	for attempt := 0; ; attempt++ {
		ctype, total, err := d.attempt(ctx)
		if err == nil {
			return ctype, total, true
		}
		if ctx.Err() != nil {
			d.leave(ctx)
			return "", 0, false
		}
		var final errFinal
		retryable := fetcher.Retryable(err) || errors.Is(err, errChanged)
		if errors.As(err, &final) || attempt >= s.client.Retries() || !retryable {
			if !errors.As(err, &final) && attempt > 0 && retryable {
				err = fmt.Errorf("%w (gave up after %d retries)", err, attempt)
			}
			d.giveUp(ctx, err)
			return "", 0, false
		}
		s.ev.emit(Event{Kind: EvRetry, URL: d.ft.URL, Reason: err.Error()})
		select {
		case <-ctx.Done():
			d.leave(ctx)
			return "", 0, false
		case <-time.After(s.client.Backoff(attempt, err)):
		}
	}
}

// leave stops a download because the stage stops: a name reserved on a
// guess is given back, and the .part kept for the next run to resume.
func (d *fileDownload) leave(ctx context.Context) {
	d.nm = d.s.namer.unguess(ctx, d.ft, d.nm)
	d.close()
}

// giveUp settles a download that failed for good with err: its part goes,
// a name reserved on a guess is given back, a name not reserved yet is
// kept for the URL, and the task is recorded as failed, or as skipped when
// the file is over --max-size.
func (d *fileDownload) giveUp(ctx context.Context, err error) {
	s := d.s
	d.remove()
	d.nm = s.namer.unguess(ctx, d.ft, d.nm)
	if d.part == nil {
		s.namer.keep(ctx, d.ft, d.nm)
	}
	if errors.Is(err, errTooBig) {
		if s.ack(ctx, d.t) {
			s.ev.emit(Event{Kind: EvTooBig, URL: d.ft.URL, Reason: err.Error()})
		}
		return
	}
	s.fail(ctx, d.t, d.ft.URL, d.ft.Source, err)
}

// commit puts the whole part in place under its name, the size checked
// against total (-1: unknown), and records it.
func (d *fileDownload) commit(ctx context.Context, ctype string, total int64) {
	s := d.s
	if d.made != "" {
		d.commitMade(ctx, ctype)
		return
	}
	size, sum, err := d.part.Commit(total)
	if err != nil {
		d.remove()
		d.giveBackTaken(ctx, err)
		s.fail(ctx, d.t, d.ft.URL, d.ft.Source, err)
		return
	}
	s.dirty.Store(true)
	s.record(d.t, store.File{URL: d.ft.URL, Path: d.nm.path, Bytes: size, SHA256: sum, ContentType: ctype, Source: d.ft.Source}, EvFile)
}

// giveBackTaken gives back the file's name if err says something appeared
// on disk under it while it was downloaded (store.ErrNameTaken), so that
// the URL tried again gets another name rather than replace it.
func (d *fileDownload) giveBackTaken(ctx context.Context, err error) {
	if !errors.Is(err, store.ErrNameTaken) {
		return
	}
	c, cancel := settleCtx(ctx)
	defer cancel()
	if err := d.s.dir.Unreserve(c, d.ft.URL, d.nm.path); err != nil {
		fmt.Fprintf(d.s.log, "crawl: %s: %v\n", d.s.owner, err)
	}
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
	d.closeStream(false)
}

// remove deletes the part, if any.
func (d *fileDownload) remove() {
	if d.part != nil {
		d.part.Remove()
	}
	d.closeStream(true)
}

// record acknowledges the task with the record of its file, which is in
// place, through the acker: the worker goes on at once, and the acker
// tells the supervisor (an event of kind) once the record is stored.
func (s *downloadStage) record(t store.Task, f store.File, kind string) {
	f.Worker = s.cfg.Worker
	s.acks <- fileAck{task: t, file: f, kind: kind}
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
