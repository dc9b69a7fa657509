-- Hands the leases of an owner (or of all) back to the queue. See
-- scriptRelease in redis.go for KEYS and ARGV.
local chunk = tonumber(ARGV[5])
if redis.call('HLEN', KEYS[1]) ~= tonumber(ARGV[4]) then return -1 end
local total = 0
for i = 2, #KEYS do
  local s = KEYS[i]
  if redis.call('EXISTS', s) == 1 then
    local start = '-'
    while true do
      local p
      if ARGV[2] == '' then
        p = redis.call('XPENDING', s, ARGV[1], start, '+', chunk)
      else
        p = redis.call('XPENDING', s, ARGV[1], start, '+', chunk, ARGV[2])
      end
      if #p == 0 then break end
      local args = {'XCLAIM', s, ARGV[1], ARGV[3], '0'}
      for _, e in ipairs(p) do
        if e[2] ~= ARGV[3] then args[#args + 1] = e[1] end
      end
      if #args > 5 then
        args[#args + 1] = 'TIME'
        args[#args + 1] = '1'
        args[#args + 1] = 'JUSTID'
        total = total + #redis.call(unpack(args))
      end
      if #p < chunk then break end
      start = '(' .. p[#p][1]
    end
    if ARGV[2] ~= '' then redis.call('XGROUP', 'DELCONSUMER', s, ARGV[1], ARGV[2]) end
  end
end
return total
