package fetcher

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// stallBody wraps a response body. A timer runs while a Read is blocked;
// if it fires before any byte arrives, the request's context is cancelled
// so the Read returns, and the error wraps ErrStalled. Time spent by the
// caller between Reads does not count, so a slow consumer is not cut off,
// and neither is a body that keeps flowing.
type stallBody struct {
	rc      io.ReadCloser
	url     string
	timeout time.Duration
	timer   *time.Timer
	stalled atomic.Bool
	cancel  context.CancelCauseFunc
	release func()
	once    sync.Once
	err     error
	// conn is the HTTP/1 connection the body comes on (nil if not known);
	// eof is set once the body was read to its end.
	conn net.Conn
	eof  atomic.Bool
}

func newStallBody(rc io.ReadCloser, url string, timeout time.Duration, cancel context.CancelCauseFunc, release func()) *stallBody {
	b := &stallBody{rc: rc, url: url, timeout: timeout, cancel: cancel, release: release}
	b.timer = time.AfterFunc(timeout, b.expire)
	b.timer.Stop()
	return b
}

// expire marks the body stalled, then cancels the request (in that order,
// so a Read unblocked by the cancellation sees the mark).
func (b *stallBody) expire() {
	b.stalled.Store(true)
	b.cancel(ErrStalled)
}

func (b *stallBody) stallError() error {
	return fmt.Errorf("read body of %s: no data for %v: %w", b.url, b.timeout, ErrStalled)
}

// Read reads from the body, failing with an error wrapping ErrStalled if
// no byte arrives for the timeout.
func (b *stallBody) Read(p []byte) (int, error) {
	if b.stalled.Load() {
		return 0, b.stallError()
	}
	b.timer.Reset(b.timeout)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	if err == io.EOF {
		b.eof.Store(true)
	}
	if err != nil && err != io.EOF && b.stalled.Load() {
		err = b.stallError()
	}
	return n, err
}

// Close closes the body, ends the request and releases the per-host slot.
// A body closed before its end also closes its connection at once (the
// transport would do it in the background), so that the server has seen
// the request end before the slot goes to the next one.
func (b *stallBody) Close() error {
	b.once.Do(func() {
		b.timer.Stop()
		b.err = b.rc.Close()
		if b.conn != nil && !b.eof.Load() {
			b.conn.Close()
		}
		b.cancel(nil)
		b.release()
	})
	return b.err
}
