"""The admission tick: plan (PostgreSQL), then one Lua script per event
(queueroom/lua/tick.lua), then the state document every fan's position is
derived from. See docs/waiting-room.md, "Admission"."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from django.conf import settings

from inventory import hooks
from inventory.models import Event, InventoryItem, ItemStatus
from queueroom import keys
from queueroom import redis_scripts as rs
from queueroom.models import QueueConfig
from queueroom.replies import TickOutcome, TickReply, tick_reply
from queueroom.services.errors import unavailable_on_redis_error
from queueroom.services.setup import LaneSetup, QueueSetup, load_setup
from queueroom.shuffle import Permutation

log = logging.getLogger(__name__)

STATE_TTL_SECONDS = 3600


@dataclass(frozen=True)
class TickPlan:
    """Everything a tick needs from PostgreSQL, read before touching Redis."""

    setup: QueueSetup
    paused: bool
    closed: bool
    # Why nobody is admitted while paused: "organiser" (the promoter's pause)
    # or a closed admission gate's reason (inventory.hooks), e.g.
    # "payments_unavailable" while the PSP's circuit breaker is open.
    paused_reason: str | None = None


def _sold_out(event_id: int) -> bool:
    items = InventoryItem.objects.filter(event_id=event_id)
    return not items.exclude(status=ItemStatus.SOLD).exists() and items.exists()


def plan_tick(*, event: Event) -> TickPlan:
    """The promoter's current settings (pause, rate, capacity, lanes), the
    admission gates (another app may stop admissions, e.g. payments while
    the PSP is down) and the sold-out flag: changes take effect on the next
    tick."""
    reason = "organiser" if QueueConfig.objects.filter(event=event, paused=True).exists() else None
    reason = reason or hooks.admission_closed_reason()
    return TickPlan(
        setup=load_setup(event), paused=reason is not None, closed=_sold_out(event.pk), paused_reason=reason
    )


def tick(*, event: Event, now: float) -> dict[str, Any] | None:
    """One admission tick of one event; see apply_tick."""
    return apply_tick(plan=plan_tick(event=event), now=now)


def apply_tick(*, plan: TickPlan, now: float) -> dict[str, Any] | None:
    """One admission tick: open lanes whose time has come, expire offers and
    leases, admit min(rate budget, free capacity, waiting) shared across lanes
    by weight. Idempotent per second (a repeated tick is a no-op) and
    compare-and-set on each lane's front, so concurrent admitters cannot
    admit a place twice. Redis work depends on the number admitted, never on
    the queue length. Returns the new state document, or None when this
    tick was already done or lost a race."""
    event_id = plan.setup.event_id
    args = tick_args(plan, lane_heads(plan.setup), now)
    reply = tick_reply(rs.run("tick", [keys.meta(event_id), keys.offers(event_id), keys.leases(event_id)], args))
    if reply.outcome is not TickOutcome.DONE:
        if reply.outcome is TickOutcome.RACED:
            log.warning("queue tick for event %s lost a race on lane %s", event_id, reply.raced_lane)
        return None
    doc = state_document_of(plan, reply, now)
    rs.client().set(keys.state(event_id), json.dumps(doc), ex=STATE_TTL_SECONDS)
    return doc


class LaneHead(NamedTuple):
    """A lane's front as the admitter reads it before the script (the script
    refuses to run if it moved: compare-and-set)."""

    front: int
    opened: bool
    m: int


def lane_heads(setup: QueueSetup) -> list[LaneHead]:
    """Every lane's head, in one pipelined round trip."""
    pipe = rs.client().pipeline(transaction=False)
    for lane in setup.lanes:
        pipe.hmget(keys.lane(setup.event_id, lane.id), ["front", "opened", "m"])
    heads = cast(list[list[str | None]], pipe.execute())
    return [LaneHead(int(front or 0), opened == "1", int(m or 0)) for front, opened, m in heads]


