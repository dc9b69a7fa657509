//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package fetcher

import (
	"errors"
	"os"
)

var errNoFlock = errors.New("lock dir needs flock, which this system lacks")

// tryLock fails: there is no flock on this system.
func tryLock(*os.File) (bool, error) { return false, errNoFlock }

// unlock fails: there is no flock on this system.
func unlock(*os.File) error { return errNoFlock }
