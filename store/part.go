package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

const (
	partSuffix = ".part" // data being written, beside the final name
	metaSuffix = ".meta" // NAME.part.meta: the If-Range validator of NAME.part
)

// ErrPartBusy is returned (wrapped) by OpenPart when another writer, in this
// or another process, has the same .part open.
var ErrPartBusy = errors.New("part file is being written by someone else")

// ErrSizeMismatch is returned (wrapped) by Commit when the part does not
// hold the expected number of bytes.
var ErrSizeMismatch = errors.New("size mismatch")

// errLocked is lockFile's answer when the lock is held elsewhere.
var errLocked = errors.New("locked")

// Part is a file being written as NAME.part beside its final name NAME. Its
// bytes are hashed (SHA-256) as they are written, including those already
// there when it was opened, so a download can resume where it stopped. Only
// one Part for a name is open at a time, across processes (flock). A Part is
// not safe for concurrent use, except for the writers of a segmented part
// (see Split).
//
// A part is written either from its start, appending (Write), or, once
// laid out with Split, in segments at their offsets by several writers at
// once (SegmentWriter); a segmented part is hashed in one pass, as the
// part written from its start grows (HashAhead) and, for the rest, when it
// is committed.
type Part struct {
	dir       *Dir        // the output folder it is in
	final     string      // OS path of NAME
	entries   *sync.Mutex // the entry lock of final's folder
	f         *os.File
	h         hash.Hash
	size      int64
	validator string
	saved     string // the validator in the sidecar file
	closed    bool
	seg       *segLayout // non-nil: laid out in segments
	segOnDisk bool       // the sidecar describes segments
	ahead     allocation // blocks allocated ahead of the writes (Expect)
	// fresh: created by CreatePart, for a name nothing was under; its
	// commit replaces nothing (renameNew).
	fresh bool
}

// persistAt is the size from which a part's validator is kept in its
// sidecar as soon as it is known. A smaller part gets its sidecar only when
// it is closed for a later resume: after a kill -9 it starts over, which
// costs little, and a small file costs no sidecar write and removal.
const persistAt = 1 << 20

// OpenPart opens (creating folders) rel+".part" for writing, keeping what is
// already there for resume. Size is the bytes already held; the hash covers
// them (they are read once on open). Validator is what SetValidator stored
// for those bytes. If another writer has the part open, the error wraps
// ErrPartBusy. A symbolic link as the part, its sidecar or a folder on the
// way under the root is an error wrapping ErrSymlink, and nothing is
// written through it.
func (d *Dir) OpenPart(ctx context.Context, rel string) (*Part, error) {
	final, partPath, err := d.partPaths(rel)
	if err != nil {
		return nil, fmt.Errorf("open part: %w", err)
	}
	f, entries, err := d.inFolder(final, func() (*os.File, error) { return d.openLocked(partPath) })
	if err != nil {
		return nil, fmt.Errorf("open part %s: %w", partPath, err)
	}
	p := &Part{dir: d, final: final, entries: entries, f: f, h: sha256.New()}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open part %s: %w", partPath, err)
	}
	if st.Size() == 0 {
		// A new part: no bytes to hash, no validator to read. A sidecar
		// left without its part (deleted by hand) must not be taken for the
		// validator of the bytes written next.
		if err := removeIfExists(partPath + metaSuffix); err != nil {
			f.Close()
			return nil, fmt.Errorf("open part %s: %w", partPath, err)
		}
		return p, nil
	}
	v, err := d.readFile(partPath + metaSuffix)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.Close()
		return nil, fmt.Errorf("open part %s: %w", partPath, err)
	}
	if isSegmentSidecar(v) {
		if err := p.openSegments(v, st.Size()); err != nil {
			f.Close()
			return nil, fmt.Errorf("open part %s: %w", partPath, err)
		}
		return p, nil
	}
	if err := p.readExisting(ctx); err != nil {
		f.Close()
		return nil, fmt.Errorf("open part %s: %w", partPath, err)
	}
	p.validator = string(v)
	p.saved = p.validator
	return p, nil
}

