package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"crawl/pipeline/input"
	"crawl/store"
)

// seed puts the run's first tasks: the listing pages, or the URLs to get.
// in is cfg.CSV opened already, or nil; seed closes it.
func seed(ctx context.Context, db store.Backend, cfg *Config, stdin io.Reader, in *input.CSVReader, stderr io.Writer) error {
	if in != nil {
		defer in.Close()
	}
	if cfg.Mode == ModeCrawl {
		return seedPages(ctx, db, cfg)
	}
	// The first puts are small, so that the download stage has work within
	// a few rows of the input; they grow to seedBatch, one statement each.
	batch := seedFirst
	var tasks []store.Task
	n := 0
	flush := func() error {
		if len(tasks) == 0 {
			return nil
		}
		_, err := db.Put(ctx, tasks...)
		tasks = tasks[:0]
		batch = min(2*batch, seedBatch)
		return err
	}
	add := func(t FileTask) error {
		n++
		t.N = n
		tasks = append(tasks, fileTask(t))
		if len(tasks) >= batch {
			return flush()
		}
		return nil
	}
	for _, u := range cfg.URLs {
		if err := add(FileTask{URL: u, Source: "command line"}); err != nil {
			return err
		}
	}
	for _, list := range cfg.Lists {
		if err := input.ReadList(list, stdin, func(u string) error { return add(FileTask{URL: u, Source: list}) }); err != nil {
			return err
		}
	}
	if cfg.CSV != "" {
		if in == nil {
			var err error
			if in, err = input.OpenCSV(cfg.CSVOptions(stderr), stdin); err != nil {
				return err
			}
			defer in.Close()
		}
		if err := seedCSV(in, cfg, add); err != nil {
			return err
		}
	}
	return flush()
}

// The URLs to get are put seedFirst, then twice as many each time, up to
// seedBatch in one put.
const (
	seedFirst = 32
	seedBatch = 1000
)

// The listing pages are seeded a window at a time: the list queue holds
// up to pageWindow of them not yet read, and is topped up as they are
// read, so that --pages 1-999999999999 starts at once and takes no more
// memory than --pages 1-5. How far the seeding got is kept in meta
// (pagesSeededKey, "R:N", see pagePos) after each put: a run stopped
// anywhere, even by kill -9, goes on from there, and a page put again
// because the run stopped between the put and the meta is skipped, being
// seen. A new generation (prepare's Restart) starts from the first page.
const (
	pageWindow     = 64
	pageTopUp      = 50 * time.Millisecond // how often a full window is looked at
	pagesSeededKey = "pages-seeded"
)

// seedPages puts the listing pages of cfg, a window at a time, until all
// are put or ctx ends.
func seedPages(ctx context.Context, db store.Backend, cfg *Config) error {
	pos, err := seededPos(ctx, db)
	if err != nil {
		return err
	}
	for {
		counts, err := db.Counts(ctx)
		if err != nil {
			return err
		}
		l := counts[QueueList]
		if room := pageWindow - l.Ready - l.Leased; room >= pageWindow/2 {
			var seeds []pageSeed
			seeds, pos = cfg.Pages.next(pos, room)
			if len(seeds) == 0 {
				return nil
			}
			tasks := make([]store.Task, len(seeds))
			for i, s := range seeds {
				tasks[i] = pageTask(QueueList, PageTask{URL: cfg.PageURL(s.page), Page: s.page, Open: s.open})
			}
			if _, err := db.Put(ctx, tasks...); err != nil {
				return err
			}
			if err := db.SetMeta(ctx, pagesSeededKey, fmt.Sprintf("%d:%d", pos.R, pos.N)); err != nil {
				return err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pageTopUp):
		}
	}
}

// seededPos is how far an earlier run of this generation seeded the
// listing pages: the start if none did.
func seededPos(ctx context.Context, db store.Backend) (pagePos, error) {
	v, err := db.Meta(ctx, pagesSeededKey)
	if err != nil || v == "" {
		return pagePos{}, err
	}
	var pos pagePos
	if _, err := fmt.Sscanf(v, "%d:%d", &pos.R, &pos.N); err != nil {
		return pagePos{}, fmt.Errorf("read %s %q: %w", pagesSeededKey, v, err)
	}
	return pos, nil
}

// seedCSV adds a task for every row of a CSV that holds a URL.
func seedCSV(in *input.CSVReader, cfg *Config, add func(FileTask) error) error {
	need := cellFields(cfg.Name)
	for {
		row, err := in.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		t := FileTask{URL: row.URL, Source: cfg.CSV, Name: row.Name, Cells: rowCells(row.Cells, need)}
		if row.Source != "" {
			t.Source = row.Source // a failed.csv keeps the source the URL first came from
		}
		if err := add(t); err != nil {
			return err
		}
	}
	return nil
}

// CSVOptions are the CSV flags of c, for input.OpenCSV; skipped rows are
// reported on warn.
func (c *Config) CSVOptions(warn io.Writer) input.CSVOptions {
	return input.CSVOptions{Path: c.CSV, URLCol: c.URLCol, NameCol: c.NameCol, Encoding: c.CSVEncoding, Warn: warn}
}

// drained says whether no queue holds a task that is ready or leased.
func drained(counts map[string]store.QueueCounts) bool {
	for _, c := range counts {
		if c.Ready > 0 || c.Leased > 0 {
			return false
		}
	}
	return true
}
