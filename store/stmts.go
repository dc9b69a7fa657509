package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// stmts holds the prepared statements of one *sql.DB, each prepared the
// first time it is asked for: a process prepares only the statements it
// runs, 4 to 7 of the 41 in each process of a crawl (the batch statements
// of rows.go aside). Preparing them all made Open about seven times as
// long.
type stmts struct {
	db     *sql.DB
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	missed map[string]bool // used inside a transaction before being prepared (see DB.stmt)
}

func newStmts(db *sql.DB) *stmts {
	return &stmts{db: db, m: map[string]*sql.Stmt{}, missed: map[string]bool{}}
}

// ready returns q's prepared statement, or nil if it is not prepared yet.
func (s *stmts) ready(q string) *sql.Stmt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[q]
}

// get returns q's prepared statement, preparing it first if it is not.
// Preparing takes a connection of s.db: a goroutine inside a transaction
// on the writer's only connection uses DB.stmt instead.
func (s *stmts) get(ctx context.Context, q string) (*sql.Stmt, error) {
	if st := s.ready(q); st != nil {
		return st, nil
	}
	// Not under mu: preparing may wait for a connection that a goroutine
	// holds while it asks for another statement.
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", q, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.m[q]; old != nil {
		st.Close()
		return old, nil
	}
	s.m[q] = st
	return st, nil
}

// miss notes that q was used inside a transaction before it was prepared.
func (s *stmts) miss(q string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.missed[q] = true
}

// prepareMissed prepares the statements that miss noted. One that fails is
// left for its next use to prepare.
func (s *stmts) prepareMissed(ctx context.Context) {
	s.mu.Lock()
	if len(s.missed) == 0 {
		s.mu.Unlock()
		return
	}
	var qs []string
	for q := range s.missed {
		qs = append(qs, q)
	}
	clear(s.missed)
	s.mu.Unlock()
	for _, q := range qs {
		s.get(ctx, q)
	}
}

// close closes every statement prepared.
func (s *stmts) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for q, st := range s.m {
		errs = append(errs, st.Close())
		delete(s.m, q)
	}
	return errors.Join(errs...)
}

// stmt returns q's writer statement for use inside tx: the one prepared on
// the writer connection, or, the first time q is used, q prepared inside
// tx for this once; write prepares it on the writer once tx has ended.
func (db *DB) stmt(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	if st := db.ws.ready(q); st != nil {
		return tx.StmtContext(ctx, st), nil
	}
	db.ws.miss(q)
	return tx.PrepareContext(ctx, q)
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