// CreatePart is OpenPart for a name that ReserveMany has just reserved
// (Reservation.Fresh): nothing can be there yet, so it creates the part
// without looking for one to resume. If a part is there after all, it
// does what OpenPart does. A part it creates replaces nothing when it is
// committed: if something appeared under the name meanwhile, Commit fails
// with ErrNameTaken and leaves it as it is.
func (d *Dir) CreatePart(ctx context.Context, rel string) (*Part, error) {
	final, partPath, err := d.partPaths(rel)
	if err != nil {
		return nil, fmt.Errorf("create part: %w", err)
	}
	f, entries, err := d.inFolder(final, func() (*os.File, error) {
		return d.openFile(partPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	})
	if errors.Is(err, fs.ErrExist) {
		return d.OpenPart(ctx, rel)
	}
	if err != nil {
		return nil, fmt.Errorf("create part %s: %w", partPath, err)
	}
	// Locked, as OpenPart's are, so that a resume elsewhere waits for it.
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("create part %s: %w", partPath, ErrPartBusy)
		}
		return nil, fmt.Errorf("create part %s: lock: %w", partPath, err)
	}
	return &Part{dir: d, final: final, entries: entries, f: f, h: sha256.New(), fresh: true}, nil
}

// partPaths returns the OS paths of rel and of its part.
func (d *Dir) partPaths(rel string) (final, part string, err error) {
	final, err = d.abs(rel)
	return final, final + partSuffix, err
}

// inFolder makes the folder of the OS path final, then opens a file in it
// with open; if the folder, made earlier, was removed meanwhile, it makes
// it again and opens once more.
func (d *Dir) inFolder(final string, open func() (*os.File, error)) (*os.File, *sync.Mutex, error) {
	dir := filepath.Dir(final)
	if err := d.mkdirs(dir); err != nil {
		return nil, nil, err
	}
	mu := d.entryLock(dir)
	mu.Lock()
	f, err := open()
	if errors.Is(err, fs.ErrNotExist) && d.forgetDir(dir) {
		f, err = open()
	}
	mu.Unlock()
	return f, mu, err
}

// openSegments takes up a segmented part from its sidecar. A sidecar that
// is damaged, or whose size is not the file's, cannot say which bytes are
// good: the part starts over, empty (the sidecar goes first).
func (p *Part) openSegments(meta []byte, size int64) error {
	validator, total, segs, err := decodeSegments(meta)
	if err == nil && total == size {
		p.validator, p.saved, p.segOnDisk = validator, validator, true
		p.seg = &segLayout{total: total, segs: segs, lastSave: time.Now()}
		p.size, _ = p.seg.progress()
		return nil
	}
	if err := removeIfExists(p.name() + metaSuffix); err != nil {
		return err
	}
	return p.f.Truncate(0)
}

// openLocked opens path (creating it; not through a symbolic link) and
// locks it. Between the open and the
// lock, the previous holder may have committed and renamed the file away;
// then the locked file is no longer at path and it starts over.
func (d *Dir) openLocked(path string) (*os.File, error) {
	for range 100 {
		f, err := d.openFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		if err := lockFile(f); err != nil {
			f.Close()
			if errors.Is(err, errLocked) {
				return nil, ErrPartBusy
			}
			return nil, fmt.Errorf("lock: %w", err)
		}
		held, err1 := f.Stat()
		named, err2 := os.Lstat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, named) {
			return f, nil
		}
		f.Close()
		if err := errors.Join(err1, err2); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return nil, ErrPartBusy
}

// readExisting hashes the bytes already in the part and leaves the offset at
// its end.
func (p *Part) readExisting(ctx context.Context) error {
	buf := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := p.f.Read(buf)
		p.h.Write(buf[:n])
		p.size += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	end, err := p.f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if end != p.size {
		return fmt.Errorf("part changed while it was read (%d bytes, then %d)", p.size, end)
	}
	return nil
}

// Write appends b to the part and to its hash. A segmented part is written
// with SegmentWriter instead.
func (p *Part) Write(b []byte) (int, error) {
	if p.closed {
		return 0, fmt.Errorf("write part %s: %w", p.name(), os.ErrClosed)
	}
	if p.seg != nil {
		return 0, fmt.Errorf("write part %s: it is laid out in segments", p.name())
	}
	n, err := p.f.Write(b)
	p.h.Write(b[:n])
	p.size += int64(n)
	return n, p.wrote(err)
}

