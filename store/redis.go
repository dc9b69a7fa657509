package store

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"crawl/internal/redisconn"

	"github.com/redis/go-redis/v9"
)

// redisGroup is the consumer group of every queue stream.
const redisGroup = "crawl"

// releasedConsumer holds the entries given back by Release until a Lease
// takes them; it is not a valid owner.
const releasedConsumer = "~released"

// jobsKey is the set of job names opened on a server.
const jobsKey = "crawl:jobs"

// maxLeaseBatch caps the tasks one Lease call hands out (Lua's unpack limit
// is 8000 values).
const maxLeaseBatch = 1000

// redisChunk is how many values one script call or command moves at most.
const redisChunk = 1000

// queueBits is how many low bits of a Task.ID hold the queue index.
const (
	queueBits = 16
	maxQueues = 1<<queueBits - 1
)

// RedisDB is the [Backend] of a crawl (the job) on a Redis server (6.2 or
// later; tested on 7.0): queues, the seen set, counters, failures, file
// records and meta, shared by every process on every machine that opens the
// same job. A *RedisDB is safe for concurrent use by many goroutines.
//
// # Key layout
//
// Every key of the crawl named job starts with P = "crawl:{job}:". The braces
// are literal: they are a Redis Cluster hash tag, so all keys of one crawl
// live in one slot and every script below may touch any of them.
//
//	P queues          hash   queue name → queue index (1, 2, ...), never shrinks
//	P seq             string counter: the sequence number of the last task put
//	P q:NAME          stream the queue's tasks; consumer group "crawl"
//	P seen:NAME       set    the keys put in this run generation (the seen set)
//	P done            hash   queue name → tasks done in this generation
//	P failed          hash   queue name → tasks failed in this generation
//	P fail:NAME       hash   task sequence → its failure (that sequence again, url, reason, source)
//	P files           hash   URL → file record (path, bytes, sha256, type, source, worker)
//	P fileorder       list   URLs in the order they were first recorded
//	P meta            hash   Meta / SetMeta
//	P restarted       hash   queue name → the value of P seq when Restart last ran on it
//	P kept:NAME       set    task sequences put before that Restart, kept by it (ready or leased then), done since
//	P created         string when the crawl was first opened (marks it present)
//	P host:HOST       zset   slots of fetcher's RedisGate (per-host limit across machines)
//	P hostnext:HOST   string fetcher's RedisGate: the earliest start (µs) of the next request to HOST
//	crawl:jobs        set    every job name opened on this server (see Jobs)
//
// A stream entry is one task that is ready or leased: its ID is "SEQ-0" where
// SEQ is a fresh value of P seq (so IDs grow in every stream, and a task's
// place in the put order is known across queues), and its fields are k (key)
// and d (data). Being ready means not yet delivered to the group, or pending under
// the reserved consumer "~released"; being leased means pending under the
// owner's consumer name. Acknowledging a task removes its entry (XACK + XDEL)
// in the same script that stores its effect, so the stream only ever holds
// live tasks and XLEN − pending is exactly the number never delivered.
//
// # Task IDs
//
// Task.ID is SEQ<<16 | queue index: any process can turn it back into the
// stream and entry it names, with no table to keep. A task with no entry
// and no failure record is done, unless its SEQ is no greater than P
// restarted's value for its queue and it is not in P kept:NAME: then
// Restart forgot it (ErrNoTask). P kept:NAME grows, until the next
// Restart, with the tasks that a Restart kept and that end done; the seen
// set holds their keys already.
//
// # Leases
//
// Redis keeps no lease deadline, only how long a pending entry has been idle
// since it was delivered or claimed. Lease first takes over (XCLAIM) entries
// that have been idle for at least the TTL of its handle's Timing, oldest
// ID first, then reads new ones (XREADGROUP COUNT max, no BLOCK). So a lease
// runs out once it has been idle for the TTL of the handle that takes it
// over: every handle of one crawl uses the same timing. Extend resets the idle time of the leases
// that owner took through this handle and still holds (so a lease whose
// reply was lost, or that another owner took over, is never kept alive by
// mistake); Release hands an owner's leases to "~released" as if delivered
// in 1970, so the next Lease takes them at once.
type RedisDB struct {
	c      *redis.Client
	where  string // the server URL without password, for errors
	job    string
	prefix string
	timing LeaseTiming

	mu     sync.Mutex
	queues map[string]int      // queue name → index, as last read from P queues
	names  map[int]string      // index → queue name
	held   map[int64]heldLease // the leases this handle handed out and Extend keeps alive
	gen    uint64              // counts Lease calls, to date entries of held
}

