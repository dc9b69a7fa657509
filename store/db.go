package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite" // also registers the "sqlite" database/sql driver
)

// schemaVersion is stored in PRAGMA user_version. A database written by a
// newer version of the schema is refused rather than misread.
const schemaVersion = 4

// busyTimeout is how long (ms) a connection waits for another process's
// write lock before it gives up with SQLITE_BUSY.
const busyTimeout = 10000

// cacheKiB bounds the page cache of each connection (PRAGMA cache_size),
// in KiB. Every stage process writes the same database, and a connection
// drops its whole cache when it finds that another process wrote since its
// last transaction, so a cache larger than what one transaction touches
// buys little; SQLite's default of 2 MiB per connection only made each
// process grow with the database.
const cacheKiB = 512

// readers is the most read-only connections a DB opens. Reads are short;
// each connection holds its own page cache and statements.
const readers = 2

// sqliteBusy is SQLITE_BUSY, the primary result code of "database is locked".
const sqliteBusy = 5

// Task states, stored in tasks.state.
const (
	stateReady  = 0
	stateLeased = 1
	stateDone   = 2
	stateFailed = 3
)

// The schema. tasks.not_before means "not handed out before": for a ready
// task the time it becomes due, for a leased one the time its lease runs out
// (after which it may be leased again). Times are Unix nanoseconds.
// tasks.id is the Task.ID; AUTOINCREMENT keeps SQLite from handing the ID
// of a task that Restart deleted to a new one.
//
// counts holds the number of tasks per queue and state, kept by triggers,
// so that Counts, which the supervisor asks several times a second, costs
// the same for a million tasks as for ten.
//
// tasks_due serves Lease (queue, state, not_before);
// tasks_key is the seen set; tasks_owner only indexes leased rows, so it
// stays as small as the number of tasks in flight.
//
// names maps a URL to its reserved path; taken holds the names
// reservations occupy (case-folded): the file itself (leaf=1), which
// stands for its .part and .part.meta too, and its parent folders (leaf=0). name_hints remembers
// the last -N suffix handed out for a name, so that thousands of URLs wanting
// the same name do not probe -2, -3, ... from the start each time.
const schema = tasksTable + `
CREATE UNIQUE INDEX IF NOT EXISTS tasks_key ON tasks(queue, key);
CREATE INDEX IF NOT EXISTS tasks_due ON tasks(queue, state, not_before);
CREATE INDEX IF NOT EXISTS tasks_owner ON tasks(owner) WHERE state = 1;

CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS files (
	seq          INTEGER PRIMARY KEY,
	url          TEXT    NOT NULL UNIQUE,
	path         TEXT    NOT NULL,
	bytes        INTEGER NOT NULL,
	sha256       TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	source       TEXT    NOT NULL,
	worker       TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS names (
	url  TEXT PRIMARY KEY,
	path TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS taken (
	fold TEXT PRIMARY KEY,
	leaf INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS counts (
	queue TEXT    NOT NULL,
	state INTEGER NOT NULL,
	n     INTEGER NOT NULL,
	PRIMARY KEY (queue, state)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS tasks_counted_ins AFTER INSERT ON tasks BEGIN
	INSERT INTO counts(queue, state, n) VALUES (NEW.queue, NEW.state, 1)
		ON CONFLICT(queue, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS tasks_counted_del AFTER DELETE ON tasks BEGIN
	UPDATE counts SET n = n - 1 WHERE queue = OLD.queue AND state = OLD.state;
END;
CREATE TRIGGER IF NOT EXISTS tasks_counted_upd AFTER UPDATE OF state ON tasks WHEN OLD.state <> NEW.state BEGIN
	UPDATE counts SET n = n - 1 WHERE queue = OLD.queue AND state = OLD.state;
	INSERT INTO counts(queue, state, n) VALUES (NEW.queue, NEW.state, 1)
		ON CONFLICT(queue, state) DO UPDATE SET n = n + 1;
END;

CREATE TABLE IF NOT EXISTS name_hints (
	fold TEXT PRIMARY KEY,
	n    INTEGER NOT NULL
) WITHOUT ROWID;
`

