package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
)

// The batch forms of the name reservation's lookups, for ReserveMany: ?1
// is a JSON array (of URLs, of folded names). URLs go as textCodec says;
// names come out of SafePath, which leaves no invalid UTF-8 in them, and go
// as they are. The new names are stored with sqlNameRows and sqlTakenRows.
var (
	// sqlNamesOf finds, for each URL of ?1 (by its index), the path
	// reserved for it and the name KeepName kept for it.
	sqlNamesOf = batchSQL(`SELECT j.key, n.path, m.value FROM (SELECT key, {v} AS url FROM json_each(?1)) j
		LEFT JOIN names n ON n.url = j.url
		LEFT JOIN meta m ON m.key = ?2 || j.url`)
)

const (
	// sqlTakenOf returns the rows of taken among the folded names of ?1.
	sqlTakenOf = `SELECT fold, leaf FROM taken WHERE fold IN (SELECT value FROM json_each(?1))`
)

// nameBatch reserves the names of one ReserveMany in a handful of
// statements, whatever their number: one finds the names reserved or kept
// before, one reads the rows of taken that the new names and their new
// folders could clash with, a few store the new names. A name whose first
// choice is taken (it gets a number), or on the way of which a folder
// cannot be one as it is named, goes the way Reserve goes, one statement
// at a time, after what the batch holds so far is stored, so that it sees
// it.
//
// It decides what reserveTx would decide, in the same order: taken holds
// the same rows, and rows (taken's rows read, and those the batch added)
// answers for the new names and folders the questions leafFree and
// dirFree ask the database. A folder the batch adds is checked once: no
// file can take its name after its row is in taken.
type nameBatch struct {
	d     *Dir
	tx    *sql.Tx
	added *[]string         // folders added to taken, as reserveTx's
	rows  map[string]bool   // fold → leaf: rows of taken read or added
	paths map[string]string // URL → path reserved in this batch
	dirs  map[string]bool   // folded folders the batch checked and added
	names []any             // url, path of each name to insert
	c     textCodec         // how the batch's lookups pass its URLs
	taken []any             // fold, leaf of each row of taken to insert
}

// earlier is what a URL had before the batch: the path reserved for it,
// and the name kept for it.
type earlier struct{ path, kept sql.NullString }

// reserve fills res[i] with the outcome of wants[i].
func (b *nameBatch) reserve(ctx context.Context, wants []NameWant, res []Reservation) error {
	for _, w := range wants {
		b.c = b.c || codecFor(w.URL)
	}
	before, err := b.lookup(ctx, wants)
	if err != nil {
		return err
	}
	quick := make([][]string, len(wants)) // the segments of each new name
	var folds []string                    // the rows of taken to read
	asked := map[string]bool{"": true}
	for i, w := range wants {
		if before[i].path.Valid || w.OrKept && before[i].kept.Valid {
			continue
		}
		segs := strings.Split(SafePath(w.Want), "/")
		quick[i] = segs
		for j := 1; j < len(segs); j++ {
			if f := fold(strings.Join(segs[:j], "/")); !b.folderKnown(f) {
				for _, c := range dirClashes(f) {
					if !asked[c] {
						asked[c] = true
						folds = append(folds, c)
					}
				}
			}
		}
		for _, c := range clashes(fold(strings.Join(segs, "/"))) {
			if !asked[c] {
				asked[c] = true
				folds = append(folds, c)
			}
		}
	}
	if err := b.readTaken(ctx, folds); err != nil {
		return err
	}
	for i, w := range wants {
		if err := b.one(ctx, w, before[i], quick[i], &res[i]); err != nil {
			return fmt.Errorf("%s: %w", w.URL, err)
		}
	}
	return b.flush(ctx)
}

// one reserves the name of w, given what the URL had before and, if its
// new name may take the batch's way, its segments.
func (b *nameBatch) one(ctx context.Context, w NameWant, before earlier, segs []string, r *Reservation) error {
	switch p, ok := b.paths[w.URL]; {
	case ok: // twice in the batch
		r.Path = p
		return nil
	case before.path.Valid:
		r.Path = before.path.String
		return nil
	case w.OrKept && before.kept.Valid:
		r.Kept = before.kept.String
		return nil
	}
	r.Fresh = true
	if segs != nil {
		free, err := b.foldersFree(segs)
		if err == nil && free {
			free, err = b.free(segs)
		}
		if err != nil {
			return err
		}
		if free {
			r.Path = strings.Join(segs, "/")
			b.hold(w.URL, r.Path)
			return nil
		}
	}
	// The slow way, which reads taken and writes it at once.
	if err := b.flush(ctx); err != nil {
		return err
	}
	from := len(*b.added)
	path, err := b.d.reserveNewTx(ctx, b.tx, w.URL, w.Want, b.added)
	if err != nil {
		return err
	}
	r.Path = path
	b.paths[w.URL] = path
	b.rows[fold(path)] = true
	for _, f := range (*b.added)[from:] {
		b.rows[f] = false
		b.dirs[f] = true
	}
	return nil
}

