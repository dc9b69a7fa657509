-- Shared by the scripts that put tasks. See the notes above luaScript in
-- redis.go.
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
  -- The task sequence: read once, stored once.
  local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
  local added = 0
  for i = 0, n - 1 do
    local a = base + 3 * i
    local j = tonumber(ARGV[a])
    local k = ARGV[a + 1]
    if redis.call('SADD', KEYS[kfirst + 2 * (j - 1) + 1], k) == 1 then
      added = added + 1
      redis.call('XADD', KEYS[kfirst + 2 * (j - 1)], string.format('%d-0', seq + added), 'k', k, 'd', ARGV[a + 2])
    end
  end
  if added > 0 then redis.call('SET', KEYS[2], string.format('%d', seq + added)) end
  return added
end
