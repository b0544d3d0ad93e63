"""Fixtures of the payments tests: every test talks to the private
localstripe of its pytest worker (``localstripe_url``, in the root conftest)."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _psp(settings, localstripe_url):  # type: ignore[no-untyped-def]
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    settings.STORE_ACCESS_CHECK = ""
    # The flow tests are not about the rate: a wide bucket (1 ms a request)
    # keeps them quick; the bucket's own tests set theirs.
    settings.PSP_BUCKET_PER_MINUTE = 60_000


def forget_psp_state() -> None:
    """Delete this run's bucket and breaker keys and its payments queue."""
    from django.conf import settings

    from payments import bucket, keys

    client = bucket.redis_client()
    for pattern in (f"{keys.prefix()}*", f"{settings.REDIS_KEY_PREFIX}:celery:*payments*"):
        found = list(client.scan_iter(match=pattern, count=1000))
        if found:
            client.delete(*found)


@pytest.fixture(autouse=True)
def _fresh_psp_protection() -> Iterator[None]:
    """Each test starts with an empty bucket and a closed breaker, and leaves
    them so for the next test of this worker (whatever app it is in)."""
    forget_psp_state()
    yield
    forget_psp_state()


@pytest.fixture
def fresh_psp(localstripe_url: str) -> None:
    """An empty localstripe: this worker's earlier tests left intents there
    (their database rows were rolled back), which checks of the PSP's whole
    list would see as strangers."""
    request = urllib.request.Request(f"{localstripe_url}/_config/data", method="DELETE")  # noqa: S310 - our own server
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.status == 200


@pytest.fixture
def celery_eager() -> Iterator[None]:
    """Tasks queued with .delay() run at once, in this process (errors raised)."""
    from ticketing.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = before
