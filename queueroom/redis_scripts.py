"""Every Redis access of the waiting room: key names and Lua scripts.

Keys of one event share the hash tag ``{e<id>}`` so the scripts run on one
Redis Cluster slot; all of them start with settings.REDIS_KEY_PREFIX.

    <p>:q:{e1}:meta          hash  paused, closed, credit, last_t, waiting, in_store, offers
    <p>:q:{e1}:L<lane>       hash  seq (tickets handed out), front (places served), opened, m, key, ema
    <p>:q:{e1}:L<lane>:gone  zset  places of fans who left, beyond the front (bounded by leavers)
    <p>:q:{e1}:t<lane>:<n>   hash  one ticket: fan (browser binding), seen, st, oexp, sid, cap
    <p>:q:{e1}:f:<bind>      str   "<lane>:<n>": the fan's place (one per browser)
    <p>:q:{e1}:offers        zset  "<lane>:<n>" by offer expiry (bounded by max_in_store)
    <p>:q:{e1}:leases        zset  session id by lease expiry (bounded by max_in_store)
    <p>:q:{e1}:state         str   the per-event state document (JSON) of the last tick
    <p>:q:active             set   event ids with a queue (read by the admitter)
    <p>:q:leader             str   the admitter's leader lock

Ticket states (st): W waiting, O offered, A admitted (lease), L left,
X lost (no heartbeat for the grace period when its turn came), E offer
expired, D session done.

Ticket keys are derived inside the scripts from the event's base name; they
carry the same hash tag, so they live on the same cluster slot.
"""

from __future__ import annotations

import asyncio
import weakref
from functools import cache
from typing import Any

import redis
import redis.asyncio as aredis
from django.conf import settings
from django.core.signals import setting_changed

JOIN = """
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
"""

STATUS = """
-- KEYS: ticket, lane hash, gone zset, meta. ARGV: now, heartbeat (1/0)
local t = redis.call('HMGET', KEYS[1], 'fan', 'seen', 'st', 'oexp', 'sid', 'cap')
if not t[3] then return false end
if ARGV[2] == '1' and t[3] == 'W' then redis.call('HSET', KEYS[1], 'seen', ARGV[1]) end
local l = redis.call('HMGET', KEYS[2], 'seq', 'front', 'opened', 'm', 'key', 'ema')
local m = redis.call('HMGET', KEYS[4], 'paused', 'closed', 'waiting')
local gone = redis.call('ZCARD', KEYS[3])
return {t[1], t[2], t[3], t[4], t[5], t[6], l[1], l[2], l[3], l[4], l[5], l[6], m[1], m[2], m[3], gone}
"""

CLAIM = """
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
"""

HEARTBEAT = """
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
"""

LEAVE = """
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
"""

END_SESSION = """
-- KEYS: ticket, leases, revoked. ARGV: session id, now
local t = redis.call('HMGET', KEYS[1], 'st', 'sid', 'cap')
if t[1] ~= 'A' or t[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'st', 'D')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[2])
redis.call('ZADD', KEYS[3], t[3], ARGV[1])
return 1
"""

# One tick of one event. Reads everything first and aborts on a changed
# front (compare-and-set), so two admitters can never admit the same place,
# and a repeated tick id is a no-op (idempotent ticks).
TICK = """
-- KEYS: meta, offers, leases
-- ARGV: base, now, tick id, rate/min, max_in_store, paused, closed, offer ttl, grace, nlanes,
--       then per lane: id, weight, open, key, expected front, ncands, cands...
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
  elseif lane.opened then
    table.insert(active, lane)
  end
  lane.gone = redis.call('ZCARD', lane.gkey)
  lane.waiting = math.max(lane.seq - lane.front - lane.gone, 0)
  waiting = waiting + lane.waiting
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
  for _, lane in ipairs(active) do if lane.waiting > 0 then wsum = wsum + lane.weight end end
  local left = admit
  if wsum > 0 then
    local given = 0
    for _, lane in ipairs(active) do
      if lane.waiting > 0 then
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
    left = left - admit_lane(lane, left)
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
"""

# Leader lock: take it if free, keep it if ours.
LEADER = """
local cur = redis.call('GET', KEYS[1])
if not cur or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def prefix() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:q:"


def base(event_id: int) -> str:
    return f"{prefix()}{{e{event_id}}}:"


def active_key() -> str:
    return f"{prefix()}active"


def leader_key() -> str:
    return f"{prefix()}leader"


def _options() -> dict[str, Any]:
    # Bounded waits: a Redis that stops answering costs a request about
    # REDIS_SOCKET_TIMEOUT, then a 503 (services.unavailable_on_redis_error).
    # from_url clients do not retry, so that is the whole wait.
    return {
        "decode_responses": True,
        "max_connections": 64,
        "socket_connect_timeout": settings.REDIS_CONNECT_TIMEOUT,
        "socket_timeout": settings.REDIS_SOCKET_TIMEOUT,
        "socket_keepalive": True,
    }


@cache
def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, **_options())


_SCRIPTS = {
    "join": JOIN,
    "status": STATUS,
    "claim": CLAIM,
    "heartbeat": HEARTBEAT,
    "leave": LEAVE,
    "end_session": END_SESSION,
    "tick": TICK,
    "leader": LEADER,
    "release": RELEASE,
}


@cache
def _sync_scripts() -> dict[str, Any]:
    c = client()
    return {name: c.register_script(src) for name, src in _SCRIPTS.items()}


def run(name: str, keys: list[str], args: list[Any], *, pipe: Any = None) -> Any:
    script = _sync_scripts()[name]
    if pipe is not None:
        return script(keys=keys, args=args, client=pipe)
    return script(keys=keys, args=args)


_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[aredis.Redis, dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


def async_client() -> tuple[aredis.Redis, dict[str, Any]]:
    """An asyncio client (and its scripts) for the running event loop."""
    loop = asyncio.get_running_loop()
    found = _async.get(loop)
    if found is None:
        c = aredis.Redis.from_url(settings.REDIS_URL, **_options())
        found = (c, {name: c.register_script(src) for name, src in _SCRIPTS.items()})
        _async[loop] = found
    return found


async def arun(name: str, keys: list[str], args: list[Any]) -> Any:
    _, scripts = async_client()
    return await scripts[name](keys=keys, args=args)


def reset_clients(**kwargs: Any) -> None:
    """Forget the clients, so the next call connects with the current
    settings (tests point the queue at a private Redis this way)."""
    if kwargs.get("setting") not in (None, *_CLIENT_SETTINGS):
        return
    if client.cache_info().currsize:
        client().close()
    client.cache_clear()
    _sync_scripts.cache_clear()
    _async.clear()


_CLIENT_SETTINGS = ("REDIS_URL", "REDIS_CONNECT_TIMEOUT", "REDIS_SOCKET_TIMEOUT")
setting_changed.connect(reset_clients, dispatch_uid="queueroom.redis_scripts.reset_clients")
