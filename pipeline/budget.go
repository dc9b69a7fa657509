package pipeline

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"

	"crawl/fetcher"
	"crawl/store"
)

// The memory of pages. A page read and parsed takes far more memory than
// its bytes: the body, the HTML tree (x/net/html nodes, about ten times
// the body on a page of links), the values its selector picks and the
// garbage the XPath walk leaves. Each page stage process holds its pages
// to one budget: a page asks for pageExpansion times its size before its
// body grows (fetcher.WithBodyGate) and keeps it until its tasks are put,
// so however many workers read pages, and however large those are, a
// process holds about one budget of them at once.

// pageExpansion is the memory one byte of page takes while it is read,
// parsed and its links picked, as measured on a page of nothing but links:
// BenchmarkPageExpansion finds about 14 bytes live a byte (the body, the
// tree at about 10, the picked URLs), and a list stage reading such a page
// holds about 17 after a collection (the body as read and as decoded
// text; GODEBUG=gctrace=1 on bench -mem b). A page of text takes less.
const pageExpansion = 18

// DefaultMaxPageSize is the largest page read unless --max-page-size says
// otherwise: a page this size fits the default budget, so that a page
// stage process stays under about 370 MB whatever the pages.
const DefaultMaxPageSize = 16 << 20

// defaultPageBudget is the memory a stage process gives the pages it reads
// at once, unless a larger --max-page-size needs more: one page of the
// largest size, or several smaller ones.
const defaultPageBudget = DefaultMaxPageSize * pageExpansion

// maxPageSize is the cap on a page's (decoded) body: --max-page-size, or
// DefaultMaxPageSize.
func (c *Config) maxPageSize() int64 {
	if c.MaxPageSize > 0 {
		return c.MaxPageSize
	}
	return DefaultMaxPageSize
}

// pageBudget is the budget's size: enough for one page of the largest size.
func (c *Config) pageBudget() int64 {
	return max(defaultPageBudget, c.maxPageSize()*pageExpansion)
}

// budget is a weighted semaphore whose waiters are served in turn: a
// large request is not passed over for ever by small ones.
type budget struct {
	mu      sync.Mutex
	size    int64
	free    int64
	waiters list.List // of *budgetWaiter
	// onUse, if set, hears how much is taken after each change, b.mu held.
	onUse func(used int64)
}

type budgetWaiter struct {
	n     int64
	ready chan struct{}
}

func newBudget(size int64) *budget { return &budget{size: size, free: size} }

// acquire takes n, waiting until it is free and every earlier waiter is
// served, or until ctx is done (then it takes nothing).
func (b *budget) acquire(ctx context.Context, n int64) error {
	b.mu.Lock()
	if b.waiters.Len() == 0 && b.free >= n {
		b.take(n)
		b.mu.Unlock()
		return nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	e := b.waiters.PushBack(w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready: // served meanwhile: give it back
			b.take(-n)
		default:
			b.waiters.Remove(e)
		}
		b.serve()
		b.mu.Unlock()
		return ctx.Err()
	}
}

// release gives back n taken by acquire.
func (b *budget) release(n int64) {
	b.mu.Lock()
	b.take(-n)
	b.serve()
	b.mu.Unlock()
}

// take takes n (gives it back if negative); b.mu is held.
func (b *budget) take(n int64) {
	b.free -= n
	if b.onUse != nil {
		b.onUse(b.size - b.free)
	}
}

// serve hands what is free to the waiters in turn; b.mu is held.
func (b *budget) serve() {
	for e := b.waiters.Front(); e != nil; e = b.waiters.Front() {
		w := e.Value.(*budgetWaiter)
		if b.free < w.n {
			return
		}
		b.take(w.n)
		b.waiters.Remove(e)
		close(w.ready)
	}
}

// pageGrant is the share of the budget one page holds.
type pageGrant struct {
	b    *budget
	max  int64 // the page-size cap: no page needs more than this
	held int64
}

