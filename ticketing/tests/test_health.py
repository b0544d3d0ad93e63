"""Probes: cheap under any concurrency, never an outage of their own."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django_redis import get_redis_connection

from ticketing import health
from ticketing.celery import heartbeat
from ticketing.tests.live import daphne, get

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cached_readiness():
    health.probe.clear()
    yield
    health.probe.clear()


def _forget_heartbeat() -> None:
    get_redis_connection("default").delete(health.heartbeat_key())


def test_healthz_answers_while_the_process_is_up(fan):
    response = fan.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_only_get_and_head(path):
    from ticketing.tests import asgi

    for method in ("POST", "PUT", "TRACE"):
        answer = asgi.request(method, path)
        assert (answer.status, answer.headers["allow"], answer.json()["error"]) == (
            405,
            "GET, HEAD",
            "method_not_allowed",
        )
    head = asgi.request("HEAD", path)
    assert head.status == 200 and head.body == b""


@override_settings(REDIS_URL="redis://127.0.0.1:1/0", READYZ_TIMEOUT=0.3)
def test_an_unready_answer_says_when_to_ask_again():
    from ticketing.tests import asgi

    answer = asgi.request("GET", "/readyz")
    assert (answer.status, answer.headers["retry-after"]) == (503, "5")


def test_readyz_stays_ready_without_a_celery_worker_and_says_so(fan):
    _forget_heartbeat()
    response = fan.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"postgresql": "ok", "redis": "ok"}
    assert "no Celery heartbeat" in body["warnings"]["celery"]


def test_readyz_reports_a_stale_heartbeat(fan):
    get_redis_connection("default").set(health.heartbeat_key(), repr(time.time() - 3600))
    body = fan.get("/readyz").json()
    assert body["status"] == "ok"
    assert "no Celery heartbeat for 3600 s" in body["warnings"]["celery"]


def test_readyz_has_no_warning_after_a_heartbeat(fan):
    heartbeat()
    response = fan.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"postgresql": "ok", "redis": "ok"}}


@override_settings(REDIS_URL="redis://127.0.0.1:1/0", READYZ_TIMEOUT=0.3)
def test_readyz_names_redis_when_redis_is_down(fan):
    response = fan.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["redis"].startswith("ConnectionError")
    assert body["error"] == "not_ready"
    assert "redis" in body["detail"]


def test_readyz_names_postgresql_when_it_refuses(fan):
    from django.db import connections

    # The probe opens its own connection from the alias's settings.
    wrapper = connections["default"]
    saved = wrapper.settings_dict
    wrapper.settings_dict = {**saved, "PORT": "1"}
    try:
        response = fan.get("/readyz")
    finally:
        wrapper.settings_dict = saved
    assert response.status_code == 503
    assert response.json()["checks"]["postgresql"].startswith("OperationalError")


def test_readyz_checks_once_per_interval_whatever_the_concurrency(fan, monkeypatch):
    calls = []
    real = health.run_checks

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(health, "run_checks", counting)
    results = []
    threads = [threading.Thread(target=lambda: results.append(health.probe.report().status)) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [200] * 50
    assert len(calls) == 1


def test_a_probe_storm_leaves_every_endpoint_answering(transactional_db):
    """40 load-balancer probes at once, no Celery worker anywhere: every probe
    answers, and the database-backed API still answers afterwards. (The old
    readiness pinged Celery on each probe while holding a database connection:
    the pings deadlocked on the broker pool and the database pool ran dry.)"""
    _forget_heartbeat()
    with daphne() as base:
        statuses: list[int] = []
        failures: list[str] = []

        def prober() -> None:
            for _ in range(5):
                try:
                    statuses.append(get(base + "/readyz", timeout=5)[0])
                except OSError as exc:
                    failures.append(repr(exc))

        threads = [threading.Thread(target=prober) for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert failures == []
        assert statuses == [200] * 200
        assert get(base + "/api/v1/events/", timeout=10)[0] == 200
        status, _ = get(base + "/healthz", timeout=5)
        assert status == 200


def test_a_stale_result_is_served_at_once_while_one_thread_rechecks(settings, monkeypatch):
    settings.READYZ_CACHE_SECONDS = 0  # every result is stale at once
    first = health.probe.report()
    checking, release = threading.Event(), threading.Event()

    def slow_checks():
        checking.set()
        release.wait(10)
        return health.Readiness(time.monotonic(), {"postgresql": "ok", "redis": "ok"})

    monkeypatch.setattr(health, "run_checks", slow_checks)
    rechecker = threading.Thread(target=health.probe.report)
    rechecker.start()
    try:
        assert checking.wait(10)
        # The check is running on the other thread: everyone else gets the
        # previous result without waiting for it.
        assert [health.probe.report() for _ in range(20)] == [first] * 20
    finally:
        release.set()
        rechecker.join(10)


@pytest.fixture
def celery_worker_process():
    """A real Celery worker on the test run's Redis key space."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ticketing.settings", "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX}
    env.pop("PYTEST_XDIST_WORKER", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ticketing", "worker", "-P", "solo", "-l", "WARNING"]
        + ["--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_worker_running_the_heartbeat_clears_the_warning(fan, celery_worker_process):
    _forget_heartbeat()
    heartbeat.delay()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        health.probe.clear()
        body = fan.get("/readyz").json()
        if "warnings" not in body:
            break
        time.sleep(0.1)
    assert body == {"status": "ok", "checks": {"postgresql": "ok", "redis": "ok"}}
