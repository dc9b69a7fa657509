package store

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"iter"
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
	return d.WriteManifestOf(ctx, d.db.Files(ctx), false, "")
}

// WriteManifestOf writes ROOT/manifest.csv for the files yielded, as
// WriteManifest does, holding one record at a time. With workers the
// manifest has a seventh column, worker, naming who holds each file
// (File.Worker): the distributed crawl's coordinator lists every file of
// the crawl, and takes the records of files held by a worker other than
// local as they are, since they are on another machine's disk.
func (d *Dir) WriteManifestOf(ctx context.Context, files iter.Seq2[File, error], workers bool, local string) error {
	if err := os.MkdirAll(d.root, 0o755); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	header := manifestHeader
	if workers {
		header = append(header[:len(header):len(header)], "worker")
	}
	path := filepath.Join(d.root, ManifestName)
	err := writeCSVFile(path, ".manifest-*.tmp", func(w *csv.Writer) error {
		if err := w.Write(header); err != nil {
			return err
		}
		row := make([]string, 0, len(header))
		for f, err := range readAhead(files, 256) {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			row = append(row[:0], f.URL, f.Path, strconv.FormatInt(f.Bytes, 10), f.SHA256, f.ContentType, f.Source)
			if workers {
				row = append(row, f.Worker)
				if f.Worker != local {
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

// readAhead yields what seq yields, read on a goroutine of its own, up to
// n values a batch and two batches ahead: reading the records and looking
// for their files overlap. Ending early stops the reading.
func readAhead[T any](seq iter.Seq2[T, error], n int) iter.Seq2[T, error] {
	type item struct {
		v   T
		err error
	}
	return func(yield func(T, error) bool) {
		batches := make(chan []item, 2)
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			defer close(batches)
			send := func(b []item) bool {
				select {
				case batches <- b:
					return true
				case <-stop:
					return false
				}
			}
			b := make([]item, 0, n)
			for v, err := range seq {
				if b = append(b, item{v, err}); len(b) == n || err != nil {
					if !send(b) || err != nil {
						return
					}
					b = make([]item, 0, n)
				}
			}
			if len(b) > 0 {
				send(b)
			}
		}()
		defer func() {
			close(stop)
			<-done
		}()
		for b := range batches {
			for _, it := range b {
				if !yield(it.v, it.err) {
					return
				}
			}
		}
	}
}
