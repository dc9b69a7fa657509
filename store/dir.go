package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/text/unicode/norm"
)

// maxNumber bounds the -N search of Reserve (a guard against a loop, not a
// limit anyone should meet: name_hints makes the search short).
const maxNumber = 1 << 20

// rootNames are the names at the top of the output folder that belong to
// crawl itself; Reserve never hands them out (compared case-insensitively).
var rootNames = map[string]bool{".crawl": true, ManifestName: true, FailedName: true}

// Dir is the output folder.
type Dir struct {
	root string
	db   *DB
	made sync.Map // OS paths of folders known to exist
	// folders holds the folded folder paths that have a committed row in
	// taken: free to hold more files, with no need to look again.
	folders sync.Map
	// entries holds a *sync.Mutex per folder (OS path), held while a file
	// is created in it or renamed into place there. The kernel takes the
	// folder's lock for those anyway; taking ours first makes the other
	// writers of the folder wait asleep instead of spinning on the
	// kernel's.
	entries sync.Map
	// rootFD is the root, opened to start lookups from (Linux: openFile).
	rootFD atomic.Pointer[os.File]
	// listed holds the listing of each folder (slash-separated, from the
	// root) this process reserved a new name in lately, and listings how
	// many, under listMu: freeListed.
	listed   sync.Map
	listMu   sync.Mutex
	listings int
}

// entryLock returns the lock of the folder dir (an OS path).
func (d *Dir) entryLock(dir string) *sync.Mutex {
	if mu, ok := d.entries.Load(dir); ok {
		return mu.(*sync.Mutex)
	}
	mu, _ := d.entries.LoadOrStore(dir, new(sync.Mutex))
	return mu.(*sync.Mutex)
}

// NewDir returns the output folder at root, whose name reservations and file
// records live in db. db may be nil for a Dir used only for OpenPart and
// HashFile.
func NewDir(root string, db *DB) *Dir {
	return &Dir{root: filepath.Clean(root), db: db}
}

// Root returns the folder's path, as given to NewDir (cleaned).
func (d *Dir) Root() string { return d.root }

// abs returns the OS path of rel (a '/'-separated path under the root),
// refusing paths that would leave the root.
func (d *Dir) abs(rel string) (string, error) {
	p := filepath.FromSlash(rel)
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("path %q is not inside the output folder", rel)
	}
	return filepath.Join(d.root, p), nil
}

// fold is the form under which names are compared: case-insensitive and
// blind to Unicode normalization (as on Windows and macOS file systems).
func fold(p string) string {
	return strings.ToLower(norm.NFC.String(p))
}

// Reserve returns the path (relative, '/'-separated) where rawURL's file
// goes. want is a relative path from the --name template (it may contain '/'
// and may be hostile); SafePath makes it safe. The same URL always gets the
// same path (persisted, across runs), whatever want is the second time. Two
// different URLs never share one: a name that is taken gets -2, -3, ...
// before the extension. A name is taken when another URL reserved it (or its
// .part, or uses it as a folder), compared case-insensitively; when something
// not ours is on disk there (the file or its .part); or when it is one of
// crawl's own names at the top of the folder (.crawl, manifest.csv,
// failed.csv). A folder on the way that is taken by a file gets the number
// instead.
func (d *Dir) Reserve(ctx context.Context, rawURL, want string) (string, error) {
	if d.db == nil {
		return "", fmt.Errorf("reserve a name for %s: no database", rawURL)
	}
	var path string
	var added []string
	err := d.db.write(ctx, "reserve a name for "+rawURL, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		added = added[:0]
		path, _, err = d.reserveTx(ctx, tx, rawURL, want, &added)
		return err
	})
	if err != nil {
		return "", err
	}
	d.knowFolders(added)
	return path, nil
}

// NameWant is a URL and the name it asks for, for ReserveMany.
type NameWant struct {
	URL, Want string
	// OrKept is for a name whose extension waits for the response, and
	// Want a guess of it: what Reserved has for URL comes first. A name
	// reserved earlier is the outcome (not Fresh); a name KeepName kept is
	// given as Kept, and nothing is reserved; else Want is reserved.
	OrKept bool
}

