-- KEYS: ticket, leases. ARGV: now, idle, bind ('' for the server's own batches)
local t = redis.call('HMGET', KEYS[1], 'st', 'sid', 'cap', 'fan')
if ARGV[3] ~= '' and t[1] and t[4] ~= ARGV[3] then return 'forbidden' end
if t[1] == 'W' then
  redis.call('HSET', KEYS[1], 'seen', ARGV[1])
elseif t[1] == 'A' then
  local exp = math.min(tonumber(ARGV[1]) + tonumber(ARGV[2]), tonumber(t[3]))
  redis.call('ZADD', KEYS[2], 'XX', exp, t[2])
end
return t[1]
