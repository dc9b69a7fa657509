package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"crawl/internal/redisconn"

	"github.com/redis/go-redis/v9"
)

// The Redis backend.
//
// RedisDB is the distributed twin of DB: the same queues, seen set, counters,
// failures, file records and meta, kept on a Redis server (6.2 or later; tested on 7.0) so
// that stage processes on several machines share one crawl. Its methods have
// DB's names, signatures and meaning; where Redis makes them differ, the
// method's comment says so.
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
//	P delay:NAME      zset   retries that are not due yet (msgpack), by due time (ms)
//	P seen:NAME       set    the keys put in this run generation (the seen set)
//	P done            hash   queue name → tasks done in this generation
//	P failed          hash   queue name → tasks failed in this generation
//	P fail:NAME       hash   task sequence → its failure (first-put sequence, url, reason, source)
//	P files           hash   URL → file record (path, bytes, sha256, type, source, worker)
//	P fileorder       list   URLs in the order they were first recorded
//	P meta            hash   Meta / SetMeta
//	P created         string when the crawl was first opened (marks it present)
//	P host:HOST       zset   AcquireHost slots held: token → expiry (µs)
//	P hostnext:HOST   string the earliest start (µs) of the next request to HOST
//	crawl:jobs        set    every job name opened on this server (see Jobs)
//
// A stream entry is one task that is ready or leased: its ID is "SEQ-0" where
// SEQ is a fresh value of P seq (so IDs grow in every stream, and a task's
// place in the put order is known across queues), and its fields are k (key),
// d (data), a (attempts) and o (the sequence of its first put, kept across
// retries). Being ready means not yet delivered to the group, or pending under
// the reserved consumer "~released"; being leased means pending under the
// owner's consumer name. Acknowledging a task removes its entry (XACK + XDEL)
// in the same script that stores its effect, so the stream only ever holds
// live tasks and XLEN − pending is exactly the number never delivered.
//
// # Task IDs
//
// Task.ID is SEQ<<16 | queue index: any process can turn it back into the
// stream and entry it names, with no table to keep. A retried task is put
// again under a new SEQ, so its ID changes (DB keeps it); Attempts and the
// first-put order carry over.
//
// # Leases
//
// Redis keeps no lease deadline, only how long a pending entry has been idle
// since it was delivered or claimed. Lease first takes over (XCLAIM) entries
// that have been idle for at least its ttl, oldest ID first, then reads new
// ones (XREADGROUP COUNT max, no BLOCK). So a lease runs out once it has been
// idle for the ttl of the Lease call that takes it over: every caller of one
// queue should use the same ttl. Extend resets the idle time of the leases
// that owner took through this handle and still holds (so a lease whose
// reply was lost, or that another owner took over, is never kept alive by
// mistake); Release hands an owner's leases to "~released" as if delivered
// in 1970, so the next Lease takes them at once.

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

// hostSlotTTL is how long an AcquireHost slot outlives a holder that stopped
// refreshing it (it died); holders refresh every third of it.
const hostSlotTTL = 10 * time.Second

// RedisDB is the durable state of one crawl (the job) on a Redis server:
// queues, the seen set, counters, failures, file records and meta, shared by
// every process on every machine that opens the same job. It mirrors DB;
// a *RedisDB is safe for concurrent use by many goroutines.
type RedisDB struct {
	c       *redis.Client
	where   string // the server URL without password, for errors
	job     string
	prefix  string
	hostTTL time.Duration // AcquireHost slot lifetime; tests shorten it

	mu     sync.Mutex
	queues map[string]int      // queue name → index, as last read from P queues
	names  map[int]string      // index → queue name
	held   map[int64]heldLease // the leases this handle handed out and Extend keeps alive
	gen    uint64              // counts Lease calls, to date entries of held
	worker string              // recorded by AckFile

	quit      chan struct{} // closed by Close: stops slot refreshers
	closeOnce sync.Once
}

// heldLease is a lease this handle handed out: its owner, and the Lease
// call (gen) that did.
type heldLease struct {
	owner string
	gen   uint64
}

// RedisFile is a file record together with the worker that holds the file
// on its disk (what RedisDB.SetWorker named when the file was recorded).
type RedisFile struct {
	File
	Worker string
}

