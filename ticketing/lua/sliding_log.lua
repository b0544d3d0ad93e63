-- A sliding-window log: how many events in the last window, exactly.
-- KEYS[1]: the log (a sorted set). ARGV: window (s), limit, now (s), member.
-- The event is recorded only while the log holds fewer than limit (its size
-- stays bounded). Returns {allowed (0/1), events in the window, oldest event's time}.
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  count = count + 1
  allowed = 1
end
redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {allowed, count, oldest[2] or tostring(now)}
