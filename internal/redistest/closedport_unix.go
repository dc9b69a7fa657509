//go:build unix

package redistest

import (
	"syscall"
	"testing"
)

// ClosedPort returns a loopback TCP port that refuses connections until t
// ends: a socket is bound to it and never listens, so no other server, a
// redis-server another test starts meanwhile included, can take it (a port
// from FreePort is only free a moment).
func ClosedPort(t testing.TB) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("closed port: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("closed port: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("closed port: %v", err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}