// lookup finds what each URL of wants had before: one statement.
func (b *nameBatch) lookup(ctx context.Context, wants []NameWant) ([]earlier, error) {
	urls := make([]string, len(wants))
	for i, w := range wants {
		urls[i] = b.c.text(w.URL)
	}
	list, err := json.Marshal(urls)
	if err != nil {
		return nil, err
	}
	rows, err := b.d.db.txQuery(ctx, b.tx, b.c.of(sqlNamesOf), list, keptPrefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]earlier, len(wants))
	for rows.Next() {
		var i int
		var e earlier
		if err := rows.Scan(&i, &e.path, &e.kept); err != nil {
			return nil, err
		}
		if i >= 0 && i < len(out) {
			out[i] = e
		}
	}
	return out, rows.Err()
}

// folderKnown reports whether the folder f (folded) is known to have its
// row in taken (Dir.folders), or was added by the batch.
func (b *nameBatch) folderKnown(f string) bool {
	_, ok := b.d.folders.Load(f)
	return ok || b.dirs[f]
}

// foldersFree is dirFree, answered from b.rows and the disk, for each
// folder on the way of segs not known yet; it adds those to the batch (to
// store with its names) once all are free.
func (b *nameBatch) foldersFree(segs []string) (bool, error) {
	var fresh []string
	for j := 1; j < len(segs); j++ {
		p := strings.Join(segs[:j], "/")
		f := fold(p)
		if b.folderKnown(f) {
			continue
		}
		if j == 1 && rootNames[f] {
			return false, nil
		}
		for _, c := range dirClashes(f) {
			if b.rows[c] { // a file's row
				return false, nil
			}
		}
		if free, err := b.d.dirOnDiskFree(p); !free || err != nil {
			return false, err
		}
		fresh = append(fresh, f)
	}
	for _, f := range fresh {
		b.dirs[f] = true
		b.rows[f] = false
		b.taken = append(b.taken, f, 0)
		*b.added = append(*b.added, f)
	}
	return true, nil
}

// clashes returns the folded names whose rows in taken can keep the file
// f (folded) from being reserved: those sqlLeafTaken asks about.
func clashes(f string) []string {
	c := []string{f, f + partSuffix, f + partSuffix + metaSuffix}
	for _, s := range []string{partSuffix, partSuffix + metaSuffix} {
		if t := trimName(f, s); t != "" {
			c = append(c, t)
		}
	}
	return c
}

// readTaken reads the rows of taken among folds: one statement.
func (b *nameBatch) readTaken(ctx context.Context, folds []string) error {
	if len(folds) == 0 {
		return nil
	}
	list, err := json.Marshal(folds)
	if err != nil {
		return err
	}
	rows, err := b.d.db.txQuery(ctx, b.tx, sqlTakenOf, list)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var f string
		var leaf bool
		if err := rows.Scan(&f, &leaf); err != nil {
			return err
		}
		b.rows[f] = leaf
	}
	return rows.Err()
}

// free is leafFree answered from b.rows: the file segs is free unless a
// file is one of its clashes, or a folder is the file, its .part or its
// .part.meta; then nothing may be on disk under those three names, which
// the folder's listing answers where the commit of a new file cannot
// replace anything (freeListed).
func (b *nameBatch) free(segs []string) (bool, error) {
	f := fold(strings.Join(segs, "/"))
	if len(segs) == 1 && rootNames[f] {
		return false, nil
	}
	for i, c := range clashes(f) {
		if leaf, ok := b.rows[c]; ok && (leaf || i < 3) {
			return false, nil
		}
	}
	return b.d.freeListed(segs)
}

// hold reserves path for rawURL in the batch, to be stored by flush.
func (b *nameBatch) hold(rawURL, path string) {
	f := fold(path)
	b.paths[rawURL] = path
	b.rows[f] = true
	b.names = append(b.names, rawURL, path)
	b.taken = append(b.taken, f, 1)
}

// flush stores the names held: a statement or two for each table.
func (b *nameBatch) flush(ctx context.Context) error {
	if len(b.names) == 0 {
		return nil
	}
	if _, err := b.d.db.execRows(ctx, b.tx, sqlNameRows, b.names); err != nil {
		return err
	}
	if _, err := b.d.db.execRows(ctx, b.tx, sqlTakenRows, b.taken); err != nil {
		return err
	}
	b.names, b.taken = b.names[:0], b.taken[:0]
	return nil
}