// Reservation is the outcome of one NameWant in ReserveMany.
type Reservation struct {
	Path string // as Reserve returns it; "" with Kept
	// Fresh: the name was reserved just now, and nothing was on disk under
	// it, nor its .part; CreatePart may create the part.
	Fresh bool
	Kept  string // OrKept only: the name KeepName kept for the URL
}

// ReserveMany is Reserve for several URLs in one transaction, which costs
// about what one Reserve does; res[i] is the outcome of wants[i]. It is
// all or nothing: if one cannot be reserved, none is, and Reserve on each
// tells which and why.
func (d *Dir) ReserveMany(ctx context.Context, wants []NameWant) (res []Reservation, err error) {
	if d.db == nil {
		return nil, fmt.Errorf("reserve names: no database")
	}
	res = make([]Reservation, len(wants))
	if err := d.db.prepareRows(ctx, len(wants), sqlNameRows, sqlTakenRows); err != nil {
		return nil, fmt.Errorf("reserve %d names: %w", len(wants), err)
	}
	var added []string
	err = d.db.write(ctx, fmt.Sprintf("reserve %d names", len(wants)), func(ctx context.Context, tx *sql.Tx) error {
		added = added[:0]
		clear(res)
		b := &nameBatch{d: d, tx: tx, added: &added, rows: map[string]bool{}, paths: map[string]string{}, dirs: map[string]bool{}}
		return b.reserve(ctx, wants, res)
	})
	if err != nil {
		return nil, err
	}
	d.knowFolders(added)
	return res, nil
}

// reserveTx reserves rawURL's path inside tx (see Reserve); fresh tells a
// name reserved just now from one an earlier call reserved.
//
// The folders it adds to taken go to *added, for the caller to remember once
// the transaction is committed.
func (d *Dir) reserveTx(ctx context.Context, tx *sql.Tx, rawURL, want string, added *[]string) (path string, fresh bool, err error) {
	err = d.db.txRow(ctx, tx, sqlNameByURL, rawURL).Scan(&path)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return path, false, err
	}
	path, err = d.reserveNewTx(ctx, tx, rawURL, want, added)
	return path, err == nil, err
}

// reserveNewTx reserves a free path for rawURL, which has none reserved
// yet, from want on (see Reserve).
func (d *Dir) reserveNewTx(ctx context.Context, tx *sql.Tx, rawURL, want string, added *[]string) (path string, err error) {
	segs := strings.Split(SafePath(want), "/")
	last := len(segs) - 1

	// Folders first: each must be free to be a folder.
	known := 0 // segs[:known] are folders with a row in taken
	for i := range last {
		if _, ok := d.folders.Load(fold(strings.Join(segs[:i+1], "/"))); ok && known == i {
			known = i + 1
			continue
		}
		base := segs[i]
		for n := 1; ; n++ {
			if n > 1 {
				segs[i] = numbered(base, n, false, maxSegment)
			}
			free, err := d.dirFree(ctx, tx, segs[:i+1])
			if err != nil {
				return "", err
			}
			if free {
				break
			}
			if n >= maxNumber {
				return "", fmt.Errorf("no free folder name for %q", strings.Join(segs[:i+1], "/"))
			}
		}
	}

	// Then the file, from the last number handed out for this name on.
	base := segs[last]
	hintKey := fold(strings.Join(segs, "/"))
	for n := 1; ; n++ {
		if n > 1 {
			segs[last] = numbered(base, n, true, maxLeaf)
		}
		free, err := d.leafFree(ctx, tx, segs)
		if err != nil {
			return "", err
		}
		if free {
			if n > 1 {
				if _, err := d.db.txExec(ctx, tx, sqlSetHint, hintKey, n); err != nil {
					return "", err
				}
			}
			break
		}
		if n >= maxNumber {
			return "", fmt.Errorf("no free file name for %q", strings.Join(segs, "/"))
		}
		if n == 1 {
			var hint int
			err := d.db.txRow(ctx, tx, sqlGetHint, hintKey).Scan(&hint)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return "", err
			}
			n = max(n, hint) // the loop's n++ moves on to hint+1 (and at least 2)
		}
	}

	path = strings.Join(segs, "/")
	if _, err := d.db.txExec(ctx, tx, sqlAddName, rawURL, path); err != nil {
		return "", err
	}
	add, err := d.db.stmt(ctx, tx, sqlAddTaken)
	if err != nil {
		return "", err
	}
	if _, err := add.ExecContext(ctx, fold(path), 1); err != nil {
		return "", err
	}
	for i := known; i < last; i++ {
		f := fold(strings.Join(segs[:i+1], "/"))
		if _, err := add.ExecContext(ctx, f, 0); err != nil {
			return "", err
		}
		*added = append(*added, f)
	}
	return path, nil
}

