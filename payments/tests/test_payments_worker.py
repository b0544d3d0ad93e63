"""A real Celery worker on the ``payments`` queue (as ``make run`` starts
it) picks up the payment a web request handed over because the PSP's line
was long, waits for its slot and pays: the fan who got 202 "processing"
sees the order PAID when polling, with nothing more to do."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from payments import bucket
from payments.tests.helpers import hold, post_json

pytestmark = pytest.mark.django_db(transaction=True)  # the worker reads what the test committed


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def payments_worker(localstripe_url: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ticketing.settings",
        "DATABASE_URL": database_url(),
        "DB_POOL": "0",
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "STRIPE_API_BASE": localstripe_url,
        "STRIPE_WEBHOOK_SECRET": "whsec_test",
        "PSP_BUCKET_PER_MINUTE": "600",  # as the test's web side
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    env.pop("PYTEST_XDIST_WORKER", None)  # the prefix is passed as it is
    proc = subprocess.Popen(  # noqa: S603 - our own app
        [sys.executable, "-m", "celery", "-A", "ticketing", "worker", "-Q", "payments", "-P", "threads", "-c", "2"]
        + ["-l", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_the_payments_worker_pays_what_a_web_request_handed_over(fan, small_event, settings, payments_worker):
    order = hold(fan, 1)
    assert post_json(fan, f"/api/v1/orders/{order.pk}/checkout/").status_code == 200
    settings.PSP_BUCKET_PER_MINUTE = 600
    settings.PSP_BUCKET_WEB_MAX_WAIT_SECONDS = 0  # any wait at all is too long for this request
    assert bucket.reserve(cost=20, wait_limit=60).granted  # others' requests: the line is 2 s long

    answer = post_json(fan, f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "pm_card_visa"})
    assert answer.status_code == 202, answer.content

    # The fan's page polls the order until the worker is done (an event, with a deadline).
    deadline = time.monotonic() + 60
    shown = fan.get(f"/api/v1/orders/{order.pk}/").json()
    while shown["payment"]["processing"] and time.monotonic() < deadline:
        assert payments_worker.poll() is None, "the worker died"
        time.sleep(0.2)
        shown = fan.get(f"/api/v1/orders/{order.pk}/").json()
    assert shown["payment"]["processing"] is False
    assert (shown["status"], shown["payment"]["status"]) == ("PAID", "PAID")
