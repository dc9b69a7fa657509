-- See scriptExtend in redis.go for KEYS and ARGV.
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local args = {'XCLAIM', KEYS[1], ARGV[1], ARGV[2], '0'}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p == 1 and p[1][2] == ARGV[2] then args[#args + 1] = ARGV[i] end
end
if #args == 5 then return {} end
args[#args + 1] = 'JUSTID'
return redis.call(unpack(args))