// OpenRedis connects to the Redis server at rawURL (redis://[user:pass@]host:port/db,
// rediss:// for TLS) for the crawl named job, whose keys live under
// "crawl:{job}:", and marks the crawl present on the server (see Jobs).
// A job name is not empty and has no braces or control characters.
func OpenRedis(ctx context.Context, rawURL, job string) (*RedisDB, error) {
	if err := checkJob(job); err != nil {
		return nil, fmt.Errorf("open crawl %q on redis: %w", job, err)
	}
	c, where, err := dialRedis(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	r := &RedisDB{
		c: c, where: where, job: job, prefix: "crawl:{" + job + "}:", hostTTL: hostSlotTTL,
		queues: map[string]int{}, names: map[int]string{}, held: map[int64]heldLease{},
		quit: make(chan struct{}),
	}
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, r.key("created"), time.Now().UTC().Format(time.RFC3339), 0)
		p.SAdd(ctx, jobsKey, job)
		for _, s := range allScripts {
			s.Load(ctx, p)
		}
		return nil
	})
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
	c, where, err := dialRedis(ctx, rawURL)
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

// checkJob reports what is wrong with a job name.
func checkJob(job string) error {
	if job == "" {
		return errors.New("empty job name")
	}
	if len(job) > 200 {
		return errors.New("job name longer than 200 bytes")
	}
	for _, c := range job {
		if c == '{' || c == '}' || c < 0x20 || c == 0x7f {
			return errors.New("job name with a brace or a control character")
		}
	}
	return nil
}

// dialRedis connects to rawURL and checks the server answers.
func dialRedis(ctx context.Context, rawURL string) (*redis.Client, string, error) {
	return redisconn.Dial(ctx, rawURL)
}

// Close closes the connection to the server. Leases held through it stay
// until they run out or are released; host slots held through it run out
// within a few seconds.
func (r *RedisDB) Close() error {
	r.closeOnce.Do(func() { close(r.quit) })
	if err := r.c.Close(); err != nil {
		return fmt.Errorf("close redis %s: %w", r.where, err)
	}
	return nil
}

// Job returns the name of the crawl.
func (r *RedisDB) Job() string { return r.job }

// SetWorker names the worker (machine or process) whose out folder holds
// the files this handle records from now on; AckFile stores the name with
// each record (default "").
func (r *RedisDB) SetWorker(name string) {
	r.mu.Lock()
	r.worker = name
	r.mu.Unlock()
}

// key returns the full name of the crawl's key k.
func (r *RedisDB) key(k string) string { return r.prefix + k }

// --- scripts ---------------------------------------------------------------

// luaPrelude is shared by the scripts (65535 is maxQueues): the server clock and putting tasks.
//
// put reads a put section from ARGV[aoff]: m, m queue names, n, then n
// triples (queue number 1..m, key, data). KEYS[1] is P queues, KEYS[2] is
// P seq, KEYS[kfirst+2(j-1)] and the key after it are the stream and seen
// set of queue j; ARGV[1] is the group. putCheck must run before the
// script's first write, so that an error leaves nothing half done.
const luaPrelude = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function new_id(seqkey)
  return string.format('%d', redis.call('INCR', seqkey))
end

local function ensure_stream(s)
  if redis.call('EXISTS', s) == 0 then
    redis.call('XGROUP', 'CREATE', s, ARGV[1], '0', 'MKSTREAM')
  end
end

local function fields(flat)
  local f = {}
  for i = 1, #flat, 2 do f[flat[i]] = flat[i + 1] end
  return f
end

local function putCheck(aoff)
  local m = tonumber(ARGV[aoff])
  local fresh = 0
  for j = 1, m do
    if redis.call('HEXISTS', KEYS[1], ARGV[aoff + j]) == 0 then fresh = fresh + 1 end
  end
  if fresh > 0 and redis.call('HLEN', KEYS[1]) + fresh > 65535 then
    return 'too many queues'
  end
  return nil
end

