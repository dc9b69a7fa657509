package store

import (
	"hash"
	"sync"
)

// Reads of Part.ReadFrom: each goes into a buffer of readBufSize bytes, and
// at most readBufs buffers are in flight (being read and written, or
// waiting for the hash) per part. One side waiting for the other is woken
// once wakeAt buffers wait for it, not for each one: a wake-up costs
// about what hashing a few tens of KiB does.
const (
	readBufSize = 256 << 10
	readBufs    = 4
	wakeAt      = readBufs / 2
)

var readBufPool = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// hashRing passes the buffers that a ReadFrom has read and written to the
// goroutine that hashes them, in order, and gives them back for the next
// reads.
type hashRing struct {
	mu        sync.Mutex
	ioCond    sync.Cond // the reader waits here for a free buffer
	hashCond  sync.Cond // the hasher waits here for a written one
	bufs      [readBufs]*[]byte
	nbufs     int           // buffers taken from the pool so far
	free      [readBufs]int // buffers to read into: free[:nfree]
	nfree     int
	jobs      [readBufs]hashJob // written, to hash: from head, njobs of them
	head      int
	njobs     int
	ioWaits   bool
	hashWaits bool
	done      bool // no more jobs come
}

// hashJob is n bytes read into buffer buf, written, and waiting for the
// hash.
type hashJob struct{ buf, n int }

func newHashRing() *hashRing {
	r := &hashRing{}
	r.ioCond.L = &r.mu
	r.hashCond.L = &r.mu
	return r
}

// take returns a free buffer (its index and bytes), taking one more from
// the pool while fewer than readBufs are in use: a small file needs one.
func (r *hashRing) take() (int, []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.nfree == 0 && r.nbufs < readBufs {
		r.bufs[r.nbufs] = readBufPool.Get().(*[]byte)
		r.nbufs++
		return r.nbufs - 1, *r.bufs[r.nbufs-1]
	}
	for r.nfree == 0 {
		r.ioWaits = true
		r.ioCond.Wait()
	}
	r.nfree--
	i := r.free[r.nfree]
	return i, *r.bufs[i]
}

// give returns buffer i unused.
func (r *hashRing) give(i int) {
	r.mu.Lock()
	r.free[r.nfree] = i
	r.nfree++
	r.mu.Unlock()
}

// written queues the first n bytes of buffer i for the hash.
func (r *hashRing) written(i, n int) {
	r.mu.Lock()
	r.jobs[(r.head+r.njobs)%readBufs] = hashJob{i, n}
	r.njobs++
	if r.hashWaits && r.njobs >= wakeAt {
		r.hashWaits = false
		r.hashCond.Signal()
	}
	r.mu.Unlock()
}

// hash writes the queued buffers to h, in order, until close, and tells
// hashed (when not nil) the length of each once it has given it back.
func (r *hashRing) hash(h hash.Hash, hashed func(n int)) {
	for {
		r.mu.Lock()
		for r.njobs == 0 && !r.done {
			r.hashWaits = true
			r.hashCond.Wait()
		}
		if r.njobs == 0 {
			r.mu.Unlock()
			return
		}
		j := r.jobs[r.head]
		r.head = (r.head + 1) % readBufs
		r.njobs--
		r.mu.Unlock()
		h.Write((*r.bufs[j.buf])[:j.n])
		r.mu.Lock()
		r.free[r.nfree] = j.buf
		r.nfree++
		if r.ioWaits && (r.nfree >= wakeAt || r.njobs == 0) {
			r.ioWaits = false
			r.ioCond.Signal()
		}
		r.mu.Unlock()
		if hashed != nil {
			hashed(j.n)
		}
	}
}

// close says no more buffers come: hash returns once it has hashed those
// queued.
func (r *hashRing) close() {
	r.mu.Lock()
	r.done = true
	r.hashWaits = false
	r.hashCond.Signal()
	r.mu.Unlock()
}

// release puts the buffers back in the pool, once hash has returned.
func (r *hashRing) release() {
	for _, b := range r.bufs[:r.nbufs] {
		readBufPool.Put(b)
	}
	r.nbufs = 0
}
