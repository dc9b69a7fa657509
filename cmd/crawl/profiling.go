package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// startProfile writes a CPU profile, and a heap profile at the end, of this
// process into the folder named by CRAWL_PROFILE, when it is set. Every
// stage process and the supervisor each write their own pair.
func startProfile(role string, stderr io.Writer) func() {
	dir := os.Getenv("CRAWL_PROFILE")
	if dir == "" {
		return func() {}
	}
	base := filepath.Join(dir, fmt.Sprintf("%s-%d", role, os.Getpid()))
	f, err := os.Create(base + ".cpu.prof")
	if err != nil {
		fmt.Fprintf(stderr, "crawl: profile: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(stderr, "crawl: profile: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		h, err := os.Create(base + ".heap.prof")
		if err != nil {
			return
		}
		defer h.Close()
		runtime.GC()
		_ = pprof.WriteHeapProfile(h)
	}
}
