-- KEYS: ticket, leases, revoked. ARGV: session id, now
local t = redis.call('HMGET', KEYS[1], 'st', 'sid', 'cap')
if t[1] ~= 'A' or t[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'st', 'D')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[2])
redis.call('ZADD', KEYS[3], t[3], ARGV[1])
return 1