// ReadFrom appends what r yields, until io.EOF, to the part, like Write,
// but hashes on another goroutine while the next bytes are read and
// written, so the hash costs the copy no time of its own. An error from r
// is returned as it is; a failed write is returned wrapped, naming the
// part. Either way the part and its hash hold the bytes written so far. A
// segmented part is written with SegmentWriter instead.
func (p *Part) ReadFrom(r io.Reader) (int64, error) {
	if p.closed {
		return 0, fmt.Errorf("write part %s: %w", p.name(), os.ErrClosed)
	}
	if p.seg != nil {
		return 0, fmt.Errorf("write part %s: it is laid out in segments", p.name())
	}
	// The hash goroutine starts with the second buffer: a small file, read
	// at once, is hashed here. It also starts the write-back of what it
	// has hashed (so written), every writeBehindEvery bytes: that is off
	// the path of the reads and writes, which is the longer.
	ring := newHashRing()
	behind, hashedTo := p.size, p.size // the write-back was started up to behind
	writeBack := func(n int) {
		if hashedTo += int64(n); hashedTo-behind >= writeBehindEvery {
			writeBehind(p.f, behind, hashedTo-behind)
			behind = hashedTo
		}
	}
	var hashed chan struct{}
	defer func() {
		ring.close()
		if hashed != nil {
			<-hashed // the hash is p's again
		} else {
			ring.hash(p.h, nil)
		}
		ring.release()
	}()
	var written int64
	for writes := 0; ; {
		i, buf := ring.take()
		n, rerr := r.Read(buf)
		if n > 0 {
			k, werr := p.f.Write(buf[:n])
			p.size += int64(k)
			written += int64(k)
			ring.written(i, k)
			if writes++; writes == 2 {
				hashed = make(chan struct{})
				go func() {
					defer close(hashed)
					ring.hash(p.h, writeBack)
				}()
			}
			if err := p.wrote(werr); err != nil {
				return written, err
			}
		} else {
			ring.give(i)
		}
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, rerr
		}
	}
}

// wrote ends a write to an unsegmented part that returned err: an error
// names the part (and its path once), and a part grown to persistAt bytes
// saves its validator.
func (p *Part) wrote(err error) error {
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said once
		}
		return fmt.Errorf("write part %s: %w", p.name(), err)
	}
	if p.size >= persistAt && p.validator != p.saved {
		if err := p.saveValidator(); err != nil {
			return err
		}
	}
	if p.ahead.due(p.size) {
		return p.allocateNext()
	}
	return nil
}

// writeBehindEvery is how many bytes ReadFrom writes before it starts
// their write-back to the disk: a big file is mostly on the disk by the
// time it is whole, and the Sync after it has little left to do.
const writeBehindEvery = 8 << 20

// Expect tells a part written from its start the size it will have when
// whole. A part of persistAt bytes or more gets its blocks allocated
// ahead of the writes, where the file system can (its size stays that of
// the bytes written), in steps of allocStep as the bytes arrive: the
// writes cost less, a full disk shows early, and a server that claims a
// huge length and sends little gets little room on the disk.
func (p *Part) Expect(total int64) error {
	if p.closed {
		return fmt.Errorf("allocate part %s: %w", p.name(), os.ErrClosed)
	}
	p.ahead = allocation{}
	if p.seg != nil || total < persistAt || total <= p.size {
		return nil
	}
	p.ahead = allocation{want: total, end: p.size}
	return p.allocateNext()
}

// allocStep is how far ahead of the bytes written a part's blocks are
// allocated: at most this much of a claimed length is taken from the disk
// before the bytes come, and a new step is taken once half of the last
// is written.
const allocStep = 8 << 20

// allocation is what a part written from its start has allocated ahead
// of its writes: up to end, of the want bytes it expects (0: none).
type allocation struct{ want, end int64 }

// due reports whether a part of size bytes should allocate its next step.
func (a allocation) due(size int64) bool { return a.end < a.want && size+allocStep/2 > a.end }

// allocateNext allocates the part's blocks up to allocStep past its end,
// never past the size it expects.
func (p *Part) allocateNext() error {
	from := max(p.ahead.end, p.size)
	to := min(p.ahead.want, p.size+allocStep)
	if to > from {
		if err := allocateAhead(p.f, from, to-from); err != nil {
			return fmt.Errorf("allocate part %s: %w", p.name(), unwrapPath(err))
		}
	}
	p.ahead.end = to
	return nil
}

// Size returns the number of bytes in the part; for a segmented part, the
// bytes its segments hold so far.
func (p *Part) Size() int64 {
	if p.seg != nil {
		n, _ := p.seg.progress()
		return n
	}
	return p.size
}

// Validator returns the If-Range validator stored with the part ("" if
// none). Bytes held without a validator cannot be checked against the
// server's current version.
func (p *Part) Validator() string { return p.validator }

