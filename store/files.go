package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
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
		_, err := db.txExec(ctx, tx, sqlRecordFile,
			f.URL, f.Path, f.Bytes, f.SHA256, f.ContentType, f.Source, f.Worker)
		return err
	})
}

// FileAck is one task to acknowledge with the record of its file.
type FileAck struct {
	ID   int64
	File File
}

// AckFiles is [Backend.AckFiles] in one transaction of a few statements,
// whatever the number of files: they mark the tasks done (sqlAckRows), then
// store the records of those they marked (sqlRecordRows). errs[i] is the
// outcome of acks[i]: nil, or an error wrapping ErrNoTask when that task is
// no longer leased (the others are stored all the same). err is set, and
// nothing is stored, when the transaction itself fails.
func (db *DB) AckFiles(ctx context.Context, acks []FileAck) (errs []error, err error) {
	errs = make([]error, len(acks))
	ids := make([]any, 0, len(acks))
	for i, a := range acks {
		if a.File.URL == "" || a.File.Path == "" {
			errs[i] = fmt.Errorf("ack task %d: file record needs a URL and a path", a.ID)
			continue
		}
		ids = append(ids, a.ID)
	}
	if len(ids) == 0 {
		return errs, nil
	}
	what := fmt.Sprintf("ack %d tasks with their files", len(acks))
	if err := db.prepareRows(ctx, len(ids), sqlAckRows, sqlRecordRows); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	err = db.write(ctx, what, func(ctx context.Context, tx *sql.Tx) error {
		acked, err := db.ackMany(ctx, tx, ids)
		if err != nil {
			return err
		}
		var rows []any
		for i, a := range acks {
			switch {
			case errs[i] != nil:
			case !acked[a.ID]:
				errs[i] = fmt.Errorf("ack task %d with file %s: %w", a.ID, a.File.Path, ErrNoTask)
			default:
				f := a.File
				rows = append(rows, f.URL, f.Path, f.Bytes, f.SHA256, f.ContentType, f.Source, f.Worker)
			}
		}
		_, err = db.execRows(ctx, tx, sqlRecordRows, rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// ackMany marks done the tasks of ids (int64s) inside tx and returns the
// IDs of those that exist.
func (db *DB) ackMany(ctx context.Context, tx *sql.Tx, ids []any) (map[int64]bool, error) {
	acked := make(map[int64]bool, len(ids))
	err := db.eachRows(ctx, tx, sqlAckRows, ids, func(st *sql.Stmt, args []any) error {
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			acked[id] = true
		}
		return rows.Err()
	})
	return acked, err
}

// FileByURL is [Backend.FileByURL].
func (db *DB) FileByURL(ctx context.Context, url string) (File, bool, error) {
	var f File
	err := db.queryRow(quick(ctx), sqlFileByURL, url).
		Scan(&f.URL, &f.Path, &f.Bytes, &f.SHA256, &f.ContentType, &f.Source, &f.Worker)
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, false, nil
	}
	if err != nil {
		return File{}, false, fmt.Errorf("look up file of %s: %w", url, err)
	}
	return f, true, nil
}

// sqlFilesByURL finds the records of the URLs of ?1, a JSON array, each
// with its index in the array.
var sqlFilesByURL = batchSQL(`SELECT j.key, f.url, f.path, f.bytes, f.sha256, f.content_type, f.source, f.worker
	FROM (SELECT key, {v} AS url FROM json_each(?1)) j JOIN files f ON f.url = j.url`)

// FilesByURL looks up the records of urls in one query: the record of
// urls[i] is files[i] if found[i].
func (db *DB) FilesByURL(ctx context.Context, urls []string) (files []File, found []bool, err error) {
	c := codecFor(urls...)
	list := make([]string, len(urls))
	for i, u := range urls {
		list[i] = c.text(u)
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, nil, fmt.Errorf("look up files of %d URLs: %w", len(urls), err)
	}
	rows, err := db.query(quick(ctx), c.of(sqlFilesByURL), b)
	if err != nil {
		return nil, nil, fmt.Errorf("look up files of %d URLs: %w", len(urls), err)
	}
	defer rows.Close()
	files, found = make([]File, len(urls)), make([]bool, len(urls))
	for rows.Next() {
		var i int
		var f File
		if err := rows.Scan(&i, &f.URL, &f.Path, &f.Bytes, &f.SHA256, &f.ContentType, &f.Source, &f.Worker); err != nil {
			return nil, nil, fmt.Errorf("look up files of %d URLs: %w", len(urls), err)
		}
		if i >= 0 && i < len(urls) {
			files[i], found[i] = f, true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("look up files of %d URLs: %w", len(urls), err)
	}
	return files, found, nil
}

// Files is [Backend.Files]: one query, read row by row.
func (db *DB) Files(ctx context.Context) iter.Seq2[File, error] {
	return func(yield func(File, error) bool) {
		rows, err := db.query(ctx, sqlFiles)
		if err != nil {
			yield(File{}, fmt.Errorf("list files: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var f File
			if err := rows.Scan(&f.URL, &f.Path, &f.Bytes, &f.SHA256, &f.ContentType, &f.Source, &f.Worker); err != nil {
				yield(File{}, fmt.Errorf("list files: %w", err))
				return
			}
			if !yield(f, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(File{}, fmt.Errorf("list files: %w", err))
		}
	}
}
