package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"crawl/fetcher"
	"crawl/parser"
	"crawl/store"
)

// StageCommand is the hidden subcommand by which the supervisor re-executes
// its own binary as a stage process: BINARY StageCommand STAGE STATEDIR.
const StageCommand = "__stage"

const (
	pageLimit = 32 << 20 // cap on an HTML page held in memory
)

// stage is what one stage process holds.
type stage struct {
	cfg    *Config
	cp     *compiled
	db     Backend    // queues and records: the local database, or Redis
	dir    *store.Dir // this machine's output folder, its names in the local database
	client *fetcher.Client
	ev     *emitter
	log    io.Writer
	owner  string
	dirty  atomic.Bool // a file was committed since the last sync

	namer *namer       // download stage: the names of the files
	acks  chan fileAck // to the acker, when it runs (download stage)
	procs *procBoost   // download stage: one more P while a big body streams
}

// syncEvery is how often a download stage makes the files it committed
// durable against a power cut (Dir.Sync); it syncs once more when it stops.
const syncEvery = 250 * time.Millisecond

// RunStage runs one stage (list, parse or download) of the crawl whose state
// is in stateDir until ctx is cancelled. Events go to stdout, logs to stderr.
func RunStage(ctx context.Context, name, stateDir string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(stateDir)
	if err != nil {
		return err
	}
	cp, err := cfg.compile()
	if err != nil {
		return err
	}
	local, err := store.Open(ctx, filepath.Join(stateDir, "state.db"))
	if err != nil {
		return err
	}
	defer local.Close()
	db, closeDB, err := openBackend(ctx, cfg, local)
	if err != nil {
		return err
	}
	defer closeDB()
	var gate fetcher.HostGate
	if r, ok := db.(*store.RedisDB); ok {
		gate = r // --per-host and --delay hold across the machines of the crawl
	}
	client, err := newClient(cfg, filepath.Join(stateDir, "hosts"), gate)
	if err != nil {
		return err
	}
	defer client.Close()
	s := &stage{
		cfg:    cfg,
		cp:     cp,
		db:     db,
		dir:    store.NewDir(cfg.Out, local),
		client: client,
		ev:     newEmitter(stdout),
		log:    stderr,
		owner:  ownerName(name, os.Getpid()),
	}
	go s.heartbeat(ctx)
	s.ev.emit(Event{Kind: EvStarted, Info: s.owner})
	switch name {
	case QueueList:
		return s.pool(ctx, QueueList, min(cfg.Workers, 4), s.listPage, nil)
	case QueueParse:
		return s.pool(ctx, QueueParse, cfg.Workers, s.detailPage, nil)
	case QueueDownload:
		s.procs = newProcBoost()
		stopSync := s.syncer()
		defer stopSync()
		stopAcks := s.startAcker(ctx)
		defer stopAcks() // before the last sync
		s.namer = newNamer(s.dir, cfg.Name, func(err error) { fmt.Fprintf(s.log, "crawl: %s: %v\n", s.owner, err) })
		stopNames := s.namer.start(ctx)
		defer stopNames()
		return s.pool(ctx, QueueDownload, cfg.Workers, s.download, s.namer.reserveAhead)
	}
	return fmt.Errorf("unknown stage %q", name)
}

func newClient(cfg *Config, lockDir string, gate fetcher.HostGate) (*fetcher.Client, error) {
	h := http.Header{}
	for _, line := range cfg.Headers {
		name, value, _ := strings.Cut(line, ":")
		h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if lockDir != "" {
		if err := os.MkdirAll(lockDir, 0o755); err != nil {
			return nil, fmt.Errorf("create lock folder: %w", err)
		}
	}
	return fetcher.New(fetcher.Config{
		UserAgent:    cfg.UserAgent,
		Header:       h,
		Cookie:       cfg.Cookie,
		Timeout:      cfg.Timeout,
		Retries:      cfg.Retries,
		RetryWait:    cfg.RetryWait,
		PerHost:      cfg.PerHost,
		Delay:        cfg.Delay,
		LockDir:      lockDir,
		IgnoreRobots: cfg.IgnoreRobots,
		MaxConns:     cfg.Workers,
		Gate:         gate,
	})
}

// syncer syncs the output folder every syncEvery while files are being
// committed. The returned func stops it and syncs what is left.
func (s *stage) syncer() (stop func()) {
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

func (s *stage) heartbeat(ctx context.Context) {
	ttl, every := s.cfg.leaseTiming()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.db.Extend(ctx, s.owner, ttl); err != nil && ctx.Err() == nil {
				fmt.Fprintf(s.log, "crawl: %s: extend leases: %v\n", s.owner, err)
			}
		}
	}
}

