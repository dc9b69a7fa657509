package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// childAttr makes a stage process die with its supervisor, so a killed
// supervisor leaves no orphan working on.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// lockDir takes OUT/.crawl/lock so that two runs never work in one folder
// at once. The kernel drops the lock when the process dies.
func lockDir(stateDir string) (func(), error) {
	path := filepath.Join(stateDir, "lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, &UsageError{Err: fmt.Errorf("another crawl is running in %s", filepath.Dir(stateDir))}
	}
	return func() { f.Close() }, nil
}
