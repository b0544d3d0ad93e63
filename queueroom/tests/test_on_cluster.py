"""The waiting room on a Redis Cluster (docs/redis-cluster.md).

The queue's Redis-level tests (join, tick and admission, leave, claim,
positions, sessions and the passes' revocation, the bots gate and the join
limits, the fast path) run here a second time, unchanged, against a local
3-master Redis Cluster: this module imports them (pytest collects what a
module holds, under this module's fixtures), and ``queue_on_cluster`` points
the waiting room's clients at the cluster for the whole module. The tests
after them check what only a cluster has: several events' keys on
different masters, and scripts loaded again after a failover or a flush.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from types import FunctionType, ModuleType

import pytest
import redis
import redis.asyncio as aredis
from django.utils import timezone

from inventory.models import Event
from queueroom import bots, keys, passes, services
from queueroom import redis_scripts as rs
from queueroom.tests import (
    test_bots,
    test_concurrency,
    test_fastpath,
    test_join_limits,
    test_passes,
    test_queue_api,
    test_queue_services,
    test_scripts,
    test_store_door,
)
from queueroom.tests.conftest import join_many
from ticketing import limiters
from ticketing.tests.redis_cluster import LocalCluster

REUSED: tuple[ModuleType, ...] = (
    test_queue_services,
    test_scripts,
    test_passes,
    test_bots,
    test_join_limits,
    test_fastpath,
    test_concurrency,
    test_store_door,
    test_queue_api,
)
# About a single Redis that is down (a monkeypatched client on a closed port), not about the cluster.
NOT_REUSED = {"test_a_redis_outage_does_not_make_the_limiter_stop_the_sale"}


def _copy(test: FunctionType, module: ModuleType) -> FunctionType:
    """The test as a function of its own, with its module's marks (pytestmark:
    django_db, asyncio) added: the original keeps only its own."""
    copy = FunctionType(test.__code__, test.__globals__, test.__name__, test.__defaults__, test.__closure__)
    copy.__kwdefaults__ = test.__kwdefaults__
    copy.__dict__.update({k: list(v) if isinstance(v, list) else v for k, v in test.__dict__.items()})
    marks = getattr(module, "pytestmark", [])
    for mark in marks if isinstance(marks, list) else [marks]:
        copy = mark(copy)
    return copy


def _reuse() -> dict[str, object]:
    """The reused modules' tests and their own fixtures, by name (none collide: checked)."""
    found: dict[str, object] = {}
    for module in REUSED:
        for name, obj in vars(module).items():
            if name.startswith("test_") and isinstance(obj, FunctionType) and name not in NOT_REUSED:
                value: object = _copy(obj, module)
            elif type(obj).__name__ == "FixtureFunctionDefinition":
                value = obj
            else:
                continue
            assert name not in found, f"{name} is in two reused modules"
            found[name] = value
    return found


globals().update(_reuse())


@pytest.fixture(autouse=True)
def _cluster(queue_on_cluster: LocalCluster) -> LocalCluster:
    """Every test of this module runs with the waiting room on the cluster."""
    return queue_on_cluster


def test_the_waiting_room_talks_to_the_cluster(redis_cluster: LocalCluster) -> None:
    assert isinstance(rs.client(), redis.RedisCluster)
    assert len(redis_cluster.masters()) == 3


def _event_on_sale(n: int) -> Event:
    from inventory.services.demo import SMALL, build_event, build_venue

    venue = build_venue("sala-cluster", {"name": "Sala Cluster", "city": "Barcelona"}, SMALL)
    now = timezone.now()
    event, _ = build_event(
        venue=venue,
        plans=SMALL,
        slug=f"cluster-{n}",
        name=f"Cluster show {n}",
        starts_at=now + dt.timedelta(days=60),
        presale_opens_at=None,
        sale_opens_at=now - dt.timedelta(minutes=1),
    )
    return event


def _ports_holding(cluster: LocalCluster, event_id: int) -> set[int]:
    """The masters that hold keys of the event."""
    held = set()
    for port in cluster.ports:
        with cluster.node(port) as node:
            if next(iter(node.scan_iter(match=f"{keys.base(event_id)}*", count=1000)), None) is not None:
                held.add(port)
    return held


