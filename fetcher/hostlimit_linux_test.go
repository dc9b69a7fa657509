package fetcher

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// openIn counts the files this process has open under dir.
func openIn(t *testing.T, dir string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, dir+"/") {
			n++
		}
	}
	return n
}

// TestLockFilesBounded: the lock files open are those of the slots held
// and at most idleLockFiles others, whatever the number of hosts met:
// after a thousand hosts (their slots and delays taken and given back),
// three slots held, no more than idleLockFiles+3 are open, and none once
// the limiter is closed; a slot given back is free to another process at
// once, though its file stays open here; a host met again opens nothing.
func TestLockFilesBounded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := newHostLimiter(2, time.Nanosecond, dir)
	defer l.close()
	ctx := context.Background()
	var held []func()
	for i := range 1000 {
		release, err := l.acquire(ctx, "h"+strconv.Itoa(i)+".example")
		if err != nil {
			t.Fatal(err)
		}
		if i%400 == 0 {
			held = append(held, release)
		} else {
			release()
		}
	}
	if n := openIn(t, dir); n > len(held)+idleLockFiles {
		t.Errorf("%d lock files open with %d slots held", n, len(held))
	}
	for _, release := range held {
		release()
	}
	if n := openIn(t, dir); n > idleLockFiles {
		t.Errorf("%d lock files open with no slot held", n)
	}
	// Another limiter on the directory stands for another process.
	other := newHostLimiter(1, 0, dir)
	defer other.close()
	for range 2 {
		release, err := other.acquire(ctx, "h999.example")
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	before := openIn(t, dir)
	release, err := other.acquire(ctx, "h999.example")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if n := openIn(t, dir); n != before {
		t.Errorf("a host met again opened %d lock files", n-before)
	}
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	if err := other.close(); err != nil {
		t.Fatal(err)
	}
	if n := openIn(t, dir); n != 0 {
		t.Errorf("%d lock files open after close", n)
	}
}