local function put(kfirst, aoff)
  local m = tonumber(ARGV[aoff])
  if m == 0 then return 0 end
  local n = tonumber(ARGV[aoff + m + 1])
  local base = aoff + m + 2
  for j = 1, m do
    local name = ARGV[aoff + j]
    if redis.call('HEXISTS', KEYS[1], name) == 0 then
      redis.call('HSET', KEYS[1], name, redis.call('HLEN', KEYS[1]) + 1)
    end
    ensure_stream(KEYS[kfirst + 2 * (j - 1)])
  end
  local added = 0
  for i = 0, n - 1 do
    local a = base + 3 * i
    local j = tonumber(ARGV[a])
    local k = ARGV[a + 1]
    if redis.call('SADD', KEYS[kfirst + 2 * (j - 1) + 1], k) == 1 then
      local id = new_id(KEYS[2])
      redis.call('XADD', KEYS[kfirst + 2 * (j - 1)], id .. '-0', 'k', k, 'd', ARGV[a + 2], 'a', '0', 'o', id)
      added = added + 1
    end
  end
  return added
end
`

// scriptPut: KEYS = queues, seq, then (stream, seen) per queue;
// ARGV = group, put section. Returns how many tasks were added.
var scriptPut = redis.NewScript(luaPrelude + `
local bad = putCheck(2)
if bad then return redis.error_reply(bad) end
return put(3, 2)
`)

// scriptFinish acknowledges (mode "ack" or "file") or fails ("fail") one
// task and puts the next tasks, atomically.
//
// KEYS = queues, seq, stream, done, failed, fail:Q, files, fileorder, then
// (stream, seen) per next queue. ARGV = group, entry ID, task seq, queue
// name, mode, a1, a2, put section from ARGV[8]. For "file" a1 is the URL and
// a2 the record; for "fail" a1 is the failure record. Returns -1 if no task
// ever had this seq, else how many next tasks were added.
var scriptFinish = redis.NewScript(luaPrelude + `
local eid, seq, q, mode = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if tonumber(seq) > tonumber(redis.call('GET', KEYS[2]) or '0') then return -1 end
local bad = putCheck(8)
if bad then return redis.error_reply(bad) end
local existed, orig = 0, seq
if redis.call('EXISTS', KEYS[3]) == 1 then
  if mode == 'fail' then
    local e = redis.call('XRANGE', KEYS[3], eid, eid)
    if #e == 1 then orig = fields(e[1][2])['o'] or seq end
  end
  redis.call('XACK', KEYS[3], ARGV[1], eid)
  existed = redis.call('XDEL', KEYS[3], eid)
end
if mode == 'fail' then
  if existed == 1 then
    redis.call('HINCRBY', KEYS[5], q, 1)
    redis.call('HSET', KEYS[6], seq, orig .. ' ' .. ARGV[6])
  else
    local old = redis.call('HGET', KEYS[6], seq)
    if old then
      redis.call('HSET', KEYS[6], seq, string.match(old, '^%d+') .. ' ' .. ARGV[6])
    end
  end
  return 0
end
if existed == 1 then
  redis.call('HINCRBY', KEYS[4], q, 1)
elseif redis.call('HDEL', KEYS[6], seq) == 1 then
  redis.call('HINCRBY', KEYS[5], q, -1)
  redis.call('HINCRBY', KEYS[4], q, 1)
end
if mode == 'file' then
  if redis.call('HSET', KEYS[7], ARGV[6], ARGV[7]) == 1 then
    redis.call('RPUSH', KEYS[8], ARGV[6])
  end
