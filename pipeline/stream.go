package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"crawl/fetcher"
	"crawl/store"
)

// The first request of a try, which every transfer starts from: it asks
// for the file from where the part ends, checks the answer, reads its
// first bytes and names the file after them if its name waited.

// ask makes the try's first request and opens its answer (see answer): the
// answer checked against the part and the task, its first bytes read, a
// name that waited for them reserved and its part opened, and the part
// given the answer's validator. The caller closes the answer.
func (d *fileDownload) ask(ctx context.Context) (*answer, error) {
	resp, err := d.request(ctx)
	if err != nil {
		return nil, err
	}
	a := &answer{resp: resp, ctype: resp.Header.Get("Content-Type"), body: resp.Body}
	if err := d.open(ctx, a); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// request asks for the file: from where the part ends when it holds bytes
// of a version the server can check (If-Range), else from its start; with
// --split, as a range, whose answer tells whether the server can serve the
// file in pieces. A resume answered with a range that is not the one the
// part lacks (another start, another total, another version: a server
// that ignored If-Range), or with a 206 that names no range, and a range
// answered 416 (the part may hold the whole file already, a run having
// died before the rename, or the file shrank), start the part over with a
// request for the whole file.
func (d *fileDownload) request(ctx context.Context) (*fetcher.Response, error) {
	opts := []fetcher.GetOption{d.referer()}
	var resume string // the part's validator, when the request resumes it
	switch {
	case d.part != nil && d.part.Size() > 0:
		if resume = d.part.Validator(); resume != "" {
			opts = append(opts, fetcher.WithRange(d.part.Size(), resume))
		} else if err := d.part.Reset(); err != nil {
			return nil, errFinal{err}
		}
	case d.s.cfg.Split > 1:
		opts = append(opts, fetcher.WithRange(0, ""))
	}
	d.s.sess.load(ctx, d.ft.Session)
	resp, err := d.s.client.Get(ctx, d.ft.URL, opts...)
	d.s.sess.save(ctx)
	restart := false
	var se *fetcher.StatusError
	switch {
	case len(opts) == 1: // no range asked for: nothing to start over
	case errors.As(err, &se) && se.StatusCode == http.StatusRequestedRangeNotSatisfiable,
		errors.Is(err, fetcher.ErrBadRange):
		restart = true
	case err == nil && resume != "" && resp.StatusCode == http.StatusPartialContent:
		if cerr := resp.Continues(d.part.Size(), d.total, resume); cerr != nil {
			resp.Body.Close()
			restart = true
		}
	}
	if restart {
		if d.part != nil {
			if err := d.part.Reset(); err != nil {
				return nil, errFinal{err}
			}
		}
		resp, err = d.s.client.Get(ctx, d.ft.URL, d.referer())
	}
	if err != nil {
		return nil, errFinal{err} // the fetcher has already retried the request
	}
	return resp, nil
}

// referer names the page the file was found on, its Source, as the page
// its requests are made from; a list or the command line is no page.
func (d *fileDownload) referer() fetcher.GetOption { return fetcher.WithReferer(d.ft.Source) }

// open makes the answer ready for a transfer: checked, its first bytes
// read, the file named after them if its name waited, the part given the
// answer's validator, and the meter set to where the file stands.
func (d *fileDownload) open(ctx context.Context, a *answer) error {
	if err := d.check(a); err != nil {
		return err
	}
	if limit := d.s.cfg.MaxSize; limit > 0 {
		a.body = io.LimitReader(a.body, limit-a.resp.Offset+1)
	}
	a.buf = bufPool.Get()
	if err := d.readHead(a); err != nil {
		return err
	}
	if a.playlist = isPlaylist(d.ft.URL, a); a.playlist {
		// An HLS stream: named after the stream's type, and its part
		// given its mark, by the transfer (hls).
		return nil
	}
	if d.part == nil {
		if err := d.nameAfter(ctx, a.ctype, a.head); err != nil {
			return err
		}
	}
	if err := d.part.SetValidator(a.resp.Validator()); err != nil {
		return errFinal{err}
	}
	if a.resp.Offset == 0 || d.total < 0 {
		d.total = a.resp.Total
	}
	d.m.set(a.resp.Offset, a.resp.Total)
	return nil
}

// check checks the answer against the part and the task. An answer that
// does not start where the part ends (the server ignored the range)
// starts the part over; one that does not start at byte 0 then fails. An
// HTML page where an image was wanted, and a file over --max-size, are
// final.
func (d *fileDownload) check(a *answer) error {
	resp := a.resp
	if d.part != nil && resp.Offset != d.part.Size() {
		if err := d.part.Reset(); err != nil {
			return errFinal{err}
		}
	}
	if resp.Offset != 0 && (d.part == nil || resp.Offset != d.part.Size()) {
		return fmt.Errorf("server answered range from byte %d, wanted 0", resp.Offset)
	}
	if d.ft.Checked && isHTML(a.ctype) {
		return errFinal{fmt.Errorf("got an HTML page (%s), not a file", a.ctype)}
	}
	if d.s.cfg.MaxSize > 0 && resp.Total > d.s.cfg.MaxSize {
		return errFinal{fmt.Errorf("%w (%d bytes)", errTooBig, resp.Total)}
	}
	return nil
}

// isHTML reports whether a Content-Type is that of an HTML page.
func isHTML(ctype string) bool {
	mt, _, err := mime.ParseMediaType(ctype)
	return err == nil && (mt == "text/html" || mt == "application/xhtml+xml")
}

// readHead reads the first bytes of a body that starts the file, when they
// are needed: an error page served as image/jpeg is not an image (final),
// a name may wait for them to get its extension, and a body of a vague
// type may be an HLS playlist.
func (d *fileDownload) readHead(a *answer) error {
	if a.resp.Offset != 0 || (!d.ft.Checked && d.part != nil && !vagueType(a.ctype)) {
		return nil
	}
	buf := *a.buf
	n, err := io.ReadFull(a.body, buf[:512])
	a.head = buf[:n:n]
	if d.ft.Checked && n > 0 && strings.HasPrefix(http.DetectContentType(a.head), "text/html") {
		return errFinal{errors.New("got an HTML page, not a file")}
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		a.headErr = fmt.Errorf("read %s: %w", d.ft.URL, err)
	}
	return nil
}

// nameAfter reserves the name that waited for the file's type (its
// Content-Type ctype, else its first bytes head), and opens its part,
// empty.
func (d *fileDownload) nameAfter(ctx context.Context, ctype string, head []byte) error {
	nm, err := d.s.namer.reserveLate(ctx, d.ft, d.nm, store.Extension(ctype, head))
	d.nm = nm
	if err != nil {
		return errFinal{fmt.Errorf("reserve name: %w", err)}
	}
	if err := d.openPart(ctx); err != nil {
		return errFinal{err}
	}
	if d.part.Size() != 0 || d.part.Segments() != nil {
		// Not ours to resume from the first byte: start clean.
		if err := d.part.Reset(); err != nil {
			return errFinal{err}
		}
	}
	return nil
}

// stream brings a file in one stream: the body of the try's first answer,
// appended to the part from where it ends.
type stream struct{ d *fileDownload }

// writeHead writes the first answer's buffer to w: the head, if it was
// read already, and the bytes after it. A body whose length says it fits
// the buffer is read to its end first: a small file takes one write, and
// no copy after it (ended). Any other gets one read, so that what comes is
// on disk at once (a server that goes silent keeps what it sent). It
// returns the error that reading the head or the bytes after it met, once
// what came is written.
func (st stream) writeHead(w io.Writer, first *answer) (ended bool, err error) {
	// head, if any, is the start of *first.buf: the bytes after it follow it.
	buf, n, rerr := *first.buf, len(first.head), first.headErr
	resp := first.resp
	fits := resp.Total >= 0 && resp.Total-resp.Offset <= int64(len(buf))
	for reads := 0; n < len(buf) && rerr == nil && !ended && (fits || reads == 0); reads++ {
		k, err := first.body.Read(buf[n:])
		n += k
		switch {
		case err == io.EOF:
			ended = true
		case err != nil:
			rerr = fmt.Errorf("read %s: %w", st.d.ft.URL, err)
		}
	}
	if n > 0 {
		if _, err := w.Write(buf[:n]); err != nil {
			return false, errFinal{err} // names the part
		}
	}
	return ended, rerr
}

func (st stream) fetch(ctx context.Context, first *answer) (string, int64, error) {
	d, resp := st.d, first.resp
	if err := d.part.Expect(resp.Total); err != nil {
		return "", 0, errFinal{err} // a full disk
	}
	w := d.m.writer(d.part)
	ended, err := st.writeHead(w, first)
	if err != nil {
		return "", 0, err
	}
	if !ended {
		boosted := d.s.procs.big(resp.Total)
		_, err := copyBody(w, first.body, *first.buf)
		boosted()
		if err != nil {
			return "", 0, err
		}
	}
	if limit := d.s.cfg.MaxSize; limit > 0 && d.part.Size() > limit {
		return "", 0, errFinal{fmt.Errorf("%w (over %d bytes)", errTooBig, limit)}
	}
	if resp.Total >= 0 && d.part.Size() != resp.Total {
		return "", 0, fmt.Errorf("body ended at %d of %d bytes: %w", d.part.Size(), resp.Total, io.ErrUnexpectedEOF)
	}
	if d.part.Size() == 0 {
		return "", 0, errFinal{errors.New("empty body")}
	}
	return first.ctype, resp.Total, nil
}
