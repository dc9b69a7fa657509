package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// randomBytes returns n bytes that depend only on seed.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestSplitEven(t *testing.T) {
	for _, c := range []struct {
		total int64
		n     int
		want  int
	}{{100, 4, 4}, {3, 8, 3}, {1 << 30, 8, 8}, {10, 0, 1}, {7, 3, 3}} {
		segs := SplitEven(c.total, c.n)
		if len(segs) != c.want {
			t.Errorf("SplitEven(%d, %d): %d segments, want %d", c.total, c.n, len(segs), c.want)
		}
		next := int64(0)
		for _, s := range segs {
			if s.Start != next || s.End <= s.Start || s.Done != 0 {
				t.Errorf("SplitEven(%d, %d): %v", c.total, c.n, segs)
			}
			next = s.End
		}
		if next != c.total {
			t.Errorf("SplitEven(%d, %d) ends at %d", c.total, c.n, next)
		}
	}
}

// writeSegments writes data[s.Start+s.Done:s.End] of every segment of p,
// each from its own goroutine, in pieces of at most step bytes, stopping
// each segment after limit bytes (-1: no limit).
func writeAll(t *testing.T, p *Part, data []byte, step int, limit int64) {
	t.Helper()
	var wg sync.WaitGroup
	for i, s := range p.Segments() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := p.SegmentWriter(i)
			from, end := s.Start+s.Done, s.End
			if limit >= 0 {
				end = min(end, from+limit)
			}
			for from < end {
				k := min(int64(step), end-from)
				if _, err := w.Write(data[from : from+k]); err != nil {
					t.Error(err)
					return
				}
				from += k
			}
		}()
	}
	wg.Wait()
}

func TestPartSegmentsWholeFile(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	data := randomBytes(1, 3<<20+17)
	p, err := d.OpenPart(ctx, "v.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Split(int64(len(data)), `"e1"`, SplitEven(int64(len(data)), 5)); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(root, "v.mp4.part")); err != nil || st.Size() != int64(len(data)) {
		t.Fatalf("part not laid out at the file's size: %v %v", st, err)
	}
	if _, err := p.Write([]byte("x")); err == nil {
		t.Error("Write (append) on a segmented part worked")
	}
	writeAll(t, p, data, 64<<10, -1)
	if p.Size() != int64(len(data)) {
		t.Errorf("Size %d, want %d", p.Size(), len(data))
	}
	size, sum, err := p.Commit(int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if size != int64(len(data)) || sum != sha(data) {
		t.Errorf("Commit: %d %s, want %d %s", size, sum, len(data), sha(data))
	}
	got, err := os.ReadFile(filepath.Join(root, "v.mp4"))
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("file on disk differs (%v)", err)
	}
	for _, s := range []string{"v.mp4.part", "v.mp4.part.meta"} {
		if exists(filepath.Join(root, s)) {
			t.Errorf("%s left after Commit", s)
		}
	}
}

func TestPartSegmentsResume(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	data := randomBytes(2, 2<<20)
	total := int64(len(data))
	p, err := d.OpenPart(ctx, "r.bin")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Split(total, `W/"weak" or a date, with "quotes"`, SplitEven(total, 4)); err != nil {
		t.Fatal(err)
	}
	writeAll(t, p, data, 10000, 300000)
	before := p.Segments()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	p, err = d.OpenPart(ctx, "r.bin")
	if err != nil {
		t.Fatal(err)
	}
	after := p.Segments()
	if len(after) != 4 || p.Total() != total || p.Validator() != `W/"weak" or a date, with "quotes"` {
		t.Fatalf("reopened: %v total %d validator %q", after, p.Total(), p.Validator())
	}
	for i := range after {
		if after[i] != before[i] {
			t.Errorf("segment %d: %v, was %v", i, after[i], before[i])
		}
		if after[i].Done != 300000 {
			t.Errorf("segment %d: %d done, want 300000", i, after[i].Done)
		}
	}
	if p.Size() != 4*300000 {
		t.Errorf("Size %d", p.Size())
	}
	if _, _, err := p.Commit(total); !errors.Is(err, ErrSizeMismatch) {
		t.Errorf("Commit of an unfinished part: %v", err)
	}
	writeAll(t, p, data, 77777, -1)
	_, sum, err := p.Commit(total)
	if err != nil || sum != sha(data) {
		t.Fatalf("Commit after resume: %s %v, want %s", sum, err, sha(data))
	}
}

