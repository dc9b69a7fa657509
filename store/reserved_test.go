package store

import (
	"context"
	"testing"
)

// TestReservedAndKeptNames: Reserved finds what Reserve gave a URL, else
// the name KeepName kept for it, else nothing.
func TestReservedAndKeptNames(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	d := NewDir(t.TempDir(), db)
	if p, ok, kept, err := d.Reserved(ctx, "http://h/a"); err != nil || ok || p != "" || kept != "" {
		t.Fatalf("nothing yet: %q %v %q %v", p, ok, kept, err)
	}
	if err := d.KeepName(ctx, "http://h/a", "张三"+ExtMark); err != nil {
		t.Fatal(err)
	}
	if p, ok, kept, err := d.Reserved(ctx, "http://h/a"); err != nil || ok || p != "" || kept != "张三"+ExtMark {
		t.Fatalf("kept: %q %v %q %v", p, ok, kept, err)
	}
	rel, err := d.Reserve(ctx, "http://h/a", "张三.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if p, ok, kept, err := d.Reserved(ctx, "http://h/a"); err != nil || !ok || p != rel || kept != "" {
		t.Fatalf("reserved: %q %v %q %v, want %q", p, ok, kept, err, rel)
	}
	if p, ok, _, err := d.Reserved(ctx, "http://h/b"); err != nil || ok || p != "" {
		t.Fatalf("another URL: %q %v %v", p, ok, err)
	}
}

// TestReserveManyOrKept: a NameWant with OrKept takes what Reserved would
// find for its URL (a name reserved earlier, or a kept one, which reserves
// nothing) and reserves its guess only when there is none.
func TestReserveManyOrKept(t *testing.T) {
	ctx := context.Background()
	d := NewDir(t.TempDir(), openTest(t))
	if _, err := d.Reserve(ctx, "http://h/r", "r.png"); err != nil {
		t.Fatal(err)
	}
	if err := d.KeepName(ctx, "http://h/k", "k"+ExtMark); err != nil {
		t.Fatal(err)
	}
	res, err := d.ReserveMany(ctx, []NameWant{
		{URL: "http://h/r", Want: "r.jpg", OrKept: true},
		{URL: "http://h/k", Want: "k.jpg", OrKept: true},
		{URL: "http://h/n", Want: "r.png", OrKept: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Reservation{{Path: "r.png"}, {Kept: "k" + ExtMark}, {Path: "r-2.png", Fresh: true}}
	if len(res) != len(want) {
		t.Fatalf("ReserveMany = %+v, want %+v", res, want)
	}
	for i := range want {
		if res[i] != want[i] {
			t.Errorf("want %d: %+v, want %+v", i, res[i], want[i])
		}
	}
	if p, ok, kept, err := d.Reserved(ctx, "http://h/k"); err != nil || ok || p != "" || kept != "k"+ExtMark {
		t.Errorf("the kept name's URL got a reservation: %q %v %q %v", p, ok, kept, err)
	}
	if p, ok, _, err := d.Reserved(ctx, "http://h/n"); err != nil || !ok || p != "r-2.png" {
		t.Errorf("the guess was not reserved: %q %v %v", p, ok, err)
	}
}

// TestPartHashAhead: the hash follows the written prefix of a segmented
// part, and Commit's hash is the file's whatever was hashed ahead.
func TestPartHashAhead(t *testing.T) {
	ctx := context.Background()
	d := NewDir(t.TempDir(), nil)
	data := randomBytes(9, 1<<20)
	p, err := d.OpenPart(ctx, "h.bin")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Split(1<<20, `"h"`, SplitEven(1<<20, 4)); err != nil {
		t.Fatal(err)
	}
	q := 1 << 18
	p.SegmentWriter(1).Write(data[q : 2*q]) // all of piece 1, nothing of piece 0
	if n, err := p.HashAhead(1 << 30); n != 0 || err != nil {
		t.Errorf("hashed %d bytes (%v) with nothing written from the start", n, err)
	}
	p.SegmentWriter(0).Write(data[:1000])
	if n, err := p.HashAhead(1 << 30); n != 1000 || err != nil {
		t.Errorf("hashed %d bytes (%v), want the 1000 of the prefix", n, err)
	}
	p.SegmentWriter(0).Write(data[1000:q])
	if n, err := p.HashAhead(100); n != 100 || err != nil {
		t.Errorf("hashed %d bytes (%v), want the limit of 100", n, err)
	}
	if n, _ := p.HashAhead(1 << 30); n != int64(2*q-1100) {
		t.Errorf("hashed %d bytes, want up to the end of piece 1", n)
	}
	p.SegmentWriter(3).Write(data[3*q:])
	p.SegmentWriter(2).Write(data[2*q : 3*q])
	_, sum, err := p.Commit(1 << 20)
	if err != nil || sum != sha(data) {
		t.Errorf("Commit: %s %v, want %s", sum, err, sha(data))
	}
}
