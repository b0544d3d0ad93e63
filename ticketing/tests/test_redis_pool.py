"""The waiting room's Redis clients wait briefly for a free connection when
all of theirs are busy (a surge of polls at the opening), rather than failing
those requests with "Too many connections"."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from ticketing import redisconn


def test_more_commands_than_connections_all_get_answered_sync() -> None:
    c = redisconn.queue_client()
    key = f"{settings.REDIS_KEY_PREFIX}:pooltest:{uuid.uuid4().hex}"
    n = redisconn.client_options()["max_connections"] + 36

    def blocked() -> object:
        return c.blpop([key], timeout=0.2)  # holds its connection 0.2 s

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda _: blocked(), range(n)))
    assert results == [None] * n  # every one answered; none refused for want of a connection


@pytest.mark.asyncio
async def test_more_commands_than_connections_all_get_answered_async() -> None:
    c = redisconn.queue_async_client()
    key = f"{settings.REDIS_KEY_PREFIX}:pooltest:{uuid.uuid4().hex}"
    n = redisconn.client_options()["max_connections"] + 36
    try:
        results = await asyncio.gather(*(c.blpop([key], timeout=0.2) for _ in range(n)))
    finally:
        await c.aclose()
    assert results == [None] * n
