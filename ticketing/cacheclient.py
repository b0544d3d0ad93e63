"""The Django cache's Redis client: django-redis's own, except `clear()`.

django-redis clears a cache with FLUSHDB: every key of the Redis database,
not only the cache's. Here the cache shares its Redis with the waiting room
(places, passes, store sessions), the limiters, Celery's broker and the
channel layer, and a test suite shares it with other runs: one `cache.clear()`
would empty the queue of a running sale (it did: a test's clear wiped a
simulation's queue mid-run, and other test runs' keys). This client's
`clear()` deletes the cache's own keys only, those under its KEY_PREFIX,
with SCAN + DEL (django-redis's `delete_pattern`).
"""

from __future__ import annotations

from typing import Any

from django_redis.client import DefaultClient
from django_redis.client.default import glob_escape
from django_redis.util import CacheKey


class PrefixScopedClient(DefaultClient):  # type: ignore[misc]  # django-redis has no types
    def clear(self, client: Any = None) -> None:
        # Django's default KEY_FUNCTION makes "<prefix>:<version>:<key>": any
        # version, any key. (A CacheKey goes to SCAN as it is.)
        pattern = CacheKey(f"{glob_escape(self._backend.key_prefix)}:*")
        self.delete_pattern(pattern, client=client)
