package store

import (
	"bufio"
	"encoding/csv"
	"os"
	"path/filepath"
)

// writeCSVFile writes the CSV file path whole or not at all: write fills a
// temporary file beside it (named after pattern, as os.CreateTemp takes
// it), which is flushed, made world-readable, synced and renamed into
// place, so that a reader sees the old file or the new one, never half of
// one. On error the temporary file is removed and path is left as it was.
// Making the rename itself durable (syncing the folder) is the caller's
// call.
func writeCSVFile(path, pattern string, write func(*csv.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), pattern)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 64<<10)
	w := csv.NewWriter(bw)
	if err := write(w); err != nil {
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
