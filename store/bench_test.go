package store

import (
	"context"
	"fmt"
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
				got, err := db.Lease(ctx, "download", batch, "bench", time.Minute)
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
