-- The number of tasks in each state, per queue, as one snapshot. See
-- scriptCounts in redis.go for KEYS and ARGV.
local n = #ARGV - 2
if redis.call('HLEN', KEYS[1]) ~= n then return -1 end
local out = {}
for i = 1, n do
  local s, name = KEYS[3 + i], ARGV[2 + i]
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
  out[i] = {name, xlen - pend + rel, pend - rel,
    tonumber(redis.call('HGET', KEYS[2], name) or '0'),
    tonumber(redis.call('HGET', KEYS[3], name) or '0')}
end
return out
