package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"crawl/fetcher"
	"crawl/store"
)

// Downloads over several connections (--split).
const (
	// MaxSplit is the most connections --split may ask for.
	MaxSplit = 64
	// minSegment is the smallest piece of a split download, and a file
	// gets at most one connection per minSegment bytes: one under twice
	// that comes in one stream.
	minSegment = 4 << 20
)

// split brings a large file over several connections (--split): the part
// is laid out in pieces, which the connections take in turn, each piece a
// range request checked by If-Range against the version the first answer
// named. A server that does not serve ranges never gets here: its answer
// goes to one stream (see transferFor).
type split struct {
	d *fileDownload
	n int // connections
}

// fetch lays the part out in pieces of the file the first answer (a 206
// from byte 0, whose first bytes were read already) is the start of, and
// fetches them, the first piece from that answer; without a first answer
// it resumes the pieces an earlier try laid out.
func (sp *split) fetch(ctx context.Context, first *answer) (string, int64, error) {
	if first == nil {
		return sp.resumeSegments(ctx)
	}
	total := first.resp.Total
	size := pieceSize(total, sp.n)
	pieces := store.SplitEven(total, int((total+size-1)/size))
	if err := sp.d.part.Split(total, first.resp.Validator(), pieces); err != nil {
		return "", 0, errFinal{err}
	}
	return sp.fetchSegments(ctx, first.ctype, first.resp, first.head)
}

// segments is how many connections to fetch the file of resp over: more
// than one only with --split, for an answer to the whole file as a range
// (206 from byte 0, the size known) into an empty part, and never more
// than --per-host, nor more than one per minSegment bytes.
func (d *fileDownload) segments(resp *fetcher.Response) int {
	cfg := d.s.cfg
	if cfg.Split <= 1 || resp.StatusCode != http.StatusPartialContent || resp.Offset != 0 ||
		resp.Total < 2*minSegment || d.part.Size() != 0 {
		return 1
	}
	return int(min(int64(cfg.Split), int64(cfg.PerHost), resp.Total/minSegment))
}

// Pieces of a split download: the file is cut in pieces taken in order by
// the connections, each connection taking the next piece nobody has once
// its own is in. A fast connection takes more pieces than a slow one, the
// bytes on disk grow as one prefix (hashed as they come), and what is left
// at the end is at most a piece per connection.
const (
	piecesPerConn = 8        // about this many pieces per connection
	maxPiece      = 64 << 20 // the largest piece, unless the file needs more
)

// pieceSize is the size of the pieces of a file of total bytes fetched
// over n connections.
func pieceSize(total int64, n int) int64 {
	size := min(max(total/int64(n*piecesPerConn), minSegment), maxPiece)
	return max(size, (total+store.MaxSegments-1)/store.MaxSegments)
}

// resumeSegments fetches what the pieces of a part laid out by an earlier
// try still lack, each with a range checked by If-Range. A part without a
// validator cannot be checked against the server's version: it starts over
// (errChanged).
func (sp *split) resumeSegments(ctx context.Context) (string, int64, error) {
	d := sp.d
	if d.part.Validator() == "" {
		return "", 0, errChanged
	}
	d.m.set(d.part.Size(), d.part.Total())
	return sp.fetchSegments(ctx, "", nil, nil)
}

// fetchSegments fetches every unfinished piece of the part over sp.n
// connections (each request also waits for its per-host slot), taking the
// pieces in order, while the bytes written so far are hashed. first, when
// not nil, is the answer that starts piece 0, with its first bytes head
// already read; the file's requests, that one included, stay within
// --per-host. A piece whose body breaks off is taken up again from where
// it stopped, up to --retries times, while the others go on; one that
// fails for good stops the others, and the part keeps what they wrote, for
// the next try.
func (sp *split) fetchSegments(ctx context.Context, ctype string, first *fetcher.Response, head []byte) (string, int64, error) {
	d := sp.d
	total := d.part.Total()
	validator := d.part.Validator()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex // guards next, firstErr, ctype
		next     int        // the first piece not yet taken
		firstErr error
	)
	segs := d.part.Segments()
	take := func() int { // the next unfinished piece, -1 when none is left
		mu.Lock()
		defer mu.Unlock()
		for ; next < len(segs); next++ {
			if segs[next].Left() > 0 && firstErr == nil {
				next++
				return next - 1
			}
		}
		return -1
	}
	if first != nil && segs[0].Done == 0 {
		next = 1 // piece 0 comes from first
	} else {
		first = nil
	}
	// The first answer runs on to the end of the file: closed once piece
	// 0 is in, it is still being sent as far as the server knows for a
	// moment, in which another request from its connection would be one
	// more than --per-host in flight to the host. So when the connections
	// use all of --per-host, the one that served the first answer stops
	// with piece 0, and the others fetch the rest.
	firstOnly := first != nil && sp.n >= d.s.cfg.PerHost
	hashDone := make(chan struct{})
	stopHash := make(chan struct{})
	go func() {
		defer close(hashDone)
		sp.hashAhead(stopHash)
	}()
	for w := range max(sp.n, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var i int
			var resp *fetcher.Response
			var h []byte
			if w == 0 && first != nil {
				i, resp, h = 0, first, head
			} else {
				i = take()
			}
			for ; i >= 0 && ctx.Err() == nil; i = take() {
				ct, err := sp.retrySegment(ctx, i, d.part.Segments()[i], total, validator, resp, h)
				resp, h = nil, nil
				mu.Lock()
				if ctype == "" {
					ctype = ct
				}
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
				if w == 0 && firstOnly {
					return // piece 0, from the first answer, is in
				}
			}
		}()
	}
	wg.Wait()
	close(stopHash)
	<-hashDone
	if firstErr != nil {
		return "", 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	for _, seg := range d.part.Segments() {
		if seg.Left() > 0 {
			return "", 0, fmt.Errorf("piece %d-%d: %d bytes missing: %w", seg.Start, seg.End, seg.Left(), io.ErrUnexpectedEOF)
		}
	}
	return ctype, total, nil
}