// heldLease is a lease this handle handed out: its owner, and the Lease
// call (gen) that did.
type heldLease struct {
	owner string
	gen   uint64
}

// OpenRedis connects to the Redis server at rawURL (redis://[user:pass@]host:port/db,
// rediss:// for TLS) for the crawl named job, whose keys live under
// "crawl:{job}:", and marks the crawl present on the server (see Jobs).
// A job name is not empty and has no braces or control characters.
func OpenRedis(ctx context.Context, rawURL, job string, opt Options) (*RedisDB, error) {
	if err := redisconn.CheckJob(job); err != nil {
		return nil, fmt.Errorf("open crawl %q on redis: %w", job, err)
	}
	c, where, err := redisconn.Dial(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	r := &RedisDB{
		c: c, where: where, job: job, prefix: "crawl:{" + job + "}:", timing: opt.timing(redisTiming),
		queues: map[string]int{}, names: map[int]string{}, held: map[int64]heldLease{},
	}
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, r.key("created"), time.Now().UTC().Format(time.RFC3339), 0)
		p.SAdd(ctx, jobsKey, job)
		return nil
	})
	if err == nil {
		err = redisconn.LoadScripts(ctx, c, allScripts...)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("open crawl %q on %s: %w", job, where, err)
	}
	return r, nil
}

