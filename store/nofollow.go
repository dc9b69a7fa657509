package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrSymlink is matched (errors.Is) by the error of a write under the
// output folder that met a symbolic link where a file or a folder was
// expected. Nothing is written through such a link: in a shared or synced
// folder it could lead anywhere.
var ErrSymlink = errors.New("is a symbolic link")

// symlinkError names the path that is a symbolic link.
type symlinkError struct{ path string }

func (e *symlinkError) Error() string        { return e.path + " is a symbolic link" }
func (e *symlinkError) Is(target error) bool { return target == ErrSymlink }

// isSymlink reports whether path is itself a symbolic link.
func isSymlink(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&fs.ModeSymlink != 0
}

// readFile reads the file at path, under the root, not through a symbolic
// link (see openFile).
func (d *Dir) readFile(path string) ([]byte, error) {
	f, err := d.openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// mkdirs makes the folder dir (an OS path under the root) and those above
// it, checking each one below the root on the way: a symbolic link, or a
// file, where a folder is expected is an error, and nothing is made
// through it. The root itself may be a link (the user's choice). A folder
// checked (or made) is remembered for the life of the Dir, so a small file
// costs no system call here once its folder is known.
//
// The check is a walk of Lstat calls, then the files are opened by path:
// a folder swapped for a link after it was checked (during this run, by
// someone who can write in the output folder) is not seen here. On Linux
// the files are then opened from the root with openat2(2), refusing a
// link anywhere on the way, which does not race; elsewhere only the file
// itself is opened with O_NOFOLLOW. The removals and the rename that puts
// a part in place go by path.
func (d *Dir) mkdirs(dir string) error {
	if _, ok := d.made.Load(dir); ok {
		return nil
	}
	rel, err := filepath.Rel(d.root, dir)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return fmt.Errorf("folder %s is not inside the output folder %s", dir, d.root)
	}
	if _, ok := d.made.Load(d.root); !ok {
		if err := os.MkdirAll(d.root, 0o755); err != nil {
			return err
		}
		d.made.Store(d.root, true)
	}
	if rel == "." {
		return nil
	}
	p := d.root
	for _, name := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, name)
		if _, ok := d.made.Load(p); ok {
			continue
		}
		if err := checkDir(p); err != nil {
			return err
		}
		d.made.Store(p, true)
	}
	return nil
}

// checkDir makes the folder p if it is missing; it is an error for p to be
// a symbolic link or not a folder.
func checkDir(p string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		err = os.Mkdir(p, 0o755)
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
		fi, err = os.Lstat(p) // made meanwhile, by another writer
	}
	switch {
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return &symlinkError{path: p}
	case !fi.IsDir():
		return fmt.Errorf("%s is not a folder", p)
	}
	return nil
}

// forgetDir is for a folder that mkdirs made but that is gone (removed by
// hand, perhaps with those above it): it makes it again and reports
// whether it could.
func (d *Dir) forgetDir(dir string) bool {
	d.rootFD.Store(nil) // the root may be gone too; the old one is closed when collected
	for p := dir; ; p = filepath.Dir(p) {
		d.made.Delete(p)
		if p == d.root || filepath.Dir(p) == p {
			break
		}
	}
	return d.mkdirs(dir) == nil
}
