"""The cache's clear() deletes the cache's own keys, never the rest of the
Redis database it shares with the waiting room, the limiters and Celery."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache

from queueroom import redis_scripts as rs


def test_clear_leaves_every_key_that_is_not_the_caches() -> None:
    c = rs.client()
    other = f"{settings.REDIS_KEY_PREFIX}:q:{{e999999}}:meta-{uuid.uuid4().hex}"  # a waiting room key
    foreign = f"someone-else:{uuid.uuid4().hex}"  # another application's, or another test run's
    c.set(other, "1", ex=60)
    c.set(foreign, "1", ex=60)
    cache.set("a", 1, 60)
    cache.set("b", 2, 60, version=7)
    try:
        cache.clear()
        assert cache.get("a") is None
        assert cache.get("b", version=7) is None
        assert c.get(other) == "1" or c.get(other) == b"1"
        assert c.get(foreign) in ("1", b"1")
    finally:
        c.delete(other, foreign)
