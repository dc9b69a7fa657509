//go:build !linux

package store

import (
	"os"
	"path/filepath"
)

// openFile opens path, under the root, without following a symbolic link
// there (openNoFollow); the folders on the way rest on mkdirs' check.
func (d *Dir) openFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	return openNoFollow(path, flag, perm)
}

// onDisk reports whether anything, a symbolic link included, is at rel
// (slash-separated, from the root).
func (d *Dir) onDisk(rel string) (bool, error) {
	return lstatOnDisk(filepath.Join(d.root, filepath.FromSlash(rel)))
}
