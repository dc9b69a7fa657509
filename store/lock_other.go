//go:build !unix

package store

import "os"

// lockFile is a no-op where flock does not exist; the queue's leases are
// then the only guard against two writers of one .part.
func lockFile(f *os.File) error { return nil }

// renameFile renames old to new.
func renameFile(old, new string) error {
	err := os.Rename(old, new)
	if le, ok := err.(*os.LinkError); ok {
		return le.Err
	}
	return err
}
