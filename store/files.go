package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// File is the record of one file in the output folder.
type File struct {
	URL, Path   string // Path relative to the out dir, '/' separated
	Bytes       int64
	SHA256      string // hex
	ContentType string
	Source      string // the page or list the URL came from
}

// AckFile marks task id done and records f (the file is already renamed into
// place), in one transaction. Recording a URL again replaces its record and
// keeps its place in the record order.
func (db *DB) AckFile(ctx context.Context, id int64, f File) error {
	if f.URL == "" || f.Path == "" {
		return fmt.Errorf("ack task %d: file record needs a URL and a path", id)
	}
	return db.write(ctx, fmt.Sprintf("ack task %d with file %s", id, f.Path), func(tx *sql.Tx) error {
		if err := db.done(ctx, tx, id); err != nil {
			return err
		}
		_, err := db.stmt(ctx, tx, sqlRecordFile).ExecContext(ctx,
			f.URL, f.Path, f.Bytes, f.SHA256, f.ContentType, f.Source)
		return err
	})
}

// FileByURL returns the record of the file downloaded from url, if any.
func (db *DB) FileByURL(ctx context.Context, url string) (File, bool, error) {
	var f File
	err := db.rs[sqlFileByURL].QueryRowContext(ctx, url).
		Scan(&f.URL, &f.Path, &f.Bytes, &f.SHA256, &f.ContentType, &f.Source)
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, false, nil
	}
	if err != nil {
		return File{}, false, fmt.Errorf("look up file of %s: %w", url, err)
	}
	return f, true, nil
}

// Files returns every recorded file, in record order.
func (db *DB) Files(ctx context.Context) ([]File, error) {
	rows, err := db.rs[sqlFiles].QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	defer rows.Close()
	var fs []File
	for rows.Next() {
		var f File
		if err := rows.Scan(&f.URL, &f.Path, &f.Bytes, &f.SHA256, &f.ContentType, &f.Source); err != nil {
			return nil, fmt.Errorf("list files: %w", err)
		}
		fs = append(fs, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	return fs, nil
}
