-- Takes one of a host's request slots for a new holder and books its start.
--
-- KEYS[1]  zset: the slots held, token -> expiry (µs, server clock)
-- KEYS[2]  string: the earliest start (µs) of the next request to the host
-- ARGV[1]  the new holder's token
-- ARGV[2]  how many slots the host has (perHost, at least 1)
-- ARGV[3]  the least time (µs) between two starts; 0 for none
-- ARGV[4]  how long (µs) a slot lives without a refresh
--
-- Returns -1 when every slot is held (nothing is changed), else how long
-- (µs) the new holder waits before its request starts.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[4])

-- Slots whose holder stopped refreshing them are free again.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return -1
end
redis.call('ZADD', KEYS[1], string.format('%d', now + ttl), ARGV[1])
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil(2 * ttl / 1000)))

local delay = tonumber(ARGV[3])
if delay <= 0 then
  return 0
end
local start = tonumber(redis.call('GET', KEYS[2]) or '0')
if start < now then
  start = now
end
local after = start + delay
-- The booking only matters until the next start is due; keep it a second
-- longer so that a slow caller still sees it.
redis.call('SET', KEYS[2], string.format('%d', after),
  'PX', string.format('%d', math.ceil((after - now) / 1000) + 1000))
return start - now