end
return put(9, 8)
`)

// scriptLease: KEYS = stream, delay, seq; ARGV = group, owner, max, ttl ms.
// Moves due retries into the stream, takes over entries idle for ttl, then
// reads new ones. Returns the entries as {id, {field, value, ...}}.
var scriptLease = redis.NewScript(luaPrelude + `
local max = tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 1 then
  local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_ms(), 'LIMIT', 0, 256)
  if #due > 0 then ensure_stream(KEYS[1]) end
  for _, m in ipairs(due) do
    local t = cmsgpack.unpack(m)
    redis.call('XADD', KEYS[1], new_id(KEYS[3]) .. '-0', 'k', t[1], 'd', t[2], 'a', t[3], 'o', t[4])
    redis.call('ZREM', KEYS[2], m)
  end
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local out = {}
local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[4], '-', '+', max)
if #p > 0 then
  local args = {'XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[4]}
  for _, e in ipairs(p) do args[#args + 1] = e[1] end
  for _, e in ipairs(redis.call(unpack(args))) do
    if type(e) == 'table' and type(e[2]) == 'table' then out[#out + 1] = e end
  end
end
if #out < max then
  local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', max - #out, 'STREAMS', KEYS[1], '>')
  if r then
    for _, e in ipairs(r[1][2]) do out[#out + 1] = e end
  end
end
return out
`)

// scriptRetry: KEYS = stream, delay, seq; ARGV = group, entry ID, task seq,
// after ms, released consumer. Returns -1 if no task ever had this seq, 1 if
// it was given back, 0 if it was not leased.
var scriptRetry = redis.NewScript(luaPrelude + `
if tonumber(ARGV[3]) > tonumber(redis.call('GET', KEYS[3]) or '0') then return -1 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] == ARGV[5] then return 0 end
local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if #e == 0 then return 0 end
local f = fields(e[1][2])
local a = tonumber(f['a'] or '0') + 1
local d, o = f['d'] or '', f['o'] or ARGV[3]
local after = tonumber(ARGV[4])
if after <= 0 then
  redis.call('XADD', KEYS[1], new_id(KEYS[3]) .. '-0', 'k', f['k'], 'd', d, 'a', a, 'o', o)
else
  redis.call('ZADD', KEYS[2], now_ms() + after, cmsgpack.pack({f['k'], d, a, o, ARGV[3]}))
end
return 1
`)

// scriptExtend: KEYS = stream; ARGV = group, owner, entry IDs. Resets the
// idle time of those entries that are still pending under owner, and
// returns their IDs.
var scriptExtend = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local args = {'XCLAIM', KEYS[1], ARGV[1], ARGV[2], '0'}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p == 1 and p[1][2] == ARGV[2] then args[#args + 1] = ARGV[i] end
end
if #args == 5 then return {} end
args[#args + 1] = 'JUSTID'
return redis.call(unpack(args))
`)

// scriptRelease: KEYS = queues, then every stream; ARGV = group, owner ("" =
// all), released consumer, number of queues expected. Returns -1 if the
// caller's queue list is stale, else how many leases were released.
var scriptRelease = redis.NewScript(`
if redis.call('HLEN', KEYS[1]) ~= tonumber(ARGV[4]) then return -1 end
local total = 0
for i = 2, #KEYS do
  local s = KEYS[i]
  if redis.call('EXISTS', s) == 1 then
    local start = '-'
    while true do
      local p
      if ARGV[2] == '' then
        p = redis.call('XPENDING', s, ARGV[1], start, '+', ` + strconv.Itoa(redisChunk) + `)
      else
        p = redis.call('XPENDING', s, ARGV[1], start, '+', ` + strconv.Itoa(redisChunk) + `, ARGV[2])
      end
      if #p == 0 then break end
      local args = {'XCLAIM', s, ARGV[1], ARGV[3], '0'}
      for _, e in ipairs(p) do
        if e[2] ~= ARGV[3] then args[#args + 1] = e[1] end
      end
      if #args > 5 then
        args[#args + 1] = 'TIME'
        args[#args + 1] = '1'
        args[#args + 1] = 'JUSTID'
        total = total + #redis.call(unpack(args))
      end
      if #p < ` + strconv.Itoa(redisChunk) + ` then break end
      start = '(' .. p[#p][1]
    end
    if ARGV[2] ~= '' then redis.call('XGROUP', 'DELCONSUMER', s, ARGV[1], ARGV[2]) end
  end
end
return total
`)

// scriptCounts: KEYS = queues, done, failed, then (stream, delay) per
// queue; ARGV = group, released consumer, queue names. Returns -1 if the
// list of queues is stale, else {name, ready, leased, done, failed} per queue.
var scriptCounts = redis.NewScript(`
local n = #ARGV - 2
if redis.call('HLEN', KEYS[1]) ~= n then return -1 end
local out = {}
for i = 1, n do
  local s, dz, name = KEYS[2 + 2 * i], KEYS[3 + 2 * i], ARGV[2 + i]
  local xlen, pend, rel = 0, 0, 0
  if redis.call('EXISTS', s) == 1 then
    xlen = redis.call('XLEN', s)
    local p = redis.call('XPENDING', s, ARGV[1])
    pend = p[1]
    if type(p[4]) == 'table' then
      for _, c in ipairs(p[4]) do
        if c[1] == ARGV[2] then rel = tonumber(c[2]) end
      end
    end
  end
  out[i] = {name, xlen - pend + rel + redis.call('ZCARD', dz), pend - rel,
    tonumber(redis.call('HGET', KEYS[2], name) or '0'),
    tonumber(redis.call('HGET', KEYS[3], name) or '0')}
end
return out
`)

// scriptRestart: KEYS = queues, done, failed, then (stream, delay, seen,
// fail) per queue; ARGV = number of queues expected ("-1": do not check),
// queue names. Returns -1 if the list of queues is stale.
var scriptRestart = redis.NewScript(`
if ARGV[1] ~= '-1' and redis.call('HLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return -1 end
for i = 2, #ARGV do
  local b = 4 + 4 * (i - 2)
  local s, dz, seen, fail, name = KEYS[b], KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], ARGV[i]
  redis.call('DEL', seen, fail)
  redis.call('HDEL', KEYS[2], name)
  redis.call('HDEL', KEYS[3], name)
  if redis.call('EXISTS', s) == 1 then
    local start = '-'
    while true do
      local e = redis.call('XRANGE', s, start, '+', 'COUNT', ` + strconv.Itoa(redisChunk) + `)
      if #e == 0 then break end
      local args = {'SADD', seen}
      for _, x in ipairs(e) do
        local f = x[2]
        for j = 1, #f, 2 do
          if f[j] == 'k' then args[#args + 1] = f[j + 1] end
        end
      end
      if #args > 2 then redis.call(unpack(args)) end
      if #e < ` + strconv.Itoa(redisChunk) + ` then break end
      start = '(' .. e[#e][1]
    end
  end
  for _, m in ipairs(redis.call('ZRANGE', dz, 0, -1)) do
    redis.call('SADD', seen, cmsgpack.unpack(m)[1])
  end
end
return 0
`)

// scriptFiles: KEYS = fileorder, files; ARGV = start, stop. Returns the
// records of the URLs at those places in the record order.
var scriptFiles = redis.NewScript(`
local urls = redis.call('LRANGE', KEYS[1], ARGV[1], ARGV[2])
if #urls == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(urls))
`)

// scriptAcquireHost: KEYS = host slots, host next start; ARGV = token,
// perHost, delay µs, slot ttl µs. Returns -1 if every slot is taken, else
// how long (µs) the new holder waits before it starts.
var scriptAcquireHost = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
redis.call('ZADD', KEYS[1], string.format('%d', now + ttl), ARGV[1])
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil(2 * ttl / 1000)))
local delay = tonumber(ARGV[3])
if delay <= 0 then return 0 end
local start = now
local nx = tonumber(redis.call('GET', KEYS[2]) or '0')
if nx > start then start = nx end
redis.call('SET', KEYS[2], string.format('%d', start + delay), 'PX', string.format('%d', math.ceil((start + delay - now) / 1000) + 1000))
return start - now
`)

// scriptRefreshHost: KEYS = host slots; ARGV = token, slot ttl µs. Pushes the
// token's expiry out if it still holds a slot; returns 1 if it does.
var scriptRefreshHost = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[2])
local n = redis.call('ZADD', KEYS[1], 'XX', 'CH', string.format('%d', now + ttl), ARGV[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil(2 * ttl / 1000)))
end
return n
`)

