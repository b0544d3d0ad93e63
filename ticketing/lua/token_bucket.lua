-- A token bucket: bursts up to its capacity, then a steady refill.
-- KEYS[1]: the bucket (a hash). ARGV: capacity, refill per second, now (s), cost.
-- Returns {allowed (0/1), seconds until the cost would fit ("" if allowed), tokens left}.
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
  at = now
end
local allowed = 0
local wait = ''
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = tostring((cost - tokens) / rate)
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(at))
-- A bucket left alone refills completely in capacity/rate seconds: then it is as if new.
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {allowed, wait, tostring(tokens)}
