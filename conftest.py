"""Shared fixtures: named personas and a small event, on real PostgreSQL and Redis."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

# private_redis, silent_redis_url: Redis outages on demand; redis_cluster,
# queue_on_cluster: a local 3-master Redis Cluster.
pytest_plugins = ["ticketing.tests.redis_outage", "ticketing.tests.redis_cluster"]

ROOT = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """A private localstripe per test session (and per xdist worker), so
    parallel workers never share PSP state: the payments tests and the
    browser journey's Stripe.js both use it."""
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(ROOT / "scripts" / "localstripe_server.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("localstripe did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def promoter(db, django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_superuser(username="promoter", email="", password="pw-promoter-1")


@pytest.fixture
def promoter_client(promoter) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(promoter)
    return client


@pytest.fixture
def fan() -> Client:
    return Client()


@pytest.fixture
def second_fan() -> Client:
    return Client()


@pytest.fixture
def small_event(db):  # type: ignore[no-untyped-def]
    """40 standing places (PISTA) and 50 seats (A: rows A-E x 10), on sale now."""
    from inventory.services.demo import seed_small

    event, _ = seed_small()
    return event


@pytest.fixture
def future_event(db):  # type: ignore[no-untyped-def]
    from inventory.services.demo import SMALL, build_event, build_venue

    venue = build_venue("sala-futura", {"name": "Sala Futura", "city": "Madrid"}, SMALL)
    now = timezone.now()
    event, _ = build_event(
        venue=venue,
        plans=SMALL,
        slug="future-show",
        name="Future show",
        starts_at=now + dt.timedelta(days=30),
        presale_opens_at=now + dt.timedelta(days=1),
        sale_opens_at=now + dt.timedelta(days=2),
    )
    return event


@pytest.fixture(autouse=True)
def _no_join_limits(settings):  # type: ignore[no-untyped-def]
    """Tests join many fans from the test client's one address; the join
    limits have their own tests (queueroom/tests/test_join_limits.py),
    which set them."""
    settings.JOIN_LIMIT_PER_ADDRESS = ""
    settings.JOIN_LIMIT_PER_NETWORK = ""
    settings.NEW_FAN_LIMIT_PER_ADDRESS = ""
    settings.NEW_FAN_LIMIT_PER_NETWORK = ""


@pytest.fixture(autouse=True)
def _no_join_challenge(settings):  # type: ignore[no-untyped-def]
    """New events ask for no proof of work in tests (a join is one request,
    as before); queueroom/tests/test_bots.py sets a difficulty per event."""
    settings.QUEUE_CHALLENGE_MAX_NUMBER = 0


@pytest.fixture(autouse=True)
def _fresh_availability(settings):  # type: ignore[no-untyped-def]
    """Tests read availability and events right after changing them; the
    caches have their own tests."""
    settings.AVAILABILITY_CACHE_SECONDS = 0
    settings.INVENTORY_EVENT_CACHE_SECONDS = 0