// tasksTable is the task table of the schema.
const tasksTable = `
CREATE TABLE IF NOT EXISTS tasks (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	queue      TEXT    NOT NULL,
	key        TEXT    NOT NULL,
	data       BLOB,
	state      INTEGER NOT NULL DEFAULT 0,
	not_before INTEGER NOT NULL DEFAULT 0,
	owner      TEXT    NOT NULL DEFAULT '',
	attempts   INTEGER NOT NULL DEFAULT 0,
	url        TEXT    NOT NULL DEFAULT '',
	reason     TEXT    NOT NULL DEFAULT '',
	source     TEXT    NOT NULL DEFAULT ''
);
`

// The batch lookups take their keys as one JSON array, read with
// json_each (the batch writes bind theirs: rowsSQL). JSON would replace
// the invalid UTF-8 of a string that may hold any bytes (a URL, a header),
// so a batch with such a string passes all its strings in hex, and the
// statement's hex form reads them back with unhex as the same bytes; a
// batch of valid UTF-8 (nearly always) passes them as they are. batchSQL
// writes both forms of a statement.

// textCodec is how a batch passes its strings: in hex, or as they are.
type textCodec bool

// codecFor is the codec for a batch holding the strings ss.
func codecFor(ss ...string) textCodec {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return true
		}
	}
	return false
}

// text is s as the batch statements take it under c.
func (c textCodec) text(s string) string {
	if c {
		return hex.EncodeToString([]byte(s))
	}
	return s
}

// of returns the form of a statement of batchSQL that c reads.
func (c textCodec) of(forms [2]string) string {
	if c {
		return forms[1]
	}
	return forms[0]
}

// batchSQL returns the forms of the batch statement tmpl, in which {N}
// stands for the string at index N of a row and {v} for a whole element:
// read as they are, then from hex.
func batchSQL(tmpl string) [2]string {
	plain, hexed := tmpl, tmpl
	for i := 0; i < 10; i++ {
		m, v := fmt.Sprintf("{%d}", i), fmt.Sprintf("value ->> %d", i)
		plain = strings.ReplaceAll(plain, m, v)
		hexed = strings.ReplaceAll(hexed, m, "CAST(unhex("+v+") AS TEXT)")
	}
	plain = strings.ReplaceAll(plain, "{v}", "value")
	hexed = strings.ReplaceAll(hexed, "{v}", "CAST(unhex(value) AS TEXT)")
	return [2]string{plain, hexed}
}

