package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// stmts holds prepared statements of one *sql.DB, each prepared the first
// time it is asked for: a process prepares only the statements it runs, 4
// to 7 of the 41 plain ones in each process of a crawl, and the batch
// statements (rowsSQL) only for the row counts it writes. Preparing them
// all made Open about seven times as long. K names a statement: its SQL
// (string), or a batch statement and its row count (rowsKey).
type stmts[K comparable] struct {
	db     *sql.DB
	text   func(K) string // the SQL of a key
	name   func(K) string // a key, in errors
	m      sync.Map       // K → *sql.Stmt
	mu     sync.Mutex     // guards missed
	missed map[K]bool     // used inside a transaction before being prepared (see inTx)
}

func newStmts[K comparable](db *sql.DB, text, name func(K) string) *stmts[K] {
	return &stmts[K]{db: db, text: text, name: name, missed: map[K]bool{}}
}

// plainStmts holds statements named by their SQL.
func plainStmts(db *sql.DB) *stmts[string] {
	return newStmts(db, func(q string) string { return q }, func(q string) string { return fmt.Sprintf("%q", q) })
}

// ready returns k's prepared statement, or nil if it is not prepared yet.
func (s *stmts[K]) ready(k K) *sql.Stmt {
	if st, ok := s.m.Load(k); ok {
		return st.(*sql.Stmt)
	}
	return nil
}

// get returns k's prepared statement, preparing it first if it is not.
// Preparing takes a connection of s.db: a goroutine inside a transaction
// on the writer's only connection uses inTx instead.
func (s *stmts[K]) get(ctx context.Context, k K) (*sql.Stmt, error) {
	if st := s.ready(k); st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, s.text(k))
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", s.name(k), err)
	}
	if old, loaded := s.m.LoadOrStore(k, st); loaded {
		st.Close() // another goroutine prepared it meanwhile
		return old.(*sql.Stmt), nil
	}
	return st, nil
}

// inTx returns k's statement for use inside tx: the one prepared on s.db,
// or, the first time k is used, k prepared inside tx for this once;
// prepareMissed prepares it on s.db once tx has ended.
func (s *stmts[K]) inTx(ctx context.Context, tx *sql.Tx, k K) (*sql.Stmt, error) {
	if st := s.ready(k); st != nil {
		return tx.StmtContext(ctx, st), nil
	}
	s.mu.Lock()
	s.missed[k] = true
	s.mu.Unlock()
	return tx.PrepareContext(ctx, s.text(k))
}

// prepareMissed prepares the statements inTx did not find prepared. One
// that fails is left for its next use to prepare.
func (s *stmts[K]) prepareMissed(ctx context.Context) {
	s.mu.Lock()
	if len(s.missed) == 0 {
		s.mu.Unlock()
		return
	}
	ks := slices.Collect(maps.Keys(s.missed))
	clear(s.missed)
	s.mu.Unlock()
	for _, k := range ks {
		s.get(ctx, k)
	}
}

// close closes every statement prepared.
func (s *stmts[K]) close() error {
	var errs []error
	s.m.Range(func(k, st any) bool {
		errs = append(errs, st.(*sql.Stmt).Close())
		s.m.Delete(k)
		return true
	})
	return errors.Join(errs...)
}

// stmt returns the writer statement q for use inside tx (see stmts.inTx);
// write prepares on the writer what tx had to prepare.
func (db *DB) stmt(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	return db.ws.inTx(ctx, tx, q)
}

// txExec runs the writer statement q inside tx.
func (db *DB) txExec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	st, err := db.stmt(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// txQuery runs the writer statement q, which returns rows, inside tx.
func (db *DB) txQuery(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	st, err := db.stmt(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// txRow runs the writer statement q, which returns at most one row, inside
// tx.
func (db *DB) txRow(ctx context.Context, tx *sql.Tx, q string, args ...any) row {
	st, err := db.stmt(ctx, tx, q)
	if err != nil {
		return row{err: err}
	}
	return row{r: st.QueryRowContext(ctx, args...)}
}

// query runs the reader statement q.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := db.rs.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow runs the reader statement q, which returns at most one row.
func (db *DB) queryRow(ctx context.Context, q string, args ...any) row {
	st, err := db.rs.get(ctx, q)
	if err != nil {
		return row{err: err}
	}
	return row{r: st.QueryRowContext(ctx, args...)}
}

// row is a *sql.Row, or the error that kept the query from running.
type row struct {
	r   *sql.Row
	err error
}

// Scan is [sql.Row.Scan]: sql.ErrNoRows when no row matched.
func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.r.Scan(dest...)
}
