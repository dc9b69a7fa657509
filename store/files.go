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
	// Worker names the worker (host and folder) whose out folder holds
	// the file, in a crawl spread over several machines; "" otherwise.
	Worker string
}

// AckFile is [Backend.AckFile], in one transaction.
func (db *DB) AckFile(ctx context.Context, id int64, f File) error {
	if f.URL == "" || f.Path == "" {
		return fmt.Errorf("ack task %d: file record needs a URL and a path", id)
	}
	return db.write(ctx, fmt.Sprintf("ack task %d with file %s", id, f.Path), func(ctx context.Context, tx *sql.Tx) error {
		if err := db.done(ctx, tx, id); err != nil {
			return err
		}
		_, err := db.stmt(ctx, tx, sqlRecordFile).ExecContext(ctx,
			f.URL, f.Path, f.Bytes, f.SHA256, f.ContentType, f.Source, f.Worker)
		return err
	})
}

// FileAck is one task to acknowledge with the record of its file.
type FileAck struct {
	ID   int64
	File File
}

// AckFiles is [Backend.AckFiles] in one transaction, which costs about
// what one AckFile does. errs[i] is the outcome of acks[i]: nil, or
// an error wrapping ErrNoTask when that task is no longer leased (the
// others are stored all the same). err is set, and nothing is stored, when
// the transaction itself fails.
func (db *DB) AckFiles(ctx context.Context, acks []FileAck) (errs []error, err error) {
	errs = make([]error, len(acks))
	for i, a := range acks {
		if a.File.URL == "" || a.File.Path == "" {
			errs[i] = fmt.Errorf("ack task %d: file record needs a URL and a path", a.ID)
		}
	}
	err = db.write(ctx, fmt.Sprintf("ack %d tasks with their files", len(acks)), func(ctx context.Context, tx *sql.Tx) error {
		done, rec := db.stmt(ctx, tx, sqlAck), db.stmt(ctx, tx, sqlRecordFile)
		for i, a := range acks {
			if errs[i] != nil {
				continue
			}
			res, err := done.ExecContext(ctx, a.ID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				errs[i] = fmt.Errorf("ack task %d with file %s: %w", a.ID, a.File.Path, ErrNoTask)
				continue
			}
			f := a.File
			if _, err := rec.ExecContext(ctx, f.URL, f.Path, f.Bytes, f.SHA256, f.ContentType, f.Source, f.Worker); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// FileByURL is [Backend.FileByURL].
func (db *DB) FileByURL(ctx context.Context, url string) (File, bool, error) {
	var f File
	err := db.rs[sqlFileByURL].QueryRowContext(quick(ctx), url).
		Scan(&f.URL, &f.Path, &f.Bytes, &f.SHA256, &f.ContentType, &f.Source, &f.Worker)
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, false, nil
	}
	if err != nil {
		return File{}, false, fmt.Errorf("look up file of %s: %w", url, err)
	}
	return f, true, nil
}

// Files is [Backend.Files].
func (db *DB) Files(ctx context.Context) ([]File, error) {
	rows, err := db.rs[sqlFiles].QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	defer rows.Close()
	var fs []File
	for rows.Next() {
		var f File
		if err := rows.Scan(&f.URL, &f.Path, &f.Bytes, &f.SHA256, &f.ContentType, &f.Source, &f.Worker); err != nil {
			return nil, fmt.Errorf("list files: %w", err)
		}
		fs = append(fs, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	return fs, nil
}
