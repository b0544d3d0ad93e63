"""Many clients at once against real Redis, with an invariant check at the end."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from inventory.models import Event
from queueroom import keys, services
from queueroom import redis_scripts as rs
from queueroom.services import setup

pytestmark = pytest.mark.django_db


@pytest.fixture
def warm(small_event, monkeypatch):  # type: ignore[no-untyped-def]
    # Worker threads have their own DB connections, outside the test
    # transaction: give them the queue setup from the cache instead.
    monkeypatch.setattr(setup, "SETUP_TTL", 600.0)
    services.cached_setup(small_event.pk)
    return small_event


def test_2000_parallel_joins_get_2000_distinct_places(warm, now) -> None:  # type: ignore[no-untyped-def]
    event = warm
    services.tick(event=event, now=now - 1)  # open the lane: places follow arrival order

    def join(i: int) -> tuple[str, int]:
        s, _ = services.join(event=event, fan_id=f"crowd-{i % 2000}", now=now)
        return s.token or "", s.ticket or 0

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(join, range(2400)))  # 400 of them join a second time
    by_fan: dict[int, set[str]] = {}
    for i, (token, _) in enumerate(results):
        by_fan.setdefault(i % 2000, set()).add(token)
    assert all(len(tokens) == 1 for tokens in by_fan.values())  # retries never duplicate a place
    tickets = sorted({ticket for _, ticket in results})
    assert tickets == list(range(1, 2001))
    doc = services.tick(event=event, now=now + 1)
    lane = doc["lanes"][str(services.cached_setup(event.pk).general.id)]
    assert lane["seq"] == 2000
    assert doc["waiting"] + doc["admitted"] == 2000
    statuses = [services.status(token=t, fan_id=None, now=now + 1, claim=False) for t, _ in results[:2000]]
    positions = sorted(s.position for s in statuses if s.status == services.WAITING)
    assert positions == list(range(1, doc["waiting"] + 1))
    assert sum(s.status == services.OFFERED for s in statuses) == doc["admitted"] > 0


def _offered_tickets(event: Event) -> list[str]:
    return rs.client().zrange(keys.offers(event.pk), 0, -1)


def test_two_admitters_never_admit_the_same_place(warm, now) -> None:  # type: ignore[no-untyped-def]
    event = warm
    services.set_admission(event=event, rate_per_minute=600, max_in_store=10_000)
    plan = services.plan_tick(event=event)
    services.apply_tick(plan=plan, now=now)
    for i in range(300):
        services.join(event=event, fan_id=f"fan-{i}", now=now)
    admitted: list[int] = []
    lock = threading.Lock()
    rounds = 20

    def admitter(start: threading.Barrier) -> None:
        for second in range(1, rounds + 1):
            start.wait()  # both admitters tick the same second at the same moment
            doc = services.apply_tick(plan=plan, now=now + second)
            if doc is not None:
                with lock:
                    admitted.append(doc["admitted"])

    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=admitter, args=(barrier,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    offered = _offered_tickets(event)
    assert len(offered) == len(set(offered)) == sum(admitted)
    assert sum(admitted) == rounds * 10  # exactly the rate: 10 per second, never twice
    states = [
        services.status(
            token=services.find_place(event=event, fan_id=f"fan-{i}") or "", fan_id=None, now=now + 21, claim=False
        ).status
        for i in range(300)
    ]
    assert states.count(services.OFFERED) == rounds * 10


def test_only_one_admitter_holds_the_leader_lock(warm, now) -> None:  # type: ignore[no-untyped-def]
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def contend(i: int) -> None:
        barrier.wait()
        results.append(services.take_leadership(owner=f"admitter-{i}"))

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1
