package store

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"testing"
)

// TestRowsBatches puts, leases and acknowledges batches of sizes that
// take one, several and mixed statements of rowSizes: the rows go in in
// their order, a repeat within a batch is skipped, data and keys that are
// not UTF-8 come back as they went in, and missing data is NULL.
func TestRowsBatches(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{1, 3, 4, 17, 64, 65, 150} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			db := openTest(t)
			var tasks []Task
			for i := range n {
				tk := Task{Queue: "download", Key: fmt.Sprintf("http://h/%d\xff.jpg", i), Data: []byte{byte(i), 0xfe}}
				if i%5 == 1 {
					tk.Data = nil
				}
				tasks = append(tasks, tk)
			}
			added, err := db.Put(ctx, append(tasks, tasks[0])...)
			if err != nil || added != n {
				t.Fatalf("put %d tasks and a repeat: added %d, %v", n, added, err)
			}
			leased, err := db.Lease(ctx, "download", n+1, "w")
			if err != nil || len(leased) != n {
				t.Fatalf("lease: %d tasks, %v", len(leased), err)
			}
			acks := make([]FileAck, n)
			for i, l := range leased {
				if l.Key != tasks[i].Key || !slices.Equal(l.Data, tasks[i].Data) || (l.Data == nil) != (tasks[i].Data == nil) {
					t.Fatalf("task %d came back as %q %q, want %q %q", i, l.Key, l.Data, tasks[i].Key, tasks[i].Data)
				}
				acks[i] = FileAck{ID: l.ID, File: File{URL: l.Key, Path: fmt.Sprintf("f%d", i), Bytes: int64(i), SHA256: "s"}}
			}
			errs, err := db.AckFiles(ctx, acks)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range errs {
				if e != nil {
					t.Fatalf("ack %d: %v", i, e)
				}
			}
			recs, err := collectFiles(db.Files(ctx))
			if err != nil || len(recs) != n {
				t.Fatalf("%d records, %v", len(recs), err)
			}
			for i, r := range recs {
				if r.URL != tasks[i].Key || r.Path != fmt.Sprintf("f%d", i) || r.Bytes != int64(i) {
					t.Fatalf("record %d: %+v", i, r)
				}
			}
			c, err := db.Counts(ctx)
			if err != nil || c["download"] != (QueueCounts{Done: n}) {
				t.Fatalf("counts %+v, %v", c, err)
			}
		})
	}
}

// TestReserveManyRows reserves more names in one batch than one statement
// of rowSizes takes: each URL keeps its name on the next call, and a name
// wanted twice in the batch gets a number.
func TestReserveManyRows(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	dir := NewDir(t.TempDir(), db)
	var wants []NameWant
	for i := range 70 {
		wants = append(wants, NameWant{URL: fmt.Sprintf("http://h/%d", i), Want: fmt.Sprintf("%d.jpg", i%69)})
	}
	first, err := dir.ReserveMany(ctx, wants)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, r := range first {
		if !r.Fresh || seen[r.Path] {
			t.Fatalf("name %d: %+v (taken before: %v)", i, r, seen[r.Path])
		}
		seen[r.Path] = true
	}
	if first[69].Path == "0.jpg" {
		t.Errorf("the second URL wanting 0.jpg got it too")
	}
	again, err := dir.ReserveMany(ctx, wants)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again {
		if r.Fresh || r.Path != first[i].Path {
			t.Errorf("name %d again: %+v, want %q", i, r, first[i].Path)
		}
	}
}

// collectFiles returns the records files yields, or its error.
func collectFiles(files iter.Seq2[File, error]) ([]File, error) {
	var fs []File
	for f, err := range files {
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, nil
}
