package store

import (
	"bytes"
	"context"
	"testing"
)

// TestBatchKeepsBytes puts, leases, names and records a task whose URL is
// not valid UTF-8, with binary data, through the batch statements (which
// pass their rows as JSON): every byte comes back as it went in, and the
// seen set, the name and the record find the URL again.
func TestBatchKeepsBytes(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	d := NewDir(t.TempDir(), db)
	url := "http://h/\xff\xfe/a\x00b.jpg"
	data := []byte{0, 1, 0xff, '"', '\\'}
	if n, err := db.Put(ctx, Task{Queue: "download", Key: url, Data: data}, Task{Queue: "download", Key: "http://h/plain"}); err != nil || n != 2 {
		t.Fatalf("Put = %d, %v; want 2 new", n, err)
	}
	if n, err := db.Put(ctx, Task{Queue: "download", Key: url}); err != nil || n != 0 {
		t.Fatalf("Put again = %d, %v; want 0 new: the seen set has the URL", n, err)
	}
	got, err := db.Lease(ctx, "download", 2, "me")
	if err != nil || len(got) != 2 {
		t.Fatalf("Lease = %v, %v", got, err)
	}
	if got[0].Key != url || !bytes.Equal(got[0].Data, data) {
		t.Fatalf("leased %q %v, put %q %v", got[0].Key, got[0].Data, url, data)
	}
	if got[1].Data != nil {
		t.Errorf("a task put without data leased with %v", got[1].Data)
	}
	res, err := d.ReserveMany(ctx, []NameWant{{URL: url, Want: "a.jpg"}, {URL: "http://h/plain", Want: "a.jpg"}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Path != "a.jpg" || res[1].Path != "a-2.jpg" {
		t.Fatalf("ReserveMany = %+v, want a.jpg and a-2.jpg", res)
	}
	if p, ok, _, err := d.Reserved(ctx, url); err != nil || !ok || p != "a.jpg" {
		t.Fatalf("Reserved = %q, %v, %v; want a.jpg", p, ok, err)
	}
	f := File{URL: url, Path: "a.jpg", Bytes: 5, SHA256: "x", ContentType: "image/\xffjpeg", Source: "list \xfe"}
	errs, err := db.AckFiles(ctx, []FileAck{{ID: got[0].ID, File: f}})
	if err != nil || errs[0] != nil {
		t.Fatalf("AckFiles = %v, %v", errs, err)
	}
	rec, ok, err := db.FileByURL(ctx, url)
	if err != nil || !ok || rec != f {
		t.Fatalf("FileByURL = %+v, %v, %v; want %+v", rec, ok, err, f)
	}
}
