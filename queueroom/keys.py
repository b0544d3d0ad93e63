"""Every Redis key (and the channel-layer group) of the waiting room, built here only.

Keys of one event share the hash tag ``{e<id>}`` so the scripts run on one
Redis Cluster slot; all of them start with settings.REDIS_KEY_PREFIX.

    <p>:q:{e1}:meta          hash  paused, closed, credit, last_t, waiting, in_store, offers
    <p>:q:{e1}:L<lane>       hash  seq (tickets handed out), front (places served), opened, m, key, ema
    <p>:q:{e1}:L<lane>:gone  zset  places of fans who left, beyond the front (bounded by leavers)
    <p>:q:{e1}:t<lane>:<n>   hash  one ticket: fan (browser binding), seen, st, oexp, sid, cap
    <p>:q:{e1}:f:<bind>      str   "<lane>:<n>": the fan's place (one per browser)
    <p>:q:{e1}:offers        zset  "<lane>:<n>" by offer expiry (bounded by max_in_store)
    <p>:q:{e1}:leases        zset  session id by lease expiry (bounded by max_in_store)
    <p>:q:{e1}:revoked       zset  session ids ended before their pass expired, by pass expiry
    <p>:q:{e1}:state         str   the per-event state document (JSON) of the last tick
    <p>:q:{e1}:bots          hash  bot counters for the admin: flagged joins, refused challenges (queueroom.bots)
    <p>:q:active             set   event ids with a queue (read by the admitter)
    <p>:q:bot:flag:<addr>    str   a flagged client address, until it expires (queueroom.bots)
    <p>:q:bot:abuse:<addr>   zset  the address's refused joins in the abuse window (a sliding log)
    <p>:q:bot:used:<sig>     str   a proof-of-work solution already used, until its challenge expires
    <p>:q:leader             str   the admitter's leader lock

The ticket states (``st``) are queueroom.replies.PlaceState.

The join and tick scripts (queueroom/lua/) are handed ``base(event)`` and
derive ticket and lane keys from it themselves, in the formats of ``ticket``
and ``lane`` below (queueroom/tests/test_keys.py holds them to it): the
tick touches places it only learns inside the script.
"""

from __future__ import annotations

from django.conf import settings


def prefix() -> str:
    """What every waiting-room key starts with (tests delete by this prefix)."""
    return f"{settings.REDIS_KEY_PREFIX}:q:"


def base(event_id: int) -> str:
    """What every key of one event starts with, hash tag included."""
    return f"{settings.REDIS_KEY_PREFIX}:q:{{e{event_id}}}:"


def meta(event_id: int) -> str:
    return f"{base(event_id)}meta"


def lane(event_id: int, lane_id: int) -> str:
    return f"{base(event_id)}L{lane_id}"


def gone(event_id: int, lane_id: int) -> str:
    return f"{base(event_id)}L{lane_id}:gone"


def ticket(event_id: int, lane_id: int, number: int) -> str:
    return f"{base(event_id)}t{lane_id}:{number}"


def fan(event_id: int, binding: str) -> str:
    """The browser's place in the event's queue (passes.browser_binding of the fan id)."""
    return f"{base(event_id)}f:{binding}"


def offers(event_id: int) -> str:
    return f"{base(event_id)}offers"


def leases(event_id: int) -> str:
    return f"{base(event_id)}leases"


def revoked(event_id: int) -> str:
    """Sessions ended before their pass expired: member session id, score
    the pass's expiry (entries past it are dropped as new ones arrive)."""
    return f"{base(event_id)}revoked"


def bots(event_id: int) -> str:
    """Counters of queueroom.bots for the promoter (field -> count)."""
    return f"{base(event_id)}bots"


def state(event_id: int) -> str:
    return f"{base(event_id)}state"


def active() -> str:
    return f"{prefix()}active"


def leader() -> str:
    return f"{prefix()}leader"


def place(lane_id: int, number: int) -> str:
    """A place as the scripts store it: the fan key's value and the offers member."""
    return f"{lane_id}:{number}"


def parse_place(value: str) -> tuple[int, int]:
    """(lane id, ticket number) of a ``place`` string."""
    lane_id, number = value.split(":")
    return int(lane_id), int(number)


def group_name(event_id: int) -> str:
    """The channel-layer group each tick's state document is published to
    (channels-redis derives its own Redis keys from it)."""
    return f"{settings.REDIS_KEY_PREFIX}.queue.{event_id}"
