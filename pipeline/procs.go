package pipeline

import (
	"os"
	"runtime"
	"sync"
)

// boostAt is the announced size from which a body streaming into its part
// gives the download stage one more P (see procBoost).
const boostAt = 64 << 20

// procBoost gives the process one more P than the CPUs it may use while a
// big body streams in. Such a download keeps three goroutines busy (the
// socket reads with the file writes, the hash, and the write-back) and the
// writes block in the file system: a P held by a goroutine blocked there
// goes to another only once the runtime notices, and meanwhile the other
// two wait. On 2 cores one more P made a 1 GiB download about a tenth
// faster for less CPU, while for many small files it cost CPU: hence only
// while a big body streams. A GOMAXPROCS the user set is left alone.
type procBoost struct {
	mu   sync.Mutex
	on   bool
	base int // GOMAXPROCS before the boost
	n    int // big bodies streaming
}

func newProcBoost() *procBoost {
	_, set := os.LookupEnv("GOMAXPROCS")
	return &procBoost{on: !set}
}

// big notes a body of size bytes (-1: unknown) starting to stream; the
// function it returns notes its end.
func (b *procBoost) big(size int64) (done func()) {
	if b == nil || !b.on || size < boostAt {
		return func() {}
	}
	b.mu.Lock()
	if b.n == 0 {
		b.base = runtime.GOMAXPROCS(0)
		runtime.GOMAXPROCS(b.base + 1)
	}
	b.n++
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			if b.n--; b.n == 0 {
				runtime.SetDefaultGOMAXPROCS()
			}
			b.mu.Unlock()
		})
	}
}
