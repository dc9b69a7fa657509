package pipeline

import (
	"context"
	"errors"
	"io"

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
		var tasks []store.Task
		for _, s := range cfg.Pages.seeds() {
			tasks = append(tasks, pageTask(QueueList, PageTask{URL: cfg.PageURL(s.page), Page: s.page, Open: s.open}))
		}
		_, err := db.Put(ctx, tasks...)
		return err
	}
	const batch = 1000
	var tasks []store.Task
	n := 0
	flush := func() error {
		if len(tasks) == 0 {
			return nil
		}
		_, err := db.Put(ctx, tasks...)
		tasks = tasks[:0]
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
			return usageError(err)
		}
	}
	if cfg.CSV != "" {
		if in == nil {
			var err error
			if in, err = input.OpenCSV(cfg.csvOptions(stderr), stdin); err != nil {
				return usageError(err)
			}
			defer in.Close()
		}
		if err := seedCSV(in, cfg, add); err != nil {
			return err
		}
	}
	return flush()
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

// csvOptions are the CSV flags of cfg; skipped rows are reported on warn.
func (c *Config) csvOptions(warn io.Writer) input.CSVOptions {
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

// usageError makes the *input.UsageError of a list or CSV file a
// *UsageError, as Run's callers know bad usage by; other errors are
// returned as they are.
func usageError(err error) error {
	var bad *input.UsageError
	if errors.As(err, &bad) {
		return &UsageError{Err: err}
	}
	return err
}
