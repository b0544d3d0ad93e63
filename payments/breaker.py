"""The PSP's circuit breaker, one state for every process: pybreaker with
its Redis storage (CircuitRedisStorage), not a hand-rolled one.

closed → open after PSP_BREAKER_FAIL_MAX (5) consecutive PSP failures
(ProviderUnavailable: timeouts, refused connections, 5xx, 429; a declined
card or a 4xx is the PSP answering, and counts as a success) → after
PSP_BREAKER_RESET_SECONDS (30) one trial call goes through (half-open) →
closed when it succeeds, open again for another period when it fails.

Two things pybreaker does not do across processes, done here:
- One trial at a time. pybreaker lets every call through while half-open;
  with many processes that would be a stampede on a PSP that is just coming
  back. The trial goes to whoever sets the ``trial`` key first (SET NX, with
  a TTL longer than a call can last, so a crashed trial frees it); the
  others fail fast as if open.
- Thread safety without serialising calls. ``CircuitBreaker.call`` holds the
  breaker's lock for the whole call, so one shared instance would let a
  process make one PSP call at a time. The state lives in Redis anyway, so
  each thread gets its own instance over the shared storage.

With Redis unreachable the calls go ahead without the breaker (logged), like
pybreaker's own fallback to "closed".
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar

import pybreaker
import redis
from django.conf import settings

from payments import keys
from payments.bucket import redis_client
from payments.providers.base import CircuitOpen, ProviderBusy, ProviderUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

CLOSED = pybreaker.STATE_CLOSED
OPEN = pybreaker.STATE_OPEN
HALF_OPEN = pybreaker.STATE_HALF_OPEN


def is_psp_failure(exc: BaseException) -> bool:
    """What opens the breaker: the PSP did not answer, or answered with an
    error of its own. Our own refusals (bucket, breaker) are not."""
    return isinstance(exc, ProviderUnavailable) and not isinstance(exc, ProviderBusy | CircuitOpen)


class _LogChanges(pybreaker.CircuitBreakerListener):
    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        level = logging.WARNING if new_state.name == OPEN else logging.INFO
        log.log(level, "PSP circuit breaker: %s → %s", old_state.name if old_state else "?", new_state.name)


_local = threading.local()


def _breaker() -> pybreaker.CircuitBreaker:
    """This thread's breaker over the shared Redis state (raises RedisError
    when Redis does not answer: the storage initialises its keys)."""
    namespace = keys.breaker_namespace()
    found: pybreaker.CircuitBreaker | None = getattr(_local, "breaker", None)
    if found is None or found.name != namespace:
        storage = pybreaker.CircuitRedisStorage(CLOSED, redis_client(), namespace=namespace)
        found = pybreaker.CircuitBreaker(
            state_storage=storage,
            name=namespace,
            exclude=[lambda exc: not is_psp_failure(exc)],
            listeners=[_LogChanges()],
            # The caller that trips it gets the PSP's own error; later ones get CircuitOpen.
            throw_new_error_on_trip=False,
        )
        _local.breaker = found
    found.fail_max = settings.PSP_BREAKER_FAIL_MAX
    found.reset_timeout = settings.PSP_BREAKER_RESET_SECONDS
    return found


@dataclass(frozen=True)
class BreakerStatus:
    """The shared state as the admin and the admission gate read it."""

    state: str
    failures: int
    opened_at: float | None  # Unix seconds
    reset_seconds: int

    @property
    def retry_after(self) -> int:
        """Seconds until a trial call may go (at least 1 while not closed)."""
        if self.state == CLOSED:
            return 0
        if self.opened_at is None:
            return 1
        return max(1, math.ceil(self.opened_at + self.reset_seconds - time.time()))

    @property
    def trial_due(self) -> bool:
        """Open for its whole reset time already (or half-open): a trial may go."""
        if self.state == HALF_OPEN:
            return True
        return self.state == OPEN and (self.opened_at is None or time.time() >= self.opened_at + self.reset_seconds)


def status() -> BreakerStatus:
    """The breaker's shared state, read without changing it (raises RedisError)."""
    pipe = redis_client().pipeline(transaction=False)
    for name in ("state", "fail_counter", "opened_at"):
        pipe.get(keys.breaker(name))
    state, failures, opened_at = pipe.execute()
    return BreakerStatus(
        state=state.decode() if state else CLOSED,
        failures=int(failures or 0),
        opened_at=float(opened_at) if opened_at else None,
        reset_seconds=settings.PSP_BREAKER_RESET_SECONDS,
    )


def _trial_ttl_ms() -> int:
    # Longer than one guarded call can last: the SDK's tries, each with its timeout, and margin.
    tries = settings.STRIPE_MAX_RETRIES + 1
    return int((settings.STRIPE_TIMEOUT_SECONDS * tries + 5) * 1000)


def _admit() -> str | None:
    """Before a PSP call: None to go ahead (closed); a trial token when this
    call is the one trial of a half-open breaker. Raises CircuitOpen."""
    now = status()
    if now.state == CLOSED:
        return None
    if not now.trial_due:
        raise CircuitOpen(
            "Payments are paused: the payment provider is failing. Nothing was charged.",
            retry_after=now.retry_after,
        )
    token = secrets.token_hex(8)
    if not redis_client().set(keys.trial(), token, nx=True, px=_trial_ttl_ms()):
        raise CircuitOpen("Payments are paused while the payment provider is tested again.", retry_after=1)
    return token


def _release(token: str) -> None:
    client = redis_client()
    try:
        if client.get(keys.trial()) == token.encode():
            client.delete(keys.trial())
    except redis.RedisError:
        pass  # the key's TTL frees it


class Runner(Protocol):
    def __call__(self, fn: Callable[[], T]) -> T: ...


def _unguarded(fn: Callable[[], T]) -> T:
    return fn()


def _retry_after() -> int:
    try:
        return status().retry_after
    except redis.RedisError:
        return 1


@contextmanager
def guard() -> Iterator[Runner]:
    """Fail fast while open (CircuitOpen, before anything else); inside, run
    the PSP call through the returned runner so its outcome counts. Whatever
    the block does before the runner (waiting for the bucket) does not count."""
    try:
        breaker = _breaker()
        token = _admit()
    except redis.RedisError as exc:
        log.warning("PSP circuit breaker unavailable (%s): the call goes unguarded", exc)
        yield _unguarded
        return

    def run(fn: Callable[[], T]) -> T:
        try:
            return breaker.call(fn)
        except pybreaker.CircuitBreakerError as exc:
            # Opened by another process between our check and the call.
            raise CircuitOpen(
                "Payments are paused: the payment provider is failing. Nothing was charged.",
                retry_after=_retry_after(),
            ) from exc

    try:
        yield run
    finally:
        if token is not None:
            _release(token)
