-- One admission tick of one event (queueroom.services.admission.apply_tick; the reply is
-- parsed by queueroom.replies.TickReply). Reads everything first and aborts on a changed
-- front (compare-and-set), so two admitters can never admit the same place, and a repeated
-- tick id is a no-op (idempotent ticks).
-- KEYS: meta, offers, leases
-- ARGV: base, now, tick id, rate/min, max_in_store, paused, closed, offer ttl, grace, nlanes,
--       then per lane: id, weight, open, key, expected front, ncands, cands...
-- A lane of weight 0 (flagged fans, back of the line) gets only what the others leave;
-- weight -1 (flagged fans, shadow line) is never admitted and not counted as waiting.
local base = ARGV[1]
local now = tonumber(ARGV[2])
local tick = tonumber(ARGV[3])
local last = tonumber(redis.call('HGET', KEYS[1], 'last_t') or '-1')
if tick <= last then return {0} end
local lanes = {}
local i = 11
for li = 1, tonumber(ARGV[10]) do
  local lane = {id = ARGV[i], weight = tonumber(ARGV[i + 1]), open = ARGV[i + 2] == '1', key = ARGV[i + 3],
                expect = tonumber(ARGV[i + 4]), cands = {}}
  local nc = tonumber(ARGV[i + 5])
  for c = 1, nc do lane.cands[c] = tonumber(ARGV[i + 5 + c]) end
  i = i + 6 + nc
  lane.hkey = base .. 'L' .. lane.id
  lane.gkey = base .. 'L' .. lane.id .. ':gone'
  local h = redis.call('HMGET', lane.hkey, 'seq', 'front', 'opened', 'm', 'ema')
  lane.seq = tonumber(h[1] or '0')
  lane.front = tonumber(h[2] or '0')
  lane.opened = h[3] == '1'
  lane.m = tonumber(h[4] or '0')
  lane.ema = tonumber(h[5] or '0')
  if lane.front ~= lane.expect then return {-1, lane.id} end
  lanes[li] = lane
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local in_store = redis.call('ZCARD', KEYS[3])
local offers = redis.call('ZCARD', KEYS[2])
local per_s = tonumber(ARGV[4]) / 60
local elapsed = 1
if last >= 0 then elapsed = math.min(tick - last, 5) end
local credit = tonumber(redis.call('HGET', KEYS[1], 'credit') or '0')
credit = math.min(credit + per_s * elapsed, math.max(per_s, 1))
local waiting = 0
local active = {}
for _, lane in ipairs(lanes) do
  lane.admitted = 0
  if lane.open and not lane.opened then
    -- Opening: freeze the pre-queue size and publish the key; this lane
    -- admits from the next tick on.
    lane.opened = true
    lane.m = lane.seq
    redis.call('HSET', lane.hkey, 'opened', 1, 'm', lane.m, 'key', lane.key)
  elseif lane.opened and lane.open then
    -- (an opened lane passed as not open was closed by the promoter: it admits nobody)
    table.insert(active, lane)
  end
  lane.gone = redis.call('ZCARD', lane.gkey)
  lane.waiting = math.max(lane.seq - lane.front - lane.gone, 0)
  if lane.weight >= 0 then waiting = waiting + lane.waiting end
end
local admit = 0
if ARGV[6] ~= '1' and ARGV[7] ~= '1' then
  admit = math.min(math.floor(credit), tonumber(ARGV[5]) - in_store - offers, waiting)
end
if admit < 0 then admit = 0 end
local ttl = tonumber(ARGV[8])
local fresh = now - tonumber(ARGV[9])

local function admit_lane(lane, want)
  local got = 0
  local e = lane.front
  local limit = want * 4 + 64
  local scanned = 0
  while got < want and e < lane.seq and scanned < limit do
    local nxt = e + 1
    local n = nxt
    if nxt <= lane.m then
      n = lane.cands[nxt - lane.expect]
      if not n then break end
    end
    e = nxt
    scanned = scanned + 1
    local tk = base .. 't' .. lane.id .. ':' .. n
    local t = redis.call('HMGET', tk, 'st', 'seen')
    if t[1] == 'W' then
      if tonumber(t[2]) >= fresh then
        redis.call('HSET', tk, 'st', 'O', 'oexp', now + ttl)
        redis.call('ZADD', KEYS[2], now + ttl, lane.id .. ':' .. n)
        got = got + 1
      else
        redis.call('HSET', tk, 'st', 'X')
      end
    end
  end
  if e ~= lane.front then
    redis.call('HSET', lane.hkey, 'front', e)
    redis.call('ZREMRANGEBYSCORE', lane.gkey, '-inf', e)
    lane.front = e
  end
  lane.admitted = lane.admitted + got
  return got
end

if admit > 0 and #active > 0 then
  local wsum = 0
  for _, lane in ipairs(active) do if lane.waiting > 0 and lane.weight > 0 then wsum = wsum + lane.weight end end
  local left = admit
  if wsum > 0 then
    local given = 0
    for _, lane in ipairs(active) do
      if lane.waiting > 0 and lane.weight > 0 then
        local share = math.floor(admit * lane.weight / wsum)
        if given + share > admit then share = admit - given end
        given = given + share
        left = left - admit_lane(lane, share)
      end
    end
  end
  -- Remainders and unused shares go to the heaviest lanes first.
  table.sort(active, function(a, b) return a.weight > b.weight end)
  for _, lane in ipairs(active) do
    if left <= 0 then break end
    if lane.weight >= 0 then left = left - admit_lane(lane, left) end
  end
end
local total = 0
local out = {1}
for _, lane in ipairs(lanes) do
  total = total + lane.admitted
  if lane.opened then
    lane.ema = lane.ema * 0.9 + lane.admitted * 0.1
    redis.call('HSET', lane.hkey, 'ema', tostring(lane.ema))
  end
  lane.gone = redis.call('ZCARD', lane.gkey)
  table.insert(out, lane.id)
  table.insert(out, lane.seq)
  table.insert(out, lane.front)
  table.insert(out, lane.opened and 1 or 0)
  table.insert(out, lane.m)
  table.insert(out, lane.gone)
  table.insert(out, lane.admitted)
  table.insert(out, tostring(lane.ema))
end
credit = credit - total
offers = offers + total
waiting = waiting - total
redis.call('HSET', KEYS[1], 'credit', tostring(credit), 'last_t', tick, 'paused', ARGV[6], 'closed', ARGV[7],
           'waiting', waiting, 'in_store', in_store, 'offers', offers)
table.insert(out, in_store)
table.insert(out, offers)
table.insert(out, waiting)
return out
