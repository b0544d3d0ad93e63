"""Every Redis key of payments, built here only; all start with
settings.REDIS_KEY_PREFIX (tests and parallel workers get their own).

    <p>:psp:bucket                     str  the leaky bucket's next free slot (µs, Redis clock)
    <p>:psp:{breaker}:pybreaker:state  str  closed / open / half-open (pybreaker's Redis storage)
    <p>:psp:{breaker}:pybreaker:...    str  fail_counter, success_counter, opened_at
    <p>:psp:{breaker}:trial            str  who holds the one trial call of a half-open breaker

The bucket is one key, so its script runs on any Redis Cluster node; the
breaker's keys share the hash tag ``{breaker}``, so they live in one slot.
"""

from __future__ import annotations

from django.conf import settings


def prefix() -> str:
    """What every payments key starts with (tests delete by this prefix)."""
    return f"{settings.REDIS_KEY_PREFIX}:psp:"


def bucket() -> str:
    return f"{prefix()}bucket"


def breaker_namespace() -> str:
    """pybreaker's CircuitRedisStorage namespace: its keys are ``<this>:pybreaker:<name>``."""
    return f"{prefix()}{{breaker}}"


def breaker(name: str) -> str:
    """One of pybreaker's keys (state, fail_counter, success_counter, opened_at)."""
    return f"{breaker_namespace()}:pybreaker:{name}"


def trial() -> str:
    return f"{breaker_namespace()}:trial"
