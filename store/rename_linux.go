//go:build linux

package store

import (
	"errors"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// noRenameGuard is set once a file system refused RENAME_NOREPLACE (some
// network and FUSE file systems do): new names are then looked at on disk
// one by one again, and renameNew looks before it renames.
var noRenameGuard atomic.Bool

// renameGuarded reports whether renameNew is atomic here.
func renameGuarded() bool { return !noRenameGuard.Load() }

// renameNew renames old to new unless something is at new: ErrNameTaken.
// It is one renameat2(2) with RENAME_NOREPLACE; where the file system has
// no such flag, it looks first (lstat) and renames, which a file appearing
// in between could still lose to.
func renameNew(old, new string) error {
	for {
		err := unix.Renameat2(unix.AT_FDCWD, old, unix.AT_FDCWD, new, unix.RENAME_NOREPLACE)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EEXIST):
			return ErrNameTaken
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.ENOTSUP):
			noRenameGuard.Store(true)
			return renameLooking(old, new)
		}
		return err
	}
}