// SQL run through prepared statements. The writer's statements run inside
// BEGIN IMMEDIATE transactions on the single writer connection.
const (
	// Expired leases first (their work was lost once already), then ready
	// tasks in the order they became due. Each branch is one index range scan
	// on tasks_due; the write lock taken by BEGIN IMMEDIATE makes the select
	// and the update one atomic step, so no task goes to two owners.
	// The limits are written "? + 0": SQLite's planner reads a bare "LIMIT
	// ?" as a constant, and a statement whose constant then changes is
	// compiled again at its next step; the pool's lease size changes from
	// one lease to the next.
	sqlLease = `UPDATE tasks SET state = 1, owner = ?, not_before = ?
		WHERE id IN (
			SELECT id FROM (SELECT id FROM tasks WHERE queue = ? AND state = 1 AND not_before <= ? LIMIT ? + 0)
			UNION ALL
			SELECT id FROM (SELECT id FROM tasks WHERE queue = ? AND state = 0 AND not_before <= ? LIMIT ? + 0)
			LIMIT ? + 0)
		RETURNING id, key, data`

	sqlHasDue = `SELECT EXISTS(SELECT 1 FROM tasks WHERE queue = ?1 AND state = 0 AND not_before <= ?2)
		OR EXISTS(SELECT 1 FROM tasks WHERE queue = ?1 AND state = 1 AND not_before <= ?2)`

	sqlAck        = `UPDATE tasks SET state = 2, data = NULL, owner = '' WHERE id = ?`
	sqlFail       = `UPDATE tasks SET state = 3, data = NULL, owner = '', url = ?, reason = ?, source = ? WHERE id = ? AND state <> 2`
	sqlTaskState  = `SELECT state FROM tasks WHERE id = ?`
	sqlExtend     = `UPDATE tasks SET not_before = ? WHERE owner = ? AND state = 1`
	sqlRelease    = `UPDATE tasks SET state = 0, not_before = ?, owner = '' WHERE owner = ? AND state = 1`
	sqlReleaseAll = `UPDATE tasks SET state = 0, not_before = ?, owner = '' WHERE state = 1`
	sqlRestart    = `DELETE FROM tasks WHERE queue = ? AND state >= 2`
	sqlRestartAll = `DELETE FROM tasks WHERE state >= 2`
	sqlSetMeta    = `INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`
	sqlRecordFile = `INSERT INTO files(url, path, bytes, sha256, content_type, source, worker) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(url) DO UPDATE SET path = excluded.path, bytes = excluded.bytes, sha256 = excluded.sha256,
			content_type = excluded.content_type, source = excluded.source, worker = excluded.worker`

	sqlNameByURL = `SELECT path FROM names WHERE url = ?`
	// A file F occupies F, F.part and F.part.meta, with one row (F, leaf 1);
	// a folder D occupies D (leaf 0). M can be a file if no folder is one
	// of M's three names and no file is either, or has M as its .part or
	// .part.meta (?4, ?5: M without that suffix, or ''). D can be a folder
	// if no file is D or has D as its .part or .part.meta. (Databases from
	// before kept the .part and .part.meta rows too; they only take names
	// that are taken anyway.)
	sqlLeafTaken  = `SELECT count(*) FROM taken WHERE fold IN (?1, ?2, ?3, ?4, ?5) AND (leaf = 1 OR fold IN (?1, ?2, ?3))`
	sqlTakenLeaf  = `SELECT count(*) FROM taken WHERE fold IN (?, ?, ?) AND leaf = 1`
	sqlAddName    = `INSERT INTO names(url, path) VALUES (?, ?)`
	sqlDropName   = `DELETE FROM names WHERE url = ? AND path = ?`
	sqlDropTaken  = `DELETE FROM taken WHERE fold = ? AND leaf = 1`
	sqlAddTaken   = `INSERT INTO taken(fold, leaf) VALUES (?, ?) ON CONFLICT(fold) DO NOTHING`
	sqlGetHint    = `SELECT n FROM name_hints WHERE fold = ?`
	sqlSetHint    = `INSERT INTO name_hints(fold, n) VALUES (?, ?) ON CONFLICT(fold) DO UPDATE SET n = excluded.n`
	sqlCounts     = `SELECT queue, state, n FROM counts WHERE n > 0`
	sqlFailures   = `SELECT queue, url, reason, source FROM tasks WHERE state = 3 ORDER BY id`
	sqlMeta       = `SELECT value FROM meta WHERE key = ?`
	sqlFileByURL  = `SELECT url, path, bytes, sha256, content_type, source, worker FROM files WHERE url = ?`
	sqlFiles      = `SELECT url, path, bytes, sha256, content_type, source, worker FROM files ORDER BY seq`
	sqlUserVerGet = `PRAGMA user_version`
)

// DB is the durable state of one crawl: queues, the seen set (a task key once
// put is never put again in the same run generation), file name reservations
// and file records. It is SQLite in WAL mode, opened by several processes at
// once; a *DB is safe for concurrent use by many goroutines.
type DB struct {
	path string
	w    *sql.DB // one connection: every write of this process goes through it
	r    *sql.DB // a few read-only connections (WAL readers never wait for the writer)
	// The statements, each prepared on first use: the writer's, its
	// batch statements (rowsSQL) for each row count, the readers'.
	ws   *stmts[string]
	rows *stmts[rowsKey]
	rs   *stmts[string]
	// acks are the acks with follow-ups waiting to be stored together,
	// and acking tells that one goroutine is storing them (DB.Ack), under
	// ackMu.
	ackMu  sync.Mutex
	acks   []*ackReq
	acking bool
	now    func() time.Time // the clock; tests move it
	timing LeaseTiming
}

