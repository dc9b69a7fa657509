-- Acknowledges (mode "ack" or "file") or fails ("fail") one task and puts
-- the next tasks, atomically. See scriptFinish in redis.go for KEYS and ARGV.
local eid, seq, q, mode = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if tonumber(seq) > tonumber(redis.call('GET', KEYS[2]) or '0') then return -1 end
local bad = putCheck(8)
if bad then return redis.error_reply(bad) end
-- Put before the last Restart of its queue: Restart either kept the task
-- (it was ready or leased) or forgot it (it was done or failed).
local before = tonumber(seq) <= tonumber(redis.call('HGET', KEYS[9], q) or '0')
local existed = 0
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('XACK', KEYS[3], ARGV[1], eid)
  existed = redis.call('XDEL', KEYS[3], eid)
end
-- No entry, no failure record, put before the last Restart and not done
-- since: Restart forgot it. (Nothing was written yet.)
local function forgotten()
  return before and redis.call('SISMEMBER', KEYS[10], seq) == 0
end
local function done()
  redis.call('HINCRBY', KEYS[4], q, 1)
  if before then redis.call('SADD', KEYS[10], seq) end
end
if mode == 'fail' then
  if existed == 1 then
    redis.call('HINCRBY', KEYS[5], q, 1)
    redis.call('HSET', KEYS[6], seq, seq .. ' ' .. ARGV[6])
  else
    local old = redis.call('HGET', KEYS[6], seq)
    if old then
      redis.call('HSET', KEYS[6], seq, string.match(old, '^%d+') .. ' ' .. ARGV[6])
    elseif forgotten() then
      return -1
    end
  end
  return 0
end
if existed == 1 then
  done()
elseif redis.call('HDEL', KEYS[6], seq) == 1 then
  redis.call('HINCRBY', KEYS[5], q, -1)
  done()
elseif forgotten() then
  return -1
end
if mode == 'file' then
  if redis.call('HSET', KEYS[7], ARGV[6], ARGV[7]) == 1 then
    redis.call('RPUSH', KEYS[8], ARGV[6])
  end
end
return put(11, 8)
