package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"testing"
)

// chunkReader yields size bytes of src, at most chunk bytes a Read, as a
// socket does: each Read copies.
type chunkReader struct {
	src   []byte
	chunk int
	left  int64
	off   int
}

func (r *chunkReader) Read(b []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), int64(r.chunk), r.left))
	if r.off+n > len(r.src) {
		r.off = 0
	}
	n = copy(b[:n], r.src[r.off:r.off+n])
	r.off += n
	r.left -= int64(n)
	return n, nil
}

// BenchmarkPartWrite measures the download write path: a body of 64 MiB
// (or 100 KiB, an image), read as from a socket with a backlog (up to 1 MiB
// a read), into a new Part (file and SHA-256), then committed. "write" is a
// loop of Part.Write, as a plain copy does; "readfrom" is Part.ReadFrom,
// which hashes while it reads; "expect+readfrom" allocates the file's
// blocks first, as a download of a known size does.
func BenchmarkPartWrite(b *testing.B) {
	src := make([]byte, 4<<20)
	rand.Read(src)
	ctx := context.Background()
	d := NewDir(b.TempDir(), nil)
	for _, size := range []int64{64 << 20, 100 << 10} {
		for _, mode := range []string{"write", "readfrom", "expect+readfrom"} {
			b.Run(fmt.Sprintf("%s/%dKiB", mode, size>>10), func(b *testing.B) {
				b.SetBytes(size)
				buf := make([]byte, 128<<10)
				for i := range b.N {
					p, err := d.OpenPart(ctx, fmt.Sprintf("%d.bin", i%4))
					if err != nil {
						b.Fatal(err)
					}
					r := &chunkReader{src: src, chunk: 1 << 20, left: size}
					switch mode {
					case "write":
						_, err = io.CopyBuffer(struct{ io.Writer }{p}, r, buf)
					case "readfrom":
						_, err = p.ReadFrom(r)
					default:
						if err = p.Expect(size); err == nil {
							_, err = p.ReadFrom(r)
						}
					}
					if err != nil {
						b.Fatal(err)
					}
					if _, _, err := p.Commit(size); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
