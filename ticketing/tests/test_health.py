import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_healthz_answers_while_the_process_is_up(fan):
    response = fan.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@override_settings(READYZ_CELERY_TIMEOUT=0.3)
def test_readyz_names_celery_when_no_worker_answers(fan):
    response = fan.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "not_ready"
    assert body["checks"]["postgresql"] == "ok"
    assert body["checks"]["redis"] == "ok"
    assert body["checks"]["celery"] == "no Celery worker answered a ping"
    assert "celery" in body["detail"]


def test_readyz_names_redis_when_redis_is_down(fan):
    caches = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
    caches["default"]["OPTIONS"] = {**caches["default"]["OPTIONS"], "SOCKET_CONNECT_TIMEOUT": 0.2}
    with override_settings(CACHES=caches):
        response = fan.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("ConnectionError")
    assert "redis" in response.json()["detail"]


@pytest.fixture
def celery_worker_process():
    """A real Celery worker on the test run's Redis key space."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ticketing.settings", "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX}
    env.pop("PYTEST_XDIST_WORKER", None)
    root = Path(settings.BASE_DIR)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "ticketing",
            "worker",
            "-P",
            "solo",
            "-l",
            "WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from ticketing.celery import app

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not app.control.ping(timeout=0.5):
            pass
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def test_readyz_is_ok_with_postgres_redis_and_a_worker(fan, celery_worker_process):
    response = fan.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "ok", "checks": {"postgresql": "ok", "redis": "ok", "celery": "ok"}}