// Jobs lists, sorted, the crawls present on the Redis server at rawURL: every
// job some OpenRedis opened there whose keys were not deleted since. A
// worker started without a job name joins the one it finds (after checking
// its Meta, e.g. that the crawl is still running).
func Jobs(ctx context.Context, rawURL string) ([]string, error) {
	c, where, err := redisconn.Dial(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	names, err := c.SMembers(ctx, jobsKey).Result()
	if err != nil {
		return nil, fmt.Errorf("list crawls on %s: %w", where, err)
	}
	exists := make([]*redis.IntCmd, len(names))
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, j := range names {
			exists[i] = p.Exists(ctx, "crawl:{"+j+"}:created")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list crawls on %s: %w", where, err)
	}
	var jobs []string
	for i, j := range names {
		if exists[i].Val() > 0 {
			jobs = append(jobs, j)
		}
	}
	slices.Sort(jobs)
	return jobs, nil
}

// Close closes the connection to the server. Leases held through it stay
// until they run out or are released.
func (r *RedisDB) Close() error {
	if err := r.c.Close(); err != nil {
		return fmt.Errorf("close redis %s: %w", r.where, err)
	}
	return nil
}

// Job returns the name of the crawl.
func (r *RedisDB) Job() string { return r.job }

// Timing is [Backend.Timing].
func (r *RedisDB) Timing() LeaseTiming { return r.timing }

// Shared is [Backend.Shared]: workers on other machines share the crawl.
func (r *RedisDB) Shared() bool { return true }

// key returns the full name of the crawl's key k.
func (r *RedisDB) key(k string) string { return r.prefix + k }

// --- scripts ---------------------------------------------------------------

// The scripts live in lua/ beside this file. prelude.lua is shared by the
// scripts that put tasks (65535 is maxQueues), task.lua by those that end
// them.
//
// put reads a put section from ARGV[aoff]: m, m queue names, n, then n
// triples (queue number 1..m, key, data). KEYS[1] is P queues, KEYS[2] is
// P seq, KEYS[kfirst+2(j-1)] and the key after it are the stream and seen
// set of queue j; ARGV[1] is the group. putCheck must run before the
// script's first write, so that an error leaves nothing half done.

//go:embed lua/*.lua
var luaFiles embed.FS

// luaScript loads the script lua/name after the libraries it uses: prelude.lua
// (putting tasks), task.lua (ending them).
func luaScript(name string, libs ...string) redisconn.Script {
	var src []byte
	for _, f := range append(libs, name) {
		b, err := luaFiles.ReadFile("lua/" + f)
		if err != nil {
			panic(err) // embedded: cannot happen
		}
		src = append(src, b...)
	}
	return redisconn.NewScript(string(src))
}

// scriptPut: KEYS = queues, seq, then (stream, seen) per queue;
// ARGV = group, put section. Returns how many tasks were added.
var scriptPut = luaScript("put.lua", "prelude.lua")

// scriptFinish acknowledges (mode "ack") or fails ("fail") one task and
// puts the next tasks, atomically.
//
// KEYS = queues, then the keys of the task's queue (see queueKeys), then
// (stream, seen) per next queue. ARGV = group, entry ID, task seq, queue
// name, mode, a1, a2, put section from ARGV[8]. For "fail" a1 is the
// failure record.
// Returns -1 if no task of this generation has this seq (it never did, or
// Restart forgot it), else how many next tasks were added.
var scriptFinish = luaScript("finish.lua", "prelude.lua", "task.lua")

// scriptAckFiles acknowledges tasks of one queue with the records of their
// files, each atomically, in one call.
//
// KEYS = the keys of the queue (see queueKeys). ARGV = group, queue name,
// then (entry ID, task seq, URL, record) per task. Returns, per task, -1
// if no task of this generation has its seq, else 0.
var scriptAckFiles = luaScript("ackfiles.lua", "task.lua")

// scriptLease: KEYS = stream; ARGV = group, owner, max, ttl ms. Takes
// over entries idle for ttl, then reads new ones. Returns the entries as
// {id, {field, value, ...}}.
var scriptLease = luaScript("lease.lua")

// scriptExtend: KEYS = stream; ARGV = group, owner, entry IDs. Resets the
// idle time of those entries that are still pending under owner, and
// returns their IDs.
var scriptExtend = luaScript("extend.lua")

// scriptRelease: KEYS = queues, then every stream; ARGV = group, owner ("" =
// all), released consumer, number of queues expected, chunk size. Returns
// -1 if the caller's queue list is stale, else how many leases were
// released.
var scriptRelease = luaScript("release.lua")

// scriptCounts: KEYS = queues, done, failed, then the stream of each
// queue; ARGV = group, released consumer, queue names. Returns -1 if the
// list of queues is stale, else {name, ready, leased, done, failed} per
// queue.
var scriptCounts = luaScript("counts.lua")

// scriptRestart: KEYS = queues, done, failed, seq, restarted, then
// (stream, seen, fail, kept) per queue; ARGV = number of queues expected
// ("-1": do not check), chunk size, queue names. Returns -1 if the list of
// queues is stale.
var scriptRestart = luaScript("restart.lua")

// scriptFiles: KEYS = fileorder, files; ARGV = start, stop. Returns the
// records of the URLs at those places in the record order.
var scriptFiles = luaScript("files.lua")

var allScripts = []redisconn.Script{scriptPut, scriptFinish, scriptAckFiles, scriptLease, scriptExtend,
	scriptRelease, scriptCounts, scriptRestart, scriptFiles}

// --- queue names and task IDs ----------------------------------------------

// refreshQueues reloads the queue index from the server.
func (r *RedisDB) refreshQueues(ctx context.Context) error {
	m, err := r.c.HGetAll(ctx, r.key("queues")).Result()
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, v := range m {
		i, err := strconv.Atoi(v)
		if err != nil || i < 1 || i > maxQueues {
			return fmt.Errorf("queue %q has a bad index %q", name, v)
		}
		r.queues[name] = i
		r.names[i] = name
	}
	return nil
}

// queueIndex returns the index of queue, 0 if it never had a task.
func (r *RedisDB) queueIndex(ctx context.Context, queue string) (int, error) {
	r.mu.Lock()
	i := r.queues[queue]
	r.mu.Unlock()
	if i != 0 {
		return i, nil
	}
	if err := r.refreshQueues(ctx); err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queues[queue], nil
}

// knownQueues returns the queue names known to this handle, sorted.
func (r *RedisDB) knownQueues() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	qs := make([]string, 0, len(r.queues))
	for q := range r.queues {
		qs = append(qs, q)
	}
	slices.Sort(qs)
	return qs
}

// taskRef is what a Task.ID names.
type taskRef struct {
	queue string
	seq   int64
	entry string // stream entry ID
}

// ref decodes id; ErrNoTask if it cannot name a task of this crawl.
func (r *RedisDB) ref(ctx context.Context, id int64) (taskRef, error) {
	qi, seq := int(id&maxQueues), id>>queueBits
	if id <= 0 || qi == 0 || seq <= 0 {
		return taskRef{}, ErrNoTask
	}
	r.mu.Lock()
	name, ok := r.names[qi]
	r.mu.Unlock()
	if !ok {
		if err := r.refreshQueues(ctx); err != nil {
			return taskRef{}, err
		}
		r.mu.Lock()
		name, ok = r.names[qi]
		r.mu.Unlock()
		if !ok {
			return taskRef{}, ErrNoTask
		}
	}
	return taskRef{queue: name, seq: seq, entry: strconv.FormatInt(seq, 10) + "-0"}, nil
}

