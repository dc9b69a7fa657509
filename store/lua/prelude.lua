-- Shared by the scripts that put tasks. See the notes above luaScript in
-- redis.go.
local function new_id(seqkey)
  return string.format('%d', redis.call('INCR', seqkey))
end

local function ensure_stream(s)
  if redis.call('EXISTS', s) == 0 then
    redis.call('XGROUP', 'CREATE', s, ARGV[1], '0', 'MKSTREAM')
  end
end

local function putCheck(aoff)
  local m = tonumber(ARGV[aoff])
  local fresh = 0
  for j = 1, m do
    if redis.call('HEXISTS', KEYS[1], ARGV[aoff + j]) == 0 then fresh = fresh + 1 end
  end
  if fresh > 0 and redis.call('HLEN', KEYS[1]) + fresh > 65535 then
    return 'too many queues'
  end
  return nil
end

local function put(kfirst, aoff)
  local m = tonumber(ARGV[aoff])
  if m == 0 then return 0 end
  local n = tonumber(ARGV[aoff + m + 1])
  local base = aoff + m + 2
  for j = 1, m do
    local name = ARGV[aoff + j]
    if redis.call('HEXISTS', KEYS[1], name) == 0 then
      redis.call('HSET', KEYS[1], name, redis.call('HLEN', KEYS[1]) + 1)
    end
    ensure_stream(KEYS[kfirst + 2 * (j - 1)])
  end
  local added = 0
  for i = 0, n - 1 do
    local a = base + 3 * i
    local j = tonumber(ARGV[a])
    local k = ARGV[a + 1]
    if redis.call('SADD', KEYS[kfirst + 2 * (j - 1) + 1], k) == 1 then
      local id = new_id(KEYS[2])
      redis.call('XADD', KEYS[kfirst + 2 * (j - 1)], id .. '-0', 'k', k, 'd', ARGV[a + 2])
      added = added + 1
    end
  end
  return added
end