// knowFolders remembers folders whose rows in taken are committed.
func (d *Dir) knowFolders(folds []string) {
	for _, f := range folds {
		d.folders.Store(f, struct{}{})
	}
}

// dirFree reports whether the folder segs (from the root) can hold the new
// file: no reservation uses that name for a file, and on disk it is missing
// or a folder.
func (d *Dir) dirFree(ctx context.Context, tx *sql.Tx, segs []string) (bool, error) {
	p := strings.Join(segs, "/")
	f := fold(p)
	if len(segs) == 1 && rootNames[f] {
		return false, nil
	}
	var n int
	c := dirClashes(f)
	err := d.db.txRow(ctx, tx, sqlTakenLeaf, c[0], c[1], c[2]).Scan(&n)
	if err != nil || n > 0 {
		return false, err
	}
	return d.dirOnDiskFree(p)
}

// dirClashes returns the folded names whose rows in taken, if they are
// files, keep the folder f (folded) from being reserved: those
// sqlTakenLeaf asks about ("" is no name).
func dirClashes(f string) [3]string {
	return [3]string{f, trimName(f, partSuffix), trimName(f, partSuffix+metaSuffix)}
}

// dirOnDiskFree reports whether the folder p (from the root) is missing on
// disk or a folder.
func (d *Dir) dirOnDiskFree(p string) (bool, error) {
	fi, err := os.Stat(filepath.Join(d.root, filepath.FromSlash(p)))
	switch {
	case err == nil:
		return fi.IsDir(), nil
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	default:
		return false, err
	}
}

// trimName returns f without suffix, or "" (which is no name) if f does not
// end in it.
func trimName(f, suffix string) string {
	if len(f) > len(suffix) && strings.HasSuffix(f, suffix) {
		return f[:len(f)-len(suffix)]
	}
	return ""
}

// leafFree reports whether the file segs (from the root) is free: neither it
// nor its .part nor its .part.meta is reserved (as a file or a folder) or on
// disk.
func (d *Dir) leafFree(ctx context.Context, tx *sql.Tx, segs []string) (bool, error) {
	p := strings.Join(segs, "/")
	f := fold(p)
	if len(segs) == 1 && rootNames[f] {
		return false, nil
	}
	var n int
	err := d.db.txRow(ctx, tx, sqlLeafTaken, f, f+partSuffix, f+partSuffix+metaSuffix,
		trimName(f, partSuffix), trimName(f, partSuffix+metaSuffix)).Scan(&n)
	if err != nil || n > 0 {
		return false, err
	}
	return d.freeOnDisk(segs)
}

// freeOnDisk reports whether nothing is on disk under the file segs (from
// the root), its .part or its .part.meta.
func (d *Dir) freeOnDisk(segs []string) (bool, error) {
	rel := strings.Join(segs, "/")
	for _, s := range [...]string{rel, rel + partSuffix, rel + partSuffix + metaSuffix} {
		if there, err := d.onDisk(s); there || err != nil {
			return false, err
		}
	}
	return true, nil
}

// lstatOnDisk reports whether anything, a symbolic link included, is at
// the OS path p.
func lstatOnDisk(p string) (bool, error) {
	_, err := os.Lstat(p)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// HashFile returns the size and hex SHA-256 of an existing file under the
// root (to record a file found complete on disk). A symbolic link there is
// an error (ErrSymlink): it is no file of ours.
func (d *Dir) HashFile(rel string) (int64, string, error) {
	p, err := d.abs(rel)
	if err != nil {
		return 0, "", fmt.Errorf("hash file: %w", err)
	}
	f, err := d.openFile(p, os.O_RDONLY, 0)
	if err != nil {
		return 0, "", fmt.Errorf("hash file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("hash file %s: %w", p, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
