package store

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// ManifestName is the name of the manifest in the output folder.
const ManifestName = "manifest.csv"

// manifestHeader is the first row of manifest.csv.
var manifestHeader = []string{"url", "path", "bytes", "sha256", "content_type", "source"}

// WriteManifest writes ROOT/manifest.csv: a header row
// url,path,bytes,sha256,content_type,source and one row per recorded file
// that exists on disk, in record order. It writes a temporary file and
// renames it into place, so a reader sees the old manifest or the new one,
// never half of one.
func (d *Dir) WriteManifest(ctx context.Context) error {
	if d.db == nil {
		return errors.New("write manifest: no database")
	}
	files, err := d.db.Files(ctx)
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return d.WriteManifestOf(ctx, files, nil, "")
}

// WriteManifestOf writes ROOT/manifest.csv for the given files, as
// WriteManifest does. With workers (one name per file) the manifest has a
// seventh column, worker, naming who holds each file: the distributed
// crawl's coordinator lists every file of the crawl, and takes the records
// of files held by a worker other than local as they are, since they are
// on another machine's disk.
func (d *Dir) WriteManifestOf(ctx context.Context, files []File, workers []string, local string) error {
	if workers != nil && len(workers) != len(files) {
		return fmt.Errorf("write manifest: %d workers for %d files", len(workers), len(files))
	}
	if err := os.MkdirAll(d.root, 0o755); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	header := manifestHeader
	if workers != nil {
		header = append(header[:len(header):len(header)], "worker")
	}
	path := filepath.Join(d.root, ManifestName)
	err := writeCSVFile(path, ".manifest-*.tmp", func(w *csv.Writer) error {
		if err := w.Write(header); err != nil {
			return err
		}
		for i, f := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			row := []string{f.URL, f.Path, strconv.FormatInt(f.Bytes, 10), f.SHA256, f.ContentType, f.Source}
			if workers != nil {
				row = append(row, workers[i])
				if workers[i] != local {
					if err := w.Write(row); err != nil {
						return err
					}
					continue
				}
			}
			p, err := d.abs(f.Path)
			if err != nil {
				continue // not a path Reserve gives; never on disk under the root
			}
			fi, err := os.Stat(p)
			if errors.Is(err, fs.ErrNotExist) || err == nil && !fi.Mode().IsRegular() {
				continue
			}
			if err != nil {
				return err
			}
			if err := w.Write(row); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = syncDir(d.root)
	}
	if err != nil {
		return fmt.Errorf("write manifest %s: %w", path, err)
	}
	return nil
}