// Open opens (creating it, and its folder, if missing) the crawl database at
// path and brings its schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, opt Options) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db := &DB{path: abs, now: time.Now, timing: opt.timing(sqliteTiming)}
	fail := func(err error) (*DB, error) {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}

	db.w, err = sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		return fail(err)
	}
	db.ws, db.rows = plainStmts(db.w), rowStmts(db.w)
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)
	// Processes creating a new database at the same moment can meet a
	// SQLITE_BUSY that SQLite does not wait out (while one of them switches
	// the file to WAL); wait it out here.
	deadline := time.Now().Add(busyTimeout * time.Millisecond)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := db.migrate(ctx)
		if err == nil {
			break
		}
		if !isBusy(err) || time.Now().After(deadline) {
			return fail(err)
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(wait + rand.N(wait)):
		}
	}

	db.r, err = sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		return fail(err)
	}
	db.r.SetMaxOpenConns(readers)
	db.r.SetMaxIdleConns(readers)

	db.rs = plainStmts(db.r)
	// From here on the writer waits for the write lock in untilFree, not
	// in SQLite's busy handler.
	if _, err := db.w.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
		return fail(err)
	}
	return db, nil
}

// dsn builds the driver name for the database file: a file: URI (so that
// any character in the path is escaped) with the connection settings.
func dsn(abs string, readOnly bool) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	if filepath.VolumeName(abs) != "" { // C:/x → file:///C:/x
		u.Path = "/" + u.Path
	}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout))
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(0)")
	// Statement journals and sorts stay in memory: a batch statement's
	// journal would otherwise spill past 64 KiB to a file in /var/tmp.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -cacheKiB))
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	}
	return u.String() + "?" + q.Encode()
}

// migrate creates the schema if it is missing, in one immediate transaction
// so that processes opening a new database at once do not trip over each
// other.
func (db *DB) migrate(ctx context.Context) error {
	// Usually another process made it already: a read tells, and spares a
	// write transaction at every stage process's start.
	var v int
	if err := db.w.QueryRowContext(ctx, sqlUserVerGet).Scan(&v); err == nil && v == schemaVersion {
		return nil
	}
	return db.write(ctx, "create schema", func(ctx context.Context, tx *sql.Tx) error {
		var v int
		if err := tx.QueryRowContext(ctx, sqlUserVerGet).Scan(&v); err != nil {
			return err
		}
		if v > schemaVersion {
			return fmt.Errorf("schema version %d is newer than this program's %d", v, schemaVersion)
		}
		rebuilt := false
		if v < 4 {
			var err error
			if rebuilt, err = autoincrementTasks(ctx, tx); err != nil {
				return fmt.Errorf("rebuild the task table: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return err
		}
		if v < 2 || rebuilt {
			// counts is kept by triggers from here on; fill it from a
			// database written before it existed, or whose task table
			// was copied without them.
			if _, err := tx.ExecContext(ctx, `DELETE FROM counts;
				INSERT INTO counts(queue, state, n) SELECT queue, state, count(*) FROM tasks GROUP BY queue, state`); err != nil {
				return err
			}
		}
		if v < 3 {
			// Databases from before file records named their worker.
			var has bool
			if err := tx.QueryRowContext(ctx,
				`SELECT count(*) > 0 FROM pragma_table_info('files') WHERE name = 'worker'`).Scan(&has); err != nil {
				return err
			}
			if !has {
				if _, err := tx.ExecContext(ctx, `ALTER TABLE files ADD COLUMN worker TEXT NOT NULL DEFAULT ''`); err != nil {
					return err
				}
			}
		}
		if v < schemaVersion {
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion))
			return err
		}
		return nil
	})
}

