-- See scriptFiles in redis.go for KEYS and ARGV.
local urls = redis.call('LRANGE', KEYS[1], ARGV[1], ARGV[2])
if #urls == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(urls))
