"""Bounded per-process caches (memos) for hot reads.

A handful of reads (an event by slug, a queue's setup, a section by code)
are asked on every join, status poll and hold but change a few times a day,
so each process keeps them for a few seconds. Some are keyed by what a
client sends (a slug in the URL), so every memo has a size bound: a flood of
made-up keys evicts the least recently used entries instead of growing the
process. Eviction and expiry are cachetools' (TTLCache / LRUCache), a small,
well-kept library; this module adds what it leaves to the caller:

* a lock: Daphne runs sync views on threads, and cachetools' classes are not
  thread-safe. Loads (SQL) run outside the lock, so two threads may load the
  same key at once; both results are correct, the last one stays.
* clearing on Django's ``setting_changed`` signal, as Django does for its own
  caches, so a test that changes a setting never reads an entry made under
  the old one. The TTL may come from a setting and is re-read then.
* ``now``: callers that take the time as an argument (tests control expiry
  without sleeping) pass it through; it stands for the cache's clock during
  that one locked operation.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from cachetools import Cache, LRUCache, TTLCache
from django.core.signals import setting_changed

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_memos: weakref.WeakSet[Memo[Any, Any]] = weakref.WeakSet()


class Memo(Generic[K, V]):
    """At most ``maxsize`` entries, each kept ``ttl`` seconds (None: until
    evicted; a callable is read when the memo is first used and after each
    settings change; 0 or less: nothing is kept, every read loads)."""

    def __init__(self, name: str, *, maxsize: int, ttl: float | Callable[[], float] | None) -> None:
        self.name = name
        self.maxsize = maxsize
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: Cache[K, V] | None = None
        self._off = False
        self._pinned: float | None = None
        _memos.add(self)

    def _clock(self) -> float:
        return time.monotonic() if self._pinned is None else self._pinned

    def _store(self) -> Cache[K, V] | None:
        """The cache, built on first use (under the lock)."""
        if self._cache is None and not self._off:
            ttl = self._ttl() if callable(self._ttl) else self._ttl
            if ttl is None:
                self._cache = LRUCache(self.maxsize)
            elif ttl > 0:
                self._cache = TTLCache(self.maxsize, ttl, timer=self._clock)
            else:
                self._off = True
        return self._cache

    def get(self, key: K, default: V | None = None, *, now: float | None = None) -> V | None:
        """The cached value, or ``default`` (never loads)."""
        with self._lock:
            store = self._store()
            if store is None:
                return default
            self._pinned = now
            try:
                return store.get(key, default)
            finally:
                self._pinned = None

    def get_or_load(self, key: K, load: Callable[[], V], *, now: float | None = None) -> V:
        """The cached value, or ``load()`` (called without the lock held), kept."""
        with self._lock:
            store = self._store()
            if store is not None:
                self._pinned = now
                try:
                    return store[key]
                except KeyError:
                    pass
                finally:
                    self._pinned = None
        value = load()
        self.set(key, value, now=now)
        return value

    def set(self, key: K, value: V, *, now: float | None = None) -> None:
        with self._lock:
            store = self._store()
            if store is None:
                return
            self._pinned = now
            try:
                store[key] = value
            finally:
                self._pinned = None

    def discard(self, key: K) -> None:
        with self._lock:
            if self._cache is not None:
                self._cache.pop(key, None)

    def clear(self) -> None:
        """Forget every entry, and the TTL (read again on next use)."""
        with self._lock:
            self._cache = None
            self._off = False

    def __len__(self) -> int:
        with self._lock:
            return 0 if self._cache is None else len(self._cache)

    def __repr__(self) -> str:
        return f"<Memo {self.name} {len(self)}/{self.maxsize}>"


def clear_all(**kwargs: object) -> None:
    for memo in list(_memos):
        memo.clear()


setting_changed.connect(clear_all, dispatch_uid="ticketing.memo.clear_all")
