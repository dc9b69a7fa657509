package store

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// allocateAhead allocates the blocks of f from off for n bytes without
// changing its size (FALLOC_FL_KEEP_SIZE), so that appending there costs
// less and a full disk shows before the bytes come; where the file system
// cannot, it does nothing. Parts call it in bounded steps (see
// Part.Expect), never for the whole of a length a server claims.
func allocateAhead(f *os.File, off, n int64) error {
	_, err := fallocate(f, unix.FALLOC_FL_KEEP_SIZE, off, n)
	return err
}

// fallocate is fallocate(2) on f, retried when interrupted; ok is false,
// with no error, where the file system or the kernel cannot do it.
func fallocate(f *os.File, mode uint32, off, n int64) (ok bool, err error) {
	for {
		err := syscall.Fallocate(int(f.Fd()), mode, off, n)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.ENOSYS):
			return false, nil
		default:
			return false, &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
		}
	}
}

// writeBehind starts the write-back of n bytes of f from off to the disk,
// without waiting for it (sync_file_range(2), SYNC_FILE_RANGE_WRITE): the
// data gets to the disk while the download goes on, not all at the next
// Sync. It promises nothing, so a failure is ignored.
func writeBehind(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// syncFS flushes to stable storage everything written to the file system
// that holds dir: the files, their names and the database (syncfs(2)).
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		err := unix.Syncfs(int(f.Fd()))
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		default:
			return &os.PathError{Op: "syncfs", Path: dir, Err: err}
		}
	}
}
