//go:build linux

package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// noOpenat2 is set once openat2(2) turned out to be missing (before Linux
// 5.6) or forbidden (a seccomp filter): openFile then checks as the other
// systems do.
var noOpenat2 atomic.Bool

// openFile opens path, under the root, without following a symbolic link
// on the way from the root, the file itself included: one openat2(2) from
// the root's descriptor with RESOLVE_NO_SYMLINKS, which the kernel
// resolves whole, so a folder swapped for a link at any time is seen. A
// link is an error naming it, matched by ErrSymlink. Where openat2 is not
// to be had, it is openNoFollow (the folders then rest on mkdirs' check).
func (d *Dir) openFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	rel, err := filepath.Rel(d.root, path)
	if noOpenat2.Load() || err != nil || !filepath.IsLocal(rel) {
		return openNoFollow(path, flag, perm)
	}
	root, err := d.rootFile()
	if err != nil {
		return openNoFollow(path, flag, perm)
	}
	how := unix.OpenHow{
		Flags:   uint64(flag | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
	}
	if flag&os.O_CREATE != 0 {
		how.Mode = uint64(perm.Perm())
	}
	for tries := 0; ; tries++ {
		fd, err := unix.Openat2(int(root.Fd()), rel, &how)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), path), nil
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN) && tries < 10:
			// EAGAIN: a rename elsewhere raced the lookup.
			continue
		case errors.Is(err, unix.ENOSYS):
			noOpenat2.Store(true)
			return openNoFollow(path, flag, perm)
		case errors.Is(err, unix.EPERM):
			// A seccomp filter may say so of openat2 itself: the plain
			// open tells.
			return openNoFollow(path, flag, perm)
		case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EXDEV):
			if link := d.linkOnTheWay(path); link != "" {
				return nil, &symlinkError{path: link}
			}
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
}

// linkOnTheWay returns the first symbolic link from the root to path
// (path included), or "" if there is none now.
func (d *Dir) linkOnTheWay(path string) string {
	var link string
	for p := path; p != d.root && filepath.Dir(p) != p; p = filepath.Dir(p) {
		if isSymlink(p) {
			link = p
		}
	}
	return link
}

// rootFile returns the root folder, opened once (O_PATH) as the start of
// openFile's lookups. The root may be a symbolic link: it is followed.
func (d *Dir) rootFile() (*os.File, error) {
	if f := d.rootFD.Load(); f != nil {
		return f, nil
	}
	f, err := os.OpenFile(d.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if !d.rootFD.CompareAndSwap(nil, f) {
		f.Close()
	}
	return d.rootFD.Load(), nil
}

// onDisk reports whether anything, a symbolic link included, is at rel
// (slash-separated, from the root): one fstatat(2) from the root's
// descriptor, which walks only rel and allocates nothing. It answers what
// os.Lstat of the whole path would.
func (d *Dir) onDisk(rel string) (bool, error) {
	root, err := d.rootFile()
	if err != nil {
		return lstatOnDisk(filepath.Join(d.root, filepath.FromSlash(rel)))
	}
	var st unix.Stat_t
	for {
		err = unix.Fstatat(int(root.Fd()), rel, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			break
		}
	}
	switch {
	case err == nil:
		return true, nil
	case err == unix.ENOENT:
		return false, nil
	}
	return false, &fs.PathError{Op: "lstat", Path: filepath.Join(d.root, filepath.FromSlash(rel)), Err: err}
}
