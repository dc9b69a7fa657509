package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ExtMark stands, in a name given to KeepName, where the extension goes (a
// character of the Unicode private use area, which no name needs).
const ExtMark = "\uE000"

// keptPrefix starts the meta keys of the names KeepName keeps.
const keptPrefix = "kept-name "

// sqlReservedOrKept finds a URL's reserved path, else the name kept for it.
const sqlReservedOrKept = `SELECT path, 1 FROM names WHERE url = ?
	UNION ALL SELECT value, 0 FROM meta WHERE key = ? LIMIT 1`

// Reserved returns the path Reserve gave rawURL, if it gave one (ok); else
// the name KeepName kept for it ("" if none). A download whose name waits
// for the response (its extension comes from the Content-Type) finds,
// after a kill, the name and the .part it had; and a URL that failed before
// its answer came is tried again (from failed.csv, which does not carry its
// name) under the name it was to get.
func (d *Dir) Reserved(ctx context.Context, rawURL string) (path string, ok bool, kept string, err error) {
	if d.db == nil {
		return "", false, "", fmt.Errorf("look up the name of %s: no database", rawURL)
	}
	var v string
	var reserved bool
	err = d.db.queryRow(quick(ctx), sqlReservedOrKept, rawURL, keptPrefix+rawURL).Scan(&v, &reserved)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, "", nil
	case err != nil:
		return "", false, "", fmt.Errorf("look up the name of %s: %w", rawURL, err)
	case reserved:
		return v, true, "", nil
	}
	return "", false, v, nil
}

// KeepName remembers want (a --name result with ExtMark where the
// extension, still unknown, goes) as the name of rawURL, which failed
// before its answer told its type: Reserved gives it back.
func (d *Dir) KeepName(ctx context.Context, rawURL, want string) error {
	if d.db == nil {
		return fmt.Errorf("keep the name of %s: no database", rawURL)
	}
	return d.db.SetMeta(ctx, keptPrefix+rawURL, want)
}

// Unreserve gives back the name path that Reserve or ReserveMany gave
// rawURL, when nothing was written under it (a name reserved on a guess of
// the extension that the response proved wrong). The folders on its way
// stay reserved as folders. A path that is no longer rawURL's is left alone.
func (d *Dir) Unreserve(ctx context.Context, rawURL, path string) error {
	if d.db == nil {
		return fmt.Errorf("give back the name of %s: no database", rawURL)
	}
	return d.db.write(ctx, "give back the name of "+rawURL, func(ctx context.Context, tx *sql.Tx) error {
		res, err := d.db.txExec(ctx, tx, sqlDropName, rawURL, path)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = d.db.txExec(ctx, tx, sqlDropTaken, fold(path))
		return err
	})
}
