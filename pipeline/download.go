package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"crawl/fetcher"
	"crawl/store"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

// errFinal marks a download error that another try would not mend.
type errFinal struct{ err error }

func (e errFinal) Error() string { return e.err.Error() }
func (e errFinal) Unwrap() error { return e.err }

var errTooBig = errors.New("larger than --max-size")

// download fetches one file into its reserved path.
func (s *stage) download(ctx context.Context, t store.Task) {
	ft, err := decodeTask[FileTask](t)
	if err != nil {
		s.fail(ctx, t, "", "", err)
		return
	}
	if u, err := url.Parse(ft.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		s.fail(ctx, t, ft.URL, ft.Source, errors.New("not an http(s) URL"))
		return
	}
	if !s.cfg.Overwrite {
		if f, ok, err := s.db.FileByURL(ctx, ft.URL); err == nil && ok {
			// On Redis the record may be another worker's, its file on
			// another machine's disk: done all the same.
			if st, err := os.Stat(filepath.Join(s.cfg.Out, filepath.FromSlash(f.Path))); s.cfg.IsRedis() || err == nil && st.Size() == f.Bytes {
				if s.ack(ctx, t) {
					s.ev.emit(Event{Kind: EvSkip, URL: ft.URL, Path: f.Path, Bytes: f.Bytes})
				}
				return
			}
		}
	}
	rel, err := s.dir.Reserve(ctx, ft.URL, expandName(s.cfg.Name, ft))
	if err != nil {
		if ctx.Err() == nil {
			s.fail(ctx, t, ft.URL, ft.Source, fmt.Errorf("reserve name: %w", err))
		}
		return
	}
	if !s.cfg.Overwrite {
		// A file at our reserved path was renamed into place, whole and
		// checked, by a run that died before recording it.
		if size, sum, err := s.dir.HashFile(rel); err == nil {
			s.record(ctx, t, store.File{URL: ft.URL, Path: rel, Bytes: size, SHA256: sum, Source: ft.Source}, EvSkip)
			return
		}
	}
	part, err := s.dir.OpenPart(ctx, rel)
	if err != nil {
		s.fail(ctx, t, ft.URL, ft.Source, err)
		return
	}
	var ctype string
	var total int64
	for attempt := 0; ; attempt++ {
		ctype, total, err = s.fetchInto(ctx, ft, part)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			part.Close() // keep the .part: the next run resumes it
			return
		}
		var final errFinal
		if errors.As(err, &final) || attempt >= s.client.Retries() || !fetcher.Retryable(err) {
			if !errors.As(err, &final) && attempt > 0 && fetcher.Retryable(err) {
				err = fmt.Errorf("%w (gave up after %d retries)", err, attempt)
			}
			part.Remove()
			if errors.Is(err, errTooBig) {
				if s.ack(ctx, t) {
					s.ev.emit(Event{Kind: EvTooBig, URL: ft.URL, Reason: err.Error()})
				}
				return
			}
			s.fail(ctx, t, ft.URL, ft.Source, err)
			return
		}
		s.ev.emit(Event{Kind: EvRetry, URL: ft.URL, Reason: err.Error()})
		select {
		case <-ctx.Done():
			part.Close()
			return
		case <-time.After(s.client.Backoff(attempt, err)):
		}
	}
	size, sum, err := part.Commit(total)
	if err != nil {
		part.Remove()
		s.fail(ctx, t, ft.URL, ft.Source, err)
		return
	}
	s.record(ctx, t, store.File{URL: ft.URL, Path: rel, Bytes: size, SHA256: sum, ContentType: ctype, Source: ft.Source}, EvFile)
}

// record acknowledges the task with the record of its file, which is in
// place, and tells the supervisor.
func (s *stage) record(ctx context.Context, t store.Task, f store.File, kind string) {
	if s.settle(ctx, "record "+f.URL, func(c context.Context) error { return s.db.AckFile(c, t.ID, f) }) {
		s.ev.emit(Event{Kind: kind, URL: f.URL, Path: f.Path, Bytes: f.Bytes})
	}
}