// hashAhead hashes the part's bytes as they come in, until stop is closed,
// so that little is left to hash when the last piece is in. A failure only
// leaves more for Commit, which hashes what is left.
func (sp *split) hashAhead(stop <-chan struct{}) {
	d := sp.d
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, err := d.part.HashAhead(64 << 20)
		if err != nil {
			return
		}
		if n == 0 {
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}
}

// retrySegment is fetchSegment, tried again while it fails in a way another
// try may mend (the fetcher retries the requests; this retries the bodies).
func (sp *split) retrySegment(ctx context.Context, i int, seg store.Segment, total int64, validator string,
	resp *fetcher.Response, head []byte) (string, error) {
	d := sp.d
	for try := 0; ; try++ {
		ct, err := sp.fetchSegment(ctx, i, seg, total, validator, resp, head)
		var final errFinal
		if err == nil || ctx.Err() != nil || errors.As(err, &final) || errors.Is(err, errChanged) ||
			!fetcher.Retryable(err) || try >= d.s.client.Retries() {
			return ct, err
		}
		d.s.ev.emit(Event{Kind: EvRetry, URL: d.ft.URL, Reason: err.Error()})
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(d.s.client.Backoff(try, err)):
		}
		resp, head = nil, nil // the first answer serves once
		seg = d.part.Segments()[i]
	}
}

// fetchSegment fetches what segment i (seg) of a file of total bytes lacks
// into the part: from resp when given (its first bytes head already read),
// else with a request of its own for that range, checked by If-Range
// against validator. An answer that is not that range of that version
// (see fetcher.Response.Continues), or a 206 that names no range, is
// errChanged: the part starts over. It returns the answer's Content-Type.
func (sp *split) fetchSegment(ctx context.Context, i int, seg store.Segment, total int64, validator string,
	resp *fetcher.Response, head []byte) (string, error) {
	d := sp.d
	from := seg.Start + seg.Done
	if resp == nil {
		var err error
		resp, err = d.s.client.Get(ctx, d.ft.URL, fetcher.WithRangeEnd(from, seg.End, validator), d.referer())
		var se *fetcher.StatusError
		switch {
		case errors.As(err, &se) && se.StatusCode == http.StatusRequestedRangeNotSatisfiable,
			errors.Is(err, fetcher.ErrBadRange):
			return "", errChanged
		case err != nil:
			return "", errFinal{err} // the fetcher has already retried the request
		}
		if err := resp.Continues(from, total, validator); err != nil {
			resp.Body.Close()
			return "", errChanged
		}
	}
	// Closed as soon as the segment is in, which frees its per-host slot:
	// the first answer runs on to the end of the file.
	defer resp.Body.Close()
	w := d.m.writer(d.part.SegmentWriter(i))
	if len(head) > 0 {
		if _, err := w.Write(head); err != nil {
			return "", errFinal{err} // names the part
		}
		from += int64(len(head))
	}
	bp := bufPool.Get()
	defer bufPool.Put(bp)
	want := seg.End - from
	n, err := copyBody(w, io.LimitReader(resp.Body, want), *bp)
	if err != nil {
		return "", err
	}
	if n != want {
		return "", fmt.Errorf("segment %d-%d ended at byte %d: %w", seg.Start, seg.End, from+n, io.ErrUnexpectedEOF)
	}
	return resp.Header.Get("Content-Type"), nil
}
