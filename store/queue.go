package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// ErrNoTask is returned (wrapped) by Ack, AckFile, AckFiles and Fail when
// no task of the crawl's current generation has the given id: Restart
// forgot it, or it never named a task (see [Backend.Ack]).
var ErrNoTask = errors.New("no such task")

// Task is one unit of work in a queue.
type Task struct {
	ID    int64  // set by Lease: names the task in Ack, AckFile and Fail; unique in the crawl, never reused
	Queue string // "list", "parse", "download"
	Key   string // dedupe key within Queue (e.g. the URL): Put skips a task whose (Queue, Key) was put in this run generation
	Data  []byte // opaque payload
}

// QueueCounts is how many tasks of one queue are in each state. Ready
// counts tasks never handed out and released ones; Leased counts tasks
// held, including those whose lease ran out and that no one took over
// yet. Done and Failed count this generation's finished tasks.
type QueueCounts struct{ Ready, Leased, Done, Failed int }

// Failure is a task that failed for good, as recorded by Fail.
type Failure struct{ Queue, URL, Reason, Source string }

// Put is [Backend.Put], in one transaction.
func (db *DB) Put(ctx context.Context, tasks ...Task) (added int, err error) {
	if len(tasks) == 0 {
		return 0, nil
	}
	if err := checkTasks(tasks); err != nil {
		return 0, fmt.Errorf("put tasks: %w", err)
	}
	if err := db.prepareRows(ctx, len(tasks), sqlPutRows); err != nil {
		return 0, fmt.Errorf("put tasks: %w", err)
	}
	err = db.write(ctx, "put tasks", func(ctx context.Context, tx *sql.Tx) error {
		added, err = db.put(ctx, tx, tasks)
		return err
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// put inserts tasks, checked already (checkTasks), inside tx and returns
// how many were new, in a few statements whatever their number
// (sqlPutRows; prepareRows must have prepared it).
func (db *DB) put(ctx context.Context, tx *sql.Tx, tasks []Task) (int, error) {
	if len(tasks) == 0 {
		return 0, nil
	}
	now := db.now().UnixNano()
	args := make([]any, 0, 4*len(tasks))
	for _, t := range tasks {
		var data any // NULL without data
		if t.Data != nil {
			data = t.Data
		}
		args = append(args, t.Queue, t.Key, data, now)
	}
	n, err := db.execRows(ctx, tx, sqlPutRows, args)
	if err != nil {
		return 0, fmt.Errorf("put %d tasks: %w", len(tasks), err)
	}
	return int(n), nil
}

// Lease is [Backend.Lease]: the lease runs until now + the TTL of
// Timing, and the select and the update are one transaction under the
// write lock, so no task goes to two owners.
func (db *DB) Lease(ctx context.Context, queue string, max int, owner string) ([]Task, error) {
	if owner == "" {
		return nil, fmt.Errorf("lease from queue %q: empty owner", queue)
	}
	if max <= 0 {
		return []Task{}, nil
	}
	ttl := db.timing.TTL
	tasks := make([]Task, 0, min(max, 64))
	err := db.write(ctx, "lease from queue "+queue, func(ctx context.Context, tx *sql.Tx) error {
		now := db.now()
		until := now.Add(ttl).UnixNano()
		rows, err := db.txQuery(ctx, tx, sqlLease,
			owner, until, queue, now.UnixNano(), max, queue, now.UnixNano(), max, max)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t := Task{Queue: queue}
			if err := rows.Scan(&t.ID, &t.Key, &t.Data); err != nil {
				return err
			}
			tasks = append(tasks, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(tasks, func(a, b Task) int { return cmp.Compare(a.ID, b.ID) })
	return tasks, nil
}

// Ack is [Backend.Ack], in one transaction. The acks with follow-ups that
// goroutines of this process ask for while one is being stored wait, and
// are stored together in the next transaction, each as it would be alone:
// one whose task is gone is ErrNoTask and puts nothing, and follow-ups
// that cannot be put are refused before they join. The workers of a page
// stage acknowledge their pages at about the same time, and a transaction
// writes every page its rows touched: on w1, a third fewer pages written.
func (db *DB) Ack(ctx context.Context, id int64, next ...Task) error {
	if len(next) == 0 {
		return db.exec1(ctx, fmt.Sprintf("ack task %d", id), sqlAck, id)
	}
	if err := checkTasks(next); err != nil {
		return fmt.Errorf("ack task %d: %w", id, err)
	}
	req := &ackReq{id: id, next: next, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	db.ackMu.Lock()
	db.acks = append(db.acks, req)
	leader := !db.acking
	db.acking = true
	db.ackMu.Unlock()
	if !leader {
		select {
		case <-req.done:
			return req.err
		case <-req.lead: // still queued: store the queue, this one with it
		}
	}
	db.ackMu.Lock()
	batch := db.acks
	db.acks = nil
	db.ackMu.Unlock()
	db.storeAcks(ctx, batch)
	db.ackMu.Lock()
	if len(db.acks) > 0 {
		db.acks[0].lead <- struct{}{}
	} else {
		db.acking = false
	}
	db.ackMu.Unlock()
	return req.err
}

// ackReq is an Ack with follow-ups waiting to be stored (DB.Ack): its
// outcome is err once done is closed; lead tells it to store the queue.
type ackReq struct {
	id   int64
	next []Task
	err  error
	done chan struct{}
	lead chan struct{}
}

// storeAcks stores the acks of batch in one transaction, sets each one's
// outcome and closes its done.
func (db *DB) storeAcks(ctx context.Context, batch []*ackReq) {
	what := fmt.Sprintf("ack task %d", batch[0].id)
	if len(batch) > 1 {
		what = fmt.Sprintf("ack %d tasks", len(batch))
	}
	rows := 0
	for _, r := range batch {
		rows = max(rows, len(r.next))
	}
	err := db.prepareRows(ctx, rows, sqlPutRows)
	if err != nil {
		err = fmt.Errorf("%s: %w", what, err)
	} else {
		err = db.write(ctx, what, func(ctx context.Context, tx *sql.Tx) error {
			for _, r := range batch {
				r.err = db.done(ctx, tx, r.id)
				if errors.Is(r.err, ErrNoTask) {
					continue
				}
				if r.err != nil {
					return r.err
				}
				if _, err := db.put(ctx, tx, r.next); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for _, r := range batch {
		switch {
		case err != nil && len(batch) == 1:
			r.err = err // what names the task
		case err != nil:
			r.err = fmt.Errorf("ack task %d: %w", r.id, err)
		case r.err != nil:
			r.err = fmt.Errorf("ack task %d: %w", r.id, r.err)
		}
		close(r.done)
	}
}

// done marks task id done inside tx.
func (db *DB) done(ctx context.Context, tx *sql.Tx, id int64) error {
	res, err := db.txExec(ctx, tx, sqlAck, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNoTask
	}
	return nil
}

// Fail is [Backend.Fail], in one transaction.
func (db *DB) Fail(ctx context.Context, id int64, url, reason, source string) error {
	return db.write(ctx, fmt.Sprintf("fail task %d", id), func(ctx context.Context, tx *sql.Tx) error {
		res, err := db.txExec(ctx, tx, sqlFail, url, reason, source, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		return db.exists(ctx, tx, id)
	})
}

// exists returns ErrNoTask when no task has id.
func (db *DB) exists(ctx context.Context, tx *sql.Tx, id int64) error {
	var state int
	err := db.txRow(ctx, tx, sqlTaskState, id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoTask
	}
	return err
}

// Extend is [Backend.Extend]. It extends every lease owner holds in the
// database, whichever handle took it: a process has one owner name.
func (db *DB) Extend(ctx context.Context, owner string) error {
	ttl := db.timing.TTL
	return db.write(ctx, "extend leases of "+owner, func(ctx context.Context, tx *sql.Tx) error {
		_, err := db.txExec(ctx, tx, sqlExtend, db.now().Add(ttl).UnixNano(), owner)
		return err
	})
}

// Release is [Backend.Release].
func (db *DB) Release(ctx context.Context, owner string) (int, error) {
	var n int64
	err := db.write(ctx, "release leases of "+owner, func(ctx context.Context, tx *sql.Tx) error {
		var res sql.Result
		var err error
		now := db.now().UnixNano()
		if owner == "" {
			res, err = db.txExec(ctx, tx, sqlReleaseAll, now)
		} else {
			res, err = db.txExec(ctx, tx, sqlRelease, now, owner)
		}
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// HasDue reports whether Lease on queue would find a task now: one ready
// and due, or leased with its lease run out. It only reads, so an idle
// consumer can ask often without taking the write lock.
func (db *DB) HasDue(ctx context.Context, queue string) (bool, error) {
	var due bool
	if err := db.queryRow(quick(ctx), sqlHasDue, queue, db.now().UnixNano()).Scan(&due); err != nil {
		return false, fmt.Errorf("look for tasks in queue %q: %w", queue, err)
	}
	return due, nil
}

// Counts is [Backend.Counts], read from the counts table that triggers
// keep, so it costs the same for a million tasks as for ten.
func (db *DB) Counts(ctx context.Context) (map[string]QueueCounts, error) {
	rows, err := db.query(quick(ctx), sqlCounts)
	if err != nil {
		return nil, fmt.Errorf("count tasks: %w", err)
	}
	defer rows.Close()
	m := map[string]QueueCounts{}
	for rows.Next() {
		var q string
		var state, n int
		if err := rows.Scan(&q, &state, &n); err != nil {
			return nil, fmt.Errorf("count tasks: %w", err)
		}
		c := m[q]
		switch state {
		case stateReady:
			c.Ready += n
		case stateLeased:
			c.Leased += n
		case stateDone:
			c.Done += n
		case stateFailed:
			c.Failed += n
		}
		m[q] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count tasks: %w", err)
	}
	return m, nil
}

// Failures is [Backend.Failures].
func (db *DB) Failures(ctx context.Context) ([]Failure, error) {
	rows, err := db.query(ctx, sqlFailures)
	if err != nil {
		return nil, fmt.Errorf("list failures: %w", err)
	}
	defer rows.Close()
	var fs []Failure
	for rows.Next() {
		var f Failure
		if err := rows.Scan(&f.Queue, &f.URL, &f.Reason, &f.Source); err != nil {
			return nil, fmt.Errorf("list failures: %w", err)
		}
		fs = append(fs, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list failures: %w", err)
	}
	return fs, nil
}

// Restart is [Backend.Restart]: it deletes the done and failed tasks of
// the queues. Name reservations stay too.
func (db *DB) Restart(ctx context.Context, queues ...string) error {
	return db.write(ctx, "restart queues", func(ctx context.Context, tx *sql.Tx) error {
		if len(queues) == 0 {
			_, err := db.txExec(ctx, tx, sqlRestartAll)
			return err
		}
		st, err := db.stmt(ctx, tx, sqlRestart)
		if err != nil {
			return err
		}
		for _, q := range queues {
			if _, err := st.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("queue %q: %w", q, err)
			}
		}
		return nil
	})
}

// Meta is [Backend.Meta].
func (db *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := db.queryRow(ctx, sqlMeta, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read meta %q: %w", key, err)
	}
	return v, nil
}

// SetMeta is [Backend.SetMeta].
func (db *DB) SetMeta(ctx context.Context, key, value string) error {
	return db.write(ctx, fmt.Sprintf("set meta %q", key), func(ctx context.Context, tx *sql.Tx) error {
		_, err := db.txExec(ctx, tx, sqlSetMeta, key, value)
		return err
	})
}

// UpdateMeta is [Backend.UpdateMeta]: the read and the write share one
// write-locked transaction.
func (db *DB) UpdateMeta(ctx context.Context, key string, update func(old string) (string, error)) error {
	return db.write(ctx, fmt.Sprintf("update meta %q", key), func(ctx context.Context, tx *sql.Tx) error {
		var old string
		err := tx.QueryRowContext(ctx, sqlMeta, key).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		v, err := update(old)
		if err != nil {
			return err
		}
		_, err = db.txExec(ctx, tx, sqlSetMeta, key, v)
		return err
	})
}

// Timing is [Backend.Timing].
func (db *DB) Timing() LeaseTiming { return db.timing }

// Shared is [Backend.Shared]: an embedded database is this machine's alone.
func (db *DB) Shared() bool { return false }