@pytest.mark.django_db
def test_events_queue_on_different_masters_and_one_admitter_ticks_them_all(
    redis_cluster: LocalCluster, small_event: Event, now: float
) -> None:
    events = [small_event]
    # Events until two of them hash to different masters (each event's keys
    # share one slot; with three masters that takes two or three events).
    while len({rs.client().get_node_from_key(keys.meta(e.pk)).port for e in events}) < 2:  # type: ignore[attr-defined]
        assert len(events) < 20, "every event hashes to the same master"
        events.append(_event_on_sale(len(events)))
    for event in events:
        services.tick(event=event, now=now - 1)
        join_many(event, 3, now=now, prefix=f"fan-{event.pk}")
    docs = services.admission_cycle(owner="clus-test", now=now + 1)
    assert sorted(doc["event"] for doc in docs) == sorted(e.pk for e in events)
    assert all(doc["admitted"] >= 1 and doc["admitted"] + doc["waiting"] == 3 for doc in docs), docs
    # Each event's keys on exactly one master, and not all events on the same one.
    holders = [_ports_holding(redis_cluster, e.pk) for e in events]
    assert all(len(h) == 1 for h in holders)
    assert len(set().union(*holders)) >= 2
    # The global keys: the active set and the leader lock, one key each, on some master.
    assert rs.client().smembers(keys.active()) == {str(e.pk) for e in events}
    assert rs.client().get(keys.leader()) == "clus-test"


def _flush_scripts(cluster: LocalCluster) -> None:
    """What a failover to a fresh primary or a restart does to the script cache."""
    for port in cluster.ports:
        with cluster.node(port) as node:
            node.script_flush()


@pytest.mark.django_db
def test_pipelined_heartbeats_load_the_script_on_a_cluster(
    redis_cluster: LocalCluster, small_event: Event, now: float
) -> None:
    services.tick(event=small_event, now=now - 1)
    fans = join_many(small_event, 3, now=now)
    _flush_scripts(redis_cluster)
    services.heartbeat_many(tokens=[f.token or "" for f in fans], now=now + 30)
    for f in fans:
        t = passes.verify_token(f.token or "")
        assert float(rs.client().hget(keys.ticket(t.event_id, t.lane_id, t.ticket), "seen") or 0) == now + 30


@pytest.mark.django_db
def test_the_bots_gate_loads_the_limits_script_on_a_cluster(redis_cluster, small_event, settings) -> None:  # type: ignore[no-untyped-def]
    """The gate's one pipeline spans masters (the address's and the network's
    buckets, the flag, by address: no hash tag) and loads its script itself."""
    settings.JOIN_LIMIT_PER_ADDRESS = "2/1"
    settings.JOIN_LIMIT_PER_NETWORK = "50/1"
    setup = services.cached_setup(small_event.pk)
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}.7"
    _flush_scripts(redis_cluster)
    assert [bots.check_join(setup, address, new_fan=False, now=1000.0, payload=None).flagged for _ in range(2)] == [
        False,
        False,
    ]
    with pytest.raises(services.QueueError) as refused:
        bots.check_join(setup, address, new_fan=False, now=1000.0, payload=None)
    assert refused.value.code == "rate_limited"


@pytest.mark.django_db
def test_the_fast_paths_gate_fans_out_over_the_cluster(redis_cluster, small_event, settings) -> None:  # type: ignore[no-untyped-def]
    """acheck_join's pipeline on a cluster (FanOut), the script reloaded after a flush."""
    settings.JOIN_LIMIT_PER_ADDRESS = "2/1"
    settings.JOIN_LIMIT_PER_NETWORK = "50/1"
    setup = services.cached_setup(small_event.pk)
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}.9"
    _flush_scripts(redis_cluster)

    async def three_joins() -> list[object]:
        assert isinstance(rs.async_client()[0], aredis.RedisCluster)
        assert isinstance(limiters.async_client()[0], aredis.RedisCluster)
        return [await bots.acheck_join(setup, address, new_fan=False, now=1000.0, payload=None) for _ in range(3)]

    verdicts = asyncio.run(three_joins())
    assert verdicts[:2] == [bots.Verdict(flagged=False)] * 2
    assert isinstance(verdicts[2], services.QueueError) and verdicts[2].code == "rate_limited"
