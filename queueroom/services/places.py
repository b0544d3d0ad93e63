"""A fan's place: join, status (heartbeat + claim), heartbeat, leave, find.

Every function takes ``now`` (epoch seconds) so tests control time; the
asyncio twins of join and status for the fast path are in ``fast.py``.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any, cast

from django.db.models import F

from inventory.models import Event
from queueroom import keys, passes
from queueroom import redis_scripts as rs
from queueroom.messages import FanStatus
from queueroom.models import PresaleCode
from queueroom.replies import (
    JoinReply,
    PlaceState,
    StatusRow,
    claim_reply,
    closed_reason,
    heartbeat_reply,
    join_reply,
    leave_reply,
    status_row,
)
from queueroom.services.errors import REDIS_DOWN, QueueError, not_found, not_yours, unavailable_on_redis_error
from queueroom.services.positions import (
    QueueStatus,
    close,
    closed_status,
    free_status,
    gone_range,
    parse_token,
    waiting_status,
)
from queueroom.services.setup import (
    QueueSetup,
    cached_setup,
    lease_idle_seconds,
    lease_max_seconds,
    store_url,
)
from queueroom.shuffle import place_of
from ticketing.memo import Memo

log = logging.getLogger(__name__)

# Events this process told the admitter about in the last few seconds.
active_marks: Memo[int, bool] = Memo("queueroom.marked_active", maxsize=1024, ttl=5.0)


def status_keys(t: passes.QueueToken) -> list[str]:
    """KEYS of the status script for the token's place."""
    return [
        keys.ticket(t.event_id, t.lane_id, t.ticket),
        keys.lane(t.event_id, t.lane_id),
        keys.gone(t.event_id, t.lane_id),
        keys.meta(t.event_id),
    ]


