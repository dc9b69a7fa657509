package fetcher

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"
)

// hostLimiter enforces, per host, at most perHost requests in flight and at
// least delay between two request starts. In-process it uses a semaphore
// and a clock in memory; with a lock directory it also uses flock(2) on
// files in it, so that every process sharing the directory shares the
// limits:
//
//   - <safe-host>.<i>.lock, i in [0, perHost): slot i, held with LOCK_EX
//     while a request is in flight;
//   - <safe-host>.delay: the next allowed start time (8 bytes, big-endian
//     unix nanoseconds), read-modified-written under LOCK_EX.
//
// flock locks belong to the open file description, so the goroutines of
// one process do not exclude each other through them: the semaphore and
// the inUse flags do that, and the file locks only arbitrate between
// processes. The kernel drops the locks of a process that dies.
//
// The lock files stay open between uses in lockFiles: a file is locked
// while used (a slot's while the slot is held, the delay file's for one
// read-modify-write) and unlocked at once after. So the files open at once
// are as many as the requests in flight plus at most idleLockFiles,
// whatever the number of hosts a crawl meets.
type hostLimiter struct {
	perHost int
	delay   time.Duration
	dir     string
	files   *lockFiles // nil without a lock directory

	mu     sync.Mutex
	closed bool
	hosts  map[string]*hostState
}

// hostState is the limiter state of one host.
type hostState struct {
	name string        // file-name-safe host
	sem  chan struct{} // in-process slots

	mu     sync.Mutex // guards the fields below
	closed bool
	next   time.Time   // in-memory delay clock (no lock dir)
	slots  []*lockFile // the lock file of each slot held, locked; nil for the others
	inUse  []bool      // slot i is held by a goroutine of this process
}

func newHostLimiter(perHost int, delay time.Duration, dir string) *hostLimiter {
	l := &hostLimiter{perHost: perHost, delay: delay, dir: dir, hosts: make(map[string]*hostState)}
	if dir != "" {
		l.files = newLockFiles(dir, idleLockFiles)
	}
	return l
}

// host returns the state of host, creating it on first use.
func (l *hostLimiter) host(host string) (*hostState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errClosed
	}
	h := l.hosts[host]
	if h == nil {
		h = &hostState{
			name:  safeHost(host),
			sem:   make(chan struct{}, l.perHost),
			slots: make([]*lockFile, l.perHost),
			inUse: make([]bool, l.perHost),
		}
		l.hosts[host] = h
	}
	return h, nil
}

// acquire waits for a slot of host and for host's delay, and returns the
// function that gives the slot back (safe to call more than once).
func (l *hostLimiter) acquire(ctx context.Context, host string) (release func(), err error) {
	h, err := l.host(host)
	if err != nil {
		return nil, err
	}
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	slot := -1
	if l.dir != "" {
		if slot, err = l.lockSlot(ctx, h); err != nil {
			<-h.sem
			return nil, err
		}
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if slot >= 0 {
				l.unlockSlot(h, slot)
			}
			<-h.sem
		})
	}
	if l.delay > 0 {
		start, err := l.reserveStart(ctx, h)
		if err == nil {
			err = Sleep(ctx, time.Until(start))
		}
		if err != nil {
			release()
			return nil, err
		}
	}
	return release, nil
}

// lockSlot takes one of host's lock files that no goroutine of this
// process holds and no other process has locked, polling with jitter
// while all are taken.
func (l *hostLimiter) lockSlot(ctx context.Context, h *hostState) (int, error) {
	for n := 0; ; n++ {
		slot, err := l.tryLockSlot(h)
		if err != nil || slot >= 0 {
			return slot, err
		}
		if err := Sleep(ctx, pollWait(n)); err != nil {
			return -1, err
		}
	}
}

// tryLockSlot makes one pass over host's slots; -1 if none is free.
func (l *hostLimiter) tryLockSlot(h *hostState) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return -1, errClosed
	}
	for i := range h.slots {
		if h.inUse[i] {
			continue
		}
		f, ok, err := l.files.tryLock(h.name + "." + strconv.Itoa(i) + ".lock")
		if err != nil {
			return -1, err
		}
		if ok {
			h.slots[i], h.inUse[i] = f, true
			return i, nil
		}
	}
	return -1, nil
}

// unlockSlot gives slot of h back, unlocking its lock file.
func (l *hostLimiter) unlockSlot(h *hostState, slot int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f := h.slots[slot]; f != nil {
		l.files.unlock(f)
		h.slots[slot] = nil
	}
	h.inUse[slot] = false
}

// reserveStart reserves the next start time of a request to host:
// t = max(now, next); next = t + delay. It returns t.
func (l *hostLimiter) reserveStart(ctx context.Context, h *hostState) (time.Time, error) {
	if l.dir == "" {
		h.mu.Lock()
		defer h.mu.Unlock()
		t := time.Now()
		if h.next.After(t) {
			t = h.next
		}
		h.next = t.Add(l.delay)
		return t, nil
	}
	for n := 0; ; n++ {
		t, ok, err := l.tryReserveStart(h)
		if err != nil || ok {
			return t, err
		}
		if err := Sleep(ctx, pollWait(n)); err != nil {
			return time.Time{}, err
		}
	}
}

// tryReserveStart does reserveStart through the delay file if its lock is
// free; ok is false if another process holds it.
func (l *hostLimiter) tryReserveStart(h *hostState) (t time.Time, ok bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return t, false, errClosed
	}
	lf, locked, err := l.files.tryLock(h.name + ".delay")
	if err != nil || !locked {
		return t, false, err
	}
	defer l.files.unlock(lf)
	f := lf.f

	var buf [8]byte
	n, err := f.ReadAt(buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return t, false, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	t = time.Now()
	if n == len(buf) {
		if next := time.Unix(0, int64(binary.BigEndian.Uint64(buf[:]))); next.After(t) {
			t = next
		}
	}
	binary.BigEndian.PutUint64(buf[:], uint64(t.Add(l.delay).UnixNano()))
	if _, err := f.WriteAt(buf[:], 0); err != nil {
		return t, false, fmt.Errorf("write %s: %w", f.Name(), err)
	}
	return t, true, nil
}

// close closes the lock files, which drops the locks of the slots still
// held.
func (l *hostLimiter) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for _, h := range l.hosts {
		h.mu.Lock()
		h.closed = true
		clear(h.slots)
		h.mu.Unlock()
	}
	if l.files == nil {
		return nil
	}
	return l.files.close()
}

func openLockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	return f, nil
}

// pollWait is how long to wait before trying busy locks again after n
// failed tries: a millisecond at first, growing to ten or so for a long
// wait, with jitter so that waiting processes do not move in step. A slot
// held by another process is usually one short request, so waiting long
// would leave it idle; a try costs one flock(2) per slot.
func pollWait(n int) time.Duration {
	base := time.Millisecond << min(n, 3)
	return base + rand.N(base)
}

// safeHost turns a host key into a file name part: lowercase letters,
// digits, '.' and '-' are kept, anything else (such as the ':' before a
// port) becomes '_'.
func safeHost(host string) string {
	b := []byte(host)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '-':
		default:
			b[i] = '_'
		}
	}
	s := string(b)
	if len(s) > 200 {
		s = s[:200]
	}
	if s == "" || s[0] == '.' {
		s = "_" + s
	}
	return s
}
