//go:build unix

package store

import (
	"os"
	"syscall"
)

// openNoFollow is os.OpenFile that does not follow path if it is a
// symbolic link (O_NOFOLLOW): that is an error naming path, matched by
// ErrSymlink. The folders above path are not checked here (see mkdirs).
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW, perm)
	if err != nil && isSymlink(path) {
		// ELOOP on Linux and macOS, EMLINK on FreeBSD: asked again, on
		// the error path alone.
		return nil, &symlinkError{path: path}
	}
	return f, err
}
