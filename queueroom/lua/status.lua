-- KEYS: ticket, lane hash, gone zset, meta. ARGV: now, heartbeat (1/0)
local t = redis.call('HMGET', KEYS[1], 'fan', 'seen', 'st', 'oexp', 'sid', 'cap')
if not t[3] then return false end
if ARGV[2] == '1' and t[3] == 'W' then redis.call('HSET', KEYS[1], 'seen', ARGV[1]) end
local l = redis.call('HMGET', KEYS[2], 'seq', 'front', 'opened', 'm', 'key', 'ema')
local m = redis.call('HMGET', KEYS[4], 'paused', 'closed', 'waiting')
local gone = redis.call('ZCARD', KEYS[3])
return {t[1], t[2], t[3], t[4], t[5], t[6], l[1], l[2], l[3], l[4], l[5], l[6], m[1], m[2], m[3], gone}