def join_call(
    event_id: int, lane_id: int, binding: str, now: float, *, setup: QueueSetup
) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of the join script. The lane's opening time and shuffle
    key let the join itself open the lane at the announced time (the
    pre-queue ends then, not at the admitter's next tick); a lane newer than
    the cached setup is left for the tick to open."""
    lane = setup.lane(lane_id)
    opens_at, shuffle_key = (lane.opens_at, lane.shuffle_key) if lane else (2**53, "")
    if lane is not None and lane.closed:
        opens_at = 2**53  # a lane the promoter closed does not open by a join either
    return (
        [keys.fan(event_id, binding), keys.lane(event_id, lane_id), keys.meta(event_id)],
        [keys.base(event_id), lane_id, binding, now, opens_at, shuffle_key],
    )


def plain_lane(setup: QueueSetup, *, flagged: bool) -> int:
    """The lane a join without a presale code goes to."""
    if flagged and (lane := setup.flagged_lane) is not None:
        return lane.id
    return setup.general.id


def joined_token(event_id: int, reply: JoinReply) -> tuple[passes.QueueToken, str]:
    t = passes.QueueToken(event_id, reply.lane_id, reply.ticket)
    return t, passes.sign_token(t)


def _mark_active(event_id: int) -> None:
    """Tell the admitter this event has a queue (at most every few seconds per process)."""
    if not active_marks.get(event_id):
        rs.client().sadd(keys.active(), event_id)
        active_marks.set(event_id, True)


# --- join -----------------------------------------------------------------------


@unavailable_on_redis_error
def join(*, event: Event, fan_id: str, code: str = "", now: float, flagged: bool = False) -> tuple[QueueStatus, bool]:
    """Take a place in the event's queue, or return the fan's existing one
    (refreshes, more tabs and retries never add a second place). A presale
    code puts the fan in its priority lane, also when they are already
    waiting in the general line: that place is given up for one in the
    priority lane. A ``flagged`` client (queueroom.bots) without a code gets
    its new place in the event's lane for flagged fans, if it has one.
    Returns (status, created)."""
    setup = cached_setup(event.pk)
    bind = passes.browser_binding(fan_id)
    lane_id = _lane_for_code(event, setup, fan_id, bind, code, now) if code else plain_lane(setup, flagged=flagged)
    reply = join_reply(rs.run("join", *join_call(event.pk, lane_id, bind, now, setup=setup)))
    _mark_active(event.pk)
    if reply is None:
        return closed_status("sold_out"), False
    if code and lane_id != setup.general.id and (not reply.created or reply.lane_id != lane_id):
        _give_back_code(lane_id, code)  # the fan kept a place they had: the code bought nothing
    t, token = joined_token(event.pk, reply)
    if reply.row.state.live:  # an existing place with an offer or a lease: claim it if due
        return status(token=token, fan_id=fan_id, now=now), False
    return _free_status(token, t, reply.row, setup, now), reply.created


def _lane_for_code(event: Event, setup: QueueSetup, fan_id: str, bind: str, code: str, now: float) -> int:
    """The lane a join with a presale code goes to, the code's use taken.
    A fan waiting in the general lane gives that place up first; one with
    any other place keeps it (and the join returns it)."""
    existing = cast(str | None, rs.client().get(keys.fan(event.pk, bind)))
    if existing is None:
        return _use_code(event, code)
    lane_id, ticket = keys.parse_place(existing)
    if lane_id != setup.general.id:
        return setup.general.id
    token = passes.sign_token(passes.QueueToken(event.pk, lane_id, ticket))
    if not _still_waiting(token, fan_id, now):
        return setup.general.id
    code_lane = _use_code(event, code)  # an unknown or used-up code leaves the place alone
    try:
        leave(token=token, fan_id=fan_id, now=now)
    except QueueError:
        _give_back_code(code_lane, code)
        raise
    return code_lane


def _still_waiting(token: str, fan_id: str, now: float) -> bool:
    """Whether the place is waiting or in the pre-queue: the only kind a
    presale code upgrades. An offer or a store session is kept as it is."""
    try:
        now_status = status(token=token, fan_id=fan_id, now=now, heartbeat=False, claim=False)
    except QueueError:
        return False
    return now_status.status in (FanStatus.WAITING, FanStatus.PRE_QUEUE)


def _use_code(event: Event, code: str) -> int:
    """Consume one use of a presale code; the priority lane's id."""
    found = PresaleCode.objects.filter(lane__event=event, code=code.strip()).values_list("pk", "lane_id").first()
    if found is None:
        raise QueueError("This presale code does not exist for this event.", code="invalid_code")
    used = PresaleCode.objects.filter(pk=found[0], used__lt=F("max_uses")).update(used=F("used") + 1)
    if not used:
        raise QueueError("This presale code has been used as many times as it allows.", code="code_used_up")
    return found[1]


def _give_back_code(lane_id: int, code: str) -> None:
    """Undo one use of a code that did not get its fan a new place."""
    PresaleCode.objects.filter(lane_id=lane_id, code=code.strip(), used__gt=0).update(used=F("used") - 1)


# --- status ---------------------------------------------------------------------


def _free_status(token: str, t: passes.QueueToken, row: StatusRow, setup: QueueSetup, now: float) -> QueueStatus:
    span = gone_range(t, row)
    gone_ahead = rs.client().zcount(keys.gone(t.event_id, t.lane_id), *span) if span else 0
    return free_status(waiting_status(token, t, row, now), t, row, setup, now, gone_ahead)


@unavailable_on_redis_error
def status(*, token: str, fan_id: str | None, now: float, heartbeat: bool = True, claim: bool = True) -> QueueStatus:
    """Where the token's fan stands. Counts as a heartbeat; an offer is
    claimed (the store lease opens and the pass is issued) when the caller is
    the browser that joined."""
    t = parse_token(token)
    row = status_row(rs.run("status", status_keys(t), [now, 1 if heartbeat else 0]))
    if row is None:
        raise not_found()
    setup = cached_setup(t.event_id)
    mine = bool(fan_id) and passes.browser_binding(fan_id or "") == row.fan
    if row.state is PlaceState.OFFERED:
        out = waiting_status(token, t, row, now)
        if (row.offer_expires or 0) <= now:
            return close(out, "offer_expired")
        if not (claim and mine):
            out.status, out.poll_after_seconds, out.store_url = FanStatus.OFFERED, 2, store_url(setup.slug)
            return out
        return _claim(out, t, row, setup, now)
    if row.state is PlaceState.ADMITTED:
        out = waiting_status(token, t, row, now)
        return _admitted(out, t, setup, row.session_id, row.cap, now, binding=row.fan if mine else None)
    return _free_status(token, t, row, setup, now)


def _claim(out: QueueStatus, t: passes.QueueToken, row: StatusRow, setup: QueueSetup, now: float) -> QueueStatus:
    """Turn the fan's offer into a store session (a lease) and a pass."""
    got = claim_reply(
        rs.run(
            "claim",
            [keys.ticket(t.event_id, t.lane_id, t.ticket), keys.offers(t.event_id), keys.leases(t.event_id)],
            [
                now,
                row.fan,
                secrets.token_urlsafe(12),
                lease_idle_seconds(),
                lease_max_seconds(),
                keys.place(t.lane_id, t.ticket),
            ],
        )
    )
    if got.state is not PlaceState.ADMITTED:
        return close(out, closed_reason(got.state))
    return _admitted(out, t, setup, got.session_id, got.cap, now, binding=row.fan)


def _admitted(
    out: QueueStatus,
    t: passes.QueueToken,
    setup: QueueSetup,
    session_id: str | None,
    cap: float | None,
    now: float,
    *,
    binding: str | None,
) -> QueueStatus:
    """In the store until ``cap``; the browser that joined (``binding``) also gets its pass."""
    if (cap or 0) <= now:
        return close(out, "session_ended")
    out.status, out.store_url = FanStatus.ADMITTED, store_url(setup.slug)
    if binding is not None:
        assert cap is not None and session_id is not None
        out.pass_expires_at = int(cap)
        out.store_pass = passes.sign_pass(
            passes.StorePass(t.event_id, t.lane_id, t.ticket, session_id, out.pass_expires_at, binding)
        )
    return out


# --- heartbeat, leave, find -----------------------------------------------------


@unavailable_on_redis_error
def heartbeat(*, token: str, fan_id: str | None, now: float) -> PlaceState | None:
    """Keep a waiting fan's place (grace period) or an admitted fan's lease.
    Only the browser that joined may: QueueError 403 for any other. None
    when the place does not exist."""
    t = parse_token(token)
    if not fan_id:
        raise not_yours()
    got = heartbeat_reply(
        rs.run(
            "heartbeat",
            [keys.ticket(t.event_id, t.lane_id, t.ticket), keys.leases(t.event_id)],
            [now, lease_idle_seconds(), passes.browser_binding(fan_id)],
        )
    )
    if got.forbidden:
        raise not_yours()
    return got.state


def heartbeat_many(*, tokens: list[str], now: float) -> None:
    """heartbeat() for many places in pipelined batches (the WebSocket hub's
    connections, once a minute)."""
    idle = lease_idle_seconds()
    for start in range(0, len(tokens), 500):
        pipe = rs.pipeline()
        for token in tokens[start : start + 500]:
            try:
                t = passes.verify_token(token)
            except passes.PassInvalid:
                continue
            # The hub's own connections: no owner check (a connection holds no pass).
            ticket_keys = [keys.ticket(t.event_id, t.lane_id, t.ticket), keys.leases(t.event_id)]
            rs.run("heartbeat", ticket_keys, [now, idle, ""], pipe=pipe)
        try:
            pipe.execute()
        except REDIS_DOWN as exc:
            # The hub calls this once a minute and places last QUEUE_GRACE_SECONDS
            # (5 min) without one: skip this round instead of ending the hub's loop.
            log.warning("queue heartbeats skipped: redis %s: %s", type(exc).__name__, exc)
            return


@unavailable_on_redis_error
def leave(*, token: str, fan_id: str, now: float) -> QueueStatus:
    """Give up the place (or end the store session); the fan may join again, at the back."""
    t = parse_token(token)
    e = t.event_id
    m, key = cast(list[str | None], rs.client().hmget(keys.lane(e, t.lane_id), ["m", "key"]))
    bind = passes.browser_binding(fan_id)
    got = leave_reply(
        rs.run(
            "leave",
            [
                keys.ticket(e, t.lane_id, t.ticket),
                keys.gone(e, t.lane_id),
                keys.offers(e),
                keys.leases(e),
                keys.fan(e, bind),
                keys.revoked(e),
            ],
            [bind, place_of(t.ticket, m=int(m or 0), key_hex=key), keys.place(t.lane_id, t.ticket), now],
        )
    )
    if not got.found:
        raise not_found()
    if got.forbidden:
        raise not_yours()
    return status(token=token, fan_id=fan_id, now=now, heartbeat=False, claim=False)


@unavailable_on_redis_error
def find_place(*, event: Event, fan_id: str) -> str | None:
    """The token of this browser's live place in the event's queue, if any."""
    found = cast(str | None, rs.client().get(keys.fan(event.pk, passes.browser_binding(fan_id))))
    if not found:
        return None
    lane_id, ticket = keys.parse_place(found)
    return passes.sign_token(passes.QueueToken(event.pk, lane_id, ticket))
