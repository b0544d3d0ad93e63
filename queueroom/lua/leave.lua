-- KEYS: ticket, gone, offers, leases, fan key, revoked. ARGV: bind, place, member, now
local t = redis.call('HMGET', KEYS[1], 'fan', 'st', 'sid', 'cap')
if not t[2] then return false end
if t[1] ~= ARGV[1] then return 'forbidden' end
if t[2] == 'W' then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
elseif t[2] == 'O' then
  redis.call('ZREM', KEYS[3], ARGV[3])
elseif t[2] == 'A' then
  redis.call('ZREM', KEYS[4], t[3])
  -- The pass names this session until its cap: revoke it until then.
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', ARGV[4])
  redis.call('ZADD', KEYS[6], t[4], t[3])
else
  return t[2]
end
redis.call('HSET', KEYS[1], 'st', (t[2] == 'A') and 'D' or 'L')
redis.call('DEL', KEYS[5])
return 'ok'
