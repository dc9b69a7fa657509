package pipeline

import (
	"context"
	"maps"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"

	"crawl/store"
)

// A namer makes every decision about the name of a file the download stage
// fetches. Most names follow from the --name template and the task alone:
// they are reserved as the tasks are leased, a batch in one transaction
// (reserveAhead). A template that wants an {ext} the URL lacks waits for
// the response's type (its Content-Type, else its first bytes); such a
// name too is reserved at lease, on the guess that the file is of the type
// the last one was, and the response confirms the guess or it is given
// back (reserveLate). Leased before any file told its type, such names
// wait, and are reserved together on the first type a response tells
// (nameWaiting). A name an earlier run reserved for the URL, or kept
// for it when it failed before its type was known (keep), is found again
// by the URL.
type namer struct {
	dir  *store.Dir
	tmpl string      // --name
	warn func(error) // logs what goes wrong without stopping a download

	ahead sync.Map // task ID → leasedName: the names reserved at lease
	// lastExt is the extension the last name that waited for the response
	// got (a string): the guess for the next ones.
	lastExt atomic.Value
	late    chan nameReq // to the reserver, once started

	mu sync.Mutex
	// waiting holds the leased file tasks whose names wait for a guess:
	// no file had told its type when they were leased.
	waiting map[int64]leasedName
	// naming, while the waiting names are being reserved, is closed once
	// they are (nil otherwise).
	naming chan struct{}
}

// name is the namer's answer for one file: its path now, or a wait for
// the response's type, with a name reserved on a guess of it or with the
// name an earlier run kept for the URL.
type name struct {
	path string // the reserved path; "" while the name waits
	// fresh: path was reserved just now, and nothing is on disk under it,
	// nor its part.
	fresh bool
	// guess, while the name waits, is the extension path was reserved
	// with: the response confirms it, or path is given back.
	guess string
	// kept is the name keep kept for the URL, with store.ExtMark where the
	// extension goes: the name once the extension is known.
	kept string
	// ahead: reserved at lease, the answer is complete (see namer.name).
	ahead bool
}

// waits reports whether the name is known only once the response tells
// the file's type.
func (n name) waits() bool { return n.path == "" || n.guess != "" }

// leasedName is a leased file task whose name reserveAhead reserved; ext:
// the name waits for the response's type (needsExt).
type leasedName struct {
	ft   FileTask
	name name
	ext  bool
}

func newNamer(dir *store.Dir, tmpl string, warn func(error)) *namer {
	return &namer{dir: dir, tmpl: tmpl, warn: warn, waiting: map[int64]leasedName{}}
}

// reserveAhead reserves, in one transaction, the names of the leased file
// tasks: those that the URL and the task alone name, and those that wait
// for the response's type, on a guess of it (a name an earlier run
// reserved or kept for the URL comes first). take hands them out. A task
// left out is named as it starts (name), and so is each of a batch that
// could not be reserved together; one that waits for a type while there
// is no guess yet waits for the first type a response tells
// (nameWaiting).
func (n *namer) reserveAhead(ctx context.Context, tasks []store.Task) {
	if len(tasks) < 2 {
		return
	}
	picked := make([]leasedName, 0, len(tasks))
	ids := make([]int64, 0, len(tasks))
	guess, _ := n.lastExt.Load().(string)
	for _, t := range tasks {
		ft, err := decodeTask[FileTask](t)
		if err != nil || !downloadable(ft.URL) {
			continue
		}
		l := leasedName{ft: ft, name: name{ahead: true, guess: guess}, ext: needsExt(n.tmpl, ft)}
		if l.ext && guess == "" {
			n.mu.Lock()
			n.waiting[t.ID] = l
			n.mu.Unlock()
			continue
		}
		picked = append(picked, l)
		ids = append(ids, t.ID)
	}
	n.reserveLeased(ctx, picked, ids)
}

// reserveLeased reserves the names of picked, leased file tasks of the
// IDs ids, in one transaction, each with its name's guess if it waits for
// the response's type, and keeps them for take.
func (n *namer) reserveLeased(ctx context.Context, picked []leasedName, ids []int64) {
	if len(picked) < 2 {
		return
	}
	wants := make([]store.NameWant, len(picked))
	for i := range picked {
		l := &picked[i]
		if l.ext {
			wants[i] = store.NameWant{URL: l.ft.URL, Want: expandNameExt(n.tmpl, l.ft, l.name.guess), OrKept: true}
		} else {
			wants[i] = store.NameWant{URL: l.ft.URL, Want: expandName(n.tmpl, l.ft)}
			l.name.guess = ""
		}
	}
	res, err := n.dir.ReserveMany(ctx, wants)
	if err != nil {
		return
	}
	for i, r := range res {
		l := &picked[i]
		l.name.path, l.name.fresh = r.Path, r.Fresh
		if wants[i].OrKept && !r.Fresh {
			// Reserved or kept before: no guess was made.
			l.name.guess, l.name.kept = "", r.Kept
		}
		n.ahead.Store(ids[i], *l)
	}
}

// nameWaiting reserves together the names that wait for a guess, now
// that a response told the type ext: the guess for them all.
func (n *namer) nameWaiting(ctx context.Context, ext string) {
	n.mu.Lock()
	if len(n.waiting) < 2 || n.naming != nil {
		n.mu.Unlock()
		return
	}
	waiting := n.waiting
	n.waiting = map[int64]leasedName{}
	done := make(chan struct{})
	n.naming = done
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.naming = nil
		n.mu.Unlock()
		close(done)
	}()
	// In the order they were leased, as reserveAhead would have.
	ids := slices.Sorted(maps.Keys(waiting))
	picked := make([]leasedName, len(ids))
	for i, id := range ids {
		picked[i] = waiting[id]
		picked[i].name.guess = ext
	}
	n.reserveLeased(ctx, picked, ids)
}