// grant starts the share of a page that holds nothing yet; release it once
// the page's tasks are put.
func (b *budget) grant(maxPage int64) *pageGrant { return &pageGrant{b: b, max: maxPage} }

// cover makes the grant hold enough for a page of n bytes (the gate of
// fetcher.WithBodyGate). A grant that must grow and cannot at once gives
// back what it held and waits for the whole: no two pages each hold part
// of the budget waiting for the rest.
func (g *pageGrant) cover(ctx context.Context, n int64) error {
	want := min(n, g.max) * pageExpansion
	if want <= g.held {
		return nil
	}
	g.b.mu.Lock()
	if g.b.waiters.Len() == 0 && g.b.free >= want-g.held {
		g.b.take(want - g.held)
		g.b.mu.Unlock()
		g.held = want
		return nil
	}
	g.b.mu.Unlock()
	g.release()
	if err := g.b.acquire(ctx, want); err != nil {
		return fmt.Errorf("wait for memory for a page of %d bytes: %w", n, err)
	}
	g.held = want
	return nil
}

// release gives back what the grant holds.
func (g *pageGrant) release() {
	if g.held > 0 {
		g.b.release(g.held)
		g.held = 0
	}
}

// Collection while large pages are held: the heap is kept under the
// pages' budget and the process's base (a memory limit of what the pages
// granted now may take), and is collected when it grows by a quarter
// instead of doubling. The trees of large pages are most of the heap and
// are garbage soon after; without this a heap that held one may double
// before it is collected.
const (
	pageBaseMemory = 64 << 20 // what a page stage process takes besides its pages
	largePages     = 32 << 20 // grants above this collect more often
	largePagesGC   = 25       // as GOGC
)

// collectFor returns the onUse of b that tunes the collector to the pages
// held, unless GOMEMLIMIT or GOGC say otherwise.
func collectFor(b *budget) func(used int64) {
	_, limitSet := os.LookupEnv("GOMEMLIMIT")
	_, gcSet := os.LookupEnv("GOGC")
	if limitSet || gcSet {
		return nil
	}
	usual := debug.SetGCPercent(largePagesGC)
	debug.SetGCPercent(usual)
	large := false
	tune := func(used int64) {
		debug.SetMemoryLimit(pageBaseMemory + used)
		if now := used > largePages; now != large {
			large = now
			debug.SetGCPercent(map[bool]int{true: largePagesGC, false: usual}[now])
		}
	}
	tune(0)
	return tune
}

// tooLarge says, of a page refused for its size, which cap refused it and
// how to raise it; other errors are returned as they are.
func (s *pageStage) tooLarge(err error) error {
	if !errors.Is(err, fetcher.ErrTooLarge) {
		return err
	}
	return fmt.Errorf("%w: over the page cap of %s (--max-page-size)", err, sizeText(s.cfg.maxPageSize()))
}

// sizeText writes n bytes as a --max-page-size value that reads it back.
func sizeText(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// linkBatch is how many follow-ups of a page go in one write: a page of a
// million links is put a batch at a time, not in one transaction (or one
// Redis script) that holds them all.
const linkBatch = 1000

// ackPage acknowledges page task t with n follow-ups, task(i) making the
// i-th, and then extra: the last batch goes with the ack, and any before
// it are put first, a batch at a time, so that no write and no slice holds
// them all. A run stopped between the puts and the ack reads the page
// again; the follow-ups put already are skipped then, being seen.
func (s *pageStage) ackPage(ctx context.Context, t store.Task, n int, task func(int) store.Task, extra ...store.Task) {
	batch := make([]store.Task, 0, min(n, linkBatch)+len(extra))
	for i := 0; i < n; i++ {
		batch = append(batch, task(i))
		if len(batch) == linkBatch && i < n-1 {
			put := func(c context.Context) error { _, err := s.db.Put(c, batch...); return err }
			if !s.settle(ctx, fmt.Sprintf("put the tasks of task %d", t.ID), put) {
				return
			}
			s.queued(batch)
			batch = batch[:0]
		}
	}
	s.ack(ctx, t, append(batch, extra...)...)
}
