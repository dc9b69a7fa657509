//go:build !unix

package redistest

import "testing"

// ClosedPort returns a loopback TCP port that was free a moment ago (see
// FreePort): elsewhere than on Unix no socket keeps it.
func ClosedPort(t testing.TB) int {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatalf("closed port: %v", err)
	}
	return port
}
