package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"crawl/store"
)

// A download stage batches its writes to the queue database: the names of
// the files it leases are reserved together, in one transaction per lease
// (see namer), and the records of finished files are stored together by one
// goroutine (the acker) while the workers go on with the next files. Each
// write then costs one transaction per batch instead of two per file.

// fileAck is a finished file waiting for its task's acknowledgement.
type fileAck struct {
	task store.Task
	file store.File
	kind string // the event to emit once stored
}

// Acker settings: a batch is what finishes within ackEvery of its first
// file, or ackBatch files, whichever comes first, so that the write lock
// is free most of the time for the other stage processes; ackQueue files
// may wait before a worker that finishes one more blocks. A record costs
// little in a batch (AckFiles is two statements for any number) and a
// transaction much, so the window is long enough for a few files of a
// few hundred KB to come in together.
const (
	ackEvery = 20 * time.Millisecond
	ackBatch = 128
	ackQueue = 256
)

// startAcker starts the acker: the goroutine that stores the records of
// finished files in batches (see record). The returned func, called once
// the workers are done, stores what is left and waits for it.
func (s *downloadStage) startAcker(ctx context.Context) (stop func()) {
	in := s.acks
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		batches(in, ackBatch, ackEvery, s.idle, func(batch []fileAck) { s.storeAcks(ctx, batch) })
	}()
	return func() {
		close(in)
		<-exited
	}
}

// storeAcks stores a batch of file records with their acknowledgements,
// trying again through settle while the database cannot take them, and
// tells the supervisor of each one stored.
func (s *downloadStage) storeAcks(ctx context.Context, batch []fileAck) {
	s.settle(ctx, fmt.Sprintf("record %d files", len(batch)), func(c context.Context) error {
		acks := make([]store.FileAck, len(batch))
		for i, a := range batch {
			acks[i] = store.FileAck{ID: a.task.ID, File: a.file}
		}
		errs, err := s.db.AckFiles(c, acks)
		if err != nil {
			return err
		}
		var again []fileAck
		var stored []Event
		for i, a := range batch {
			switch {
			case errs[i] == nil:
				stored = append(stored, Event{Kind: a.kind, URL: a.file.URL, Path: a.file.Path, Bytes: a.file.Bytes})
			case errors.Is(errs[i], store.ErrNoTask):
				fmt.Fprintf(s.log, "crawl: %s: record %s: %v\n", s.owner, a.file.URL, errs[i])
			default:
				again = append(again, a)
				err = errs[i]
			}
		}
		s.ev.emitAll(stored)
		batch = again // the next try is for these
		return err
	})
}

// batches calls handle with what comes on in, in batches of at most max:
// a batch is its first item and what follows within window (with window
// 0, what is already waiting), until in is closed. A word on flush (nil:
// none) ends a batch's window early, once what is already waiting is in.
func batches[T any](in <-chan T, max int, window time.Duration, flush <-chan struct{}, handle func([]T)) {
	for first := range in {
		batch := []T{first}
		var timeout <-chan time.Time
		var timer *time.Timer
		wait := window > 0
		if wait {
			timer = time.NewTimer(window)
			timeout = timer.C
		}
	collect:
		for len(batch) < max {
			if wait {
				select {
				case v, ok := <-in:
					if !ok {
						break collect
					}
					batch = append(batch, v)
				case <-timeout:
					break collect
				case <-flush:
					wait = false // take what is waiting, then store
				}
				continue
			}
			select {
			case v, ok := <-in:
				if !ok {
					break collect
				}
				batch = append(batch, v)
			default:
				break collect
			}
		}
		if timer != nil {
			timer.Stop()
		}
		handle(batch)
	}
}
