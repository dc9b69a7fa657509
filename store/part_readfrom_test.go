package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
	"time"
)

// TestPartReadFrom: ReadFrom appends to what the part holds (after a
// resume too) and hashes all of it, whatever the sizes of the reads; an
// error from the reader comes back as it is, with the bytes before it kept.
func TestPartReadFrom(t *testing.T) {
	ctx := context.Background()
	data := make([]byte, 3*readBufSize*readBufs+12345) // more buffers' worth than are in flight
	for i := range data {
		data[i] = byte(i * 7 / 5)
	}
	want := sha256.Sum256(data)
	for _, tc := range []struct {
		name string
		size int // of the body, 0 for all of data
		r    func([]byte) io.Reader
	}{
		{"whole", 0, func(b []byte) io.Reader { return bytes.NewReader(b) }},
		{"small, in one read", 1000, func(b []byte) io.Reader { return bytes.NewReader(b) }},
		{"small, with EOF", 1000, func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
		{"one byte a read", 5000, func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
		{"half reads", 0, func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }},
		{"data with EOF", 0, func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
		{"slow", 0, func(b []byte) io.Reader { return &slowReader{bytes.NewReader(b)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDir(t.TempDir(), nil)
			body := data
			if tc.size > 0 {
				body = data[:tc.size]
			}
			p, err := d.OpenPart(ctx, "f.bin")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Write(body[:100]); err != nil {
				t.Fatal(err)
			}
			if err := p.SetValidator(`"v"`); err != nil {
				t.Fatal(err)
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if p, err = d.OpenPart(ctx, "f.bin"); err != nil { // resume
				t.Fatal(err)
			}
			n, err := p.ReadFrom(tc.r(body[100:]))
			if err != nil || n != int64(len(body)-100) || p.Size() != int64(len(body)) {
				t.Fatalf("ReadFrom: %d, %v; size %d, want %d", n, err, p.Size(), len(body))
			}
			size, sha, err := p.Commit(int64(len(body)))
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.Sum256(body)
			if len(body) == len(data) {
				h = want
			}
			if size != int64(len(body)) || sha != hex.EncodeToString(h[:]) {
				t.Errorf("commit: %d %s, want %d %x", size, sha, len(body), h)
			}
		})
	}

	t.Run("read error", func(t *testing.T) {
		d := NewDir(t.TempDir(), nil)
		p, err := d.OpenPart(ctx, "f.bin")
		if err != nil {
			t.Fatal(err)
		}
		broken := errors.New("connection reset")
		r := io.MultiReader(bytes.NewReader(data[:persistAt+10]), iotest.ErrReader(broken))
		if err := p.SetValidator(`"v"`); err != nil {
			t.Fatal(err)
		}
		n, err := p.ReadFrom(r)
		if err != broken || n != persistAt+10 || p.Size() != n {
			t.Fatalf("ReadFrom: %d, %v, size %d; want %d, the reader's error", n, err, p.Size(), persistAt+10)
		}
		if got := readFile(t, filepath.Join(d.root, "f.bin.part.meta")); got != `"v"` {
			t.Errorf("sidecar %q once past %d bytes", got, persistAt)
		}
		if _, err := p.ReadFrom(bytes.NewReader(data[persistAt+10:])); err != nil {
			t.Fatal(err)
		}
		if _, sha, err := p.Commit(int64(len(data))); err != nil || sha != hex.EncodeToString(want[:]) {
			t.Errorf("commit after a broken read and more: %s %v", sha, err)
		}
	})

	t.Run("write error", func(t *testing.T) {
		d := NewDir(t.TempDir(), nil)
		p, err := d.OpenPart(ctx, "f.bin")
		if err != nil {
			t.Fatal(err)
		}
		p.f.Close() // writes fail
		_, err = p.ReadFrom(bytes.NewReader(data[:10]))
		if err == nil || !errors.Is(err, os.ErrClosed) {
			t.Fatalf("ReadFrom into a closed file: %v", err)
		}
		p.closed = true
	})

	t.Run("write fails halfway", func(t *testing.T) {
		d := NewDir(t.TempDir(), nil)
		p, err := d.OpenPart(ctx, "f.bin")
		if err != nil {
			t.Fatal(err)
		}
		const held = 3*readBufSize + 7
		if _, err := p.ReadFrom(bytes.NewReader(data[:held])); err != nil {
			t.Fatal(err)
		}
		// The file is now read-only under the part: the next writes fail,
		// after ReadFrom has read and hashed ahead.
		ro, err := os.Open(p.name())
		if err != nil {
			t.Fatal(err)
		}
		p.f.Close()
		p.f = ro
		n, err := p.ReadFrom(bytes.NewReader(data[held:]))
		if err == nil || n != 0 || p.Size() != held {
			t.Fatalf("ReadFrom into a read-only file: %d, %v, size %d", n, err, p.Size())
		}
		h := sha256.Sum256(data[:held])
		if size, sha, err := p.Commit(held); err != nil || size != held || sha != hex.EncodeToString(h[:]) {
			t.Errorf("commit after the failed write: %d %s %v; want the hash of the %d bytes held", size, sha, err, held)
		}
	})

	t.Run("closed or segmented", func(t *testing.T) {
		d := NewDir(t.TempDir(), nil)
		p, err := d.OpenPart(ctx, "f.bin")
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Split(2*minTestSeg, `"v"`, SplitEven(2*minTestSeg, 2)); err != nil {
			t.Fatal(err)
		}
		if _, err := p.ReadFrom(bytes.NewReader(data[:10])); err == nil {
			t.Error("ReadFrom into a segmented part succeeded")
		}
		if err := p.Remove(); err != nil {
			t.Fatal(err)
		}
		if _, err := p.ReadFrom(bytes.NewReader(data[:10])); !errors.Is(err, os.ErrClosed) {
			t.Errorf("ReadFrom after Remove: %v", err)
		}
	})
}

const minTestSeg = 1 << 16

// slowReader waits a little before each read, as a slow server makes a
// download wait: the hash catches up and waits for the next buffer.
type slowReader struct{ r io.Reader }

func (s *slowReader) Read(b []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return s.r.Read(b[:min(len(b), 100<<10)])
}

// TestPartExpect: allocating ahead leaves the size that of the bytes
// written, on disk too, so a resume starts where the bytes end.
func TestPartExpect(t *testing.T) {
	ctx := context.Background()
	d := NewDir(t.TempDir(), nil)
	const total = 3 * persistAt
	data := bytes.Repeat([]byte("abcdefgh"), total/8)
	p, err := d.OpenPart(ctx, "f.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write(data[:1000]); err != nil {
		t.Fatal(err)
	}
	if err := p.Expect(total); err != nil {
		t.Fatal(err)
	}
	if err := p.SetValidator(`"v"`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ReadFrom(bytes.NewReader(data[1000 : persistAt+5])); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Expect(total); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Expect after Close: %v", err)
	}
	st, err := os.Stat(filepath.Join(d.root, "f.bin.part"))
	if err != nil || st.Size() != persistAt+5 {
		t.Fatalf("part on disk: %v, %v; want %d bytes", st.Size(), err, persistAt+5)
	}
	if p, err = d.OpenPart(ctx, "f.bin"); err != nil {
		t.Fatal(err)
	}
	if p.Size() != persistAt+5 {
		t.Fatalf("resumed at %d, want %d", p.Size(), persistAt+5)
	}
	if err := p.Expect(total); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ReadFrom(bytes.NewReader(data[persistAt+5:])); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(data)
	if size, sha, err := p.Commit(total); err != nil || size != total || sha != hex.EncodeToString(h[:]) {
		t.Errorf("commit: %d %s %v", size, sha, err)
	}
}

// TestPartReadFromWriteBehind: a body of several writeBehindEvery, whose
// write-back starts as it is written, is on disk whole and hashed.
func TestPartReadFromWriteBehind(t *testing.T) {
	ctx := context.Background()
	d := NewDir(t.TempDir(), nil)
	data := make([]byte, 5*writeBehindEvery/2+123)
	for i := range data {
		data[i] = byte(i % 251)
	}
	p, err := d.OpenPart(ctx, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write(data[:999]); err != nil { // the write-back starts from where ReadFrom does
		t.Fatal(err)
	}
	if _, err := p.ReadFrom(iotest.HalfReader(bytes.NewReader(data[999:]))); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(data)
	if size, sha, err := p.Commit(int64(len(data))); err != nil || sha != hex.EncodeToString(h[:]) {
		t.Fatalf("commit: %d %s %v", size, sha, err)
	}
	if got, err := os.ReadFile(filepath.Join(d.root, "big.bin")); err != nil || !bytes.Equal(got, data) {
		t.Errorf("file on disk differs from the body (%v)", err)
	}
}