var allScripts = []*redis.Script{scriptPut, scriptFinish, scriptLease, scriptRetry, scriptExtend,
	scriptRelease, scriptCounts, scriptRestart, scriptFiles, scriptAcquireHost, scriptRefreshHost}

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

// checkTasks rejects a task without a queue or key.
func checkTasks(tasks []Task) error {
	for _, t := range tasks {
		if t.Queue == "" || t.Key == "" {
			return fmt.Errorf("task %q in queue %q: empty queue or key", t.Key, t.Queue)
		}
	}
	return nil
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

// Lease hands out up to max (at most 1000) ready tasks of queue and marks
// them leased by owner. Ready means: put and never handed out, given back by
// Retry (once due) or Release, or leased but idle for at least ttl (ttl <= 0
// means one minute; see the package notes on leases). It never blocks on an
// empty queue: it returns an empty slice when no task is ready. Tasks come
// back in ID order; two owners never hold the same task at once.
func (r *RedisDB) Lease(ctx context.Context, queue string, max int, owner string, ttl time.Duration) ([]Task, error) {
	if owner == "" || owner == releasedConsumer {
		return nil, fmt.Errorf("lease from queue %q: bad owner %q", queue, owner)
	}
	if max <= 0 {
		return []Task{}, nil
	}
	max = min(max, maxLeaseBatch)
	if ttl <= 0 {
		ttl = defaultTTL
	}
	ttlMS := (ttl + time.Millisecond - 1).Milliseconds()
	qi, err := r.queueIndex(ctx, queue)
	if err != nil {
		return nil, fmt.Errorf("lease from queue %q: %w", queue, err)
	}
	if qi == 0 {
		return []Task{}, nil
	}
	v, err := scriptLease.Run(ctx, r.c,
		[]string{r.key("q:" + queue), r.key("delay:" + queue), r.key("seq")},
		redisGroup, owner, max, ttlMS).Slice()
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
		case "a":
			t.Attempts, _ = strconv.Atoi(v)
		}
	}
	if t.Key == "" {
		return Task{}, fmt.Errorf("stream entry %s has no key", id)
	}
	return t, nil
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
	keys := []string{r.key("queues"), r.key("seq"), r.key("q:" + ref.queue), r.key("done"), r.key("failed"),
		r.key("fail:" + ref.queue), r.key("files"), r.key("fileorder")}
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

