//go:build !linux

package store

import "os"

// preallocate gives f the size total (a sparse file where the file system
// makes one).
func preallocate(f *os.File, total int64) error { return f.Truncate(total) }
