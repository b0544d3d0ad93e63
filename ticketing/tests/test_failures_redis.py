"""Redis crashes mid-sale and comes back (docs/failures.md, "Redis restarts").

A real web server (as ``make run`` starts it) on a private redis-server with
the persistence docs/failures.md recommends (AOF, ``appendfsync everysec``).
The Redis process is killed with SIGKILL (no shutdown, no last save) and
started again on the same port and data directory, while the web server
keeps running:

* while it is down, joins answer 503 ``unavailable`` with Retry-After, and
  a fan already admitted keeps holding seats (the pass is checked without
  Redis; the revocation check, the cache and the hold rate limit fail open);
* once it is back, joins succeed again without restarting anything, and
  every fan still waiting has the same place and position as before.

(The same requests against a Redis that hangs instead of dying are in
queueroom/tests/test_redis_outage.py and inventory/tests/test_redis_outage.py.)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from inventory.models import Event
from queueroom import keys
from queueroom import services as queue
from ticketing.tests.failures import Browser, RedisServer, running, start_web, wait_for
from ticketing.tests.redis_outage import redis_at

pytestmark = pytest.mark.django_db(transaction=True)  # the web server reads what the test committed

JOIN = "/api/v1/events/demo-small/queue/"
HOLDS = "/api/v1/events/demo-small/holds/"
TIMEOUT = 0.5  # the Redis clients' timeouts, here and in the server: a dead Redis costs a request at most this


@pytest.fixture
def redis_server(tmp_path: Path) -> Any:
    server = RedisServer(tmp_path / "redis", aof=True)
    try:
        with redis_at(server.url, connect_timeout=TIMEOUT, socket_timeout=TIMEOUT):
            yield server
    finally:
        server.crash()


def _unavailable(answer: Any) -> None:
    assert answer.status_code == 503, answer.text[:300]
    assert answer.json()["error"] == "unavailable" and answer.json()["detail"]
    assert int(answer.headers["Retry-After"]) >= 1


def _place(fan: Browser, token: str) -> tuple[Any, ...]:
    shown = fan.call("GET", f"/api/v1/queue/{token}/")
    assert shown.status_code == 200, shown.text
    doc = shown.json()
    return doc["token"], doc["status"], doc["lane"], doc["ticket"], doc["position"]


def test_redis_crash_mid_sale(small_event, redis_server: RedisServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # One fan a second: the first is admitted, the others keep waiting.
    Event.objects.filter(pk=small_event.pk).update(admission_rate_per_minute=60, max_in_store=100)
    small_event.refresh_from_db()
    queue.forget_setup(small_event.pk)
    now = float(int(time.time()))
    assert queue.tick(event=small_event, now=now) is not None  # opens the lanes: places in join order

    web, base = start_web(
        {"REDIS_URL": redis_server.url, "REDIS_CONNECT_TIMEOUT": str(TIMEOUT), "REDIS_SOCKET_TIMEOUT": str(TIMEOUT)},
        logs=tmp_path,
    )
    with running(web):
        fans = [Browser(base) for _ in range(5)]
        tokens = []
        for fan in fans:
            joined = fan.call("POST", JOIN)
            assert joined.status_code == 201, joined.text
            tokens.append(joined.json()["token"])
        assert queue.tick(event=small_event, now=now + 1) is not None
        buyer = fans[0]
        assert _place(buyer, tokens[0])[1] == "ADMITTED"  # claimed: the pass is in the buyer's cookies
        assert buyer.call("POST", HOLDS, {"section": "PISTA", "quantity": 1}).status_code == 201
        before = [_place(fan, token) for fan, token in zip(fans[1:], tokens[1:], strict=True)]
        assert [p[4] for p in before] == [1, 2, 3, 4]

        redis_server.crash()

        latecomer = Browser(base)
        _unavailable(latecomer.call("POST", JOIN))
        _unavailable(fans[1].call("POST", f"/api/v1/queue/{tokens[1]}/heartbeat/"))
        # The admitted fan keeps buying: the pass needs no Redis.
        held = buyer.call("POST", HOLDS, {"section": "PISTA", "quantity": 1})
        assert held.status_code == 201, held.text
        assert web.alive()

        redis_server.start()  # the same port and directory: the AOF is read back

        # No restart of the web server: the next join gets its place.
        joined = wait_for(
            lambda: (answer := latecomer.call("POST", JOIN)).status_code == 201 and answer,
            what="joins succeed again after Redis came back",
            every=0.2,
        )
        after = [_place(fan, token) for fan, token in zip(fans[1:], tokens[1:], strict=True)]
        assert after == before  # same tokens, lanes, tickets and positions
        assert _place(latecomer, joined.json()["token"])[4] == 5
        general = queue.cached_setup(small_event.pk).general.id
        assert redis_server.client().hget(keys.lane(small_event.pk, general), "seq") == "6"
        assert buyer.call("POST", HOLDS, {"section": "PISTA", "quantity": 1}).status_code == 201
        assert _place(buyer, tokens[0])[1] == "ADMITTED"  # the store session survived too