// Ack marks task id done and puts next tasks, in one script run: either the
// task is done and its follow-ups are queued, or neither happened. The task
// need not be leased by the caller: acking a task that is already done is not
// an error (the next tasks are still put; those already seen are skipped),
// and a failed one becomes done. ErrNoTask means the ID never named a task
// of this crawl; a task that Restart forgot is taken as done (DB says
// ErrNoTask).
func (r *RedisDB) Ack(ctx context.Context, id int64, next ...Task) error {
	return r.finish(ctx, fmt.Sprintf("ack task %d", id), id, "ack", "", "", next)
}

// AckFile marks task id done and records f (the file is already renamed into
// place) together with the worker named by SetWorker, in one script run.
// Recording a URL again replaces its record and keeps its place in the
// record order.
func (r *RedisDB) AckFile(ctx context.Context, id int64, f File) error {
	if f.URL == "" || f.Path == "" {
		return fmt.Errorf("ack task %d: file record needs a URL and a path", id)
	}
	r.mu.Lock()
	worker := r.worker
	r.mu.Unlock()
	rec := packFields(f.URL, f.Path, strconv.FormatInt(f.Bytes, 10), f.SHA256, f.ContentType, f.Source, worker)
	return r.finish(ctx, fmt.Sprintf("ack task %d with file %s", id, f.Path), id, "file", f.URL, rec, nil)
}

// AckFiles acknowledges several tasks with their files, as AckFile does
// each. errs[i] is the outcome of acks[i]; err is only for a batch that
// cannot be tried at all (none here: each ack is its own script run).
func (r *RedisDB) AckFiles(ctx context.Context, acks []FileAck) (errs []error, err error) {
	errs = make([]error, len(acks))
	for i, a := range acks {
		errs[i] = r.AckFile(ctx, a.ID, a.File)
	}
	return errs, nil
}

// Fail marks the task failed for good, with a reason and the URL and source
// (the page or list it came from) it concerns, for the summary and
// failed.csv. A task that is already done stays done.
func (r *RedisDB) Fail(ctx context.Context, id int64, url, reason, source string) error {
	return r.finish(ctx, fmt.Sprintf("fail task %d", id), id, "fail", packFields(url, reason, source), "", nil)
}

// Retry gives a leased task back to its queue, ready again after `after`
// (by the server's clock; at once if after <= 0), with Attempts one higher
// and a new ID. A task that is no longer leased (it was released, or some
// owner finished it) is left as it is.
func (r *RedisDB) Retry(ctx context.Context, id int64, after time.Duration) error {
	what := fmt.Sprintf("retry task %d", id)
	ref, err := r.ref(ctx, id)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ms := int64(0)
	if after > 0 {
		ms = max((after + time.Millisecond - 1).Milliseconds(), 1)
	}
	n, err := scriptRetry.Run(ctx, r.c,
		[]string{r.key("q:" + ref.queue), r.key("delay:" + ref.queue), r.key("seq")},
		redisGroup, ref.entry, ref.seq, ms, releasedConsumer).Int()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n < 0 {
		return fmt.Errorf("%s: %w", what, ErrNoTask)
	}
	r.forget(id)
	return nil
}

