package pipeline

import (
	"runtime"
	"testing"
)

// TestProcBoost: one more P while at least one big body streams, back to
// the default once the last ends; small bodies, and a GOMAXPROCS the user
// set, change nothing.
func TestProcBoost(t *testing.T) {
	orig := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(orig) })
	runtime.SetDefaultGOMAXPROCS() // what the boost returns to
	base := runtime.GOMAXPROCS(0)
	b := &procBoost{on: true}
	b.big(boostAt - 1)()
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Fatalf("a small body: GOMAXPROCS %d, want %d", got, base)
	}
	end1 := b.big(boostAt)
	end2 := b.big(-1) // unknown size
	end3 := b.big(2 * boostAt)
	if got := runtime.GOMAXPROCS(0); got != base+1 {
		t.Fatalf("big bodies: GOMAXPROCS %d, want %d", got, base+1)
	}
	end1()
	end1() // twice is once
	end2()
	if got := runtime.GOMAXPROCS(0); got != base+1 {
		t.Errorf("one big body left: GOMAXPROCS %d, want %d", got, base+1)
	}
	end3()
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Errorf("none left: GOMAXPROCS %d, want %d", got, base)
	}
	off := &procBoost{on: false}
	off.big(boostAt)()
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Errorf("GOMAXPROCS set by the user: %d, want %d", got, base)
	}
}
