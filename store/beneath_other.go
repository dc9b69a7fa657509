//go:build !linux

package store

import (
	"errors"
	"io"
	"io/fs"
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

// readFolder returns up to n names in the folder rel (slash-separated,
// from the root; "" is the root); a folder that does not exist yet holds
// none.
func (d *Dir) readFolder(rel string, n int) ([]string, error) {
	f, err := os.Open(filepath.Join(d.root, filepath.FromSlash(rel)))
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
