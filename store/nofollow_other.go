//go:build !unix

package store

import "os"

// openNoFollow is os.OpenFile that refuses path if it is a symbolic link:
// that is an error naming path, matched by ErrSymlink. Without O_NOFOLLOW
// it looks first (Lstat), so a link planted between the look and the open
// is not seen.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	if isSymlink(path) {
		return nil, &symlinkError{path: path}
	}
	return os.OpenFile(path, flag, perm)
}
