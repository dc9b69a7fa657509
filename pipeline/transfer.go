package pipeline

import (
	"context"
	"errors"
	"io"

	"crawl/fetcher"
)

// A transfer is one way of bringing a file's bytes into its part: in one
// stream, split over several connections, or as the segments an HLS
// playlist lists. Each try of a download runs one, chosen in transferFor;
// a new way is one more implementation and one more case there.
type transfer interface {
	// fetch makes one try at what the part still lacks and returns the
	// file's Content-Type ("" if unknown) and the size the whole file must
	// have (-1 if unknown). first is the answer to the try's first request,
	// opened and checked by ask, which the caller closes; it is nil for a
	// transfer chosen before any request (resuming what an earlier try laid
	// out). An error wrapping errFinal is not worth another try; one
	// wrapping errChanged means the part holds bytes of another version of
	// the file, and starts over.
	fetch(ctx context.Context, first *answer) (ctype string, total int64, err error)
}

// errChanged is the answer to a segment's request that is not that range
// of the version the part holds: the file changed on the server (If-Range
// failed), or the server no longer serves ranges. The part starts over.
var errChanged = errors.New("the file changed on the server or it stopped serving ranges")

// answer is the response to the first request of a try, checked against
// the part and the task, with its first bytes read: what a transfer starts
// from.
type answer struct {
	resp  *fetcher.Response
	ctype string    // its Content-Type
	body  io.Reader // resp.Body, cut one byte past --max-size
	// head is the body's first bytes, read already (to sniff them, and to
	// name the file after them), in buf.
	head []byte
	// headErr: reading head failed; the transfer writes what came, then
	// fails with it.
	headErr error
	buf     *[]byte // from bufPool
	// playlist: the answer is an HLS playlist, which the hls transfer
	// follows; the file's name and part wait for it.
	playlist bool
}

// close closes the answer's body and gives back its buffer.
func (a *answer) close() {
	a.resp.Body.Close()
	if a.buf != nil {
		bufPool.Put(a.buf)
	}
}

// attempt makes one try at the whole file: it resumes what the part holds
// when it can (from its end, or each of its pieces), reserves the name
// first if it waits for the response, and brings the body into the part
// with the transfer the answer calls for. It returns the Content-Type and
// the size the whole file must have (-1 if unknown).
func (d *fileDownload) attempt(ctx context.Context) (string, int64, error) {
	if t := d.transferFor(nil); t != nil {
		ctype, total, err := t.fetch(ctx, nil)
		if !errors.Is(err, errChanged) {
			return ctype, total, err
		}
		// Start over, with one request for the whole file.
		if err := d.part.Reset(); err != nil {
			return "", 0, errFinal{err}
		}
	}
	first, err := d.ask(ctx)
	if err != nil {
		return "", 0, err
	}
	defer first.close()
	ctype, total, err := d.transferFor(first).fetch(ctx, first)
	if errors.Is(err, errChanged) {
		// The part holds bytes of another version: the next try starts
		// over.
		if rerr := d.part.Reset(); rerr != nil {
			return "", 0, errFinal{rerr}
		}
	}
	return ctype, total, err
}

// transferFor chooses how the file comes in a try; it is the one place
// that choice is made. Before the try's first request (first nil), a part
// that an earlier try laid out in pieces has them resumed over several
// connections, a part holding the start of an HLS stream has the rest of
// its segments fetched, and anything else asks first (nil). Once the
// first answer is in, an HLS playlist is followed to its segments, the
// whole of a large file answered as a range comes over several connections
// with --split, and anything else in one stream.
func (d *fileDownload) transferFor(first *answer) transfer {
	if first == nil {
		switch {
		case d.part != nil && d.part.Segments() != nil:
			return &split{d: d, n: max(1, min(d.s.cfg.Split, d.s.cfg.PerHost))}
		case resumesStream(d.part):
			return hls{d}
		}
		return nil
	}
	if first.playlist {
		return hls{d}
	}
	if n := d.segments(first.resp); n > 1 && first.headErr == nil {
		return &split{d: d, n: n}
	}
	return stream{d}
}
