-- See scriptPut in redis.go for KEYS and ARGV.
local bad = putCheck(2)
if bad then return redis.error_reply(bad) end
return put(3, 2)