// forget drops id from the leases this handle extends.
func (r *RedisDB) forget(id int64) {
	r.mu.Lock()
	delete(r.held, id)
	r.mu.Unlock()
}

// putArgs builds the keys and the put section for tasks (already checked).
func (r *RedisDB) putArgs(tasks []Task) (keys []string, args []any) {
	order := map[string]int{}
	var names []string
	for _, t := range tasks {
		if _, ok := order[t.Queue]; !ok {
			names = append(names, t.Queue)
			order[t.Queue] = len(names)
		}
	}
	args = make([]any, 0, 2+len(names)+3*len(tasks))
	args = append(args, len(names))
	for _, q := range names {
		args = append(args, q)
		keys = append(keys, r.key("q:"+q), r.key("seen:"+q))
	}
	args = append(args, len(tasks))
	for _, t := range tasks {
		args = append(args, order[t.Queue], t.Key, t.Data)
	}
	return keys, args
}

// --- queue operations ------------------------------------------------------

// Put adds tasks to their queues, ready now, in one script run (atomic), and
// returns how many were added: a task whose (Queue, Key) was put before in
// this run generation, in any state, is skipped. A task without Queue or Key
// is an error and nothing is added.
func (r *RedisDB) Put(ctx context.Context, tasks ...Task) (added int, err error) {
	if len(tasks) == 0 {
		return 0, nil
	}
	if err := checkTasks(tasks); err != nil {
		return 0, fmt.Errorf("put tasks: %w", err)
	}
	keys, args := r.putArgs(tasks)
	keys = append([]string{r.key("queues"), r.key("seq")}, keys...)
	n, err := scriptPut.Run(ctx, r.c, keys, append([]any{redisGroup}, args...)...).Int()
	if err != nil {
		return 0, fmt.Errorf("put tasks: %w", err)
	}
	return n, nil
}

// Lease is [Backend.Lease]; it hands out at most 1000 tasks at once, and
// the owner "~released" is reserved. See the notes on leases above.
func (r *RedisDB) Lease(ctx context.Context, queue string, max int, owner string) ([]Task, error) {
	if owner == "" || owner == releasedConsumer {
		return nil, fmt.Errorf("lease from queue %q: bad owner %q", queue, owner)
	}
	if max <= 0 {
		return []Task{}, nil
	}
	max = min(max, maxLeaseBatch)
	ttlMS := (r.timing.TTL + time.Millisecond - 1).Milliseconds()
	qi, err := r.queueIndex(ctx, queue)
	if err != nil {
		return nil, fmt.Errorf("lease from queue %q: %w", queue, err)
	}
	if qi == 0 {
		return []Task{}, nil
	}
	v, err := scriptLease.Run(ctx, r.c,
		[]string{r.key("q:" + queue)}, redisGroup, owner, max, ttlMS).Slice()
	if err != nil {
		return nil, fmt.Errorf("lease from queue %q: %w", queue, err)
	}
	tasks := make([]Task, 0, len(v))
	for _, e := range v {
		t, err := decodeEntry(queue, qi, e)
		if err != nil {
			return nil, fmt.Errorf("lease from queue %q: %w", queue, err)
		}
		tasks = append(tasks, t)
	}
	slices.SortFunc(tasks, func(a, b Task) int { return cmp.Compare(a.ID, b.ID) })
	r.mu.Lock()
	r.gen++
	for _, t := range tasks {
		r.held[t.ID] = heldLease{owner, r.gen}
	}
	r.mu.Unlock()
	return tasks, nil
}

