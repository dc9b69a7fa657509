package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// BenchmarkLeaseAck measures one task's round trip through a queue: its share
// of a Lease of `batch` tasks, then its own Ack. Tasks are put beforehand.
func BenchmarkLeaseAck(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			db := openTest(b)
			const chunk = 1000
			tasks := make([]Task, 0, chunk)
			for i := 0; i < b.N; i += chunk {
				tasks = tasks[:0]
				for j := i; j < min(i+chunk, b.N); j++ {
					tasks = append(tasks, Task{Queue: "download", Key: fmt.Sprintf("http://example.com/img/%d.jpg", j), Data: []byte(`{"url":"http://example.com/img/x.jpg","page":1,"n":2}`)})
				}
				if _, err := db.Put(ctx, tasks...); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			done := 0
			for done < b.N {
				got, err := db.Lease(ctx, "download", batch, "bench")
				if err != nil {
					b.Fatal(err)
				}
				if len(got) == 0 {
					b.Fatalf("queue empty after %d of %d", done, b.N)
				}
				for _, t := range got {
					if err := db.Ack(ctx, t.ID); err != nil {
						b.Fatal(err)
					}
				}
				done += len(got)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}

// BenchmarkPut measures putting tasks in batches of 100 (the parse stage's
// Ack with next tasks does the same work).
func BenchmarkPut(b *testing.B) {
	ctx := context.Background()
	db := openTest(b)
	tasks := make([]Task, 100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range tasks {
			tasks[j] = Task{Queue: "download", Key: fmt.Sprintf("http://example.com/%d/%d.jpg", i, j)}
		}
		if _, err := db.Put(ctx, tasks...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(tasks))/b.Elapsed().Seconds(), "tasks/s")
}

// putImages queues n download tasks for http://example.com/img/<i>.jpg.
func putImages(b *testing.B, db *DB, n int) {
	b.Helper()
	tasks := make([]Task, n)
	for i := range tasks {
		tasks[i] = Task{Queue: "download", Key: fmt.Sprintf("http://example.com/img/%d.jpg", i)}
	}
	for i := 0; i < len(tasks); i += 1000 {
		if _, err := db.Put(context.Background(), tasks[i:min(i+1000, len(tasks))]...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAckFileParallel measures the download stage's pattern: many
// goroutines each reserving a name and recording a file for one task.
func BenchmarkAckFileParallel(b *testing.B) {
	ctx := context.Background()
	db := openTest(b)
	dir := NewDir(b.TempDir(), db)
	putImages(b, db, b.N)
	leased, err := db.Lease(ctx, "download", b.N, "bench")
	if err != nil || len(leased) != b.N {
		b.Fatalf("lease: %d, %v", len(leased), err)
	}
	next := make(chan Task, len(leased))
	for _, t := range leased {
		next <- t
	}
	close(next)
	b.SetParallelism(5) // 10 goroutines on 2 cores, like --workers 10
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t := <-next
			path, err := dir.Reserve(ctx, t.Key, "img/"+t.Key[len("http://example.com/img/"):])
			if err != nil {
				b.Error(err)
				return
			}
			if err := db.AckFile(ctx, t.ID, File{URL: t.Key, Path: path, Bytes: 1, SHA256: "x"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkLeaseReserveAckBatch measures the download stage's pattern with
// batching: lease a batch, reserve its names in one transaction, record
// its files in one transaction. guess reserves the names as a --name whose
// {ext} waits for the response does (NameWant.OrKept); batch=256 is the
// lease of a crawl get on the embedded queue (downloadAhead). cpu-µs/file
// is the process's user+system CPU per file, steadier than the wall time
// on a loaded machine; lease-, reserve- and ack-µs/file split it by step.
// The counts triggers take about a fifth of it (3–4 µs a row in each of
// the lease and the ack, batch=256).
func BenchmarkLeaseReserveAckBatch(b *testing.B) {
	for _, guess := range []bool{false, true} {
		for _, batch := range []int{5, 10, 20, 256} {
			b.Run(fmt.Sprintf("guess=%v/batch=%d", guess, batch), func(b *testing.B) {
				benchLeaseReserveAck(b, batch, guess)
			})
		}
	}
}

// benchLeaseReserveAck is BenchmarkLeaseReserveAckBatch for one batch size.
func benchLeaseReserveAck(b *testing.B, batch int, guess bool) {
	ctx := context.Background()
	db := openTest(b)
	dir := NewDir(b.TempDir(), db)
	putImages(b, db, b.N)
	b.ResetTimer()
	cpu := cpuTime()
	var tl, tr, ta time.Duration
	for done := 0; done < b.N; {
		c0 := cpuTime()
		leased, err := db.Lease(ctx, "download", batch, "bench")
		c1 := cpuTime()
		tl += c1 - c0
		if err != nil || len(leased) == 0 {
			b.Fatalf("lease: %d, %v", len(leased), err)
		}
		wants := make([]NameWant, len(leased))
		for i, t := range leased {
			wants[i] = NameWant{URL: t.Key, Want: "img/" + t.Key[len("http://example.com/img/"):], OrKept: guess}
		}
		c2 := cpuTime()
		res, err := dir.ReserveMany(ctx, wants)
		if err != nil {
			b.Fatal(err)
		}
		c3 := cpuTime()
		tr += c3 - c2
		acks := make([]FileAck, len(leased))
		for i, t := range leased {
			acks[i] = FileAck{ID: t.ID, File: File{URL: t.Key, Path: res[i].Path, Bytes: 1, SHA256: "x"}}
		}
		c4 := cpuTime()
		if _, err := db.AckFiles(ctx, acks); err != nil {
			b.Fatal(err)
		}
		ta += cpuTime() - c4
		done += len(leased)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/file")
	b.ReportMetric(float64(tl.Microseconds())/float64(b.N), "lease-µs/file")
	b.ReportMetric(float64(tr.Microseconds())/float64(b.N), "reserve-µs/file")
	b.ReportMetric(float64(ta.Microseconds())/float64(b.N), "ack-µs/file")
}

// BenchmarkFreeOnDisk is the disk's half of a name's reservation: nothing
// under the name, its .part or its .part.meta, in a folder of 5,000 files
// (three looks at the disk), and the same from the listing of a folder of
// 4,000 (freeListed, where a new file's rename replaces nothing).
func BenchmarkFreeOnDisk(b *testing.B) {
	for _, c := range []struct {
		name  string
		files int
		free  func(*Dir, []string) (bool, error)
	}{{"lstat", 5000, (*Dir).freeOnDisk}, {"listing", 4000, (*Dir).freeListed}} {
		b.Run(c.name, func(b *testing.B) {
			dir := NewDir(b.TempDir(), openTest(b))
			for i := range c.files {
				if err := os.WriteFile(filepath.Join(dir.root, fmt.Sprintf("f%d.jpg", i)), nil, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			segs := []string{"wanted.jpg"}
			for b.Loop() {
				if free, err := c.free(dir, segs); !free || err != nil {
					b.Fatal(free, err)
				}
			}
		})
	}
}

// BenchmarkWriteManifest writes the manifest of 5,000 records of files on
// disk, as the end of a run of w3 does: the records are read on a goroutine
// of their own while the files are looked for and the rows written.
func BenchmarkWriteManifest(b *testing.B) {
	ctx := context.Background()
	db := openTest(b)
	root := b.TempDir()
	const n = 5000
	tasks := make([]Task, n)
	for i := range tasks {
		tasks[i] = Task{Queue: "download", Key: fmt.Sprintf("http://example.com/csv/%06x", i)}
	}
	if _, err := db.Put(ctx, tasks...); err != nil {
		b.Fatal(err)
	}
	leased, err := db.Lease(ctx, "download", n, "bench")
	if err != nil || len(leased) != n {
		b.Fatal(len(leased), err)
	}
	acks := make([]FileAck, n)
	for i, t := range leased {
		name := fmt.Sprintf("name-%d.jpg", i)
		if err := os.WriteFile(filepath.Join(root, name), nil, 0o644); err != nil {
			b.Fatal(err)
		}
		acks[i] = FileAck{ID: t.ID, File: File{URL: t.Key, Path: name, Bytes: 30000,
			SHA256: fmt.Sprintf("%064x", i), ContentType: "image/jpeg", Source: "w3.csv"}}
	}
	if _, err := db.AckFiles(ctx, acks); err != nil {
		b.Fatal(err)
	}
	d := NewDir(root, db)
	b.ResetTimer()
	for b.Loop() {
		if err := d.WriteManifest(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/record")
}

// BenchmarkOpen measures Open, which every process of a crawl does before
// its first lease: on a new database (the first run) and on one that
// exists (each stage process, and a run that resumes). Statements are
// prepared on first use, not here: preparing the 41 of them made Open on
// an existing database about seven times as long.
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	b.Run("new", func(b *testing.B) {
		dir := b.TempDir()
		for i := 0; b.Loop(); i++ {
			db, err := Open(ctx, filepath.Join(dir, fmt.Sprintf("s%d.db", i)))
			if err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
	b.Run("existing", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "state.db")
		first, err := Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		defer first.Close() // kept open, as the supervisor keeps it
		for b.Loop() {
			db, err := Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
}

// BenchmarkAckPages measures a page stage's acknowledgements: ten
// goroutines each ack a leased page with the 20 images found on it, as
// the parse stage's workers do. Acks that come while one is stored go
// together into the next transaction.
func BenchmarkAckPages(b *testing.B) {
	ctx := context.Background()
	db := openTest(b)
	pages := make([]Task, b.N)
	for i := range pages {
		pages[i] = Task{Queue: "parse", Key: fmt.Sprintf("http://example.com/detail/%d.html", i)}
	}
	for i := 0; i < len(pages); i += 1000 {
		if _, err := db.Put(ctx, pages[i:min(i+1000, len(pages))]...); err != nil {
			b.Fatal(err)
		}
	}
	leased, err := db.Lease(ctx, "parse", b.N, "bench")
	if err != nil || len(leased) != b.N {
		b.Fatalf("lease: %d of %d, %v", len(leased), b.N, err)
	}
	work := make(chan Task, len(leased))
	for _, t := range leased {
		work <- t
	}
	close(work)
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for t := range work {
				next := make([]Task, 20)
				for j := range next {
					next[j] = Task{Queue: "download", Key: fmt.Sprintf("http://example.com/img/%d-%d.jpg", t.ID, j),
						Data: []byte(`{"source":"http://example.com/detail/page.html","title":"a gallery's title"}`)}
				}
				if err := db.Ack(ctx, t.ID, next...); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}
