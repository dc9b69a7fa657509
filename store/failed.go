package store

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FailedName is the name of the list of failed URLs in the output folder.
const FailedName = "failed.csv"

// FailedHeader is the header row of failed.csv: url,reason,source. Readers
// of CSV files know a failed.csv by it.
func FailedHeader() []string { return []string{"url", "reason", "source"} }

// WriteFailed writes OUT/failed.csv: the header url,reason,source and one
// row per failure that has a URL, in order, written whole or not at all
// (as the manifest is). It returns the file's path when it wrote one. With
// no failure to list it writes nothing and removes a failed.csv left by an
// earlier run. ctx stops the writing between rows.
func WriteFailed(ctx context.Context, out string, failures []Failure) (path string, err error) {
	path = filepath.Join(out, FailedName)
	rows := 0
	for _, f := range failures {
		if f.URL != "" {
			rows++
		}
	}
	if rows == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("remove stale %s: %w", path, err)
		}
		return "", nil
	}
	err = writeCSVFile(path, ".failed-*.tmp", func(w *csv.Writer) error {
		if err := w.Write(FailedHeader()); err != nil {
			return err
		}
		for _, f := range failures {
			if err := ctx.Err(); err != nil {
				return err
			}
			if f.URL == "" {
				continue
			}
			if err := w.Write([]string{f.URL, f.Reason, f.Source}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	_ = syncDir(out) // make the rename durable where the system allows it
	return path, nil
}