// decodeEntry turns a stream entry {id, {field, value, ...}} into a Task.
func decodeEntry(queue string, qi int, e any) (Task, error) {
	pair, ok := e.([]any)
	if !ok || len(pair) != 2 {
		return Task{}, fmt.Errorf("bad stream entry %v", e)
	}
	id, _ := pair[0].(string)
	ms, _, _ := strings.Cut(id, "-")
	seq, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || seq <= 0 || seq > 1<<(63-queueBits)-1 {
		return Task{}, fmt.Errorf("bad stream entry ID %q", id)
	}
	flat, _ := pair[1].([]any)
	t := Task{ID: seq<<queueBits | int64(qi), Queue: queue}
	for i := 0; i+1 < len(flat); i += 2 {
		f, _ := flat[i].(string)
		v, _ := flat[i+1].(string)
		switch f {
		case "k":
			t.Key = v
		case "d":
			if v != "" {
				t.Data = []byte(v)
			}
		}
	}
	if t.Key == "" {
		return Task{}, fmt.Errorf("stream entry %s has no key", id)
	}
	return t, nil
}

// queueKeys returns the keys that the scripts ending a task of queue use
// (task.lua's keysAt): seq, stream, done, failed, fail:Q, files, fileorder,
// restarted, kept:Q.
func (r *RedisDB) queueKeys(queue string) []string {
	return []string{r.key("seq"), r.key("q:" + queue), r.key("done"), r.key("failed"), r.key("fail:" + queue),
		r.key("files"), r.key("fileorder"), r.key("restarted"), r.key("kept:" + queue)}
}

// finish runs scriptFinish for task id.
func (r *RedisDB) finish(ctx context.Context, what string, id int64, mode, a1, a2 string, next []Task) error {
	if err := checkTasks(next); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ref, err := r.ref(ctx, id)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	keys := append([]string{r.key("queues")}, r.queueKeys(ref.queue)...)
	args := []any{redisGroup, ref.entry, ref.seq, ref.queue, mode, a1, a2}
	if len(next) == 0 {
		args = append(args, 0)
	} else {
		nk, na := r.putArgs(next)
		keys = append(keys, nk...)
		args = append(args, na...)
	}
	n, err := scriptFinish.Run(ctx, r.c, keys, args...).Int()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n < 0 {
		return fmt.Errorf("%s: %w", what, ErrNoTask)
	}
	r.forget(id)
	return nil
}

// Ack is [Backend.Ack], in one script run.
func (r *RedisDB) Ack(ctx context.Context, id int64, next ...Task) error {
	return r.finish(ctx, fmt.Sprintf("ack task %d", id), id, "ack", "", "", next)
}

// AckFile is [Backend.AckFile], in one script run.
func (r *RedisDB) AckFile(ctx context.Context, id int64, f File) error {
	errs, err := r.AckFiles(ctx, []FileAck{{ID: id, File: f}})
	if err == nil {
		err = errs[0]
	}
	return err
}

// ackFilesChunk is how many acks one run of scriptAckFiles takes at most.
const ackFilesChunk = redisChunk / 4

