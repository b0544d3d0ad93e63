-- The admitter's leader lock: take it if free, keep it if ours. KEYS: lock. ARGV: owner, ttl ms
local cur = redis.call('GET', KEYS[1])
if not cur or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
