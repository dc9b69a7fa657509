-- Acknowledges download tasks of one queue with the records of their files,
-- each in one step and all in one call. See scriptAckFiles in redis.go for
-- KEYS and ARGV.
local K = keysAt(1)
local q = ARGV[2]
local last, restarted, live = queueState(K, q)
local b = newBatch()
local out = {}
for i = 3, #ARGV, 4 do
  out[#out + 1] = finish(K, q, ARGV[i], ARGV[i + 1], 'file', ARGV[i + 2], ARGV[i + 3], last, restarted, live, b)
end
settle(K, q, b)
return out
