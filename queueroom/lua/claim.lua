-- KEYS: ticket, offers, leases. ARGV: now, bind, new sid, idle, max, member
local t = redis.call('HMGET', KEYS[1], 'fan', 'st', 'oexp', 'sid', 'cap')
if not t[2] then return {'none'} end
if t[1] ~= ARGV[2] then return {'forbidden'} end
if t[2] == 'A' then return {'A', t[4], t[5]} end
if t[2] ~= 'O' then return {t[2]} end
local now = tonumber(ARGV[1])
if tonumber(t[3]) <= now then
  redis.call('HSET', KEYS[1], 'st', 'E')
  redis.call('ZREM', KEYS[2], ARGV[6])
  return {'E'}
end
local cap = now + tonumber(ARGV[5])
redis.call('HSET', KEYS[1], 'st', 'A', 'sid', ARGV[3], 'cap', cap)
redis.call('ZREM', KEYS[2], ARGV[6])
redis.call('ZADD', KEYS[3], math.min(now + tonumber(ARGV[4]), cap), ARGV[3])
return {'A', ARGV[3], tostring(cap)}
