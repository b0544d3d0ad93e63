"""The store with a Redis that stops answering (a private redis-server paused
with SIGSTOP): its cache and hold rate limit fail open after the clients'
timeouts, so fans keep reading availability and holding seats from
PostgreSQL instead of waiting on Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from inventory.tests.helpers import seat_ids
from ticketing.tests.redis_outage import PrivateRedis, bounded, redis_at

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cache_server(private_redis: PrivateRedis, settings) -> Iterator[PrivateRedis]:  # type: ignore[no-untyped-def]
    settings.AVAILABILITY_CACHE_SECONDS = 60
    settings.INVENTORY_SEATS_CACHE_SECONDS = 60
    settings.HOLD_RATE_LIMIT = "60/m"
    with redis_at(private_redis.url, connect_timeout=0.5, socket_timeout=0.5):
        yield private_redis


def test_store_reads_and_holds_from_postgresql_while_redis_hangs(small_event, cache_server, fan) -> None:  # type: ignore[no-untyped-def]
    seats_url = "/api/v1/events/demo-small/seats/?section=A"
    assert fan.get(seats_url).json()["available"] == 50  # now cached for a minute
    hold = json.dumps({"seat_ids": seat_ids(small_event, count=1)})

    cache_server.pause()
    try:
        assert bounded(lambda: fan.get("/events/demo-small/")).status_code == 200
        assert bounded(lambda: fan.get("/api/v1/events/demo-small/")).status_code == 200
        held = bounded(lambda: fan.post("/api/v1/events/demo-small/holds/", hold, content_type="application/json"))
        assert held.status_code == 201  # the rate limit failed open
        seats = bounded(lambda: fan.get(seats_url))
        assert seats.status_code == 200 and seats.json()["available"] == 49  # from PostgreSQL, not the cache
    finally:
        cache_server.resume()

    assert fan.get(seats_url).json()["available"] == 50  # the cache answers again (its copy from before)