def tick_args(plan: TickPlan, heads: list[LaneHead], now: float) -> list[Any]:
    """ARGV of the tick script (its header lists them)."""
    setup = plan.setup
    upper = min(math.ceil(max(setup.rate_per_minute / 60, 1)), setup.max_in_store)
    # Headroom for skipped places (left, no heartbeat); the rest waits a tick.
    budget = upper * 2 + 16
    args: list[Any] = [
        keys.base(setup.event_id),
        now,
        int(now),
        setup.rate_per_minute,
        setup.max_in_store,
        1 if plan.paused else 0,
        1 if plan.closed else 0,
        settings.QUEUE_OFFER_TTL_SECONDS,
        settings.QUEUE_GRACE_SECONDS,
        len(setup.lanes),
    ]
    for lane, head in zip(setup.lanes, heads, strict=True):
        cands = _candidates(lane, head, budget)
        is_open = 1 if now >= lane.opens_at and not lane.closed else 0
        args += [lane.id, lane.tick_weight, is_open, lane.shuffle_key, head.front, len(cands), *cands]
    return args


def _candidates(lane: LaneSetup, head: LaneHead, budget: int) -> list[int]:
    """The tickets at the next ``budget`` places of a shuffled pre-queue
    (inverted here, not in Lua); past the pre-queue, place = ticket."""
    if not head.opened or head.front >= head.m:
        return []
    perm = Permutation(lane.shuffle_key, head.m)
    return [perm.ticket_at(p) for p in range(head.front + 1, min(head.m, head.front + budget) + 1)]


def state_document_of(plan: TickPlan, reply: TickReply, now: float) -> dict[str, Any]:
    """The state document of a tick (published to every server process and
    served as the cacheable polling answer)."""
    setup = plan.setup
    by_id = {lane.id: lane for lane in setup.lanes}
    lanes_out: dict[str, dict[str, Any]] = {}
    for got in reply.lanes:
        lane = by_id[got.lane_id]
        lanes_out[str(lane.id)] = {
            "name": lane.name,
            "kind": lane.kind,
            "weight": lane.weight,
            "seq": got.seq,
            "front": got.front,
            "opened": got.opened,
            "m": got.m,
            "gone": got.gone,
            "admitted": got.admitted,
            "per_second": round(got.ema, 3),
            "opens_at": lane.opens_at,
            "commitment": lane.commitment,
            "closed": lane.closed,
            # The key is published once the lane has opened (its order is fixed).
            "key": lane.shuffle_key if got.opened else None,
        }
    return {
        "event": setup.event_id,
        "t": now,
        "paused": plan.paused,
        "paused_reason": plan.paused_reason,
        "closed": plan.closed,
        "in_store": reply.in_store,
        "offers": reply.offers,
        "waiting": reply.waiting,
        "admitted": sum(got.admitted for got in reply.lanes),
        "rate_per_minute": setup.rate_per_minute,
        "max_in_store": setup.max_in_store,
        "lanes": lanes_out,
    }


@unavailable_on_redis_error
def state_document(event_id: int) -> dict[str, Any] | None:
    """The last tick's state document, if the event has a queue."""
    raw = rs.client().get(keys.state(event_id))
    return json.loads(raw) if raw else None


# --- the admitter ---------------------------------------------------------------


def take_leadership(*, owner: str, ttl_ms: int = 3000) -> bool:
    return bool(rs.run("leader", [keys.leader()], [owner, ttl_ms]))


def release_leadership(*, owner: str) -> None:
    rs.run("release", [keys.leader()], [owner])


def admission_cycle(*, owner: str, now: float) -> list[dict[str, Any]]:
    """One second of the admitter: if this process holds the leader lock,
    tick every event with a queue. Returns the state documents to broadcast."""
    if not take_leadership(owner=owner):
        return []
    docs = []
    c = rs.client()
    for event_id in sorted(int(x) for x in c.smembers(keys.active())):
        event = Event.objects.filter(pk=event_id).first()
        if event is None or event.sale_phase() == "ENDED":
            c.srem(keys.active(), event_id)
            continue
        doc = tick(event=event, now=now)
        if doc is not None:
            docs.append(doc)
    return docs
