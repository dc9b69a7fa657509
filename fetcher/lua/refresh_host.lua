-- Keeps a held slot alive: its expiry moves to now plus its lifetime.
--
-- KEYS[1]  zset: the slots held, token -> expiry (µs, server clock)
-- ARGV[1]  the holder's token
-- ARGV[2]  how long (µs) a slot lives without a refresh
--
-- Returns 1 if the token still holds a slot, else 0; a token that lost its
-- slot does not get one back.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[2])
local n = redis.call('ZADD', KEYS[1], 'XX', 'CH', string.format('%d', now + ttl), ARGV[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil(2 * ttl / 1000)))
end
return n
