//go:build !linux

package store

import "os"

// preallocate gives f the size total (a sparse file where the file system
// makes one).
func preallocate(f *os.File, total int64) error { return f.Truncate(total) }

// syncFS would flush the file system that holds dir to stable storage;
// without syncfs(2) it leaves that to the operating system's own
// write-back.
func syncFS(string) error { return nil }
