"""Rate limits kept in Redis, each one Lua script on one key (atomic, and any
Redis Cluster node can run it: the scripts touch only the key they are given).

- ``TokenBucket``: bursts up to a capacity, then a steady refill. For what a
  client may do often but not endlessly (queue joins, new fan identities).
- ``SlidingLog``: exactly how many events in the last window, for abuse
  detection (a client flagged once it passes a count).

The caller passes the time, so tests control it; in production it is the
caller's clock (one machine, or hosts kept in step by NTP). Each limit has a
sync and an asyncio form (the queue's raw-ASGI fast path runs on the event
loop). They live on the waiting room's Redis (ticketing.redisconn.queue_client:
the join's bot gate takes them in one pipeline with its own keys). Which limit
guards which endpoint, with which numbers: docs/security.md.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aredis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from ticketing.redisconn import CLIENT_SETTINGS, queue_async_client, queue_client

LUA = Path(__file__).resolve().parent / "lua"
# Read at import: a process without its scripts does not start.
_SOURCES = {name: (LUA / f"{name}.lua").read_text(encoding="utf-8") for name in ("token_bucket", "sliding_log")}


@cache
def _sync() -> tuple[redis.Redis, dict[str, Any]]:
    c = queue_client()
    return c, {name: c.register_script(src) for name, src in _SOURCES.items()}


_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[aredis.Redis, dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


def _for_loop() -> tuple[aredis.Redis, dict[str, Any]]:
    loop = asyncio.get_running_loop()
    found = _async.get(loop)
    if found is None:
        c = queue_async_client()
        found = (c, {name: c.register_script(src) for name, src in _SOURCES.items()})
        _async[loop] = found
    return found


def _reset(**kwargs: Any) -> None:
    if kwargs.get("setting") in (None, *CLIENT_SETTINGS):
        _sync.cache_clear()
        _async.clear()


setting_changed.connect(_reset, dispatch_uid="ticketing.limiters.reset")


def key(*parts: str) -> str:
    """A limiter key under the project's Redis prefix."""
    return ":".join((settings.REDIS_KEY_PREFIX, "lim", *parts))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until it would be allowed (0 when allowed)
    remaining: float  # tokens left, or events left in the window

    @property
    def retry_after_header(self) -> int:
        """Whole seconds for a Retry-After header (at least 1)."""
        return max(1, int(-(-self.retry_after // 1)))


@dataclass(frozen=True)
class TokenBucket:
    """``capacity`` tokens, refilled at ``per_minute``; one call takes ``cost``."""

    capacity: int
    per_minute: float

    @classmethod
    def parse(cls, text: str) -> TokenBucket | None:
        """From a setting "burst/per-minute" ("30/60"); None when empty."""
        if not text:
            return None
        try:
            burst, rate = text.split("/")
            bucket = cls(capacity=int(burst), per_minute=float(rate))
        except ValueError as exc:
            raise ImproperlyConfigured(f"A token bucket is 'burst/per-minute', not {text!r}") from exc
        if bucket.capacity < 1 or bucket.per_minute <= 0:
            raise ImproperlyConfigured(f"A token bucket needs burst >= 1 and a rate > 0, not {text!r}")
        return bucket

    def args(self, now: float, cost: int = 1) -> list[Any]:
        return [self.capacity, self.per_minute / 60.0, repr(now), cost]

    def decide(self, reply: list[Any]) -> Decision:
        allowed, wait, left = reply
        return Decision(allowed=int(allowed) == 1, retry_after=float(wait or 0), remaining=float(left))

    def take(self, bucket_key: str, *, now: float, cost: int = 1) -> Decision:
        """Take ``cost`` tokens, one round trip of its own. (The queue's join
        takes its buckets in one pipeline with its other checks: queueroom.bots.)"""
        _, scripts = _sync()
        return self.decide(scripts["token_bucket"](keys=[bucket_key], args=self.args(now, cost)))


@dataclass(frozen=True)
class SlidingLog:
    """At most ``limit`` events in any ``window`` seconds."""

    limit: int
    window: float

    @classmethod
    def parse(cls, text: str) -> SlidingLog | None:
        """From a setting "count/seconds" ("20/60"); None when empty."""
        if not text:
            return None
        try:
            count, seconds = text.split("/")
            log = cls(limit=int(count), window=float(seconds))
        except ValueError as exc:
            raise ImproperlyConfigured(f"A sliding log is 'count/seconds', not {text!r}") from exc
        if log.limit < 1 or log.window <= 0:
            raise ImproperlyConfigured(f"A sliding log needs count >= 1 and seconds > 0, not {text!r}")
        return log

    def args(self, now: float, member: str) -> list[Any]:
        return [repr(self.window), self.limit, repr(now), member]

    def record(self, log_key: str, *, now: float, member: str) -> Decision:
        """Record one event (``member`` must be unique per event)."""
        _, scripts = _sync()
        return self.decide(scripts["sliding_log"](keys=[log_key], args=self.args(now, member)), now=now)

    def decide(self, reply: list[Any], *, now: float) -> Decision:
        allowed, count, oldest = reply
        retry = 0.0 if int(allowed) else max(0.0, float(oldest) + self.window - now)
        return Decision(allowed=int(allowed) == 1, retry_after=retry, remaining=float(self.limit - int(count)))


def sync_client() -> tuple[redis.Redis, dict[str, Any]]:
    """The limiters' client and scripts (to put limits in one pipeline with
    other commands: call a script with ``client=pipe``)."""
    return _sync()


def async_client() -> tuple[aredis.Redis, dict[str, Any]]:
    """sync_client for the running event loop (its scripts are awaited)."""
    return _for_loop()