// SetValidator records the If-Range validator (an ETag or Last-Modified) of
// the resource whose bytes the part holds; "" forgets it. It is kept beside
// the part in NAME.part.meta once the part holds persistAt bytes, and when
// the part is closed for a later resume. Until then a sidecar naming another
// validator is removed, so that the bytes on disk are never taken for
// another version's after a kill. Reset leaves the validator alone.
func (p *Part) SetValidator(v string) error {
	if p.closed {
		return fmt.Errorf("set validator of %s: %w", p.name(), os.ErrClosed)
	}
	if p.seg != nil {
		if v == p.validator {
			return nil
		}
		return fmt.Errorf("set validator of %s: it is laid out in segments of another version (reset it first)", p.name())
	}
	p.validator = v
	if p.size >= persistAt {
		return p.saveValidator()
	}
	if p.saved != "" && p.saved != v {
		if err := p.removeSidecar(); err != nil {
			return fmt.Errorf("set validator of %s: %w", p.name(), err)
		}
	}
	return nil
}

// saveValidator writes the validator to the sidecar ("" removes it).
func (p *Part) saveValidator() error {
	var err error
	if p.validator == "" {
		err = removeIfExists(p.name() + metaSuffix)
	} else {
		err = p.rewriteSidecar([]byte(p.validator))
	}
	if err != nil {
		return fmt.Errorf("set validator of %s: %w", p.name(), err)
	}
	p.saved = p.validator
	return nil
}

// rewriteSidecar writes b over the sidecar in place, then cuts what is
// left of the old content. There is no temporary name to rename from
// (NAME.part.meta is the longest name a reservation guards), and no
// truncation first: a process killed at any point leaves the old content,
// or the new one, perhaps followed by the old one's tail, which matches no
// server's validator nor a stream's mark, so the part starts over; never
// an empty sidecar.
func (p *Part) rewriteSidecar(b []byte) error {
	f, err := p.dir.openFile(p.name()+metaSuffix, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b, 0)
	if err == nil {
		err = f.Truncate(int64(len(b)))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeSidecar deletes the sidecar if one was written.
func (p *Part) removeSidecar() error {
	if p.saved == "" && !p.segOnDisk {
		return nil
	}
	if err := removeIfExists(p.name() + metaSuffix); err != nil {
		return err
	}
	p.saved = ""
	p.segOnDisk = false
	return nil
}

// Reset empties the part (the server ignored Range, or the resource
// changed) and its hash. The sidecar goes first: the bytes written next may
// be of another version than the one it names, and a part killed before
// its validator is saved again must start over, not resume.
func (p *Part) Reset() error {
	if p.closed {
		return fmt.Errorf("reset part %s: %w", p.name(), os.ErrClosed)
	}
	if err := p.removeSidecar(); err != nil {
		return fmt.Errorf("reset part %s: %w", p.name(), err)
	}
	if err := p.f.Truncate(0); err != nil {
		return fmt.Errorf("reset part %s: %w", p.name(), err)
	}
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("reset part %s: %w", p.name(), err)
	}
	p.h.Reset()
	p.size = 0
	p.seg = nil
	p.ahead = allocation{}
	return nil
}

// Truncate cuts a part written from its start back to its first size
// bytes (a resume drops what follows the last whole unit it knows of) and
// hashes those again. A size beyond the part's end is an error, and so is
// a part laid out in segments.
func (p *Part) Truncate(size int64) error {
	if p.closed {
		return fmt.Errorf("truncate part %s: %w", p.name(), os.ErrClosed)
	}
	if p.seg != nil {
		return fmt.Errorf("truncate part %s: it is laid out in segments", p.name())
	}
	if size < 0 || size > p.size {
		return fmt.Errorf("truncate part %s to %d bytes: it holds %d", p.name(), size, p.size)
	}
	if size == p.size {
		return nil
	}
	if err := p.f.Truncate(size); err != nil {
		return fmt.Errorf("truncate part %s: %w", p.name(), unwrapPath(err))
	}
	if _, err := p.f.Seek(size, io.SeekStart); err != nil {
		return fmt.Errorf("truncate part %s: %w", p.name(), unwrapPath(err))
	}
	p.h.Reset()
	p.size = size
	if _, err := io.Copy(p.h, io.NewSectionReader(p.f, 0, size)); err != nil {
		return fmt.Errorf("truncate part %s: hash: %w", p.name(), unwrapPath(err))
	}
	return nil
}

// Commit checks the size (want < 0: unknown, no check), removes the
// sidecar, renames NAME.part to NAME (replacing any file there), and
// returns the size and hex SHA-256. The file is whole under its name for
// any process from then on, a killed one included; against a power cut it
// is made durable by the next Sync of the folder, not here: one fsync per
// file would cost more than the write of a small file. (The sidecar goes before
// the rename: a process killed in between leaves a whole part that starts
// over, never a sidecar without its part.) On a size mismatch it returns an
// error wrapping ErrSizeMismatch and the part stays, open. A segmented
// part must have every segment written; what HashAhead did not hash yet is
// hashed first. After a successful Commit the Part is closed.
func (p *Part) Commit(want int64) (size int64, sha string, err error) {
	if p.closed {
		return 0, "", fmt.Errorf("commit %s: %w", p.name(), os.ErrClosed)
	}
	if p.seg != nil {
		written, complete := p.seg.progress()
		if !complete || (want >= 0 && p.seg.total != want) {
			return 0, "", fmt.Errorf("commit %s: %w: have %d bytes of %d, want %d", p.name(), ErrSizeMismatch, written, p.seg.total, want)
		}
		if err := p.hashRest(); err != nil {
			return 0, "", fmt.Errorf("commit %s: %w", p.name(), err)
		}
		p.size = p.seg.total
	}
	if want >= 0 && p.size != want {
		return 0, "", fmt.Errorf("commit %s: %w: have %d bytes, want %d", p.name(), ErrSizeMismatch, p.size, want)
	}
	if err := p.removeSidecar(); err != nil {
		return 0, "", fmt.Errorf("commit %s: %w", p.name(), err)
	}
	// The lock is held through the rename, so no other writer opens the
	// part in between.
	if err := p.rename(); err != nil {
		return 0, "", fmt.Errorf("commit %s: %w", p.name(), err)
	}
	p.closed = true
	if err := p.f.Close(); err != nil {
		return 0, "", fmt.Errorf("commit %s: %w", p.final, err)
	}
	return p.size, hex.EncodeToString(p.h.Sum(nil)), nil
}

// rename puts the part in place under its folder's entry lock. The name
// is reserved, so the check os.Rename makes first (that no folder is in
// the way) is not needed. A symbolic link at the final name is replaced
// (rename(2) does not follow it): nothing is written where it pointed. A
// fresh part replaces nothing at all (putInPlace: ErrNameTaken).
func (p *Part) rename() error {
	if p.entries != nil {
		p.entries.Lock()
		defer p.entries.Unlock()
	}
	err := p.dir.putInPlace(p.name(), p.final, p.fresh)
	if errors.Is(err, ErrNameTaken) {
		return fmt.Errorf("%s: %w", p.final, err)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: p.name(), New: p.final, Err: err}
	}
	return nil
}

