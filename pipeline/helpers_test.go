package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	fault "crawl/internal/faultserver"
	"crawl/store"
)

// downloadEnv is a download stage run inside the test, without the binary:
// a real database and output folder, a real HTTP client, its events kept.
type downloadEnv struct {
	t      testing.TB
	ctx    context.Context
	db     *store.DB
	out    string
	dir    *store.Dir // the stage's own, for looking at names
	s      *downloadStage
	events *eventLog
	stop   func() // stores what is left to store; once
}

// newDownloadEnv starts a download stage writing to a fresh folder, with
// quick retries; set, if not nil, adjusts its config first.
func newDownloadEnv(t testing.TB, set func(*Config)) *downloadEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := t.TempDir()
	cfg := &Config{
		Mode:         ModeGet,
		Out:          out,
		Name:         "{name}{ext}",
		Workers:      4,
		PerHost:      4,
		Retries:      1,
		RetryWait:    time.Millisecond,
		Timeout:      5 * time.Second,
		IgnoreRobots: true,
	}
	if set != nil {
		set(cfg)
	}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := newClient(cfg, "", nil, QueueDownload, nil)
	if err != nil {
		t.Fatal(err)
	}
	events := &eventLog{}
	r := &runner{
		cfg:    cfg,
		db:     db,
		client: client,
		ev:     newEmitter(events),
		log:    testLog{t},
		owner:  "download-test",
	}
	s := newDownloadStage(r, store.NewDir(out, db))
	e := &downloadEnv{t: t, ctx: ctx, db: db, out: out, dir: s.dir, s: s, events: events}
	e.stop = sync.OnceFunc(s.start(ctx))
	t.Cleanup(func() {
		e.stop()
		cancel()
		client.Close()
		db.Close()
	})
	return e
}

// lease puts a task for each of fts and leases them, as the pool does:
// the stage sees the leased batch before any of it is downloaded.
func (e *downloadEnv) lease(fts ...FileTask) []store.Task {
	e.t.Helper()
	tasks := make([]store.Task, len(fts))
	for i, ft := range fts {
		tasks[i] = fileTask(ft)
	}
	if _, err := e.db.Put(e.ctx, tasks...); err != nil {
		e.t.Fatal(err)
	}
	leased, err := e.db.Lease(e.ctx, QueueDownload, len(fts), e.s.owner)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(leased) != len(fts) {
		e.t.Fatalf("leased %d tasks of %d", len(leased), len(fts))
	}
	e.s.namer.reserveAhead(e.ctx, leased)
	return leased
}

// download downloads the tasks one after the other.
func (e *downloadEnv) download(tasks ...store.Task) {
	for _, t := range tasks {
		e.s.download(e.ctx, t)
	}
}

// get leases and downloads fts, and waits for their outcomes to be stored.
func (e *downloadEnv) get(fts ...FileTask) {
	e.t.Helper()
	e.download(e.lease(fts...)...)
	e.stop()
}

// record is the stored record of url's file.
func (e *downloadEnv) record(url string) (store.File, bool) {
	e.t.Helper()
	f, ok, err := e.db.FileByURL(e.ctx, url)
	if err != nil {
		e.t.Fatal(err)
	}
	return f, ok
}

// failures are the URLs recorded as failed, with why.
func (e *downloadEnv) failures() map[string]string {
	e.t.Helper()
	fs, err := e.db.Failures(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]string{}
	for _, f := range fs {
		m[f.URL] = f.Reason
	}
	return m
}

// done is how many download tasks are done (downloaded or skipped).
func (e *downloadEnv) done() int {
	e.t.Helper()
	c, err := e.db.Counts(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return c[QueueDownload].Done
}

// files maps every file under the output folder (parts included) to its
// content.
func (e *downloadEnv) files() map[string][]byte {
	e.t.Helper()
	m := map[string][]byte{}
	err := filepath.WalkDir(e.out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(e.out, path)
		m[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// wantFiles checks that the output folder holds exactly want.
func (e *downloadEnv) wantFiles(want map[string][]byte) {
	e.t.Helper()
	got := e.files()
	for name, b := range want {
		if g, ok := got[name]; !ok {
			e.t.Errorf("no file %s", name)
		} else if !bytes.Equal(g, b) {
			e.t.Errorf("%s: %d bytes, not the %d served", name, len(g), len(b))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			e.t.Errorf("unexpected file %s", name)
		}
	}
}

// wantRecord checks url's record: its path, and the size and hash of body.
func (e *downloadEnv) wantRecord(url, path string, body []byte) {
	e.t.Helper()
	f, ok := e.record(url)
	if !ok {
		e.t.Fatalf("no record of %s (failures: %v)", url, e.failures())
	}
	sum := sha256.Sum256(body)
	if f.Path != path || f.Bytes != int64(len(body)) || f.SHA256 != hex.EncodeToString(sum[:]) {
		e.t.Errorf("record of %s: %s, %d bytes, %s; want %s, %d bytes, %x", url, f.Path, f.Bytes, f.SHA256, path, len(body), sum)
	}
}

// reservedPart reserves name for url and opens its part.
func (e *downloadEnv) reservedPart(url, name string) *store.Part {
	e.t.Helper()
	rel, err := e.dir.Reserve(e.ctx, url, name)
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := e.dir.OpenPart(e.ctx, rel)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// part writes a .part for url's file, reserved as name, holding held and,
// if validator is not "", that validator: what a stopped run leaves.
func (e *downloadEnv) part(url, name string, held []byte, validator string) {
	e.t.Helper()
	p := e.reservedPart(url, name)
	if _, err := p.Write(held); err != nil {
		e.t.Fatal(err)
	}
	if err := p.SetValidator(validator); err != nil {
		e.t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// eventLog keeps what a stage writes (its events, or its log); safe for
// concurrent use.
type eventLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *eventLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

// String returns what was written so far.
func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// kinds lists the kinds of the events about url, in order.
func (l *eventLog) kinds(url string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
	for sc.Scan() {
		var ev Event
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.URL == url && ev.Kind != EvBytes {
			out = append(out, ev.Kind)
		}
	}
	return out
}

// has reports whether an event of kind was emitted about url.
func (l *eventLog) has(url, kind string) bool { return slices.Contains(l.kinds(url), kind) }

// testLog is a stage's log going to the test's.
type testLog struct{ t testing.TB }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Logf("%s", bytes.TrimRight(b, "\n"))
	return len(b), nil
}

// requests are the requests srv saw for path, once each answer is over
// (the server notes how one ended a moment after the client has it).
func requests(t *testing.T, srv *fault.Server, path string) []fault.Request {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		reqs := srv.Requests(path)
		over := true
		for _, r := range reqs {
			over = over && r.Done
		}
		if over || time.Now().After(deadline) {
			return reqs
		}
		time.Sleep(time.Millisecond)
	}
}
