"""The bounded per-process memo every hot read shares (ticketing/memo.py)."""

from __future__ import annotations

import threading

from ticketing.memo import Memo


def test_memo_keeps_at_most_maxsize_entries_evicting_the_least_recently_used() -> None:
    memo: Memo[int, int] = Memo("test", maxsize=3, ttl=60.0)
    for key in range(3):
        memo.set(key, key)
    assert memo.get(0) == 0  # 1 is now the least recently used
    memo.set(3, 3)
    assert len(memo) == 3
    assert memo.get(1) is None and memo.get(0) == 0 and memo.get(3) == 3


def test_entries_expire_after_their_ttl_and_are_loaded_again() -> None:
    memo: Memo[str, int] = Memo("test", maxsize=8, ttl=2.0)
    loads = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    assert memo.get_or_load("k", load, now=100.0) == 1
    assert memo.get_or_load("k", load, now=101.9) == 1
    assert memo.get_or_load("k", load, now=102.0) == 2  # the deadline is exclusive
    assert memo.get("k", now=103.9) == 2 and memo.get("k", now=104.0) is None


def test_a_ttl_of_zero_keeps_nothing() -> None:
    memo: Memo[str, int] = Memo("test", maxsize=8, ttl=lambda: 0.0)
    assert memo.get_or_load("k", lambda: 1) == 1
    assert memo.get_or_load("k", lambda: 2) == 2
    assert len(memo) == 0


def test_a_setting_change_clears_every_memo_and_rereads_its_ttl(settings) -> None:  # type: ignore[no-untyped-def]
    memo: Memo[str, int] = Memo("test", maxsize=8, ttl=lambda: float(settings.INVENTORY_EVENT_CACHE_SECONDS))
    settings.INVENTORY_EVENT_CACHE_SECONDS = 5
    memo.set("k", 1)
    assert memo.get("k") == 1
    settings.INVENTORY_EVENT_CACHE_SECONDS = 0
    assert memo.get("k") is None
    memo.set("k", 2)
    assert memo.get("k") is None  # a TTL of 0 now: nothing is kept


def test_threads_sharing_a_memo_never_break_it_or_its_bound() -> None:
    memo: Memo[int, int] = Memo("test", maxsize=64, ttl=60.0)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(offset: int) -> None:
        start.wait()
        try:
            for i in range(3000):
                key = (offset * 7919 + i) % 500
                assert memo.get_or_load(key, lambda key=key: key) == key  # type: ignore[misc]
                if i % 7 == 0:
                    memo.discard(key)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(memo) <= 64
