package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// A newer schema is refused.
	path := filepath.Join(dir, "new.db")
	db := openAt(t, path)
	if _, err := db.w.ExecContext(ctx, "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, path); err == nil {
		t.Error("opened a database with a newer schema")
	}
	// A path through a file cannot be created.
	if _, err := Open(ctx, filepath.Join(path, "sub", "x.db")); err == nil {
		t.Error("opened a database below a file")
	}
	// Odd characters in the path are fine.
	odd := filepath.Join(dir, "a?b#c%20 d", "crawl.db")
	db2 := openAt(t, odd)
	if _, err := db2.Put(ctx, Task{Queue: "q", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(odd); err != nil || fi.Size() == 0 {
		t.Errorf("database not at %s: %v", odd, err)
	}
}

// schemaV3 is the schema of versions 2 and 3 as far as Backend uses it:
// task IDs without AUTOINCREMENT; %s is the worker column of files, which
// version 3 added.
const schemaV3 = `
CREATE TABLE tasks (
	id         INTEGER PRIMARY KEY,
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
CREATE UNIQUE INDEX tasks_key ON tasks(queue, key);
CREATE INDEX tasks_due ON tasks(queue, state, not_before);
CREATE INDEX tasks_owner ON tasks(owner) WHERE state = 1;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE files (
	seq          INTEGER PRIMARY KEY,
	url          TEXT    NOT NULL UNIQUE,
	path         TEXT    NOT NULL,
	bytes        INTEGER NOT NULL,
	sha256       TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	source       TEXT    NOT NULL%s
);
CREATE TABLE counts (queue TEXT NOT NULL, state INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (queue, state)) WITHOUT ROWID;
CREATE TRIGGER tasks_counted_ins AFTER INSERT ON tasks BEGIN
	INSERT INTO counts(queue, state, n) VALUES (NEW.queue, NEW.state, 1)
		ON CONFLICT(queue, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER tasks_counted_del AFTER DELETE ON tasks BEGIN
	UPDATE counts SET n = n - 1 WHERE queue = OLD.queue AND state = OLD.state;
END;
CREATE TRIGGER tasks_counted_upd AFTER UPDATE OF state ON tasks WHEN OLD.state <> NEW.state BEGIN
	UPDATE counts SET n = n - 1 WHERE queue = OLD.queue AND state = OLD.state;
	INSERT INTO counts(queue, state, n) VALUES (NEW.queue, NEW.state, 1)
		ON CONFLICT(queue, state) DO UPDATE SET n = n + 1;
END;
INSERT INTO tasks(id, queue, key, state, owner, not_before, url, reason, source) VALUES
	(1, 'list', 'p1', 2, '', 0, '', '', ''),
	(2, 'list', 'p2', 3, '', 0, 'http://h/p2', 'gone', 'seed'),
	(3, 'download', 'u1', 1, 'w', 9000000000000000000, '', '', ''),
	(4, 'download', 'u2', 0, '', 0, '', '', ''),
	(5, 'download', 'u3', 2, '', 0, '', '', '');
INSERT INTO meta(key, value) VALUES ('state', 'running');
INSERT INTO files(url, path, bytes, sha256, content_type, source) VALUES
	('http://h/u3.jpg', 'u3.jpg', 3, 'ab', 'image/jpeg', 'http://h/p1');
`

// TestMigrate opens databases of versions 2 (file records without a
// worker) and 3, whose task IDs could be reused: they keep their tasks,
// counts, failures, records and meta, and gain what version 4 has.
func TestMigrate(t *testing.T) {
	for _, tt := range []struct {
		version int
		worker  string
	}{
		{2, ""},
		{3, ",\n\tworker       TEXT    NOT NULL DEFAULT ''"},
	} {
		t.Run(fmt.Sprint("version ", tt.version), func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "crawl.db")
			old, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = old.ExecContext(ctx, fmt.Sprintf(schemaV3, tt.worker)+fmt.Sprintf("PRAGMA user_version = %d;", tt.version))
			if cerr := old.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}

			db := openAt(t, path)
			var v int
			if err := db.w.QueryRowContext(ctx, sqlUserVerGet).Scan(&v); err != nil || v != schemaVersion {
				t.Errorf("schema version %d, %v; want %d", v, err, schemaVersion)
			}
			want := map[string]QueueCounts{"list": {Done: 1, Failed: 1}, "download": {Ready: 1, Leased: 1, Done: 1}}
			if c, err := db.Counts(ctx); err != nil || fmt.Sprint(c) != fmt.Sprint(want) {
				t.Errorf("counts %v, %v; want %v", c, err, want)
			}
			if fs, err := db.Failures(ctx); err != nil || !slices.Equal(fs, []Failure{{"list", "http://h/p2", "gone", "seed"}}) {
				t.Errorf("failures %+v, %v", fs, err)
			}
			rec := File{URL: "http://h/u3.jpg", Path: "u3.jpg", Bytes: 3, SHA256: "ab", ContentType: "image/jpeg", Source: "http://h/p1"}
			if f, ok, err := db.FileByURL(ctx, rec.URL); err != nil || !ok || f != rec {
				t.Errorf("record %+v, %v, %v; want %+v", f, ok, err, rec)
			}
			if m, err := db.Meta(ctx, "state"); err != nil || m != "running" {
				t.Errorf("meta %q, %v", m, err)
			}

			// The leased task is acked under its ID, with a record that
			// names its worker.
			u1 := File{URL: "http://h/u1.jpg", Path: "u1.jpg", Worker: "host:/out"}
			if err := db.AckFile(ctx, 3, u1); err != nil {
				t.Fatal(err)
			}
			if f, ok, err := db.FileByURL(ctx, u1.URL); err != nil || !ok || f != u1 {
				t.Errorf("record %+v, %v, %v; want %+v", f, ok, err, u1)
			}
			// The ID of the last task, forgotten, is not handed out again.
			if err := db.Restart(ctx, "download"); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Put(ctx, Task{Queue: "download", Key: "u3"}); err != nil {
				t.Fatal(err)
			}
			got, err := db.Lease(ctx, "download", 10, "w2")
			if err != nil || len(got) != 2 || got[0].ID != 4 || got[1].ID <= 5 {
				t.Errorf("leased %+v, %v; want u2 as ID 4 and u3 under an ID above 5", got, err)
			}
			if err := db.Ack(ctx, 5); !errors.Is(err, ErrNoTask) {
				t.Errorf("ack of the forgotten ID 5: %v, want ErrNoTask", err)
			}
			want = map[string]QueueCounts{"list": {Done: 1, Failed: 1}, "download": {Leased: 2}}
			if c, err := db.Counts(ctx); err != nil || fmt.Sprint(c) != fmt.Sprint(want) {
				t.Errorf("counts at the end %v, %v; want %v", c, err, want)
			}
		})
	}
}

