//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive, non-blocking flock on f; errLocked if another
// open file holds it. The kernel drops the lock when f is closed or the
// process dies.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errLocked
		default:
			return err
		}
	}
}

// renameFile renames old to new with the system call alone.
func renameFile(old, new string) error {
	for {
		err := syscall.Rename(old, new)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