func TestPartSegmentFull(t *testing.T) {
	ctx := context.Background()
	d := NewDir(t.TempDir(), nil)
	p, err := d.OpenPart(ctx, "f.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Remove()
	if err := p.Split(100, "", []Segment{{Start: 0, End: 40}, {Start: 40, End: 100}}); err != nil {
		t.Fatal(err)
	}
	n, err := p.SegmentWriter(0).Write(make([]byte, 50))
	if n != 40 || !errors.Is(err, ErrSegmentFull) {
		t.Errorf("write past the segment: %d %v", n, err)
	}
	for _, bad := range [][]Segment{
		{{Start: 0, End: 40}, {Start: 41, End: 100}},
		{{Start: 0, End: 40}},
		{{Start: 0, End: 0}, {Start: 0, End: 100}},
		nil,
	} {
		q, err := d.OpenPart(ctx, "g.bin")
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Split(100, "", bad); err == nil {
			t.Errorf("Split accepted %v", bad)
		}
		q.Remove()
	}
}

// TestPartSegmentsSavedWhileWritten: the sidecar follows the writers (a
// kill -9 loses at most what came since the last save), and never claims
// more than was written.
func TestPartSegmentsSavedWhileWritten(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	p, err := d.OpenPart(ctx, "s.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Remove()
	const total = 1 << 20
	data := randomBytes(3, total)
	if err := p.Split(total, `"x"`, SplitEven(total, 2)); err != nil {
		t.Fatal(err)
	}
	w := p.SegmentWriter(1)
	w.Write(data[total/2 : total/2+1000])
	time.Sleep(segSaveEvery + 50*time.Millisecond)
	w.Write(data[total/2+1000 : total/2+3000])
	b, err := os.ReadFile(filepath.Join(root, "s.bin.part.meta"))
	if err != nil {
		t.Fatal(err)
	}
	v, tot, segs, err := decodeSegments(b)
	if err != nil || v != `"x"` || tot != total || len(segs) != 2 {
		t.Fatalf("sidecar: %q %d %v %v", v, tot, segs, err)
	}
	// Saved by the second write, before or after it was counted: the
	// sidecar holds 1000 or 3000, never more than was written.
	if segs[0].Done != 0 || (segs[1].Done != 1000 && segs[1].Done != 3000) {
		t.Errorf("saved progress %v", segs)
	}
}

// TestPartSegmentsDamagedSidecar: a sidecar that cannot be read, or that
// does not fit the part, makes the part start over, empty.
func TestPartSegmentsDamagedSidecar(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	good := encodeSegments(`"v"`, 1000, []Segment{{0, 500, 100}, {500, 1000, 200}})
	flipped := bytes.Clone(good)
	flipped[len(segMagic)+12] ^= 1
	for name, c := range map[string]struct {
		meta []byte
		size int64
		keep bool
	}{
		"good":      {good, 1000, true},
		"flipped":   {flipped, 1000, false},
		"shortpart": {good, 999, false},
		"cut":       {good[:len(good)-10], 1000, false},
		"trailing":  {append(bytes.Clone(good), "seg 0 1 1\ncrc 0\n"...), 1000, true},
		"nosegs":    {[]byte(segMagic + "validator \"\"\ntotal 5\n"), 5, false},
	} {
		part := filepath.Join(root, name+".part")
		if err := os.WriteFile(part, make([]byte, c.size), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(part+metaSuffix, c.meta, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := d.OpenPart(ctx, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.keep {
			if p.Segments() == nil || p.Size() != 300 || p.Validator() != `"v"` {
				t.Errorf("%s: segments %v size %d validator %q", name, p.Segments(), p.Size(), p.Validator())
			}
		} else {
			if p.Segments() != nil || p.Size() != 0 || exists(part+metaSuffix) {
				t.Errorf("%s: not started over: segments %v size %d", name, p.Segments(), p.Size())
			}
			if st, _ := os.Stat(part); st.Size() != 0 {
				t.Errorf("%s: part not emptied (%d bytes)", name, st.Size())
			}
		}
		p.Close()
	}
}

// TestPartSegmentsResetAndRemove: Reset drops the layout (and its sidecar),
// after which the part is written from its start again; Remove deletes both
// files.
func TestPartSegmentsResetAndRemove(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := NewDir(root, nil)
	p, err := d.OpenPart(ctx, "x.bin")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Split(1000, `"1"`, SplitEven(1000, 2)); err != nil {
		t.Fatal(err)
	}
	p.SegmentWriter(0).Write(make([]byte, 10))
	if err := p.SetValidator(`"2"`); err == nil {
		t.Error("SetValidator of another version on a segmented part worked")
	}
	if err := p.Reset(); err != nil {
		t.Fatal(err)
	}
	if p.Segments() != nil || p.Size() != 0 || exists(filepath.Join(root, "x.bin.part.meta")) {
		t.Errorf("after Reset: segments %v size %d", p.Segments(), p.Size())
	}
	if _, err := p.Write([]byte("plain")); err != nil {
		t.Fatal(err)
	}
	if err := p.Split(1000, "", SplitEven(1000, 2)); err == nil {
		t.Error("Split of a part that holds bytes worked")
	}
	if err := p.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := p.Split(1000, `"2"`, SplitEven(1000, 2)); err != nil {
		t.Fatal(err)
	}
	if err := p.Remove(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"x.bin.part", "x.bin.part.meta"} {
		if exists(filepath.Join(root, s)) {
			t.Errorf("%s left after Remove", s)
		}
	}
}

func FuzzDecodeSegments(f *testing.F) {
	f.Add(encodeSegments(`"v"`, 1000, []Segment{{0, 500, 100}, {500, 1000, 200}}))
	f.Add(encodeSegments("", 1, []Segment{{0, 1, 1}}))
	f.Add([]byte(segMagic + "validator \"\"\ntotal 5\nseg 0 5 9\ncrc 00000000\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, total, segs, err := decodeSegments(b)
		if err != nil {
			return
		}
		next := int64(0)
		for _, s := range segs {
			if s.Start != next || s.End <= s.Start || s.Done < 0 || s.Left() < 0 {
				t.Fatalf("accepted bad segment %v", s)
			}
			next = s.End
		}
		if next != total || len(segs) == 0 {
			t.Fatalf("accepted segments %v for total %d", segs, total)
		}
		again := encodeSegments(v, total, segs)
		v2, t2, s2, err := decodeSegments(again)
		if err != nil || v2 != v || t2 != total || len(s2) != len(segs) {
			t.Fatalf("round trip: %q %d %v %v", v2, t2, s2, err)
		}
	})
}
