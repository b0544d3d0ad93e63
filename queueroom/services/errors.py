"""The waiting room's error, and the one mapping of a Redis outage to it."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import redis

from ticketing.errors import DomainError

log = logging.getLogger(__name__)


class QueueError(DomainError):
    """A refusal of the waiting room (its HTTP status: ticketing.errors.STATUS_BY_CODE)."""

    code = "not_found"


UNAVAILABLE = "unavailable"
# What Redis raises when it refuses, drops or stops answering (the clients
# time out after settings.REDIS_SOCKET_TIMEOUT). BusyLoadingError is a
# ConnectionError: a restarting Redis is unavailable too.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def not_found() -> QueueError:
    return QueueError("No such place in a queue.", code="not_found")


def not_yours() -> QueueError:
    return QueueError("This place belongs to another browser.", code="not_your_place")


P = ParamSpec("P")
R = TypeVar("R")

_quiet_until = 0.0


def _unavailable(exc: Exception) -> QueueError:
    global _quiet_until
    mono = time.monotonic()
    if mono >= _quiet_until:  # every waiting fan fails at once: one line per 10 s, not one per request
        _quiet_until = mono + 10
        log.warning("waiting room unavailable: redis %s: %s (repeats muted for 10 s)", type(exc).__name__, exc)
    # A few seconds, spread so that a crowd told to come back does not come
    # back in one wave.
    return QueueError(
        "The waiting room is not answering right now. Try again in a few seconds; a place you have is kept.",
        code=UNAVAILABLE,
        retry_after=random.randint(3, 7),
    )


def unavailable(exc: Exception) -> QueueError:
    """The 503 "unavailable" refusal for a Redis outage (logged, muted like the others)."""
    return _unavailable(exc)


def unavailable_on_redis_error(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a Redis outage inside ``func`` into QueueError 503 "unavailable"
    with a retry-after: the one mapping for every entry point of the queue."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except REDIS_DOWN as exc:
            raise _unavailable(exc) from exc

    return wrapper


def aunavailable_on_redis_error(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """unavailable_on_redis_error for coroutine functions."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await func(*args, **kwargs)
        except REDIS_DOWN as exc:
            raise _unavailable(exc) from exc

    return wrapper
