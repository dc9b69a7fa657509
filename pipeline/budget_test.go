package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"crawl/parser"
)

// TestBudgetHoldsPagesToIt: pages that grow their grants as their bodies
// come in, many at once, never hold more than the budget together, and
// all of them end (no two wait on each other).
func TestBudgetHoldsPagesToIt(t *testing.T) {
	const maxPage = 1 << 20
	b := newBudget(maxPage * pageExpansion)
	var peak int64
	b.onUse = func(used int64) { peak = max(peak, used) } // called under b.mu
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := 0; p < 20; p++ {
				g := b.grant(maxPage)
				for n := int64(64 << 10); n <= int64(maxPage)<<(w%2); n *= 2 {
					if err := g.cover(context.Background(), n); err != nil {
						t.Error(err)
						return
					}
				}
				g.release()
			}
		}()
	}
	wg.Wait()
	if peak > maxPage*pageExpansion {
		t.Errorf("pages held %d bytes of budget at once, more than its %d", peak, maxPage*pageExpansion)
	}
	if b.free != maxPage*pageExpansion {
		t.Errorf("budget ends with %d free, want all %d", b.free, maxPage*pageExpansion)
	}
}

// TestBudgetWaitEndsWithContext: a page waiting for room gives up when its
// context ends, taking nothing.
func TestBudgetWaitEndsWithContext(t *testing.T) {
	b := newBudget(100)
	if err := b.acquire(context.Background(), 80); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.acquire(ctx, 50); err == nil {
		t.Fatal("acquire of more than is free returned without waiting")
	}
	b.release(80)
	if b.free != 100 || b.waiters.Len() != 0 {
		t.Errorf("budget has %d free and %d waiters, want 100 and none", b.free, b.waiters.Len())
	}
}

// linkPage is an HTML page of distinct links, of about size bytes.
func linkPage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("<html><body><ul>\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "<li><a href=\"/d/1/%07d\">%07d</a></li>\n", i, i)
	}
	b.WriteString("</ul></body></html>\n")
	return b.Bytes()
}

// BenchmarkPageExpansion measures pageExpansion: the heap live while a
// page of links is parsed and its links picked, per byte of page
// (live-x), and what the pick allocates besides (alloc-x).
func BenchmarkPageExpansion(b *testing.B) {
	body := linkPage(8 << 20)
	sel, err := parser.Compile("//a/@href")
	if err != nil {
		b.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var live, alloc float64
	for b.Loop() {
		h0 := heap()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		page := bytes.Clone(body)
		doc, err := parser.Parse("http://example.com/list/1.html", page, "text/html; charset=utf-8", "")
		if err != nil {
			b.Fatal(err)
		}
		links := sel.URLs(doc)
		runtime.ReadMemStats(&m1)
		live = float64(heap()-h0) / float64(len(body))
		alloc = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(len(body))
		runtime.KeepAlive(page)
		runtime.KeepAlive(doc)
		runtime.KeepAlive(links)
	}
	b.ReportMetric(live, "live-x")
	b.ReportMetric(alloc, "alloc-x")
}
