package store

import (
	"bytes"
	"context"
	"os"
	"syscall"
	"testing"
)

// allocated is the disk room the file at path holds (st_blocks), in bytes.
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// TestPartAllocatesInSteps: a part told to expect 30 MB holds at most one
// step of disk room beyond the bytes written, however few have come, and
// ends whole; a part laid out in pieces for 30 MB holds none ahead.
func TestPartAllocatesInSteps(t *testing.T) {
	ctx := context.Background()
	d := NewDir(t.TempDir(), nil)
	const claimed = 30 << 20
	const slack = 1 << 20 // file system metadata and rounding
	p, err := d.OpenPart(ctx, "lie.bin")
	if err != nil {
		t.Fatal(err)
	}
	path := p.name()
	if err := p.Expect(claimed); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write([]byte("a few bytes")); err != nil {
		t.Fatal(err)
	}
	if got := allocated(t, path); got > allocStep+slack {
		t.Errorf("after 11 bytes of a claimed 30 MB, %d MiB allocated; want at most %d MiB", got>>20, allocStep>>20)
	}
	chunk := bytes.Repeat([]byte{7}, 3<<20)
	for p.Size() < 20<<20 {
		if _, err := p.ReadFrom(bytes.NewReader(chunk)); err != nil {
			t.Fatal(err)
		}
		if got := allocated(t, path); got > p.Size()+allocStep+slack {
			t.Errorf("at %d MiB written, %d MiB allocated", p.Size()>>20, got>>20)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	p, err = d.OpenPart(ctx, "pieces.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Split(claimed, `"v"`, SplitEven(claimed, 4)); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(p.name()); err != nil || st.Size() != claimed {
		t.Fatalf("split part: %v, %v; want its full size", st, err)
	}
	if got := allocated(t, p.name()); got > slack {
		t.Errorf("a split part of a claimed 30 MB holds %d MiB before any piece came", got>>20)
	}
}
