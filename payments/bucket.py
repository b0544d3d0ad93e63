"""The PSP's leaky bucket: one constant outflow of PSP requests from every
process and worker together (settings.PSP_BUCKET_PER_MINUTE, 500/min by
default), kept in Redis by one Lua script (payments/lua/bucket.lua).

Why GCRA ("virtual scheduling") rather than a token bucket or a counter per
window: the script hands out send *slots*, one interval apart, on the Redis
server's clock; a caller sleeps until its slot. Requests therefore leave
evenly spaced whatever the number of processes (no burst at a window's
edge), the state is one key (any Redis Cluster node can run it), and a
caller learns up front how long it would wait. A reservation longer than the
caller's patience is refused and takes nothing, so a web request never queues
behind a long line: it hands its payment to the ``payments`` Celery queue,
whose tasks wait as long as the line is (never dropped).

How long a caller may wait is a context: web requests get
PSP_BUCKET_WEB_MAX_WAIT_SECONDS by default; the payment tasks run inside
``waiting_up_to(PSP_BUCKET_TASK_MAX_WAIT_SECONDS)``.

With Redis unreachable the bucket lets the call go (logged): Redis being down
must not stop payments already under way; the PSP's own rate limit (429s,
which count as failures) and the circuit breaker still protect it.
"""

from __future__ import annotations

import contextvars
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django_redis import get_redis_connection
from redis.commands.core import Script

from payments import keys
from payments.providers.base import ProviderBusy

log = logging.getLogger(__name__)

LUA = Path(__file__).resolve().parent / "lua" / "bucket.lua"
# Read at import: the process does not start without its script.
_SOURCE = LUA.read_text(encoding="utf-8")

_max_wait: contextvars.ContextVar[float | None] = contextvars.ContextVar("psp_bucket_max_wait", default=None)


@dataclass(frozen=True)
class Reservation:
    """The script's answer. Times are microseconds on the Redis server's clock."""

    granted: bool
    wait_us: int  # how long until the slot (refused: how long it would have been)
    slot_us: int  # the reserved slot (0 when refused)
    now_us: int  # the server's clock when the script ran
    cost: int

    @property
    def wait(self) -> float:
        return self.wait_us / 1_000_000


def redis_client() -> Any:
    """The project's Redis client with its timeouts (the default cache's)."""
    return get_redis_connection("default")


@cache
def _script() -> Script:
    return Script(redis_client(), _SOURCE)


def interval_us() -> int:
    """Microseconds between two PSP requests at the configured rate."""
    return max(1, round(60_000_000 / settings.PSP_BUCKET_PER_MINUTE))


def max_wait() -> float:
    """How long the current caller may wait for its slot (seconds)."""
    value = _max_wait.get()
    return settings.PSP_BUCKET_WEB_MAX_WAIT_SECONDS if value is None else value


@contextmanager
def waiting_up_to(seconds: float) -> Iterator[None]:
    """PSP calls inside wait at most ``seconds`` for their slot."""
    token = _max_wait.set(seconds)
    try:
        yield
    finally:
        _max_wait.reset(token)


def reserve(*, cost: int = 1, wait_limit: float | None = None) -> Reservation:
    """Reserve ``cost`` consecutive slots if the first is at most
    ``wait_limit`` seconds away (default: the context's ``max_wait()``).
    Raises redis.RedisError when Redis does not answer."""
    limit = max_wait() if wait_limit is None else wait_limit
    reply = _script()(keys=[keys.bucket()], args=[interval_us(), cost, int(limit * 1_000_000)], client=redis_client())
    granted, wait_us, slot_us, now_us = (int(x) for x in reply)
    return Reservation(granted=granted == 1, wait_us=wait_us, slot_us=slot_us, now_us=now_us, cost=cost)


def acquire(*, cost: int = 1) -> Reservation | None:
    """Take ``cost`` slots and sleep until the first: the caller may then send
    its ``cost`` requests. Raises ProviderBusy (nothing taken) when the wait
    would be longer than ``max_wait()``; returns None, without waiting, when
    Redis does not answer."""
    try:
        got = reserve(cost=cost)
    except redis.RedisError as exc:
        log.warning("PSP bucket unavailable (%s): the call goes unmetered", exc)
        return None
    if not got.granted:
        raise ProviderBusy(
            "Many payments are being processed; yours is next in line.",
            retry_after=max(1, math.ceil(got.wait - max_wait())),
        )
    if got.wait_us > 0:
        time.sleep(got.wait)
    return got


def backlog_seconds() -> float:
    """How far ahead the bucket is booked (0 when idle): for the admin."""
    client = redis_client()
    pipe = client.pipeline(transaction=False)
    pipe.get(keys.bucket())
    pipe.time()
    raw, (sec, usec) = pipe.execute()
    if raw is None:
        return 0.0
    return max(0.0, (int(raw) - (int(sec) * 1_000_000 + int(usec))) / 1_000_000)
