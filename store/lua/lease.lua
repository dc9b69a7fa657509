-- Takes over entries idle for the lease time, then reads new ones. See
-- scriptLease in redis.go for KEYS and ARGV.
local max = tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local out = {}
local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[4], '-', '+', max)
if #p > 0 then
  local args = {'XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[4]}
  for _, e in ipairs(p) do args[#args + 1] = e[1] end
  for _, e in ipairs(redis.call(unpack(args))) do
    if type(e) == 'table' and type(e[2]) == 'table' then out[#out + 1] = e end
  end
end
if #out < max then
  local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', max - #out, 'STREAMS', KEYS[1], '>')
  if r then
    for _, e in ipairs(r[1][2]) do out[#out + 1] = e end
  end
end
return out