// take returns the file task t carries and, if reserveAhead reserved its
// name, that name; else the zero name, which name fills in.
func (n *namer) take(t store.Task) (FileTask, name, error) {
	if v, ok := n.ahead.LoadAndDelete(t.ID); ok {
		l := v.(leasedName)
		return l.ft, l.name, nil
	}
	n.mu.Lock()
	l, waits := n.waiting[t.ID]
	delete(n.waiting, t.ID)
	naming := n.naming
	n.mu.Unlock()
	if waits {
		return l.ft, name{}, nil
	}
	if naming != nil {
		// Its name may be among those being reserved.
		<-naming
		if v, ok := n.ahead.LoadAndDelete(t.ID); ok {
			l := v.(leasedName)
			return l.ft, l.name, nil
		}
	}
	ft, err := decodeTask[FileTask](t)
	return ft, name{}, err
}

// name answers where the file of ft goes, given what take returned: the
// name reserved at lease; else, for a name that waits for the response's
// type, the name an earlier run reserved or kept for the URL, if any; else
// the name the template gives, reserved now.
func (n *namer) name(ctx context.Context, ft FileTask, early name) (name, error) {
	if early.ahead {
		return early, nil
	}
	if needsExt(n.tmpl, ft) {
		path, ok, kept, err := n.dir.Reserved(ctx, ft.URL)
		if err != nil || !ok {
			return name{kept: kept}, err
		}
		return name{path: path}, nil
	}
	path, err := n.dir.Reserve(ctx, ft.URL, expandName(n.tmpl, ft))
	return name{path: path}, err
}

// reserveLate names the file of ft whose name nm waited, now that its
// response tells its extension, ext ("" if it tells none), which is the
// guess for the names reserved ahead from now on. A guess that ext
// confirms is the name; a wrong one is given back, and the name the
// template (or the kept name) gives with ext is reserved. On an error the
// name still waits, its guess given back.
func (n *namer) reserveLate(ctx context.Context, ft FileTask, nm name, ext string) (name, error) {
	if ext != "" {
		n.lastExt.Store(ext)
		n.nameWaiting(ctx, ext)
	}
	if nm.guess != "" && nm.guess == ext {
		nm.guess = ""
		return nm, nil
	}
	nm = n.unguess(ctx, ft, nm)
	want := expandNameExt(n.tmpl, ft, ext)
	if nm.kept != "" {
		want = fillExt(nm.kept, ext)
	}
	r, err := n.reserve(ctx, ft.URL, want)
	if err != nil {
		return nm, err
	}
	nm.path, nm.fresh = r.Path, r.Fresh
	return nm, nil
}

// unguess gives back the name nm reserved on a guess of the extension, if
// it holds one (the response proved it wrong, or never came), and returns
// the name without it.
func (n *namer) unguess(ctx context.Context, ft FileTask, nm name) name {
	if nm.guess == "" {
		return nm
	}
	c, cancel := settleCtx(ctx)
	defer cancel()
	if err := n.dir.Unreserve(c, ft.URL, nm.path); err != nil {
		n.warn(err)
	}
	return name{kept: nm.kept}
}

// keep remembers, for the URL of ft, which failed before its name was
// reserved, the name it was to get: tried again from failed.csv, which
// does not carry it, it gets the same. A name the URL alone gives, or one
// already kept, needs nothing.
func (n *namer) keep(ctx context.Context, ft FileTask, nm name) {
	if nm.kept != "" {
		return
	}
	want := expandNameExt(n.tmpl, ft, store.ExtMark)
	if want == expandNameExt(n.tmpl, FileTask{URL: ft.URL}, store.ExtMark) {
		return // the URL alone gives it
	}
	c, cancel := settleCtx(ctx)
	defer cancel()
	if err := n.dir.KeepName(c, ft.URL, want); err != nil {
		n.warn(err)
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

// start starts the reserver: the goroutine that reserves the names that
// waited for the response (see reserve), those that several downloads ask
// for at once together, in one transaction. The returned func stops it.
func (n *namer) start(ctx context.Context) (stop func()) {
	in := make(chan nameReq)
	exited := make(chan struct{})
	n.late = in
	go func() {
		defer close(exited)
		batches(in, ackBatch, 0, nil, func(batch []nameReq) {
			wants := make([]store.NameWant, len(batch))
			for i, r := range batch {
				wants[i] = r.want
			}
			res, err := n.dir.ReserveMany(ctx, wants)
			for i, r := range batch {
				if err == nil {
					r.done <- nameRes{r: res[i]}
					continue
				}
				// One of them could not be reserved: each on its own, to
				// tell which.
				path, err := n.dir.Reserve(ctx, r.want.URL, r.want.Want)
				r.done <- nameRes{r: store.Reservation{Path: path}, err: err}
			}
		})
	}()
	return func() {
		close(in)
		<-exited
	}
}

// reserve reserves want for rawURL through the reserver.
func (n *namer) reserve(ctx context.Context, rawURL, want string) (store.Reservation, error) {
	req := nameReq{want: store.NameWant{URL: rawURL, Want: want}, done: make(chan nameRes, 1)}
	select {
	case n.late <- req:
	case <-ctx.Done():
		return store.Reservation{}, ctx.Err()
	}
	res := <-req.done
	return res.r, res.err
}

// downloadable reports whether raw is an http or https URL with a host:
// one the download stage can fetch.
func downloadable(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