// AckFiles is [Backend.AckFiles]: one script run for each run of up to
// ackFilesChunk acks in a row of the same queue (a batch of one stage's
// downloads is one), each ack atomic by itself.
func (r *RedisDB) AckFiles(ctx context.Context, acks []FileAck) (errs []error, err error) {
	errs = make([]error, len(acks))
	var run []fileAckRef // acks in a row of one queue
	for i, a := range acks {
		if a.File.URL == "" || a.File.Path == "" {
			errs[i] = fmt.Errorf("ack task %d: file record needs a URL and a path", a.ID)
			continue
		}
		ref, err := r.ref(ctx, a.ID)
		if errors.Is(err, ErrNoTask) {
			errs[i] = fmt.Errorf("ack task %d with file %s: %w", a.ID, a.File.Path, err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ack task %d with file %s: %w", a.ID, a.File.Path, err)
		}
		if len(run) == ackFilesChunk || len(run) > 0 && run[0].ref.queue != ref.queue {
			if err := r.ackFileRun(ctx, acks, run, errs); err != nil {
				return nil, err
			}
			run = run[:0]
		}
		run = append(run, fileAckRef{i, ref})
	}
	if err := r.ackFileRun(ctx, acks, run, errs); err != nil {
		return nil, err
	}
	return errs, nil
}

// fileAckRef is acks[i] of an AckFiles call, and the task it names.
type fileAckRef struct {
	i   int
	ref taskRef
}

// ackFileRun stores run, acks of one queue, in one run of scriptAckFiles,
// and sets errs[i] of those whose task is gone.
func (r *RedisDB) ackFileRun(ctx context.Context, acks []FileAck, run []fileAckRef, errs []error) error {
	if len(run) == 0 {
		return nil
	}
	q := run[0].ref.queue
	args := make([]any, 0, 2+4*len(run))
	args = append(args, redisGroup, q)
	for _, a := range run {
		f := acks[a.i].File
		args = append(args, a.ref.entry, a.ref.seq, f.URL,
			packFields(f.URL, f.Path, strconv.FormatInt(f.Bytes, 10), f.SHA256, f.ContentType, f.Source, f.Worker))
	}
	v, err := scriptAckFiles.Run(ctx, r.c, r.queueKeys(q), args...).Int64Slice()
	if err == nil && len(v) != len(run) {
		err = fmt.Errorf("%d results for %d acks", len(v), len(run))
	}
	if err != nil {
		return fmt.Errorf("ack %d tasks of queue %q with their files: %w", len(run), q, err)
	}
	for j, a := range run {
		if v[j] < 0 {
			errs[a.i] = fmt.Errorf("ack task %d with file %s: %w", acks[a.i].ID, acks[a.i].File.Path, ErrNoTask)
			continue
		}
		r.forget(acks[a.i].ID)
	}
	return nil
}

// Fail is [Backend.Fail], in one script run.
func (r *RedisDB) Fail(ctx context.Context, id int64, url, reason, source string) error {
	return r.finish(ctx, fmt.Sprintf("fail task %d", id), id, "fail", packFields(url, reason, source), "", nil)
}

// Extend is [Backend.Extend]. Redis keeps no deadline, only the time
// since the last Lease or Extend: this resets that time for the leases
// owner took through this handle and still holds. Leases that another
// owner took over are forgotten here.
func (r *RedisDB) Extend(ctx context.Context, owner string) error {
	type lease struct {
		id  int64
		gen uint64
	}
	byQueue := map[string][]lease{}
	entries := map[int64]string{}
	var errs []error
	r.mu.Lock()
	var mine []lease
	for id, h := range r.held {
		if h.owner == owner {
			mine = append(mine, lease{id, h.gen})
		}
	}
	r.mu.Unlock()
	slices.SortFunc(mine, func(a, b lease) int { return cmp.Compare(a.id, b.id) })
	for _, l := range mine {
		ref, err := r.ref(ctx, l.id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		byQueue[ref.queue] = append(byQueue[ref.queue], l)
		entries[l.id] = ref.entry
	}
	for q, ls := range byQueue {
		for c := range slices.Chunk(ls, redisChunk) {
			args := []any{redisGroup, owner}
			for _, l := range c {
				args = append(args, entries[l.id])
			}
			kept, err := scriptExtend.Run(ctx, r.c, []string{r.key("q:" + q)}, args...).StringSlice()
			if err != nil {
				errs = append(errs, fmt.Errorf("queue %q: %w", q, err))
				continue
			}
			still := make(map[string]bool, len(kept))
			for _, e := range kept {
				still[e] = true
			}
			r.mu.Lock()
			for _, l := range c {
				if h, ok := r.held[l.id]; ok && h.gen == l.gen && !still[entries[l.id]] {
					delete(r.held, l.id) // taken over, or finished elsewhere
				}
			}
			r.mu.Unlock()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("extend leases of %s: %w", owner, err)
	}
	return nil
}

// Release is [Backend.Release].
func (r *RedisDB) Release(ctx context.Context, owner string) (int, error) {
	what := "release leases of " + owner
	for range 5 {
		if err := r.refreshQueues(ctx); err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		qs := r.knownQueues()
		keys := []string{r.key("queues")}
		for _, q := range qs {
			keys = append(keys, r.key("q:"+q))
		}
		n, err := scriptRelease.Run(ctx, r.c, keys, redisGroup, owner, releasedConsumer, len(qs), redisChunk).Int()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		if n < 0 {
			continue // a queue was added meanwhile
		}
		r.mu.Lock()
		for id, h := range r.held {
			if h.owner == owner || owner == "" {
				delete(r.held, id)
			}
		}
		r.mu.Unlock()
		return n, nil
	}
	return 0, fmt.Errorf("%s: queues keep changing", what)
}

// Counts is [Backend.Counts], in one script run.
func (r *RedisDB) Counts(ctx context.Context) (map[string]QueueCounts, error) {
	for range 5 {
		qs := r.knownQueues()
		keys := []string{r.key("queues"), r.key("done"), r.key("failed")}
		args := []any{redisGroup, releasedConsumer}
		for _, q := range qs {
			keys = append(keys, r.key("q:"+q))
			args = append(args, q)
		}
		v, err := scriptCounts.Run(ctx, r.c, keys, args...).Result()
		if err != nil {
			return nil, fmt.Errorf("count tasks: %w", err)
		}
		rows, ok := v.([]any)
		if !ok { // -1: the queue list is stale
			if err := r.refreshQueues(ctx); err != nil {
				return nil, fmt.Errorf("count tasks: %w", err)
			}
			continue
		}
		m := map[string]QueueCounts{}
		for _, row := range rows {
			f, ok := row.([]any)
			if !ok || len(f) != 5 {
				return nil, fmt.Errorf("count tasks: bad reply %v", row)
			}
			name, _ := f[0].(string)
			var n [4]int
			for i := range n {
				x, _ := f[i+1].(int64)
				n[i] = int(x)
			}
			if c := (QueueCounts{Ready: n[0], Leased: n[1], Done: n[2], Failed: n[3]}); c != (QueueCounts{}) {
				m[name] = c
			}
		}
		return m, nil
	}
	return nil, errors.New("count tasks: queues keep changing")
}

// Failures is [Backend.Failures].
func (r *RedisDB) Failures(ctx context.Context) ([]Failure, error) {
	if err := r.refreshQueues(ctx); err != nil {
		return nil, fmt.Errorf("list failures: %w", err)
	}
	qs := r.knownQueues()
	cmds := make([]*redis.MapStringStringCmd, len(qs))
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, q := range qs {
			cmds[i] = p.HGetAll(ctx, r.key("fail:"+q))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list failures: %w", err)
	}
	type rec struct {
		orig, seq int64
		f         Failure
	}
	var recs []rec
	for i, q := range qs {
		for seqs, v := range cmds[i].Val() {
			o, rest, _ := strings.Cut(v, " ")
			orig, err1 := strconv.ParseInt(o, 10, 64)
			seq, err2 := strconv.ParseInt(seqs, 10, 64)
			fs, err3 := unpackFields(rest, 3)
			if err := errors.Join(err1, err2, err3); err != nil {
				return nil, fmt.Errorf("list failures: queue %q: bad record %q: %w", q, v, err)
			}
			recs = append(recs, rec{orig, seq, Failure{Queue: q, URL: fs[0], Reason: fs[1], Source: fs[2]}})
		}
	}
	slices.SortFunc(recs, func(a, b rec) int {
		if a.orig != b.orig {
			return cmp.Compare(a.orig, b.orig)
		}
		return cmp.Compare(a.seq, b.seq)
	})
	var out []Failure
	for _, x := range recs {
		out = append(out, x.f)
	}
	return out, nil
}

// Restart is [Backend.Restart], in one script run. It notes the last
// task sequence put so far for each queue (P restarted), by which Ack and
// Fail tell a forgotten task. The script reads every live task of those
// queues, so on a queue of millions it holds the server for a moment.
func (r *RedisDB) Restart(ctx context.Context, queues ...string) error {
	all := len(queues) == 0
	for range 5 {
		check := "-1"
		if all {
			if err := r.refreshQueues(ctx); err != nil {
				return fmt.Errorf("restart queues: %w", err)
			}
			queues = r.knownQueues()
			check = strconv.Itoa(len(queues))
		}
		keys := []string{r.key("queues"), r.key("done"), r.key("failed"), r.key("seq"), r.key("restarted")}
		args := []any{check, redisChunk}
		for _, q := range queues {
			keys = append(keys, r.key("q:"+q), r.key("seen:"+q), r.key("fail:"+q), r.key("kept:"+q))
			args = append(args, q)
		}
		n, err := scriptRestart.Run(ctx, r.c, keys, args...).Int()
		if err != nil {
			return fmt.Errorf("restart queues: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
	return errors.New("restart queues: queues keep changing")
}

// Meta is [Backend.Meta].
func (r *RedisDB) Meta(ctx context.Context, key string) (string, error) {
	v, err := r.c.HGet(ctx, r.key("meta"), key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read meta %q: %w", key, err)
	}
	return v, nil
}

// SetMeta is [Backend.SetMeta].
func (r *RedisDB) SetMeta(ctx context.Context, key, value string) error {
	if err := r.c.HSet(ctx, r.key("meta"), key, value).Err(); err != nil {
		return fmt.Errorf("set meta %q: %w", key, err)
	}
	return nil
}

// UpdateMeta is [Backend.UpdateMeta]: an optimistic transaction that
// starts over when the meta hash changed between the read and the write.
func (r *RedisDB) UpdateMeta(ctx context.Context, key string, update func(old string) (string, error)) error {
	meta := r.key("meta")
	for range 100 {
		err := r.c.Watch(ctx, func(tx *redis.Tx) error {
			old, err := tx.HGet(ctx, meta, key).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			v, err := update(old)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, meta, key, v)
				return nil
			})
			return err
		}, meta)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil {
				return fmt.Errorf("update meta %q: %w", key, err)
			}
			return nil
		}
	}
	return fmt.Errorf("update meta %q: it keeps changing", key)
}

// --- file records ----------------------------------------------------------

// FileByURL is [Backend.FileByURL].
func (r *RedisDB) FileByURL(ctx context.Context, url string) (File, bool, error) {
	v, err := r.c.HGet(ctx, r.key("files"), url).Result()
	if errors.Is(err, redis.Nil) {
		return File{}, false, nil
	}
	if err != nil {
		return File{}, false, fmt.Errorf("look up file of %s: %w", url, err)
	}
	f, err := decodeFile(v)
	if err != nil {
		return File{}, false, fmt.Errorf("look up file of %s: %w", url, err)
	}
	return f, true, nil
}

// FilesByURL looks up the records of urls, in one round trip for every
// redisChunk of them: the record of urls[i] is files[i] if found[i].
func (r *RedisDB) FilesByURL(ctx context.Context, urls []string) (files []File, found []bool, err error) {
	files, found = make([]File, len(urls)), make([]bool, len(urls))
	for start := 0; start < len(urls); start += redisChunk {
		part := urls[start:min(start+redisChunk, len(urls))]
		vs, err := r.c.HMGet(ctx, r.key("files"), part...).Result()
		if err != nil {
			return nil, nil, fmt.Errorf("look up files of %d URLs: %w", len(part), err)
		}
		for i, v := range vs {
			s, ok := v.(string)
			if !ok {
				continue // not recorded
			}
			f, err := decodeFile(s)
			if err != nil {
				return nil, nil, fmt.Errorf("look up file of %s: %w", part[i], err)
			}
			files[start+i], found[start+i] = f, true
		}
	}
	return files, found, nil
}

// Files is [Backend.Files]: a round trip for each redisChunk records.
func (r *RedisDB) Files(ctx context.Context) iter.Seq2[File, error] {
	return func(yield func(File, error) bool) {
		keys := []string{r.key("fileorder"), r.key("files")}
		for start := 0; ; start += redisChunk {
			v, err := scriptFiles.Run(ctx, r.c, keys, start, start+redisChunk-1).Slice()
			if err != nil {
				yield(File{}, fmt.Errorf("list files: %w", err))
				return
			}
			for _, x := range v {
				s, ok := x.(string)
				if !ok {
					continue // recorded meanwhile, or removed by hand
				}
				f, err := decodeFile(s)
				if err != nil {
					yield(File{}, fmt.Errorf("list files: %w", err))
					return
				}
				if !yield(f, nil) {
					return
				}
			}
			if len(v) < redisChunk {
				return
			}
		}
	}
}

// decodeFile decodes a file record written by AckFile.
func decodeFile(v string) (File, error) {
	fs, err := unpackFields(v, 7)
	if err != nil {
		return File{}, fmt.Errorf("bad file record %q: %w", v, err)
	}
	n, err := strconv.ParseInt(fs[2], 10, 64)
	if err != nil {
		return File{}, fmt.Errorf("bad file record %q: %w", v, err)
	}
	return File{URL: fs[0], Path: fs[1], Bytes: n, SHA256: fs[3], ContentType: fs[4], Source: fs[5], Worker: fs[6]}, nil
}

// packFields joins strings into one, each as its length, ':' and its bytes,
// so that any bytes survive.
func packFields(fs ...string) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
	}
	return b.String()
}

// unpackFields splits what packFields joined, expecting n fields.
func unpackFields(s string, n int) ([]string, error) {
	out := make([]string, 0, n)
	for len(s) > 0 {
		l, rest, ok := strings.Cut(s, ":")
		k, err := strconv.Atoi(l)
		if !ok || err != nil || k < 0 || k > len(rest) {
			return nil, errors.New("bad field length")
		}
		out = append(out, rest[:k])
		s = rest[k:]
	}
	if len(out) != n {
		return nil, fmt.Errorf("%d fields, want %d", len(out), n)
	}
	return out, nil
}