// Extend is the heartbeat of owner: every lease it took through this handle
// and still holds starts a new ttl from now. Redis keeps no deadline, only
// the time since the last Lease or Extend, so ttl is not used: the ttl of
// the Lease call that would take a lease over decides when it has run out.
// Leases that another owner took over are forgotten here.
func (r *RedisDB) Extend(ctx context.Context, owner string, ttl time.Duration) error {
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

// Release makes every task leased by owner ready again now (the owner died or
// stopped) and returns how many there were. Owner "" releases every lease.
// Attempts is not changed. It works from any process, not only the one that
// leased.
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
		n, err := scriptRelease.Run(ctx, r.c, keys, redisGroup, owner, releasedConsumer, len(qs)).Int()
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

// Counts returns the number of tasks in each state, by queue, as one
// consistent snapshot (one script run). Ready includes retries that are not
// due yet and released tasks; Leased includes leases that have run out but
// were not taken again yet. A queue whose counts are all zero is absent.
//
// Since every Ack stores a task's follow-ups in the same step that ends it,
// a snapshot in which every queue has Ready == 0 and Leased == 0 means the
// crawl is complete: nothing is queued and nothing is being worked on.
func (r *RedisDB) Counts(ctx context.Context) (map[string]QueueCounts, error) {
	for range 5 {
		qs := r.knownQueues()
		keys := []string{r.key("queues"), r.key("done"), r.key("failed")}
		args := []any{redisGroup, releasedConsumer}
		for _, q := range qs {
			keys = append(keys, r.key("q:"+q), r.key("delay:"+q))
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

// Failures returns every task that failed for good, in the order they were
// first put.
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

// Restart begins a new run generation: it forgets the done and failed tasks
// of the given queues (of every queue if none is given) — their counts,
// their failures and their keys in the seen set — so that their keys may be
// put again, in one script run. Ready and leased tasks stay, and stay seen;
// file records stay too. The script reads every live task of those queues,
// so on a queue of millions it holds the server for a moment.
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
		keys := []string{r.key("queues"), r.key("done"), r.key("failed")}
		args := []any{check}
		for _, q := range queues {
			keys = append(keys, r.key("q:"+q), r.key("delay:"+q), r.key("seen:"+q), r.key("fail:"+q))
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

// Meta returns the value stored under key, "" if it is unset.
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

// SetMeta stores value under key.
func (r *RedisDB) SetMeta(ctx context.Context, key, value string) error {
	if err := r.c.HSet(ctx, r.key("meta"), key, value).Err(); err != nil {
		return fmt.Errorf("set meta %q: %w", key, err)
	}
	return nil
}

// --- file records ----------------------------------------------------------

// FileByURL returns the record of the file downloaded from url, if any.
func (r *RedisDB) FileByURL(ctx context.Context, url string) (File, bool, error) {
	f, ok, err := r.WorkerFile(ctx, url)
	return f.File, ok, err
}

// WorkerFile returns the record of the file downloaded from url and the
// worker that holds it, if any.
func (r *RedisDB) WorkerFile(ctx context.Context, url string) (RedisFile, bool, error) {
	v, err := r.c.HGet(ctx, r.key("files"), url).Result()
	if errors.Is(err, redis.Nil) {
		return RedisFile{}, false, nil
	}
	if err != nil {
		return RedisFile{}, false, fmt.Errorf("look up file of %s: %w", url, err)
	}
	f, err := decodeFile(v)
	if err != nil {
		return RedisFile{}, false, fmt.Errorf("look up file of %s: %w", url, err)
	}
	return f, true, nil
}

// Files returns every recorded file, in record order.
func (r *RedisDB) Files(ctx context.Context) ([]File, error) {
	wf, err := r.WorkerFiles(ctx)
	if err != nil {
		return nil, err
	}
	var fs []File
	for _, f := range wf {
		fs = append(fs, f.File)
	}
	return fs, nil
}

// WorkerFiles returns every recorded file with the worker that holds it, in
// record order (for the coordinator's manifest).
func (r *RedisDB) WorkerFiles(ctx context.Context) ([]RedisFile, error) {
	var fs []RedisFile
	keys := []string{r.key("fileorder"), r.key("files")}
	for start := 0; ; start += redisChunk {
		v, err := scriptFiles.Run(ctx, r.c, keys, start, start+redisChunk-1).Slice()
		if err != nil {
			return nil, fmt.Errorf("list files: %w", err)
		}
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				continue // recorded meanwhile, or removed by hand
			}
			f, err := decodeFile(s)
			if err != nil {
				return nil, fmt.Errorf("list files: %w", err)
			}
			fs = append(fs, f)
		}
		if len(v) < redisChunk {
			return fs, nil
		}
	}
}

// decodeFile decodes a file record written by AckFile.
func decodeFile(v string) (RedisFile, error) {
	fs, err := unpackFields(v, 7)
	if err != nil {
		return RedisFile{}, fmt.Errorf("bad file record %q: %w", v, err)
	}
	n, err := strconv.ParseInt(fs[2], 10, 64)
	if err != nil {
		return RedisFile{}, fmt.Errorf("bad file record %q: %w", v, err)
	}
	return RedisFile{File: File{URL: fs[0], Path: fs[1], Bytes: n, SHA256: fs[3], ContentType: fs[4], Source: fs[5]},
		Worker: fs[6]}, nil
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

// --- politeness across machines -------------------------------------------

// AcquireHost waits until a request to host may start under the crawl-wide
// limits, across every process and machine of the crawl: at most perHost
// requests to host at once, and at least delay between the starts of two of
// them (by the server's clock). It returns the function that ends the
// request (safe to call more than once); until then the slot is kept alive,
// and a holder that dies without calling it loses its slot within about ten
// seconds. perHost must be at least 1.
func (r *RedisDB) AcquireHost(ctx context.Context, host string, perHost int, delay time.Duration) (release func(), err error) {
	if perHost < 1 {
		return nil, fmt.Errorf("acquire a slot for %s: per-host limit %d is below 1", host, perHost)
	}
	token, err := newToken()
	if err != nil {
		return nil, fmt.Errorf("acquire a slot for %s: %w", host, err)
	}
	keys := []string{r.key("host:" + host), r.key("hostnext:" + host)}
	ttl := r.hostTTL
	delayUS := int64(0)
	if delay > 0 {
		delayUS = max(delay.Microseconds(), 1)
	}
	var wait time.Duration
	for n := 0; ; n++ {
		v, err := scriptAcquireHost.Run(ctx, r.c, keys, token, perHost, delayUS, ttl.Microseconds()).Int64()
		if err != nil {
			return nil, fmt.Errorf("acquire a slot for %s: %w", host, err)
		}
		if v >= 0 {
			wait = time.Duration(v) * time.Microsecond
			break
		}
		if err := sleepCtx(ctx, pollJitter(n)); err != nil {
			return nil, fmt.Errorf("acquire a slot for %s: %w", host, err)
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // keep the slot alive while it is held
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-r.quit:
				return
			case <-t.C:
				c, cancel := context.WithTimeout(context.Background(), ttl/3)
				_ = scriptRefreshHost.Run(c, r.c, keys[:1], token, ttl.Microseconds()).Err()
				cancel()
			}
		}
	}()
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(stop)
			<-done
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = r.c.ZRem(c, keys[0], token).Err() // if this fails, the slot runs out by itself
		})
	}
	if err := sleepCtx(ctx, wait); err != nil {
		release()
		return nil, fmt.Errorf("acquire a slot for %s: %w", host, err)
	}
	return release, nil
}

// newToken returns a random name for one held slot.
func newToken() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// pollJitter is the wait before the n-th retry of a busy slot: 1 ms growing
// to 16 ms, with jitter so that waiters do not move in step.
func pollJitter(n int) time.Duration {
	d := time.Millisecond << min(n, 4)
	return d/2 + mrand.N(d)
}

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// quietLog drops the Redis client's own log lines ("failed to dial …"):
// every error it meets reaches the caller, which reports it once, in one
// line.
type quietLog struct{}

func (quietLog) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietLog{}) }