// fetchInto makes one request for ft, resuming what part holds when it can,
// and streams the body into part. It returns the Content-Type and the size
// the whole file must have (-1 if unknown).
func (s *stage) fetchInto(ctx context.Context, ft FileTask, part *store.Part) (string, int64, error) {
	var opts []fetcher.GetOption
	if part.Size() > 0 {
		if v := part.Validator(); v != "" {
			opts = append(opts, fetcher.WithRange(part.Size(), v))
		} else if err := part.Reset(); err != nil {
			return "", 0, errFinal{err}
		}
	}
	resp, err := s.client.Get(ctx, ft.URL, opts...)
	var se *fetcher.StatusError
	if len(opts) > 0 && errors.As(err, &se) && se.StatusCode == http.StatusRequestedRangeNotSatisfiable {
		// The part may hold the whole file already (a run died before the
		// rename), or the file shrank: start over.
		if err := part.Reset(); err != nil {
			return "", 0, errFinal{err}
		}
		resp, err = s.client.Get(ctx, ft.URL)
	}
	if err != nil {
		return "", 0, errFinal{err} // the fetcher has already retried the request
	}
	defer resp.Body.Close()
	if resp.Offset != part.Size() {
		// The server ignored the range (200) or answered another one: start over.
		if err := part.Reset(); err != nil {
			return "", 0, errFinal{err}
		}
		if resp.Offset != 0 {
			return "", 0, fmt.Errorf("server answered range from byte %d, wanted 0", resp.Offset)
		}
	}
	ctype := resp.Header.Get("Content-Type")
	if ft.Checked && isHTML(ctype) {
		return "", 0, errFinal{fmt.Errorf("got an HTML page (%s), not a file", ctype)}
	}
	if s.cfg.MaxSize > 0 && resp.Total > s.cfg.MaxSize {
		return "", 0, errFinal{fmt.Errorf("%w (%d bytes)", errTooBig, resp.Total)}
	}
	if err := part.SetValidator(resp.Validator()); err != nil {
		return "", 0, errFinal{err}
	}
	body := io.Reader(resp.Body)
	if s.cfg.MaxSize > 0 {
		body = io.LimitReader(body, s.cfg.MaxSize-part.Size()+1)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	if part.Size() == 0 && ft.Checked {
		// Sniff the first bytes: an error page served as image/jpeg is not an image.
		n, err := io.ReadFull(body, buf[:512])
		if n > 0 && strings.HasPrefix(http.DetectContentType(buf[:n]), "text/html") {
			return "", 0, errFinal{errors.New("got an HTML page, not a file")}
		}
		if _, werr := part.Write(buf[:n]); werr != nil {
			return "", 0, errFinal{werr} // names the part
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return "", 0, fmt.Errorf("read %s: %w", ft.URL, err)
		}
	}
	if _, err := copyBody(part, body, buf); err != nil {
		return "", 0, err
	}
	if s.cfg.MaxSize > 0 && part.Size() > s.cfg.MaxSize {
		return "", 0, errFinal{fmt.Errorf("%w (over %d bytes)", errTooBig, s.cfg.MaxSize)}
	}
	if resp.Total >= 0 && part.Size() != resp.Total {
		return "", 0, fmt.Errorf("body ended at %d of %d bytes: %w", part.Size(), resp.Total, io.ErrUnexpectedEOF)
	}
	if part.Size() == 0 {
		return "", 0, errFinal{errors.New("empty body")}
	}
	return ctype, resp.Total, nil
}

// copyBody streams src into the part; a failed write (a full disk) is final.
func copyBody(dst io.Writer, src io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		k, rerr := src.Read(buf)
		if k > 0 {
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return n, errFinal{werr} // names the part
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, fmt.Errorf("read body: %w", rerr)
		}
	}
}

func isHTML(ctype string) bool {
	mt, _, err := mime.ParseMediaType(ctype)
	return err == nil && (mt == "text/html" || mt == "application/xhtml+xml")
}
