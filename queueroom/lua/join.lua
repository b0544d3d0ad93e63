-- KEYS: fan key, lane hash, meta. ARGV: base, lane, bind, now, lane opens at, lane shuffle key
-- Returns "created|lane|n|<the STATUS row of the place>" (one string parses much faster
-- than a 19-element array): one round trip per join.
if redis.call('HGET', KEYS[3], 'closed') == '1' then return '-1||' end
local now = tonumber(ARGV[4])
-- The pre-queue ends at the announced opening, not at the admitter's next
-- tick: the first join at or after it opens the lane as the tick would
-- (freezing the pre-queue size), so everyone from then on keeps arrival order.
if now >= tonumber(ARGV[5]) and redis.call('HGET', KEYS[2], 'opened') ~= '1' then
  redis.call('HSET', KEYS[2], 'opened', 1, 'm', redis.call('HGET', KEYS[2], 'seq') or 0, 'key', ARGV[6])
end
local created, lane, n = 0, nil, nil
local existing = redis.call('GET', KEYS[1])
if existing then
  local sep = string.find(existing, ':', 1, true)
  lane = string.sub(existing, 1, sep - 1)
  n = string.sub(existing, sep + 1)
  local t = redis.call('HMGET', ARGV[1] .. 't' .. lane .. ':' .. n, 'st', 'oexp', 'cap')
  if not (t[1] == 'W' or (t[1] == 'O' and tonumber(t[2]) > now) or (t[1] == 'A' and tonumber(t[3]) > now)) then
    lane = nil
  end
end
if not lane then
  lane = ARGV[2]
  n = tostring(redis.call('HINCRBY', KEYS[2], 'seq', 1))
  redis.call('HSET', ARGV[1] .. 't' .. lane .. ':' .. n, 'fan', ARGV[3], 'seen', ARGV[4], 'st', 'W')
  redis.call('SET', KEYS[1], lane .. ':' .. n)
  created = 1
end
local tk = ARGV[1] .. 't' .. lane .. ':' .. n
local lk = ARGV[1] .. 'L' .. lane
local t = redis.call('HMGET', tk, 'fan', 'seen', 'st', 'oexp', 'sid', 'cap')
if t[3] == 'W' then redis.call('HSET', tk, 'seen', ARGV[4]) end
local l = redis.call('HMGET', lk, 'seq', 'front', 'opened', 'm', 'key', 'ema')
local m = redis.call('HMGET', KEYS[3], 'paused', 'closed', 'waiting')
local gone = redis.call('ZCARD', lk .. ':gone')
local out = {created, lane, n, t[1], t[2], t[3], t[4], t[5], t[6], l[1], l[2], l[3], l[4], l[5], l[6],
             m[1], m[2], m[3], gone}
for i = 1, 19 do
  if not out[i] then out[i] = '' end
end
return table.concat(out, '|')
