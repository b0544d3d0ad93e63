"""PostgreSQL crashes mid-sale and comes back (docs/failures.md, "PostgreSQL restarts").

A real web server (as ``make run`` starts it, with its connection pool) on a
private PostgreSQL cluster (initdb, a copy of the test database). The
cluster is stopped with ``pg_ctl -m immediate`` (connections cut, crash
recovery on the next start) and started again while the web server keeps
running:

* while it is down, the store answers 503 JSON ``unavailable`` with
  Retry-After (never a 500), pages a 503 page, /readyz 503;
* nothing is half-written: the holds refused during the outage left no
  order and no held place;
* once it is back, holds succeed again without restarting anything, and
  ``check_inventory`` finds every invariant holding.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import OperationalError

from scripts import devstack
from ticketing import errors
from ticketing.tests.failures import (
    Browser,
    PostgresServer,
    python,
    running,
    start_web,
    wait_for,
    worker_database_url,
)
from ticketing.tests.live import process_env

pytestmark = pytest.mark.django_db(transaction=True)  # the copy holds what the test committed

HOLDS = "/api/v1/events/demo-small/holds/"
PISTA = {"section": "PISTA", "quantity": 2}


@pytest.fixture
def postgres() -> Any:
    if devstack.pg_bindir() is None:
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    server = PostgresServer()
    try:
        yield server
    finally:
        server.remove()


def _unavailable(answer: requests.Response) -> None:
    assert answer.status_code == 503, answer.text[:500]
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json()["error"] == "unavailable" and answer.json()["detail"]
    assert int(answer.headers["Retry-After"]) >= 1


def test_postgres_crash_mid_sale(small_event, postgres: PostgresServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = postgres.copy_database(worker_database_url(), "ticketing")
    env = {
        "DATABASE_URL": url,
        "STORE_ACCESS_CHECK": "",  # the store's door has its own tests; this one is about the database
        "DB_POOL_TIMEOUT": "1",  # how long a request waits for a connection while there is none
    }
    web, base = start_web(env, logs=tmp_path)
    with running(web):
        fan = Browser(base)
        first = fan.call("POST", HOLDS, PISTA)
        assert first.status_code == 201, first.text
        order_url = f"/api/v1/orders/{first.json()['order_id']}/"
        assert fan.call("GET", order_url).status_code == 200

        postgres.stop("immediate")

        for _ in range(2):  # a pooled connection the crash cut, then no connection at all
            _unavailable(fan.call("POST", HOLDS, PISTA))
        _unavailable(fan.call("GET", order_url))
        _unavailable(fan.call("GET", "/api/v1/events/demo-small/"))
        page = fan.call("GET", "/events/demo-small/")
        assert page.status_code == 503 and "text/html" in page.headers["Content-Type"]
        assert requests.get(base + "/readyz", timeout=10).status_code == 503
        assert web.alive()

        postgres.start()

        # No restart of the web server: the pool reconnects by itself.
        second = wait_for(
            lambda: (answer := fan.call("POST", HOLDS, PISTA)).status_code == 201 and answer,
            what="holds succeed again after PostgreSQL came back",
            every=0.2,
        )
        assert fan.call("GET", order_url).json()["status"] == "HELD"
        wait_for(lambda: requests.get(base + "/readyz", timeout=10).status_code == 200, what="/readyz says ready")

    # Exactly the two holds that were answered 201: nothing from the outage.
    orders = postgres.query("ticketing", "SELECT id FROM inventory_order ORDER BY created_at")
    assert orders.split() == [first.json()["order_id"], second.json()["order_id"]]
    held = postgres.query("ticketing", "SELECT count(*) FROM inventory_item WHERE order_id IS NOT NULL")
    assert held == "4"
    check = subprocess.run(  # noqa: S603
        python("manage.py", "check_inventory"),
        env=process_env({"DATABASE_URL": url}),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert check.returncode == 0 and check.stdout.startswith("OK"), check.stdout + check.stderr


@pytest.mark.parametrize("path", ["/api/v1/events/demo-small/holds/", "/events/demo-small/"])
def test_a_database_outage_outside_any_view_is_a_503_too(rf, path: str) -> None:  # type: ignore[no-untyped-def]
    """Django calls handler500 inside its ``except`` when a middleware's
    query fails: that is a 503 as well, never a 500."""
    request = rf.get(path)
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        answer = errors.server_error(request)
    assert answer.status_code == 503 and answer["Retry-After"] == str(errors.DATABASE_RETRY_AFTER)
    if path.startswith("/api/"):
        assert json.loads(answer.content)["error"] == "unavailable"
    assert errors.server_error(rf.get(path)).status_code == 500  # anything else is still a crash
