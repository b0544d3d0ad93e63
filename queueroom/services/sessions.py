"""Store sessions after admission: ending one (order paid, fan left the
store) and the revocation check the store's door makes on each request."""

from __future__ import annotations

import time
from typing import cast

from queueroom import keys, passes
from queueroom import redis_scripts as rs
from queueroom.services.errors import unavailable_on_redis_error


@unavailable_on_redis_error
def end_session(*, store_pass: passes.StorePass, now: float | None = None) -> bool:
    """End the store session a pass belongs to (order paid, fan left the
    store): its place in the store goes to the next fan on the next tick,
    and the pass is revoked (is_revoked). Idempotent; False when there was
    no live session."""
    e = store_pass.event_id
    got = rs.run(
        "end_session",
        [keys.ticket(e, store_pass.lane_id, store_pass.ticket), keys.leases(e), keys.revoked(e)],
        [store_pass.session_id, time.time() if now is None else now],
    )
    return bool(got == 1)


@unavailable_on_redis_error
def end_session_of_fan(*, event_id: int, fan_id: str, now: float | None = None) -> bool:
    """End the store session of the browser ``fan_id`` in the event, if it
    has one (its order was paid): the same as end_session, found by the
    browser instead of the pass, which only the fan's cookie carries. The
    script checks the session is still the live one, so a read racing a
    leave or an expiry ends nothing else. False when there was none."""
    client = rs.client()
    place = cast(str | None, client.get(keys.fan(event_id, passes.browser_binding(fan_id))))
    if not place:
        return False
    lane_id, number = keys.parse_place(place)
    ticket = keys.ticket(event_id, lane_id, number)
    session_id = cast(str | None, client.hget(ticket, "sid"))
    if not session_id:
        return False
    got = rs.run(
        "end_session",
        [ticket, keys.leases(event_id), keys.revoked(event_id)],
        [session_id, time.time() if now is None else now],
    )
    return bool(got == 1)


def is_revoked(store_pass: passes.StorePass) -> bool:
    """Whether the pass's store session was ended (fan left, order paid).
    One Redis round trip; the store's only one per request besides the rate limit."""
    return rs.client().zscore(keys.revoked(store_pass.event_id), store_pass.session_id) is not None
