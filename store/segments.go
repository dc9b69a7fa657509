package store

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Segment is one byte range [Start, End) of a file fetched in segments over
// several connections, of which the Done bytes from Start are written.
type Segment struct {
	Start, End, Done int64
}

// Left is the number of bytes of the segment still to write.
func (s Segment) Left() int64 { return s.End - s.Start - s.Done }

// ErrSegmentFull is returned (wrapped) by a segment writer given more bytes
// than its segment has room for.
var ErrSegmentFull = errors.New("more bytes than the segment holds")

// SplitEven cuts [0, total) into n segments of nearly equal size, fewer if
// total is smaller than n.
func SplitEven(total int64, n int) []Segment {
	n = int(min(int64(max(n, 1)), max(total, 1)))
	segs := make([]Segment, n)
	for i := range segs {
		segs[i] = Segment{Start: total * int64(i) / int64(n), End: total * int64(i+1) / int64(n)}
	}
	return segs
}

// segSaveEvery is how often the progress of a segmented part is saved in
// its sidecar while it is written: what a kill -9 can cost each segment.
const segSaveEvery = 500 * time.Millisecond

// MaxSegments is the most segments a part may be laid out in.
const MaxSegments = 1024

// segMagic starts the sidecar of a segmented part; any other sidecar holds
// a bare validator.
const segMagic = "crawl-segments 1\n"

// segLayout is the state of a segmented part: its size and segments. Its
// sidecar (NAME.part.meta) holds the validator, the size and every
// segment's progress, with a CRC-32, and is rewritten in place.
type segLayout struct {
	total int64

	mu       sync.Mutex // guards segs, lastSave, err
	segs     []Segment
	lastSave time.Time
	err      error // a failed save: every writer fails from then on

	saveMu sync.Mutex // one save at a time

	// The part's hash covers its first hashed bytes (HashAhead, then
	// Commit, in one goroutine at a time).
	hashed  int64
	hashBuf []byte
}

// encodeSegments is the sidecar of a segmented part.
func encodeSegments(validator string, total int64, segs []Segment) []byte {
	var b bytes.Buffer
	b.WriteString(segMagic)
	fmt.Fprintf(&b, "validator %s\ntotal %d\n", strconv.Quote(validator), total)
	for _, s := range segs {
		fmt.Fprintf(&b, "seg %d %d %d\n", s.Start, s.End, s.Done)
	}
	fmt.Fprintf(&b, "crc %08x\n", crc32.ChecksumIEEE(b.Bytes()))
	return b.Bytes()
}

// isSegmentSidecar reports whether a sidecar's content describes segments.
func isSegmentSidecar(b []byte) bool { return bytes.HasPrefix(b, []byte(segMagic)) }

// decodeSegments reads a sidecar written by encodeSegments. Whatever
// follows the crc line is ignored (a longer, older content overwritten in
// place). It fails on anything damaged or inconsistent: segments must be in
// order, cover [0, total) exactly and have Done within their length.
func decodeSegments(b []byte) (validator string, total int64, segs []Segment, err error) {
	bad := func(what string) (string, int64, []Segment, error) {
		return "", 0, nil, fmt.Errorf("bad segment sidecar: %s", what)
	}
	if !isSegmentSidecar(b) {
		return bad("no header")
	}
	i := bytes.Index(b, []byte("\ncrc "))
	if i < 0 {
		return bad("no checksum")
	}
	body := b[:i+1]
	rest := b[i+1:]
	end := bytes.IndexByte(rest, '\n')
	if end < 0 {
		return bad("checksum line not ended")
	}
	sum, perr := strconv.ParseUint(strings.TrimPrefix(string(rest[:end]), "crc "), 16, 32)
	if perr != nil || uint32(sum) != crc32.ChecksumIEEE(body) {
		return bad("checksum mismatch")
	}
	lines := strings.Split(strings.TrimSuffix(string(body[len(segMagic):]), "\n"), "\n")
	if len(lines) < 3 {
		return bad("too short")
	}
	v, ok := strings.CutPrefix(lines[0], "validator ")
	if !ok {
		return bad("no validator")
	}
	if validator, perr = strconv.Unquote(v); perr != nil {
		return bad("validator")
	}
	t, ok := strings.CutPrefix(lines[1], "total ")
	if !ok {
		return bad("no total")
	}
	if total, perr = strconv.ParseInt(t, 10, 64); perr != nil || total <= 0 {
		return bad("total")
	}
	if len(lines)-2 > MaxSegments {
		return bad("too many segments")
	}
	next := int64(0)
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) != 4 || f[0] != "seg" {
			return bad("segment line")
		}
		var s Segment
		for k, p := range []*int64{&s.Start, &s.End, &s.Done} {
			if *p, perr = strconv.ParseInt(f[k+1], 10, 64); perr != nil {
				return bad("segment number")
			}
		}
		if s.Start != next || s.End <= s.Start || s.Done < 0 || s.Done > s.End-s.Start {
			return bad("segment bounds")
		}
		next = s.End
		segs = append(segs, s)
	}
	if next != total {
		return bad("segments do not cover the file")
	}
	return validator, total, segs, nil
}

