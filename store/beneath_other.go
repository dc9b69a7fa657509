//go:build !linux

package store

import "os"

// openFile opens path, under the root, without following a symbolic link
// there (openNoFollow); the folders on the way rest on mkdirs' check.
func (d *Dir) openFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	return openNoFollow(path, flag, perm)
}
