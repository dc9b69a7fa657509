//go:build !linux

package store

import "os"

// allocateAhead would allocate the blocks of f from off for n bytes ahead
// of the writes; here it leaves that to the writes.
func allocateAhead(*os.File, int64, int64) error { return nil }

// writeBehind would start the write-back of n bytes of f from off; here
// the operating system's own write-back does it.
func writeBehind(*os.File, int64, int64) {}

// syncFS would flush the file system that holds dir to stable storage;
// without syncfs(2) it leaves that to the operating system's own
// write-back.
func syncFS(string) error { return nil }
