package pipeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"crawl/store"
)

// fullDisk reads what it is given and fails to write it.
type fullDisk struct{}

func (fullDisk) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

func (fullDisk) ReadFrom(r io.Reader) (int64, error) {
	b := make([]byte, 10)
	n, _ := r.Read(b)
	return int64(n), errors.New("no space left on device")
}

// TestCopyBody: the body reaches the part through the meter, into a Part
// (which reads for itself) as into a plain writer; a broken body is worth
// another try, a failed write is final.
func TestCopyBody(t *testing.T) {
	ctx := context.Background()
	body := strings.Repeat("0123456789", 100000)
	broken := errors.New("connection reset")
	d := store.NewDir(t.TempDir(), nil)
	for _, name := range []string{"part", "plain"} {
		t.Run(name, func(t *testing.T) {
			var events bytes.Buffer
			m := newMeter(newEmitter(&events), "http://h/f")
			p, err := d.OpenPart(ctx, name+".bin")
			if err != nil {
				t.Fatal(err)
			}
			var dst io.Writer = p
			if name == "plain" {
				dst = struct{ io.Writer }{p}
			}
			buf := make([]byte, 4096)
			src := io.MultiReader(strings.NewReader(body[:1000]), iotest.ErrReader(broken))
			n, err := copyBody(m.writer(dst), src, buf)
			var final errFinal
			if n != 1000 || !errors.Is(err, broken) || errors.As(err, &final) {
				t.Fatalf("broken body: %d, %v; want 1000 and a retryable error", n, err)
			}
			n, err = copyBody(m.writer(dst), strings.NewReader(body[1000:]), buf)
			if err != nil || n != int64(len(body)-1000) || m.done.Load() != int64(len(body)) {
				t.Fatalf("rest: %d, %v; metered %d", n, err, m.done.Load())
			}
			if _, _, err := p.Commit(int64(len(body))); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, dst := range []io.Writer{fullDisk{}, struct{ io.Writer }{fullDisk{}}} {
		m := newMeter(newEmitter(io.Discard), "http://h/f")
		_, err := copyBody(m.writer(dst), strings.NewReader(body), make([]byte, 4096))
		var final errFinal
		if !errors.As(err, &final) {
			t.Errorf("failed write into %T: %v, want a final error", dst, err)
		}
	}
}
