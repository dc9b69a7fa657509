-- Acknowledges (mode "ack") or fails ("fail") one task and puts the next
-- tasks, atomically. See scriptFinish in redis.go for KEYS and ARGV.
local K = keysAt(2)
local q, mode = ARGV[4], ARGV[5]
local last, restarted, live = queueState(K, q)
if tonumber(ARGV[3]) > last then return -1 end
local bad = putCheck(8)
if bad then return redis.error_reply(bad) end
local b = newBatch()
local r = finish(K, q, ARGV[2], ARGV[3], mode, ARGV[6], ARGV[7], last, restarted, live, b)
settle(K, q, b)
if r < 0 or mode == 'fail' then return r end
return put(11, 8)
