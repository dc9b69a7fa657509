package fetcher

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var (
	// ErrStalled is wrapped by body read errors when no byte arrived for
	// Config.Timeout.
	ErrStalled = errors.New("body stalled")
	// ErrDisallowed is wrapped by the error of a Get or GetPage whose URL
	// robots.txt forbids; no request was made for that URL.
	ErrDisallowed = errors.New("disallowed by robots.txt")
	// ErrRedirectLoop is wrapped by the error of a request whose redirects
	// lead back to a URL already visited.
	ErrRedirectLoop = errors.New("redirect loop")
	// ErrTooLarge is wrapped by the error of GetPage when the body is larger
	// than the limit.
	ErrTooLarge = errors.New("body too large")
	// ErrBadRange is wrapped by the error of a request answered 206
	// whose Content-Range is missing or unusable: its body is no known
	// range of the resource. The request is not retried.
	ErrBadRange = errors.New("206 answer without a usable Content-Range")
	// ErrRangeMismatch is wrapped by the error of Response.Continues: the
	// answer is not the range asked for of the version a part holds.
	ErrRangeMismatch = errors.New("not the range of the version held")
)

// errClosed is returned for requests made after Close.
var errClosed = errors.New("client closed")

const (
	maxBackoff    = 60 * time.Second
	maxRetryAfter = 5 * time.Minute
)

// StatusError is the error of a request whose final answer was not 2xx.
type StatusError struct {
	URL        string        // final URL, after redirects
	StatusCode int           // e.g. 404
	Status     string        // e.g. "404 Not Found"
	RetryAfter time.Duration // from the Retry-After header (capped at 5 min), 0 if absent
}

// Error returns e.g. "http 404 Not Found".
func (e *StatusError) Error() string {
	status := e.Status
	if status == "" {
		status = strings.TrimSpace(fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode)))
	}
	return "http " + status
}

// newStatusError builds the StatusError of resp.
func newStatusError(resp *http.Response) *StatusError {
	return &StatusError{
		URL:        resp.Request.URL.String(),
		StatusCode: resp.StatusCode,
		Status:     resp.Status,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
}

// parseRetryAfter reads a Retry-After value (delay in seconds or an
// HTTP-date) relative to now; 0 when absent, invalid or in the past.
// The result is capped at maxRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || secs >= uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}

// Retryable reports whether err is worth retrying: timeouts, connection
// errors, stalled or truncated bodies, and 408, 429 and 5xx answers.
// Context cancellation and deadlines, robots.txt refusals, redirect loops,
// oversized bodies and certificate errors are not.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrStalled) {
		return true
	}
	var se *StatusError
	if errors.As(err, &se) {
		c := se.StatusCode
		return c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || (c >= 500 && c <= 599)
	}
	switch {
	case errors.Is(err, context.Canceled), hasContextDeadline(err),
		errors.Is(err, ErrDisallowed), errors.Is(err, ErrRedirectLoop),
		errors.Is(err, ErrTooLarge), errors.Is(err, errClosed),
		errors.Is(err, ErrBadRange), errors.Is(err, ErrRangeMismatch):
		return false
	}
	var (
		certErr      *tls.CertificateVerificationError
		unknownAuth  x509.UnknownAuthorityError
		hostnameErr  x509.HostnameError
		certInvalid  x509.CertificateInvalidError
		recordHdrErr tls.RecordHeaderError
	)
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostnameErr) ||
		errors.As(err, &certInvalid) || errors.As(err, &recordHdrErr) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		// A truncated body, or a connection closed before the response.
		return true
	}
	for _, errno := range []syscall.Errno{
		syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ENETDOWN,
	} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return !dnsErr.IsNotFound
	}
	var opErr *net.OpError
	return errors.As(err, &opErr)
}

// hasContextDeadline reports whether err's chain holds the error of a
// context whose deadline passed. (errors.Is is not enough: the transport's
// own response-header timeout claims to be context.DeadlineExceeded.)
func hasContextDeadline(err error) bool {
	if err == nil {
		return false
	}
	if err == context.DeadlineExceeded {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return hasContextDeadline(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if hasContextDeadline(e) {
				return true
			}
		}
	}
	return false
}

// Backoff is how long to wait before retry number attempt (0-based) after
// err. A *StatusError with a RetryAfter gets exactly that (at most 5 min);
// otherwise it is RetryWait·2^attempt times a random factor in [0.5, 1.5),
// at most 60 s.
func (c *Client) Backoff(attempt int, err error) time.Duration {
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		return min(se.RetryAfter, maxRetryAfter)
	}
	attempt = max(0, min(attempt, 40))
	d := float64(c.cfg.RetryWait) * math.Pow(2, float64(attempt)) * (0.5 + rand.Float64())
	if d >= float64(maxBackoff) {
		return maxBackoff
	}
	return time.Duration(d)
}

// Retries is the number of retries after a failed attempt (Config.Retries,
// never negative).
func (c *Client) Retries() int { return c.cfg.Retries }
