package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisManyFiles crosses the chunk size of Files and FilesByURL.
func TestRedisManyFiles(t *testing.T) {
	ctx := context.Background()
	_, db := newRedisTest(t)
	const n = redisChunk + 7
	var tasks []Task
	for i := range n {
		tasks = append(tasks, Task{Queue: "download", Key: fmt.Sprint(i)})
	}
	if _, err := db.Put(ctx, tasks...); err != nil {
		t.Fatal(err)
	}
	for done := 0; done < n; {
		got, err := db.Lease(ctx, "download", 500, "w")
		if err != nil || len(got) == 0 {
			t.Fatal(got, err)
		}
		for _, task := range got {
			if err := db.AckFile(ctx, task.ID, File{URL: "http://h/" + task.Key, Path: task.Key}); err != nil {
				t.Fatal(err)
			}
		}
		done += len(got)
	}
	fs, err := collectFiles(db.Files(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != n || fs[0].Path != "0" || fs[n-1].Path != fmt.Sprint(n-1) {
		t.Errorf("%d files, first %+v", len(fs), fs[0])
	}
	// FilesByURL finds them, a chunk at a time, and tells the one missing.
	urls := []string{"http://h/missing"}
	for i := range n {
		urls = append(urls, fmt.Sprint("http://h/", i))
	}
	got, found, err := db.FilesByURL(ctx, urls)
	if err != nil {
		t.Fatal(err)
	}
	if found[0] {
		t.Errorf("found a record of %s: %+v", urls[0], got[0])
	}
	for i := 1; i < len(urls); i++ {
		if !found[i] || got[i].URL != urls[i] || got[i].Path != fmt.Sprint(i-1) {
			t.Fatalf("record of %s: %+v, %v", urls[i], got[i], found[i])
		}
	}
}

// TestRedisScriptsBySHA checks that the backend's scripts run by their
// SHA-1: each call is one EVALSHA, none sends the script's source.
func TestRedisScriptsBySHA(t *testing.T) {
	ctx := context.Background()
	srv, db := newRedisTest(t)
	if _, err := db.Put(ctx, Task{Queue: "download", Key: "a"}, Task{Queue: "download", Key: "b"}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Lease(ctx, "download", 10, "w")
	if err != nil || len(got) != 2 {
		t.Fatal(got, err)
	}
	if err := db.AckFile(ctx, got[0].ID, File{URL: "http://h/a", Path: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Fail(ctx, got[1].ID, "http://h/b", "gone", ""); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls(t)
	if calls["eval"][0] != 0 || calls["evalsha"][1] != 0 || calls["evalsha"][0] < 4 {
		t.Errorf("evalsha (calls, failed) %v, eval %v; want every script by SHA-1", calls["evalsha"], calls["eval"])
	}
}

// TestRedisTaskIDs checks the encoding of task IDs: the sequence number of
// the put in the high bits, the queue's index in the low ones; an ID that
// cannot name a task of the crawl is ErrNoTask.
func TestRedisTaskIDs(t *testing.T) {
	ctx := context.Background()
	_, db := newRedisTest(t)
	if _, err := db.Put(ctx, Task{Queue: "list", Key: "p1"}, Task{Queue: "download", Key: "u1"},
		Task{Queue: "list", Key: "p2"}); err != nil {
		t.Fatal(err)
	}
	l, err := db.Lease(ctx, "list", 10, "A")
	if err != nil || len(l) != 2 {
		t.Fatal(l, err)
	}
	d, err := db.Lease(ctx, "download", 10, "A")
	if err != nil || len(d) != 1 {
		t.Fatal(d, err)
	}
	for _, tt := range []struct {
		task    Task
		seq, qi int64
	}{{l[0], 1, 1}, {d[0], 2, 2}, {l[1], 3, 1}} {
		if seq, qi := tt.task.ID>>queueBits, tt.task.ID&maxQueues; seq != tt.seq || qi != tt.qi {
			t.Errorf("%s %q: ID %d is put %d of queue %d, want put %d of queue %d",
				tt.task.Queue, tt.task.Key, tt.task.ID, seq, qi, tt.seq, tt.qi)
		}
	}
	for _, tt := range []struct {
		name string
		id   int64
	}{
		{"no sequence", 999},
		{"a sequence not handed out yet", 1000<<queueBits | 1},
		{"a queue index no queue has", 1<<queueBits | 7},
		{"negative", -(1<<queueBits | 1)},
	} {
		if err := db.Ack(ctx, tt.id); !errors.Is(err, ErrNoTask) {
			t.Errorf("ack of an ID with %s: %v, want ErrNoTask", tt.name, err)
		}
		if err := db.Fail(ctx, tt.id, "u", "r", "s"); !errors.Is(err, ErrNoTask) {
			t.Errorf("fail of an ID with %s: %v, want ErrNoTask", tt.name, err)
		}
	}
	if _, err := db.Lease(ctx, "list", 1, releasedConsumer); err == nil {
		t.Errorf("lease for the owner %q, which holds released tasks, succeeded", releasedConsumer)
	}
}

// TestRedisLostLeaseReply: Extend keeps alive only the leases that its
// handle handed out and that their owner still holds. An entry that the
// server delivered to the owner but whose reply never reached the handle
// runs out, and a lease that another owner took over is forgotten.
func TestRedisLostLeaseReply(t *testing.T) {
	ctx := context.Background()
	srv := startRedis(t)
	timing := LeaseTiming{TTL: 400 * time.Millisecond, Heartbeat: 50 * time.Millisecond}
	live := openRedisTest(t, srv, "j", Options{Timing: timing})
	other := openRedisTest(t, srv, "j", Options{Timing: timing})
	if _, err := live.Put(ctx, Task{Queue: "q", Key: "kept"}, Task{Queue: "q", Key: "taken"},
		Task{Queue: "q", Key: "lost"}); err != nil {
		t.Fatal(err)
	}
	for _, owner := range []string{"live", "gone"} {
		if got, err := live.Lease(ctx, "q", 1, owner); err != nil || len(got) != 1 {
			t.Fatal(got, err)
		}
	}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 2, DisableIdentity: true})
	defer c.Close()
	lost, err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: redisGroup, Consumer: "live",
		Streams: []string{live.key("q:q"), ">"}, Count: 1}).Result()
	if err != nil || len(lost[0].Messages) != 1 {
		t.Fatal(lost, err)
	}
	delivered := time.Now()
	time.Sleep(timing.TTL / 2)
	extended := time.Now()
	if err := live.Extend(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(delivered.Add(timing.TTL + 100*time.Millisecond)))
	got, err := other.Lease(ctx, "q", 10, "other")
	if err != nil {
		t.Fatal(err)
	}
	if held := time.Since(extended); slices.Contains(keys(got), "kept") && held < timing.TTL {
		t.Errorf("other took over the lease live extended %v ago, before its TTL", held)
	}
	if ks := keys(got); !slices.Contains(ks, "lost") || !slices.Contains(ks, "taken") {
		t.Fatalf("other leased %q, want the lost lease and the one never extended among them", ks)
	}
	if err := live.Extend(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	live.mu.Lock()
	defer live.mu.Unlock()
	for id, h := range live.held {
		if h.owner == "gone" {
			t.Errorf("the Extend of gone still keeps task %d, which other took over", id)
		}
	}
}

// TestRedisJobs: two crawls on one server share nothing, and Jobs lists
// both.
func TestRedisJobs(t *testing.T) {
	ctx := context.Background()
	srv := startRedis(t)
	if jobs, err := Jobs(ctx, srv.URL); err != nil || len(jobs) != 0 {
		t.Fatalf("jobs of an empty server: %v %v", jobs, err)
	}
	a := openRedisTest(t, srv, "crawl-a", Options{})
	b := openRedisTest(t, srv, "crawl b:2", Options{}) // spaces and colons are fine
	for _, db := range []*RedisDB{a, b} {
		if n, err := db.Put(ctx, Task{Queue: "download", Key: "same"}); err != nil || n != 1 {
			t.Fatalf("put in %s: %d %v", db.Job(), n, err)
		}
	}
	if err := a.SetMeta(ctx, "state", "running"); err != nil {
		t.Fatal(err)
	}
	got, err := a.Lease(ctx, "download", 10, "w")
	if err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	if err := a.AckFile(ctx, got[0].ID, File{URL: "same", Path: "x"}); err != nil {
		t.Fatal(err)
	}
	cb, _ := b.Counts(ctx)
	if cb["download"] != (QueueCounts{Ready: 1}) {
		t.Errorf("b's counts %+v", cb)
	}
	if fs, _ := collectFiles(b.Files(ctx)); len(fs) != 0 {
		t.Errorf("b sees a's files: %v", fs)
	}
	if v, _ := b.Meta(ctx, "state"); v != "" {
		t.Errorf("b sees a's meta: %q", v)
	}
	ca, _ := a.Counts(ctx)
	if ca["download"] != (QueueCounts{Done: 1}) {
		t.Errorf("a's counts %+v", ca)
	}
	jobs, err := Jobs(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if a.Job() != "crawl-a" {
		t.Errorf("Job() = %q, want crawl-a", a.Job())
	}
	if want := []string{"crawl b:2", "crawl-a"}; !slices.Equal(jobs, want) {
		t.Errorf("Jobs() = %v, want %v", jobs, want)
	}
	// A crawl whose keys were deleted is gone.
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 2, DisableIdentity: true})
	defer c.Close()
	if err := c.Del(ctx, "crawl:{crawl-a}:created").Err(); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := Jobs(ctx, srv.URL); !slices.Equal(jobs, []string{"crawl b:2"}) {
		t.Errorf("Jobs() after deleting crawl-a = %v", jobs)
	}
}

func TestRedisOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := startRedis(t)
	port := closedPort(t)
	tests := []struct {
		name, url, job, want string
	}{
		{"bad scheme", "http://127.0.0.1:1/0", "j", "redis URL"},
		{"nobody listening", fmt.Sprintf("redis://127.0.0.1:%d/0", port), "j", "connect to redis"},
		{"password redacted", fmt.Sprintf("redis://u:secret@127.0.0.1:%d/0", port), "j", "connect to redis"},
		{"empty job", srv.URL, "", "empty job name"},
		{"brace in job", srv.URL, "a}b", "brace"},
		{"newline in job", srv.URL, "a\nb", "control"},
	}
	for _, tt := range tests {
		db, err := OpenRedis(ctx, tt.url, tt.job, Options{})
		if err == nil {
			db.Close()
			t.Errorf("%s: opened", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error %q, want it to say %q (and no password)", tt.name, err, tt.want)
		}
	}
	if _, err := Jobs(ctx, fmt.Sprintf("redis://127.0.0.1:%d/0", port)); err == nil {
		t.Error("Jobs of a server that is not there succeeded")
	}
}

func TestPackFields(t *testing.T) {
	tests := [][]string{
		{"", "", ""},
		{"http://h/a b.jpg", "12:34", "电影/x", "\x00\xff"},
		{"3:abc", ":", "::"},
	}
	for _, fs := range tests {
		got, err := unpackFields(packFields(fs...), len(fs))
		if err != nil || !slices.Equal(got, fs) {
			t.Errorf("round trip of %q: %q, %v", fs, got, err)
		}
	}
	for _, bad := range []string{"5:abc", "x:abc", "3abc", "-1:"} {
		if _, err := unpackFields(bad, 1); err == nil {
			t.Errorf("unpackFields(%q) succeeded", bad)
		}
	}
	if _, err := unpackFields(packFields("a", "b"), 3); err == nil {
		t.Error("wrong field count accepted")
	}
}

// BenchmarkRedisLeaseAck is BenchmarkLeaseAck on the Redis backend: one
// task's share of a Lease of `batch` tasks, then its own Ack, against a
// redis-server on loopback.
func BenchmarkRedisLeaseAck(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			_, db := newRedisTest(b)
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

// BenchmarkRedisPut is BenchmarkPut on the Redis backend.
func BenchmarkRedisPut(b *testing.B) {
	ctx := context.Background()
	_, db := newRedisTest(b)
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

// BenchmarkRedisAckFileParallel is the download stage's pattern on the Redis
// backend: ten goroutines each recording a file for one task (no name
// reservation: that stays on each worker's disk).
func BenchmarkRedisAckFileParallel(b *testing.B) {
	ctx := context.Background()
	_, db := newRedisTest(b)
	leased := putLeased(b, db, b.N)
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
			f := File{URL: t.Key, Path: "img/" + t.Key[len("http://example.com/img/"):], Bytes: 1, SHA256: "x"}
			if err := db.AckFile(ctx, t.ID, f); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkRedisAckFiles is the download stage's acker on the Redis
// backend: the records of a batch of files stored with one AckFiles call.
func BenchmarkRedisAckFiles(b *testing.B) {
	for _, batch := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			srv, db := newRedisTest(b)
			leased := putLeased(b, db, b.N)
			before := srv.Calls(b)["evalsha"][0]
			b.ResetTimer()
			for c := range slices.Chunk(leased, batch) {
				acks := make([]FileAck, len(c))
				for i, t := range c {
					acks[i] = FileAck{ID: t.ID, File: File{URL: t.Key, Path: t.Key[len("http://example.com/"):], Bytes: 1, SHA256: "x"}}
				}
				if _, err := db.AckFiles(ctx, acks); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
			b.ReportMetric(float64(srv.Calls(b)["evalsha"][0]-before)/float64(b.N), "scripts/file")
		})
	}
}

// putLeased puts n download tasks and leases them all.
func putLeased(b *testing.B, db *RedisDB, n int) []Task {
	ctx := context.Background()
	var leased []Task
	for i := 0; i < n; i += maxLeaseBatch {
		tasks := make([]Task, 0, maxLeaseBatch)
		for j := i; j < min(i+maxLeaseBatch, n); j++ {
			tasks = append(tasks, Task{Queue: "download", Key: fmt.Sprintf("http://example.com/img/%d.jpg", j)})
		}
		if _, err := db.Put(ctx, tasks...); err != nil {
			b.Fatal(err)
		}
		got, err := db.Lease(ctx, "download", len(tasks), "bench")
		if err != nil || len(got) != len(tasks) {
			b.Fatalf("lease: %d, %v", len(got), err)
		}
		leased = append(leased, got...)
	}
	return leased
}