// duePeeker is a backend that can tell, by reading only, whether a lease
// would find a task (the SQLite one).
type duePeeker interface {
	HasDue(ctx context.Context, queue string) (bool, error)
}

// idlePeek is the longest an idle stage waits between two peeks; a lease
// that finds nothing makes it wait 1 ms, then twice as long each time.
const idlePeek = 16 * time.Millisecond

// pool leases tasks of queue and runs handle on each, at most n at once,
// until ctx is cancelled. It leases ahead, up to 2n more than are running,
// and while tasks wait it leases again only once there is room for 2n: a
// task finishing finds the next one waiting instead of paying a lease of
// its own, and a lease (with the name reservations prepare makes for it)
// is one transaction for many tasks. prepare, if not nil, sees each leased
// batch before its tasks are handled. A handler that returns without
// acknowledging its task (because ctx was cancelled) leaves it leased: the
// next run, or the supervisor after this process dies, gives it back.
func (s *stage) pool(ctx context.Context, queue string, n int, handle func(context.Context, store.Task),
	prepare func(context.Context, []store.Task)) error {
	ahead := max(2*n, 1)
	limit := int64(n + ahead) // tasks held: running or waiting
	work := make(chan store.Task, limit)
	freed := make(chan struct{}, 1)
	var held atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				handle(ctx, t)
				held.Add(-1)
				select {
				case freed <- struct{}{}:
				default:
				}
			}
		}()
	}
	defer wg.Wait()
	defer close(work)
	ttl, _ := s.cfg.leaseTiming()
	idle := time.Duration(0)
	maxIdle := 100 * time.Millisecond
	peek, canPeek := s.db.(duePeeker)
	if canPeek {
		maxIdle = idlePeek
	}
	for {
		room := int(limit - held.Load())
		if room < ahead && len(work) > 0 {
			// Enough is waiting: lease again once more room is free.
			select {
			case <-ctx.Done():
				return nil
			case <-freed:
			}
			continue
		}
		if room == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-freed:
			}
			continue
		}
		if idle > 0 && canPeek {
			// Idle: lease only once there is something to lease (a lease
			// takes the write lock; the peek does not).
			if due, err := peek.HasDue(ctx, queue); err == nil && !due {
				idle = min(2*idle, maxIdle)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(idle):
				}
				continue
			}
		}
		tasks, err := s.db.Lease(ctx, queue, room, s.owner, ttl)
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(s.log, "crawl: %s: lease: %v\n", s.owner, err)
		}
		if len(tasks) == 0 {
			idle = min(max(2*idle, time.Millisecond), maxIdle)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(idle):
			}
			continue
		}
		idle = 0
		if prepare != nil {
			prepare(ctx, tasks)
		}
		held.Add(int64(len(tasks)))
		for _, t := range tasks {
			work <- t
		}
	}
}

// settle records the outcome of a task. Once the work is done its record
// must be stored even if a stop was asked for meanwhile.
func settleCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// ack acknowledges task t together with the next tasks it found; it
// reports whether that was stored.
func (s *stage) ack(ctx context.Context, t store.Task, next ...store.Task) bool {
	return s.settle(ctx, fmt.Sprintf("ack task %d", t.ID), func(c context.Context) error { return s.db.Ack(c, t.ID, next...) })
}

// fail records that url failed for good, and why, and tells the supervisor.
func (s *stage) fail(ctx context.Context, t store.Task, url, source string, reason error) {
	msg := reason.Error()
	if s.settle(ctx, "record failure of "+url, func(c context.Context) error { return s.db.Fail(c, t.ID, url, msg, source) }) {
		s.ev.emit(Event{Kind: EvFail, URL: url, Reason: msg})
	}
}

// Waits between two tries of settle.
const (
	settleFirstWait = 50 * time.Millisecond
	settleMaxWait   = 2 * time.Second
)

