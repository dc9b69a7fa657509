package store

import "os"

// preallocate gives f the size total, sparse where the file system makes
// holes: its blocks are taken as the bytes arrive. A segmented part needs
// its full size at once (its pieces are written at their offsets), but
// never the disk room of a length that a server may only claim.
func preallocate(f *os.File, total int64) error { return f.Truncate(total) }
