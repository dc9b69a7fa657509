package pipeline

import (
	"slices"
	"testing"
	"time"
)

// TestBatchesFlush checks that a word on flush stores a batch at once, with
// what is already waiting, instead of at the end of its window; and that
// the next batch waits its window again.
func TestBatchesFlush(t *testing.T) {
	in := make(chan int, 8)
	flush := make(chan struct{}, 1)
	got := make(chan []int, 4)
	go func() {
		batches(in, 100, time.Hour, flush, func(b []int) { got <- slices.Clone(b) })
		close(got)
	}()
	in <- 1
	in <- 2
	in <- 3
	flush <- struct{}{}
	select {
	case b := <-got:
		if !slices.Equal(b, []int{1, 2, 3}) {
			t.Errorf("first batch %v, want [1 2 3]", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("flush did not end the batch's window")
	}
	in <- 4
	select {
	case b := <-got:
		t.Fatalf("batch %v stored before its window or a flush", b)
	case <-time.After(50 * time.Millisecond):
	}
	in <- 5
	close(in) // stores what is held
	if b := <-got; !slices.Equal(b, []int{4, 5}) {
		t.Errorf("last batch %v, want [4 5]", b)
	}
	if _, ok := <-got; ok {
		t.Error("a batch after the last")
	}
}