// Close closes the part without committing it; the .part stays for a later
// resume. Closing a closed or committed Part does nothing.
func (p *Part) Close() error {
	if p.closed {
		return nil
	}
	var err error
	switch {
	case p.seg != nil:
		p.seg.saveMu.Lock()
		err = p.saveSegments()
		p.seg.saveMu.Unlock()
	case p.validator != p.saved && p.size > 0:
		err = p.saveValidator()
	}
	p.closed = true
	if cerr := p.f.Close(); cerr != nil {
		return fmt.Errorf("close part %s: %w", p.name(), cerr)
	}
	return err
}

// Remove closes the part and deletes it and its sidecar. On a Part that is
// already closed or committed it does nothing.
func (p *Part) Remove() error {
	if p.closed {
		return nil
	}
	// Delete while the lock is still held, then close; the sidecar first,
	// so that a kill in between leaves no sidecar without its part.
	err := p.removeSidecar()
	if err == nil {
		err = removeIfExists(p.name())
	}
	p.closed = true
	err = errors.Join(err, p.f.Close())
	if err != nil {
		return fmt.Errorf("remove part %s: %w", p.name(), err)
	}
	return nil
}

// name returns the OS path of the .part file.
func (p *Part) name() string { return p.final + partSuffix }

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Sync makes every file committed under the folder so far, and the
// database beside it, durable against a power cut: one syncfs(2) of the
// file system, which costs about what one fsync does however many files it
// covers. Download stages call it every syncEvery and when they stop, and
// the supervisor once more at the end of the run.
func (d *Dir) Sync() error {
	if err := syncFS(d.root); err != nil {
		return fmt.Errorf("sync %s: %w", d.root, err)
	}
	return nil
}

// syncDir fsyncs a folder so that a rename in it is durable. Windows cannot
// fsync a folder (and does not need to).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
