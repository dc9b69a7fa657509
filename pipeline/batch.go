package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"crawl/store"
)

// A download stage batches its writes to the queue database: the names of
// the files it leases are reserved together, in one transaction per lease,
// and the records of finished files are stored together by one goroutine
// (the acker) while the workers go on with the next files. Each write then
// costs one transaction per batch instead of two per file.

// reservedAhead is a leased file task whose name reserveAhead reserved.
type reservedAhead struct {
	ft    FileTask
	rel   string
	fresh bool // reserved just now: nothing on disk to take up
	// guess, for a name that waits for the response's type: the extension
	// rel was reserved with, the one the last file of this stage got. The
	// response confirms it, or rel is given back (see fileDownload.name).
	guess string
	// looked: what Reserved would answer is known; reserved and kept are
	// that answer.
	looked   bool
	reserved bool
	kept     string
}

// reserveAhead reserves, in one transaction, the names of the leased file
// tasks: those that the URL and the task alone name, and those waiting for
// the response's type for their {ext} on a guess (see reservedAhead);
// download takes them from s.ahead. A task left out reserves its own name
// as it starts, and so does each of a batch that could not be reserved
// together.
func (s *stage) reserveAhead(ctx context.Context, tasks []store.Task) {
	if len(tasks) < 2 {
		return
	}
	var wants []store.NameWant
	var picked []reservedAhead
	var ids []int64
	guess, _ := s.lastExt.Load().(string)
	for _, t := range tasks {
		ft, err := decodeTask[FileTask](t)
		if err != nil {
			continue
		}
		if u, err := url.Parse(ft.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		r := reservedAhead{ft: ft}
		w := store.NameWant{URL: ft.URL, Want: expandName(s.cfg.Name, ft)}
		if needsExt(s.cfg.Name, ft) {
			// The extension comes with the response. A name an earlier
			// run reserved or kept for the URL is used as it is; else the
			// name is reserved now on the guess that this file is of the
			// type the last one was.
			if guess == "" {
				continue
			}
			r.guess = guess
			w.Want, w.OrKept = expandNameExt(s.cfg.Name, ft, guess), true
		}
		wants = append(wants, w)
		picked = append(picked, r)
		ids = append(ids, t.ID)
	}
	if len(wants) < 2 {
		return
	}
	res, err := s.dir.ReserveMany(ctx, wants)
	if err != nil {
		return
	}
	for i, r := range res {
		p := &picked[i]
		p.rel, p.fresh = r.Path, r.Fresh
		if wants[i].OrKept && !r.Fresh {
			// Reserved or kept before: no guess was made.
			p.guess = ""
			p.looked, p.reserved, p.kept = true, r.Kept == "", r.Kept
		}
		s.ahead.Store(ids[i], *p)
	}
}

// takeAhead returns the name reserveAhead reserved for task id, if any.
func (s *stage) takeAhead(id int64) (reservedAhead, bool) {
	v, ok := s.ahead.LoadAndDelete(id)
	if !ok {
		return reservedAhead{}, false
	}
	return v.(reservedAhead), true
}

// fileAck is a finished file waiting for its task's acknowledgement.
type fileAck struct {
	task store.Task
	file store.File
	kind string // the event to emit once stored
}

// Acker settings: a batch is what finishes within ackEvery of its first
// file, or ackBatch files, whichever comes first, so that the write lock
// is free most of the time for the other stage processes; ackQueue files
// may wait before a worker that finishes one more blocks.
const (
	ackEvery = 5 * time.Millisecond
	ackBatch = 128
	ackQueue = 256
)

// startAcker starts the goroutine that stores the records of finished
// files in batches (see record). The returned func, called once the
// workers are done, stores what is left and waits for it.
func (s *stage) startAcker(ctx context.Context) (stop func()) {
	in := make(chan fileAck, ackQueue)
	exited := make(chan struct{})
	s.acks = in
	go func() {
		defer close(exited)
		batches(in, ackBatch, ackEvery, func(batch []fileAck) { s.storeAcks(ctx, batch) })
	}()
	return func() {
		close(in)
		<-exited
	}
}

// storeAcks stores a batch of file records with their acknowledgements,
// trying again through settle while the database cannot take them, and
// tells the supervisor of each one stored.
func (s *stage) storeAcks(ctx context.Context, batch []fileAck) {
	s.settle(ctx, fmt.Sprintf("record %d files", len(batch)), func(c context.Context) error {
		acks := make([]store.FileAck, len(batch))
		for i, a := range batch {
			acks[i] = store.FileAck{ID: a.task.ID, File: a.file}
		}
		errs, err := s.db.AckFiles(c, acks)
		if err != nil {
			return err
		}
		var again []fileAck
		var stored []Event
		for i, a := range batch {
			switch {
			case errs[i] == nil:
				stored = append(stored, Event{Kind: a.kind, URL: a.file.URL, Path: a.file.Path, Bytes: a.file.Bytes})
			case errors.Is(errs[i], store.ErrNoTask):
				fmt.Fprintf(s.log, "crawl: %s: record %s: %v\n", s.owner, a.file.URL, errs[i])
			default:
				again = append(again, a)
				err = errs[i]
			}
		}
		s.ev.emitAll(stored)
		batch = again // the next try is for these
		return err
	})
}

// batches calls handle with what comes on in, in batches of at most max:
// a batch is its first item and what follows within window (with window
// 0, what is already waiting), until in is closed.
func batches[T any](in <-chan T, max int, window time.Duration, handle func([]T)) {
	for first := range in {
		batch := []T{first}
		var timeout <-chan time.Time
		var timer *time.Timer
		if window > 0 {
			timer = time.NewTimer(window)
			timeout = timer.C
		}
	collect:
		for len(batch) < max {
			if window > 0 {
				select {
				case v, ok := <-in:
					if !ok {
						break collect
					}
					batch = append(batch, v)
				case <-timeout:
					break collect
				}
				continue
			}
			select {
			case v, ok := <-in:
				if !ok {
					break collect
				}
				batch = append(batch, v)
			default:
				break collect
			}
		}
		if timer != nil {
			timer.Stop()
		}
		handle(batch)
	}
}

// nameReq asks the reserver for a name.
type nameReq struct {
	want store.NameWant
	done chan nameRes
}

type nameRes struct {
	r   store.Reservation
	err error
}

// startReserver starts the goroutine that reserves the names that wait for
// the response (see reserveName), those that several workers ask for at
// once together, in one transaction. The returned func stops it.
func (s *stage) startReserver(ctx context.Context) (stop func()) {
	in := make(chan nameReq)
	exited := make(chan struct{})
	s.names = in
	go func() {
		defer close(exited)
		batches(in, ackBatch, 0, func(batch []nameReq) {
			wants := make([]store.NameWant, len(batch))
			for i, r := range batch {
				wants[i] = r.want
			}
			res, err := s.dir.ReserveMany(ctx, wants)
			for i, r := range batch {
				if err == nil {
					r.done <- nameRes{r: res[i]}
					continue
				}
				// One of them could not be reserved: each on its own, to
				// tell which.
				path, err := s.dir.Reserve(ctx, r.want.URL, r.want.Want)
				r.done <- nameRes{r: store.Reservation{Path: path}, err: err}
			}
		})
	}()
	return func() {
		close(in)
		<-exited
	}
}

// reserveName reserves the name of a file once its response tells the
// extension: through the reserver when it runs, else on its own.
func (s *stage) reserveName(ctx context.Context, rawURL, want string) (store.Reservation, error) {
	if s.names == nil {
		path, err := s.dir.Reserve(ctx, rawURL, want)
		return store.Reservation{Path: path}, err
	}
	req := nameReq{want: store.NameWant{URL: rawURL, Want: want}, done: make(chan nameRes, 1)}
	select {
	case s.names <- req:
	case <-ctx.Done():
		return store.Reservation{}, ctx.Err()
	}
	res := <-req.done
	return res.r, res.err
}
