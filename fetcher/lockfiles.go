package fetcher

import (
	"container/list"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// idleLockFiles is how many lock files not held stay open for their next
// use. A crawl of one host (or of a few) then opens each of its lock files
// once; one over thousands of hosts keeps no more than this many open
// beyond those held.
const idleLockFiles = 64

// lockFiles keeps the lock files of a lock directory open between uses,
// so that taking and giving back a host's slot costs two flock(2) calls
// and not an open and a close as well. A file is held by one user at a
// time in this process (hostState's inUse flags and its mutex see to
// that); a file held is open, and of the others at most idle stay open,
// the least recently used closed first. Giving a file back unlocks it
// (LOCK_UN) at once, so another process may take it while it stays open
// here. The lock files are never removed while a crawl runs, so the file
// kept open is the one another process opens by its name.
type lockFiles struct {
	dir  string
	idle int

	mu     sync.Mutex
	closed bool
	files  map[string]*lockFile
	lru    list.List // of the *lockFile not held, least recently used first
}

// lockFile is one open lock file of lockFiles.
type lockFile struct {
	name string
	f    *os.File
	held bool
	elem *list.Element // in lockFiles.lru while not held
}

func newLockFiles(dir string, idle int) *lockFiles {
	return &lockFiles{dir: dir, idle: idle, files: make(map[string]*lockFile)}
}

// tryLock takes the flock of the lock file name without waiting; ok is
// false, the file given back, if another process holds it.
func (c *lockFiles) tryLock(name string) (lf *lockFile, ok bool, err error) {
	if lf, err = c.take(name); err != nil {
		return nil, false, err
	}
	ok, err = tryLock(lf.f)
	if err != nil || !ok {
		c.put(lf, false)
	}
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", lf.f.Name(), err)
	}
	return lf, ok, nil
}

// unlock drops the flock of lf and gives it back.
func (c *lockFiles) unlock(lf *lockFile) {
	c.put(lf, true)
}

// take returns the lock file name, open and marked held, opening it if
// it is not open yet.
func (c *lockFiles) take(name string) (*lockFile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClosed
	}
	lf := c.files[name]
	if lf == nil {
		f, err := openLockFile(filepath.Join(c.dir, name))
		if err != nil {
			return nil, err
		}
		lf = &lockFile{name: name, f: f}
		c.files[name] = lf
	} else {
		c.lru.Remove(lf.elem)
		lf.elem = nil
	}
	lf.held = true
	return lf, nil
}

// put gives lf back, dropping its flock first if locked, and closes the
// least recently used files beyond the idle ones kept. A file whose
// unlock fails is closed, which drops the lock all the same.
func (c *lockFiles) put(lf *lockFile, locked bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || !lf.held {
		return // close closed it, which dropped the lock
	}
	lf.held = false
	if locked && unlock(lf.f) != nil {
		c.drop(lf)
		return
	}
	lf.elem = c.lru.PushBack(lf)
	for c.lru.Len() > c.idle {
		c.drop(c.lru.Front().Value.(*lockFile))
	}
}

// drop closes lf and forgets it; mu is held.
func (c *lockFiles) drop(lf *lockFile) {
	if lf.elem != nil {
		c.lru.Remove(lf.elem)
		lf.elem = nil
	}
	delete(c.files, lf.name)
	_ = lf.f.Close()
}

// close closes every lock file, held or not, which drops their locks.
func (c *lockFiles) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var first error
	for _, lf := range c.files {
		if err := lf.f.Close(); err != nil && first == nil {
			first = fmt.Errorf("close lock file: %w", err)
		}
	}
	c.files = nil
	c.lru.Init()
	return first
}
