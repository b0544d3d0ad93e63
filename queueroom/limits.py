"""How often one client may join a queue (docs/security.md, "Limits").

Two token buckets per join, one per client address and one per network
(IPv4 /24, IPv6 /64), and two more when the join makes a new fan identity
(no fan cookie yet): a script that drops its cookie to get a new place and
a new ticket cap pays from a smaller bucket. All four are taken in one
Redis round trip, before the join touches the queue; an over-limit join
takes no place.

Joins are refused with ``rate_limited`` (429 + Retry-After). If Redis cannot
answer, the join goes ahead unlimited: the join itself then answers 503, and
a limiter must never be what stops a sale.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from queueroom.services.errors import QueueError
from ticketing import clientip, limiters
from ticketing.memo import Memo

log = logging.getLogger(__name__)


@cache
def _buckets() -> dict[str, limiters.TokenBucket | None]:
    return {
        "join:a": limiters.TokenBucket.parse(settings.JOIN_LIMIT_PER_ADDRESS),
        "join:n": limiters.TokenBucket.parse(settings.JOIN_LIMIT_PER_NETWORK),
        "fan:a": limiters.TokenBucket.parse(settings.NEW_FAN_LIMIT_PER_ADDRESS),
        "fan:n": limiters.TokenBucket.parse(settings.NEW_FAN_LIMIT_PER_NETWORK),
    }


def _reset(**kwargs: Any) -> None:
    if kwargs.get("setting") in (None, *_SETTINGS):
        _buckets.cache_clear()


_SETTINGS = (
    "JOIN_LIMIT_PER_ADDRESS",
    "JOIN_LIMIT_PER_NETWORK",
    "NEW_FAN_LIMIT_PER_ADDRESS",
    "NEW_FAN_LIMIT_PER_NETWORK",
)
setting_changed.connect(_reset, dispatch_uid="queueroom.limits.reset")


def join_calls(address: str, *, new_fan: bool) -> list[tuple[limiters.TokenBucket, str]]:
    """The buckets one join takes a token from, with their keys."""
    network = clientip.subnet_of(address)
    wanted = [("join:a", address), ("join:n", network)]
    if new_fan:
        wanted += [("fan:a", address), ("fan:n", network)]
    buckets = _buckets()
    return [(bucket, limiters.key(name, who)) for name, who in wanted if (bucket := buckets[name]) is not None]


_CHECKED = "queueroom.join_limited"


def mark_checked(scope: dict[str, Any]) -> None:
    """The fast path took this join's tokens already (it may still hand the
    join to Django, which must not take them again)."""
    scope[_CHECKED] = True


def checked_upstream(request: object) -> bool:
    scope = getattr(request, "scope", None)
    return bool(scope and scope.get(_CHECKED))


def verdict(decisions: list[limiters.Decision]) -> QueueError | None:
    """The refusal of a join whose buckets answered ``decisions``, or None."""
    refused = [d for d in decisions if not d.allowed]
    if not refused:
        return None
    wait = max(d.retry_after_header for d in refused)
    return QueueError(
        "Too many joins from your network in a short time; try again in a moment.",
        code="rate_limited",
        retry_after=wait,
    )


# --- Polling faster than told ----------------------------------------------------
# A waiting fan's answer says when to ask again (poll_after_seconds). A client
# that asks sooner (a refresh storm, a script) gets the answer it had, from
# this process's memory: no Redis, no work. Only waiting and pre-queue answers
# are kept; offers and passes are always fresh. Per process and bounded, so a
# client spreading its polls over processes costs at most one answer each.
_POLLS: Memo[str, tuple[float, bytes]] = Memo("queueroom.early_polls", maxsize=100_000, ttl=20.0)


def early_poll(token: str, *, now: float) -> bytes | None:
    """The JSON body last sent for ``token``, if it was asked again before its
    poll_after_seconds ran out; else None (answer normally)."""
    found = _POLLS.get(token, now=now)
    if found is None or now >= found[0]:
        return None
    return found[1]


def remember_poll(token: str, body: bytes, *, status: str, poll_after: int, now: float) -> None:
    if status in ("WAITING", "PRE_QUEUE") and poll_after > 0:
        _POLLS.set(token, (now + poll_after, body), now=now)


def forget_poll(token: str) -> None:
    """The place changed at the fan's own request (left): answer fresh."""
    _POLLS.discard(token)
