"""Invariant 7 at the PSP: a provider that accepts the connection and never
answers costs a fan the timeout, then a 503 with Retry-After; never a hang."""

from __future__ import annotations

import signal
import socket

import pytest

from payments.tests.helpers import hold, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def silent_psp():
    """A socket that takes connections and never reads or answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


def test_checkout_against_a_silent_psp_answers_503_within_the_timeout(fan, small_event, settings, silent_psp):
    order = hold(fan, 1)
    settings.STRIPE_API_BASE = silent_psp
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    settings.STRIPE_MAX_RETRIES = 0

    def hung(signum, frame):  # type: ignore[no-untyped-def]
        raise AssertionError("checkout hung on a PSP that never answers")

    # Far above the timeout: a hang fails here instead of blocking the suite.
    # (The request runs on this thread, inside the test's transaction.)
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        response = post_json(fan, f"/api/v1/orders/{order.pk}/checkout/")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert response.status_code == 503
    assert response.json()["error"] == "payment_provider_unavailable"
    assert int(response["Retry-After"]) > 0
