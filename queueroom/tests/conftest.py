"""Waiting-room fixtures: real Redis under this run's key prefix, cleaned
before and after each test (tests of other apps join queues too and leave
their keys: a test here that reads every key of the prefix must not see them)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from inventory.identity import sign_fan_id
from queueroom import keys, services
from queueroom import redis_scripts as rs
from ticketing import memo


def _delete_queue_keys() -> None:
    c = rs.client()
    found = list(c.scan_iter(match=f"{keys.prefix()}*", count=1000))
    for i in range(0, len(found), 500):
        c.delete(*found[i : i + 500])


@pytest.fixture(autouse=True)
def _clean_queue_state() -> Iterator[None]:
    memo.clear_all()  # the queue setup, the events by slug, the events marked active
    _delete_queue_keys()
    yield
    memo.clear_all()
    _delete_queue_keys()


@pytest.fixture
def now() -> float:
    return float(int(time.time()))


def signed_fan_cookie(fan_id: str) -> str:
    """The fan_id cookie value inventory.identity would set for ``fan_id``."""
    return sign_fan_id(fan_id)


def join_many(event, count: int, *, now: float, prefix: str = "fan") -> list[services.QueueStatus]:  # type: ignore[no-untyped-def]
    return [services.join(event=event, fan_id=f"{prefix}-{i}", now=now)[0] for i in range(count)]
