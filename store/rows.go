package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// The batch writes of the hot paths (put tasks, mark tasks done, store file
// records, reserve names) bind their rows as statement values: one
// statement runs up to 64 rows. Passing the rows as one JSON array read with
// json_each costs SQLite about a third more a row (the parse, the
// extraction of each field, hex for the strings that are not UTF-8):
// `go test -bench Put ./store`.

// rowsSQL is a batch write that takes its rows as bound values: head, then
// group once a row (separated by ", "), then tail. group holds cols
// placeholders.
type rowsSQL struct {
	head, group, tail string
	cols              int
}

// rowSizes are the row counts a rowsSQL is prepared for, largest first: a
// batch runs as statements of these sizes, the largest that fit first.
var rowSizes = [...]int{64, 16, 4, 1}

// text is the statement q for n rows.
func (q rowsSQL) text(n int) string {
	var b strings.Builder
	b.WriteString(q.head)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(q.group)
	}
	b.WriteString(q.tail)
	return b.String()
}

// rowsKey names a prepared statement of a rowsSQL: the statement and its
// row count.
type rowsKey struct {
	q rowsSQL
	n int
}

// The batch writes. sqlPutRows puts tasks not put before, in the order of
// the rows: [queue, key, data, now]. sqlRecordRows stores file records in
// the order of the rows, replacing a URL's record and keeping its place:
// [url, path, bytes, sha256, content_type, source, worker].
// sqlAckRows marks done the tasks of the IDs and returns those that exist.
// sqlNameRows and sqlTakenRows store name reservations: [url, path], and
// [fold, leaf] (a row of taken that is there already stays).
var (
	sqlPutRows = rowsSQL{head: `INSERT INTO tasks(queue, key, data, not_before) VALUES `, group: `(?, ?, ?, ?)`, cols: 4,
		tail: ` ON CONFLICT(queue, key) DO NOTHING`}
	sqlRecordRows = rowsSQL{head: `INSERT INTO files(url, path, bytes, sha256, content_type, source, worker) VALUES `,
		group: `(?, ?, ?, ?, ?, ?, ?)`, cols: 7,
		tail: ` ON CONFLICT(url) DO UPDATE SET path = excluded.path, bytes = excluded.bytes, sha256 = excluded.sha256,
			content_type = excluded.content_type, source = excluded.source, worker = excluded.worker`}
	sqlAckRows = rowsSQL{head: `UPDATE tasks SET state = 2, data = NULL, owner = '' WHERE id IN (`, group: `?`, cols: 1,
		tail: `) RETURNING id`}
	sqlNameRows  = rowsSQL{head: `INSERT INTO names(url, path) VALUES `, group: `(?, ?)`, cols: 2}
	sqlTakenRows = rowsSQL{head: `INSERT INTO taken(fold, leaf) VALUES `, group: `(?, ?)`, cols: 2,
		tail: ` ON CONFLICT(fold) DO NOTHING`}
)

// prepareRows prepares the statements of each q for batches of up to rows
// rows (every size of rowSizes up to rows), once a handle: a process that
// only ever writes a few rows at once never prepares the long statements.
// It must run outside the writer's transactions: a transaction holds the
// writer's one connection, which preparing needs.
func (db *DB) prepareRows(ctx context.Context, rows int, qs ...rowsSQL) error {
	for _, q := range qs {
		for _, n := range rowSizes {
			if n > rows {
				continue
			}
			if _, err := db.rows.get(ctx, rowsKey{q, n}); err != nil {
				return err
			}
		}
	}
	return nil
}

// rowStmts holds the batch statements, each for a row count.
func rowStmts(db *sql.DB) *stmts[rowsKey] {
	return newStmts(db, func(k rowsKey) string { return k.q.text(k.n) },
		func(k rowsKey) string { return fmt.Sprintf("%q for %d rows", k.q.head, k.n) })
}

// eachRows runs q inside tx for the rows of args (q.cols values a row, in
// their order), in as few statements as rowSizes allow, calling run with
// each statement and its values. A statement that prepareRows did not
// prepare is prepared in tx (stmts.inTx).
func (db *DB) eachRows(ctx context.Context, tx *sql.Tx, q rowsSQL, args []any, run func(st *sql.Stmt, args []any) error) error {
	if len(args)%q.cols != 0 {
		return fmt.Errorf("%d values for rows of %d", len(args), q.cols)
	}
	for len(args) > 0 {
		rows := len(args) / q.cols
		n := rowSizes[len(rowSizes)-1]
		for _, s := range rowSizes {
			if s <= rows {
				n = s
				break
			}
		}
		st, err := db.rows.inTx(ctx, tx, rowsKey{q, n})
		if err != nil {
			return err
		}
		if err := run(st, args[:n*q.cols]); err != nil {
			return err
		}
		args = args[n*q.cols:]
	}
	return nil
}

// execRows runs q inside tx for the rows of args (see eachRows) and
// returns how many rows its statements changed.
func (db *DB) execRows(ctx context.Context, tx *sql.Tx, q rowsSQL, args []any) (int64, error) {
	var changed int64
	err := db.eachRows(ctx, tx, q, args, func(st *sql.Stmt, args []any) error {
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		changed += n
		return err
	})
	return changed, err
}
