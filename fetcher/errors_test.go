package fetcher

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"
)

func TestRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"500", &StatusError{StatusCode: 500}, true},
		{"503 wrapped", fmt.Errorf("fetch x: %w", &StatusError{StatusCode: 503}), true},
		{"599", &StatusError{StatusCode: 599}, true},
		{"408", &StatusError{StatusCode: 408}, true},
		{"429", &StatusError{StatusCode: 429}, true},
		{"404", &StatusError{StatusCode: 404}, false},
		{"403", &StatusError{StatusCode: 403}, false},
		{"416", &StatusError{StatusCode: 416}, false},
		{"stalled", fmt.Errorf("read: %w", ErrStalled), true},
		{"truncated", io.ErrUnexpectedEOF, true},
		{"closed before response", &url.Error{Op: "Get", URL: "u", Err: io.EOF}, true},
		{"reset", &url.Error{Op: "Get", URL: "u", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, true},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{"dns not found", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, false},
		{"dns timeout", &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, true},
		{"bad certificate", &url.Error{Op: "Get", URL: "u", Err: x509.UnknownAuthorityError{}}, false},
		{"cancelled", &url.Error{Op: "Get", URL: "u", Err: context.Canceled}, false},
		{"deadline", &url.Error{Op: "Get", URL: "u", Err: context.DeadlineExceeded}, false},
		{"disallowed", fmt.Errorf("fetch x: %w", ErrDisallowed), false},
		{"redirect loop", &url.Error{Op: "Get", URL: "u", Err: fmt.Errorf("x: %w", ErrRedirectLoop)}, false},
		{"too large", fmt.Errorf("x: %w", ErrTooLarge), false},
		{"closed client", fmt.Errorf("x: %w", errClosed), false},
		{"other", errors.New("something else"), false},
	}
	for _, tt := range tests {
		if got := Retryable(tt.err); got != tt.want {
			t.Errorf("%s: Retryable(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	c := newClient(t, Config{RetryWait: 100 * time.Millisecond})
	plain := errors.New("x")
	for attempt := range 6 {
		base := 100 * time.Millisecond << attempt
		for range 50 {
			d := c.Backoff(attempt, plain)
			if d < base/2 || d >= base*3/2 {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v)", attempt, d, base/2, base*3/2)
			}
		}
	}
	if d := c.Backoff(20, plain); d != maxBackoff {
		t.Errorf("Backoff(20) = %v, want the cap %v", d, maxBackoff)
	}
	if d := c.Backoff(1000, plain); d != maxBackoff {
		t.Errorf("Backoff(1000) = %v, want the cap %v", d, maxBackoff)
	}
	if d := c.Backoff(-1, plain); d < 50*time.Millisecond || d >= 150*time.Millisecond {
		t.Errorf("Backoff(-1) = %v", d)
	}
	se := &StatusError{StatusCode: 503, RetryAfter: 7 * time.Second}
	if d := c.Backoff(3, fmt.Errorf("x: %w", se)); d != 7*time.Second {
		t.Errorf("Backoff with Retry-After 7s = %v", d)
	}
	se.RetryAfter = time.Hour
	if d := c.Backoff(0, se); d != maxRetryAfter {
		t.Errorf("Backoff with Retry-After 1h = %v, want %v", d, maxRetryAfter)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"5", 5 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"300", 5 * time.Minute},
		{"100000", 5 * time.Minute},
		{"99999999999999999999999", 5 * time.Minute}, // overflows uint64: still "a long time"
		{"-1", 0},
		{"1.5", 0},
		{"soon", 0},
		{date(30 * time.Second), 30 * time.Second},
		{date(-time.Minute), 0},
		{date(time.Hour), 5 * time.Minute},
		{now.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestStatusErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *StatusError
		want string
	}{
		{&StatusError{StatusCode: 404, Status: "404 Not Found"}, "http 404 Not Found"},
		{&StatusError{StatusCode: 503}, "http 503 Service Unavailable"},
		{&StatusError{StatusCode: 599}, "http 599"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
