-- The PSP's leaky bucket as GCRA "virtual scheduling" (payments/bucket.py).
-- One key holds the theoretical arrival time (TAT): the first free send slot,
-- in microseconds on the Redis server's clock (one clock for every process).
-- A reservation of `cost` slots takes the slot max(now, TAT) and moves TAT
-- `cost` intervals on; the caller sleeps until its slot. A reservation that
-- would have to wait longer than `max_wait` is refused and changes nothing.
-- KEYS: bucket
-- ARGV: interval (µs per slot), cost (slots), max_wait (µs)
-- Reply: {1, wait µs, slot µs, now µs} reserved, or {0, wait µs, 0, now µs} refused.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now
if wait > max_wait then
  return {0, wait, 0, now}
end
local next_free = tat + interval * cost
-- The key outlives its last slot by a second, then an idle bucket costs nothing.
local ttl_ms = math.floor((next_free - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', next_free), 'PX', ttl_ms)
return {1, wait, tat, now}