// settle stores the outcome of a download with write, and tries again while
// the database cannot take it. On a full disk the outcome is often the
// failure that filled it; room comes back as failed downloads remove their
// parts, or when the user frees some, and the run then ends as it should
// instead of waiting forever for a task that was never settled. It gives up
// when ctx is done (the task stays leased, and is taken back) or when the
// task is gone, and reports whether the outcome was stored.
func (s *stage) settle(ctx context.Context, what string, write func(context.Context) error) bool {
	wait := settleFirstWait
	for try := 0; ; try++ {
		c, cancel := settleCtx(ctx)
		err := write(c)
		cancel()
		switch {
		case err == nil:
			if try > 0 {
				fmt.Fprintf(s.log, "crawl: %s: %s: done after %d tries\n", s.owner, what, try+1)
			}
			return true
		case errors.Is(err, store.ErrNoTask):
			fmt.Fprintf(s.log, "crawl: %s: %s: %v\n", s.owner, what, err)
			return false
		case try == 0:
			fmt.Fprintf(s.log, "crawl: %s: %s: %v; trying again until it is stored (free some disk space, or press Ctrl-C to stop)\n",
				s.owner, what, err)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, settleMaxWait)
	}
}

// readPage fetches and parses one HTML page.
func (s *stage) readPage(ctx context.Context, rawURL string) (*parser.Document, error) {
	page, err := s.client.GetPage(ctx, rawURL, pageLimit)
	if err != nil {
		return nil, err
	}
	doc, err := parser.Parse(page.URL, page.Body, page.Header.Get("Content-Type"), s.cfg.Encoding)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", rawURL, err)
	}
	s.ev.emit(Event{Kind: EvPage, URL: rawURL, Info: doc.Encoding})
	if s.cfg.Verbose {
		fmt.Fprintf(s.log, "crawl: page %s (%s) %q\n", rawURL, doc.Encoding, doc.Title())
	}
	return doc, nil
}

// title is the {title} of a page: from --title, else its <title>.
func (s *stage) title(doc *parser.Document) string {
	if s.cp.title != nil {
		if t := s.cp.title.Text(doc); t != "" {
			return t
		}
	}
	return doc.Title()
}

// images turns the image selector's matches on doc into download tasks,
// numbered from n0+1.
func (s *stage) images(doc *parser.Document, source string, page int, title string, n0 int) []store.Task {
	var out []store.Task
	seen := map[string]bool{}
	for _, u := range s.cp.images.URLs(doc) {
		u = s.cfg.imageURL(s.cp, u)
		if seen[u] {
			continue
		}
		seen[u] = true
		out = append(out, fileTask(FileTask{URL: u, Source: source, Page: page, N: n0 + len(out) + 1, Title: title, Checked: true}))
	}
	return out
}

// listPage reads one listing page: its detail links go to the parse queue
// (or, without --links, its images to the download queue).
func (s *stage) listPage(ctx context.Context, t store.Task) {
	pt, err := decodeTask[PageTask](t)
	if err != nil {
		s.fail(ctx, t, "", "", err)
		return
	}
	doc, err := s.readPage(ctx, pt.URL)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		var se *fetcher.StatusError
		if pt.Open && errors.As(err, &se) && (se.StatusCode == http.StatusNotFound || se.StatusCode == http.StatusGone) {
			s.ack(ctx, t) // the end of an open-ended walk
			return
		}
		s.fail(ctx, t, pt.URL, "", fmt.Errorf("listing page %d: %w", pt.Page, err))
		return
	}
	var next []store.Task
	if s.cp.links != nil {
		for _, link := range s.cp.links.URLs(doc) {
			next = append(next, pageTask(QueueParse, PageTask{URL: link, Page: pt.Page}))
		}
	} else {
		next = s.images(doc, pt.URL, pt.Page, s.title(doc), 0)
	}
	if pt.Open && len(next) > 0 {
		n := pt.Page + 1
		next = append(next, pageTask(QueueList, PageTask{URL: s.cfg.PageURL(n), Page: n, Open: true}))
	}
	s.ack(ctx, t, next...)
}

// detailPage reads one detail page and queues its images.
func (s *stage) detailPage(ctx context.Context, t store.Task) {
	pt, err := decodeTask[PageTask](t)
	if err != nil {
		s.fail(ctx, t, "", "", err)
		return
	}
	doc, err := s.readPage(ctx, pt.URL)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.fail(ctx, t, pt.URL, "", fmt.Errorf("detail page: %w", err))
		return
	}
	title := pt.Title
	if title == "" {
		title = s.title(doc)
	}
	next := s.images(doc, pt.URL, pt.Page, title, pt.N)
	if s.cp.next != nil {
		// The gallery goes on on another page. The parse queue's seen set
		// (a URL is put once per run) stops a cycle.
		for _, u := range s.cp.next.URLs(doc) {
			if u != pt.URL {
				next = append(next, pageTask(QueueParse, PageTask{URL: u, Page: pt.Page, Title: title, N: pt.N + len(next)}))
				break
			}
		}
	}
	s.ack(ctx, t, next...)
}