// autoincrementTasks copies the task table of a database from before
// version 4, in which SQLite could reuse the ID of a task that Restart
// deleted, into one declared AUTOINCREMENT, and reports whether it did.
// The schema then adds the indexes and triggers back.
func autoincrementTasks(ctx context.Context, tx *sql.Tx) (bool, error) {
	var ddl string
	err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'tasks'`).Scan(&ddl)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // a new database
	}
	if err != nil {
		return false, err
	}
	if strings.Contains(strings.ToUpper(ddl), "AUTOINCREMENT") {
		return false, nil
	}
	_, err = tx.ExecContext(ctx, `
		DROP TRIGGER IF EXISTS tasks_counted_ins;
		DROP TRIGGER IF EXISTS tasks_counted_del;
		DROP TRIGGER IF EXISTS tasks_counted_upd;
		ALTER TABLE tasks RENAME TO tasks_v3;`+tasksTable+`
		INSERT INTO tasks(id, queue, key, data, state, not_before, owner, attempts, url, reason, source)
			SELECT id, queue, key, data, state, not_before, owner, attempts, url, reason, source FROM tasks_v3;
		DROP TABLE tasks_v3;`)
	return err == nil, err
}

// isBusy reports whether err is SQLite's "database is locked" (SQLITE_BUSY,
// with any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqliteBusy
}

// Close closes the database. Leases held through it stay until they run out
// or are released.
func (db *DB) Close() error {
	var errs []error
	if db.ws != nil {
		errs = append(errs, db.ws.close(), db.rows.close())
	}
	if db.rs != nil {
		errs = append(errs, db.rs.close())
	}
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close database %s: %w", db.path, err)
	}
	return nil
}

// write runs fn in one immediate (write-locked) transaction on the writer
// connection and commits it; what names the operation in the error. Only
// BEGIN waits for another process (for the write lock, at most the busy
// timeout). Once ctx is done no write begins; one that has begun runs to
// its commit with a context that cannot be cancelled, which also spares
// the driver a watcher goroutine per statement.
//
// Writes are not group-committed across goroutines here: a process that
// keeps the write lock busy back to back starves the other stage
// processes. The download stage batches its own writes instead
// (ReserveMany, AckFiles).
func (db *DB) write(ctx context.Context, what string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	// database/sql rolls back a transaction whose context is cancelled: a
	// Ctrl-C between the statements and the commit would fail the write
	// with "transaction has already been committed or rolled back". The
	// wait for the lock stops at a Ctrl-C; a transaction begun runs on.
	var tx *sql.Tx
	err := db.untilFree(ctx, func() error {
		var err error
		tx, err = db.w.BeginTx(quick(ctx), nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	// Statements fn used before they were prepared are prepared on the
	// writer once tx has given the connection back (see stmts.inTx).
	defer func() {
		db.ws.prepareMissed(ctx)
		db.rows.prepareMissed(ctx)
	}()
	if err := fn(context.WithoutCancel(ctx), tx); err != nil {
		tx.Rollback()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

// Waits of untilFree between two tries for the write lock.
const (
	lockFirstWait = 20 * time.Microsecond
	lockMaxWait   = 500 * time.Microsecond
)

// untilFree runs try, which takes the write lock first (BEGIN IMMEDIATE,
// or a lone write statement), until the lock is free or busyTimeout has
// passed. SQLite's own busy handler waits 1, 2, 5, ... up to 100 ms
// between tries: against a process that writes nearly back to back (the
// seed of a long list) the waiter seldom wakes in a gap, and a stage could
// wait seconds. Here the waits stay under half a millisecond, so a gap
// between another process's transactions is found; a try costs a few
// microseconds.
func (db *DB) untilFree(ctx context.Context, try func() error) error {
	deadline := time.Now().Add(busyTimeout * time.Millisecond)
	wait := lockFirstWait
	for {
		err := try()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(wait + rand.N(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, lockMaxWait)
	}
}

// quick is the context for a short read: a reader never waits for a lock in
// WAL mode, so it runs to its end without the driver's per-statement
// watcher of cancellation. A ctx already done still stops it first.
func quick(ctx context.Context) context.Context {
	if ctx.Err() != nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// exec1 runs the single writer statement q on its own, as one transaction
// and expects it to change a row (ErrNoTask if not). A lone write statement
// takes the write lock when it starts, together with its read snapshot, so
// it cannot hit the deferred-transaction upgrade deadlock; it saves
// BEGIN IMMEDIATE and COMMIT round trips on the hot paths.
func (db *DB) exec1(ctx context.Context, what, q string, args ...any) error {
	st, err := db.ws.get(ctx, q)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var res sql.Result
	err = db.untilFree(ctx, func() error {
		var err error
		res, err = st.ExecContext(ctx, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNoTask)
	}
	return nil
}
