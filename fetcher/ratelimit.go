package fetcher

import (
	"context"
	"fmt"
	"io"
	"time"

	"golang.org/x/time/rate"
)

// rateBurst is the most bytes one body read takes at once from the shared
// limit: a read buffer (io.Copy's), so that the rate is kept smoothly,
// not in bursts of whole files.
const rateBurst = 32 << 10

// tokenWaiter is the shared limit of a Client's body reads: a
// *rate.Limiter.
type tokenWaiter interface {
	WaitN(ctx context.Context, n int) error
	Burst() int
}

// newRateLimit returns the limit for bytesPerSec, or nil for none. Its
// bucket starts empty, so that not even the first moment goes over it.
func newRateLimit(bytesPerSec int64) tokenWaiter {
	if bytesPerSec <= 0 {
		return nil
	}
	burst := int(min(rateBurst, bytesPerSec))
	lim := rate.NewLimiter(rate.Limit(bytesPerSec), burst)
	lim.AllowN(time.Now(), burst)
	return lim
}

// rateBody is a response body whose reads, together with those of every
// other body of its Client, stay under Config.RateLimit: each read takes
// at most a burst of bytes, then waits until the limit allows them. The
// waiting is not a stall (the stall timer runs only while the connection
// is read).
type rateBody struct {
	io.ReadCloser
	ctx context.Context
	url string
	lim tokenWaiter
}

// Read reads at most a burst and waits for the limit to allow what came.
func (b *rateBody) Read(p []byte) (int, error) {
	if burst := b.lim.Burst(); len(p) > burst {
		p = p[:burst]
	}
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		if werr := b.lim.WaitN(b.ctx, n); werr != nil && (err == nil || err == io.EOF) {
			if cause := context.Cause(b.ctx); cause != nil {
				werr = cause
			}
			err = fmt.Errorf("read body of %s: wait for the rate limit: %w", b.url, werr)
		}
	}
	return n, err
}