// TestCountsKeptByTriggers checks the counts table against a count of the
// tasks themselves after every kind of state change.
func TestCountsKeptByTriggers(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	check := func(step string) {
		t.Helper()
		got, err := db.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.r.QueryContext(ctx, `SELECT queue, state, count(*) FROM tasks GROUP BY queue, state`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		want := map[string]QueueCounts{}
		for rows.Next() {
			var q string
			var st, n int
			if err := rows.Scan(&q, &st, &n); err != nil {
				t.Fatal(err)
			}
			c := want[q]
			switch st {
			case stateReady:
				c.Ready = n
			case stateLeased:
				c.Leased = n
			case stateDone:
				c.Done = n
			case stateFailed:
				c.Failed = n
			}
			want[q] = c
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after %s: Counts %v, tasks say %v", step, got, want)
		}
	}
	var tasks []Task
	for i := 0; i < 20; i++ {
		tasks = append(tasks, Task{Queue: []string{"list", "download"}[i%2], Key: fmt.Sprint(i)})
	}
	db.Put(ctx, tasks...)
	check("put")
	leased, _ := db.Lease(ctx, "download", 6, "a")
	check("lease")
	db.Ack(ctx, leased[0].ID, Task{Queue: "download", Key: "new"})
	db.AckFile(ctx, leased[1].ID, File{URL: "u", Path: "p"})
	db.Fail(ctx, leased[2].ID, "u", "r", "s")
	db.Ack(ctx, leased[2].ID)
	db.Fail(ctx, leased[3].ID, "u", "r", "s")
	check("ack, fail, ack of a failed task")
	db.Release(ctx, "a")
	check("release")
	db.Restart(ctx, "download")
	check("restart")
}

// TestHasDue tells whether a lease would find a task, without leasing.
func TestHasDue(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	clk := newClock(db)
	due := func() bool {
		t.Helper()
		ok, err := db.HasDue(ctx, "q")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if due() {
		t.Error("an empty queue has a task due")
	}
	if _, err := db.Put(ctx, Task{Queue: "q", Key: "a"}); err != nil {
		t.Fatal(err)
	}
	if !due() {
		t.Error("a ready task is not due")
	}
	leased, err := db.Lease(ctx, "q", 1, "w")
	if err != nil || len(leased) != 1 {
		t.Fatal(leased, err)
	}
	if due() {
		t.Error("a leased task is due")
	}
	clk.advance(2 * time.Minute)
	if !due() {
		t.Error("a task whose lease ran out is not due")
	}
	if err := db.Ack(ctx, leased[0].ID); err != nil {
		t.Fatal(err)
	}
	if due() {
		t.Error("a done task is due")
	}
}

// TestWriteCancelledMidway: a Ctrl-C that arrives while a write runs does
// not undo it; the write commits, and the next one, begun after it, is
// refused.
func TestWriteCancelledMidway(t *testing.T) {
	db := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	err := db.write(ctx, "set meta", func(wctx context.Context, tx *sql.Tx) error {
		cancel()
		_, err := tx.ExecContext(wctx, `INSERT INTO meta(key, value) VALUES ('k', 'v')`)
		return err
	})
	if err != nil {
		t.Fatalf("write cancelled midway: %v", err)
	}
	if v, err := db.Meta(context.Background(), "k"); err != nil || v != "v" {
		t.Fatalf("meta k = %q, %v; want the write committed", v, err)
	}
	if err := db.SetMeta(ctx, "k", "w"); !errors.Is(err, context.Canceled) {
		t.Fatalf("write begun after cancel: %v, want context.Canceled", err)
	}
}

// TestTempStoreInMemory checks that every connection keeps SQLite's
// temporary data in memory. A batch statement's statement journal spills
// past 64 KiB to an unnamed file in /var/tmp otherwise: on w3, 243 such
// files and about 20 MB written to the disk under the crawl's own output.
func TestTempStoreInMemory(t *testing.T) {
	db := openTest(t)
	for name, pool := range map[string]*sql.DB{"writer": db.w, "reader": db.r} {
		var mode int
		if err := pool.QueryRowContext(context.Background(), "PRAGMA temp_store").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != 2 {
			t.Errorf("%s: temp_store = %d, want 2 (MEMORY)", name, mode)
		}
	}
}

// TestFilesByURL looks up records a batch at a time, URLs that are not
// valid UTF-8 included, and tells the ones not recorded.
func TestFilesByURL(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	urls := []string{"http://h/a.jpg", "http://h/\xff\xfe.jpg", "http://h/missing.jpg", "http://h/b.jpg"}
	for i, u := range []string{urls[0], urls[1], urls[3]} {
		if n, err := db.Put(ctx, Task{Queue: "download", Key: u}); err != nil || n != 1 {
			t.Fatal(n, err)
		}
		leased, err := db.Lease(ctx, "download", 1, "w")
		if err != nil || len(leased) != 1 {
			t.Fatal(leased, err)
		}
		if err := db.AckFile(ctx, leased[0].ID, File{URL: u, Path: fmt.Sprint(i), Bytes: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, batch := range [][]string{urls, urls[:1], {urls[2]}, nil} {
		files, found, err := db.FilesByURL(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, u := range batch {
			want := u != urls[2]
			if found[i] != want || want && files[i].URL != u {
				t.Errorf("record of %q: %+v, %v", u, files[i], found[i])
			}
		}
	}
}