// Split lays an empty part out for a file of total bytes fetched as segs
// (in order, covering [0, total) exactly, nothing done: SplitEven makes
// them), validator naming the version they are of. The layout goes to the
// sidecar first, then the file is given its full size, sparse: its
// blocks are taken as the pieces arrive, not for a claimed size at once.
// From then on the part is written with SegmentWriter, and a reopened part
// comes back with its segments (Segments) as far as they were saved.
func (p *Part) Split(total int64, validator string, segs []Segment) error {
	if p.closed {
		return fmt.Errorf("split part %s: %w", p.name(), os.ErrClosed)
	}
	if p.seg != nil || p.size != 0 {
		return fmt.Errorf("split part %s: it already holds bytes", p.name())
	}
	segs = append([]Segment(nil), segs...)
	next := int64(0)
	for i := range segs {
		segs[i].Done = 0
		if segs[i].Start != next || segs[i].End <= segs[i].Start {
			return fmt.Errorf("split part %s: segments do not cut [0, %d) in order", p.name(), total)
		}
		next = segs[i].End
	}
	if next != total || len(segs) == 0 || len(segs) > MaxSegments {
		return fmt.Errorf("split part %s: segments do not cut [0, %d) in order", p.name(), total)
	}
	p.validator = validator
	p.seg = &segLayout{total: total, segs: segs, lastSave: time.Now()}
	if err := p.writeSegments(encodeSegments(validator, total, segs)); err != nil {
		p.seg = nil
		return fmt.Errorf("split part %s: %w", p.name(), err)
	}
	if err := preallocate(p.f, total); err != nil {
		return fmt.Errorf("split part %s: %w", p.name(), unwrapPath(err))
	}
	return nil
}

// writeSegments rewrites the sidecar with content b, the layout of the
// segments.
func (p *Part) writeSegments(b []byte) error {
	if err := p.rewriteSidecar(b); err != nil {
		return err
	}
	p.saved = p.validator
	p.segOnDisk = true
	return nil
}

// Segments returns the segments of a segmented part (a copy), nil for a
// part written from its start.
func (p *Part) Segments() []Segment {
	if p.seg == nil {
		return nil
	}
	p.seg.mu.Lock()
	defer p.seg.mu.Unlock()
	return append([]Segment(nil), p.seg.segs...)
}

// Total is the size of the file a segmented part is laid out for, -1 for
// a part written from its start.
func (p *Part) Total() int64 {
	if p.seg == nil {
		return -1
	}
	return p.seg.total
}

// SegmentWriter returns the writer of segment i of a segmented part: each
// Write goes at the segment's next offset. A Write with more bytes than the
// segment has room for writes what fits and fails with ErrSegmentFull. The
// writers of different segments may be used at once from different
// goroutines (but not one segment's from two, nor at the same time as the
// Part's other methods, Segments and Size apart). Every half second or so
// a Write saves the progress of all segments: the data is synced first,
// then the sidecar, so it never claims bytes that are not on disk.
func (p *Part) SegmentWriter(i int) io.Writer { return &segWriter{p: p, i: i} }

