package store

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNameTaken is the error of a commit that found something on disk under
// a name reserved for a new file: it appeared after the name was reserved,
// and is left as it is.
var ErrNameTaken = errors.New("something appeared on disk under this name during the crawl; it was left as it is")

// maxListed is the most entries a folder may hold for its listing to stand
// in for a look at the disk per new name (freeListed); maxListings is the
// most listings a process keeps at once (a crawl may write into a folder
// per page): past it they are all dropped, and read again as needed.
const (
	maxListed   = 4096
	maxListings = 64
)

// listing is what a folder held (names as they are, which is what a look
// at the disk compares on this system) when this process first reserved a
// new name in it.
type listing map[string]bool

// freeListed is freeOnDisk answered from the folder's listing, where this
// system guards a new file's rename against replacing anything
// (renameNew): the names of files this process reserves are in taken, and
// what appears on disk from elsewhere after the listing is caught at the
// rename. A folder of more than maxListed entries, or one that cannot be
// listed, is looked at name by name.
func (d *Dir) freeListed(segs []string) (bool, error) {
	if !renameGuarded() {
		return d.freeOnDisk(segs)
	}
	l := d.listing(strings.Join(segs[:len(segs)-1], "/"))
	if l == nil {
		return d.freeOnDisk(segs)
	}
	leaf := segs[len(segs)-1]
	return !l[leaf] && !l[leaf+partSuffix] && !l[leaf+partSuffix+metaSuffix], nil
}

// listing returns the listing of the folder rel (slash-separated, from the
// root; "" is the root), read once; nil if there is none to go by.
func (d *Dir) listing(rel string) listing {
	if l, ok := d.listed.Load(rel); ok {
		return l.(listing)
	}
	d.listMu.Lock()
	defer d.listMu.Unlock()
	if l, ok := d.listed.Load(rel); ok {
		return l.(listing)
	}
	var l listing
	if names, err := d.readFolder(rel, maxListed+1); err == nil && len(names) <= maxListed {
		l = make(listing, len(names))
		for _, n := range names {
			l[n] = true
		}
	}
	if d.listings++; d.listings > maxListings {
		d.listed.Clear()
		d.listings = 1
	}
	d.listed.Store(rel, l)
	return l
}

// putInPlace renames the OS path from to the OS path to, a name under the
// root reserved for it. A name reserved just now (fresh) replaces nothing:
// if something appeared there from elsewhere, it is ErrNameTaken, and the
// folder's listing, which did not know it, is dropped: the folder's new
// names are looked at name by name from now on.
func (d *Dir) putInPlace(from, to string, fresh bool) error {
	if !fresh {
		return renameFile(from, to)
	}
	err := renameNew(from, to)
	if errors.Is(err, ErrNameTaken) {
		if rel, rerr := filepath.Rel(d.root, filepath.Dir(to)); rerr == nil {
			if rel == "." {
				rel = ""
			}
			d.listed.Store(filepath.ToSlash(rel), listing(nil))
		}
	}
	return err
}

// renameLooking renames old to new unless lstat finds something at new
// (ErrNameTaken).
func renameLooking(old, new string) error {
	there, err := lstatOnDisk(new)
	switch {
	case err != nil:
		return err
	case there:
		return ErrNameTaken
	}
	return renameFile(old, new)
}

// Place puts the file at the OS path made in place under rel, the name
// reserved for it. A name reserved just now (fresh) replaces nothing: if
// something appeared under it, the error wraps ErrNameTaken and both stay
// as they are.
func (d *Dir) Place(made, rel string, fresh bool) error {
	p, err := d.abs(rel)
	if err != nil {
		return err
	}
	if err := d.putInPlace(made, p, fresh); err != nil {
		return &os.LinkError{Op: "rename", Old: made, New: p, Err: err}
	}
	return nil
}

// readFolder returns up to n names in the folder rel (slash-separated,
// from the root; "" is the root), opened as openFile opens files, not
// through a symbolic link; a folder that does not exist yet holds none.
func (d *Dir) readFolder(rel string, n int) ([]string, error) {
	f, err := d.openFile(filepath.Join(d.root, filepath.FromSlash(rel)), os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(n)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return names, err
}
