-- Begins a new run generation for the named queues. See scriptRestart in
-- redis.go for KEYS and ARGV.
if ARGV[1] ~= '-1' and redis.call('HLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return -1 end
local chunk = tonumber(ARGV[2])
local seq = redis.call('GET', KEYS[4]) or '0'
for i = 3, #ARGV do
  local b = 6 + 4 * (i - 3)
  local s, seen, fail, kept, name = KEYS[b], KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], ARGV[i]
  redis.call('DEL', seen, fail, kept)
  redis.call('HDEL', KEYS[2], name)
  redis.call('HDEL', KEYS[3], name)
  redis.call('HSET', KEYS[5], name, seq)
  if redis.call('EXISTS', s) == 1 then
    local start = '-'
    while true do
      local e = redis.call('XRANGE', s, start, '+', 'COUNT', chunk)
      if #e == 0 then break end
      local args = {'SADD', seen}
      for _, x in ipairs(e) do
        local f = x[2]
        for j = 1, #f, 2 do
          if f[j] == 'k' then args[#args + 1] = f[j + 1] end
        end
      end
      if #args > 2 then redis.call(unpack(args)) end
      if #e < chunk then break end
      start = '(' .. e[#e][1]
    end
  end
end
return 0