type segWriter struct {
	p *Part
	i int
}

func (w *segWriter) Write(b []byte) (int, error) {
	p := w.p
	if p.closed {
		return 0, fmt.Errorf("write part %s: %w", p.name(), os.ErrClosed)
	}
	l := p.seg
	if l == nil {
		return 0, fmt.Errorf("write part %s: not laid out in segments", p.name())
	}
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return 0, l.err
	}
	s := l.segs[w.i]
	l.mu.Unlock()
	var full error
	if left := s.Left(); int64(len(b)) > left {
		b = b[:left]
		full = fmt.Errorf("write part %s: segment %d-%d: %w", p.name(), s.Start, s.End, ErrSegmentFull)
	}
	n, err := p.f.WriteAt(b, s.Start+s.Done)
	l.mu.Lock()
	l.segs[w.i].Done += int64(n)
	due := time.Since(l.lastSave) >= segSaveEvery
	l.mu.Unlock()
	if err != nil {
		return n, fmt.Errorf("write part %s: %w", p.name(), unwrapPath(err))
	}
	if due && l.saveMu.TryLock() {
		err := p.saveSegments()
		l.saveMu.Unlock()
		if err != nil {
			return n, err
		}
	}
	return n, full
}

// saveSegments syncs the part's data and then records the progress of its
// segments in the sidecar.
func (p *Part) saveSegments() error {
	l := p.seg
	l.mu.Lock()
	b := encodeSegments(p.validator, l.total, l.segs) // before the sync: only what it covers
	l.lastSave = time.Now()
	l.mu.Unlock()
	err := p.f.Sync()
	if err == nil {
		err = p.writeSegments(b)
	}
	if err != nil {
		err = fmt.Errorf("save progress of part %s: %w", p.name(), unwrapPath(err))
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
	}
	return err
}

// progress returns the bytes written so far and whether every segment is
// written.
func (l *segLayout) progress() (written int64, complete bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	complete = true
	for _, s := range l.segs {
		written += s.Done
		if s.Left() > 0 {
			complete = false
		}
	}
	return written, complete
}

// frontier is the end of the written prefix of the file: every byte before
// it is written.
func (l *segLayout) frontier() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	pos := int64(0)
	for _, s := range l.segs {
		pos = s.Start + s.Done
		if s.Left() > 0 {
			break
		}
	}
	return pos
}

// HashAhead hashes up to limit more bytes of a segmented part, from where
// its hash stops on to the end of what is written from the start of the
// file, and returns how many it hashed: run while the segments are
// written (it may be called at the same time as their writers, but not as
// the Part's other methods), it leaves little to hash when the last one is
// in. On a part written from its start it does nothing (its hash follows
// its writes).
func (p *Part) HashAhead(limit int64) (int64, error) {
	l := p.seg
	if l == nil || p.closed {
		return 0, nil
	}
	end := min(l.frontier(), l.hashed+limit)
	if end <= l.hashed {
		return 0, nil
	}
	if l.hashBuf == nil {
		l.hashBuf = make([]byte, 256<<10)
	}
	n, err := io.CopyBuffer(p.h, io.NewSectionReader(p.f, l.hashed, end-l.hashed), l.hashBuf)
	l.hashed += n
	if err != nil {
		return n, fmt.Errorf("hash part %s: %w", p.name(), unwrapPath(err))
	}
	return n, nil
}

// hashRest hashes what HashAhead left of a segmented part whose segments
// are all written.
func (p *Part) hashRest() error {
	l := p.seg
	for l.hashed < l.total {
		n, err := p.HashAhead(l.total - l.hashed)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: read %d bytes, want %d", ErrSizeMismatch, l.hashed, l.total)
		}
	}
	return nil
}

// unwrapPath drops the path of a *fs.PathError, which the caller names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
