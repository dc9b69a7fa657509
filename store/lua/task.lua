-- Shared by the scripts that end tasks. K is the table of the keys of
-- one queue that keysAt builds; ARGV[1] is the group.

-- keysAt returns the keys of one queue, from KEYS[i] on: seq, stream,
-- done, failed, fail:Q, files, fileorder, restarted, kept:Q.
local function keysAt(i)
  return {seq = KEYS[i], stream = KEYS[i + 1], done = KEYS[i + 2], failed = KEYS[i + 3],
    fail = KEYS[i + 4], files = KEYS[i + 5], fileorder = KEYS[i + 6], restarted = KEYS[i + 7],
    kept = KEYS[i + 8]}
end

-- queueState reads what finish needs to know of queue q once per call:
-- the last task sequence put, the one the last Restart of q saw, and
-- whether q's stream exists.
local function queueState(K, q)
  return tonumber(redis.call('GET', K.seq) or '0'),
    tonumber(redis.call('HGET', K.restarted, q) or '0'),
    redis.call('EXISTS', K.stream) == 1
end

-- newBatch returns what finish leaves for settle to write once for many
-- tasks: the entries to acknowledge, how many tasks became done, the URLs
-- recorded for the first time.
local function newBatch()
  return {acked = {}, done = 0, urls = {}}
end

-- settle writes what finish left in batch b for queue q.
local function settle(K, q, b)
  if #b.acked > 0 then redis.call('XACK', K.stream, ARGV[1], unpack(b.acked)) end
  if b.done > 0 then redis.call('HINCRBY', K.done, q, b.done) end
  if #b.urls > 0 then redis.call('RPUSH', K.fileorder, unpack(b.urls)) end
end

-- finish acknowledges (mode "ack" or "file") or fails ("fail") task seq
-- of queue q, whose stream entry is eid; last, restarted and live come
-- from queueState. For "file" a1 is the URL and a2 the record; for "fail"
-- a1 is the failure record. Some of its writes wait in batch b (newBatch)
-- for settle, which must follow in the same script. Returns -1, having
-- written nothing, if no task of this generation has this seq (it never
-- did, or Restart forgot it), else 0.
local function finish(K, q, eid, seq, mode, a1, a2, last, restarted, live, b)
  local n = tonumber(seq)
  if n > last then return -1 end
  -- Put before the last Restart of its queue: Restart either kept the task
  -- (it was ready or leased) or forgot it (it was done or failed).
  local before = n <= restarted
  local existed = 0
  if live then
    existed = redis.call('XDEL', K.stream, eid)
    if existed == 1 then b.acked[#b.acked + 1] = eid end
  end
  -- No entry, no failure record, put before the last Restart and not done
  -- since: Restart forgot it. (Nothing was written yet.)
  local function forgotten()
    return before and redis.call('SISMEMBER', K.kept, seq) == 0
  end
  local function done()
    b.done = b.done + 1
    if before then redis.call('SADD', K.kept, seq) end
  end
  if mode == 'fail' then
    if existed == 1 then
      redis.call('HINCRBY', K.failed, q, 1)
      redis.call('HSET', K.fail, seq, seq .. ' ' .. a1)
    else
      local old = redis.call('HGET', K.fail, seq)
      if old then
        redis.call('HSET', K.fail, seq, string.match(old, '^%d+') .. ' ' .. a1)
      elseif forgotten() then
        return -1
      end
    end
    return 0
  end
  if existed == 1 then
    done()
  elseif redis.call('HDEL', K.fail, seq) == 1 then
    redis.call('HINCRBY', K.failed, q, -1)
    done()
  elseif forgotten() then
    return -1
  end
  if mode == 'file' and redis.call('HSET', K.files, a1, a2) == 1 then
    b.urls[#b.urls + 1] = a1
  end
  return 0
end
