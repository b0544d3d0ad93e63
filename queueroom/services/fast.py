"""The asyncio twins of join and status, for queueroom.fastpath.

They cover the hot cases only (a join without a presale code, the status of
a place that is not offered or admitted) with a warm setup cache, and answer
None for anything else: the caller then falls back to the sync services,
which are idempotent, so the fallback is always safe. The computation is
the sync path's own (queueroom.services.positions); only the I/O differs.
"""

from __future__ import annotations

from queueroom import keys, passes
from queueroom import redis_scripts as rs
from queueroom.replies import join_reply, status_row
from queueroom.services.errors import aunavailable_on_redis_error, not_found
from queueroom.services.places import active_marks, join_call, joined_token, plain_lane, status_keys
from queueroom.services.positions import (
    QueueStatus,
    closed_status,
    free_status,
    gone_range,
    parse_token,
    waiting_status,
)
from queueroom.services.setup import peek_setup


@aunavailable_on_redis_error
async def astatus(*, token: str, now: float) -> QueueStatus | None:
    """status() for async servers, for tickets that are not offered or
    admitted; None means "ask status()" (claims and passes stay sync)."""
    t = parse_token(token)
    setup = peek_setup(t.event_id)
    if setup is None:
        return None
    c, scripts = rs.async_client()
    row = status_row(await scripts["status"](keys=status_keys(t), args=[now, 1]))
    if row is None:
        raise not_found()
    if row.state.live:
        return None
    span = gone_range(t, row)
    gone_ahead = await c.zcount(keys.gone(t.event_id, t.lane_id), *span) if span else 0
    return free_status(waiting_status(token, t, row, now), t, row, setup, now, gone_ahead)


@aunavailable_on_redis_error
async def ajoin(*, event_id: int, fan_id: str, now: float, flagged: bool = False) -> tuple[QueueStatus, bool] | None:
    """join() without a presale code for async servers; None means "call
    join()" (which is idempotent, so the fallback is always safe)."""
    setup = peek_setup(event_id)
    if setup is None:
        return None
    c, scripts = rs.async_client()
    script_keys, args = join_call(
        event_id, plain_lane(setup, flagged=flagged), passes.browser_binding(fan_id), now, setup=setup
    )
    reply = join_reply(await scripts["join"](keys=script_keys, args=args))
    if not active_marks.get(event_id):
        await c.sadd(keys.active(), event_id)
        active_marks.set(event_id, True)
    if reply is None:
        return closed_status("sold_out"), False
    if reply.row.state.live:
        return None
    t, token = joined_token(event_id, reply)
    span = gone_range(t, reply.row)
    gone_ahead = await c.zcount(keys.gone(event_id, t.lane_id), *span) if span else 0
    return free_status(waiting_status(token, t, reply.row, now), t, reply.row, setup, now, gone_ahead), reply.created
