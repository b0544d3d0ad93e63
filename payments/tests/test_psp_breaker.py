"""The PSP's circuit breaker (payments/breaker.py), shared by all processes
through Redis: 5 PSP failures in a row open it; then checkout fails fast
(503 + Retry-After, no network) and the waiting room admits nobody; after
the reset time one trial call goes through (half-open) and a success closes
it, and admission resumes. Declines and 4xx answers are the PSP answering."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone, translation

from inventory.models import Event
from payments import breaker, keys, tasks
from payments.bucket import redis_client
from payments.providers import ProviderUnavailable, get_provider
from payments.tests.helpers import hold, post_json
from queueroom import services as queue
from queueroom.tests.conftest import (
    _clean_queue_state,  # noqa: F401 - autouse: this module's queue keys
    join_many,
)

pytestmark = pytest.mark.django_db


class CountingPSP:
    """A TCP server that counts connections: ``answer=False`` keeps each one
    open without a word (a PSP that hangs), else closes it at once (a PSP
    that refuses)."""

    def __init__(self, *, answer: bool) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.server.settimeout(0.05)
        self.stopped = False
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.hang = not answer
        self.connections = 0
        self.connected = threading.Event()
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped:
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self.connected.set()
            if self.hang:
                self.held.append(conn)
            else:
                conn.close()

    def close(self) -> None:
        self.stopped = True
        self.thread.join(5)
        self.server.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def refusing_psp(settings) -> Iterator[CountingPSP]:  # type: ignore[no-untyped-def]
    psp = CountingPSP(answer=True)
    settings.STRIPE_MAX_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 2
    try:
        yield psp
    finally:
        psp.close()


@pytest.fixture
def hanging_psp(settings) -> Iterator[CountingPSP]:  # type: ignore[no-untyped-def]
    psp = CountingPSP(answer=False)
    settings.STRIPE_MAX_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 1
    try:
        yield psp
    finally:
        psp.close()


def checkout(fan, order):  # type: ignore[no-untyped-def]
    return post_json(fan, f"/api/v1/orders/{order.pk}/checkout/")


def open_the_breaker(fan, order, settings, psp: CountingPSP) -> None:  # type: ignore[no-untyped-def]
    """Five failed checkouts against a PSP that refuses every connection."""
    healthy = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = psp.url
    for attempt in range(1, 6):
        assert breaker.status().state == breaker.CLOSED
        answer = checkout(fan, order)
        assert (answer.status_code, answer.json()["error"]) == (503, "payment_provider_unavailable")
        assert psp.connections == attempt
    assert breaker.status().state == breaker.OPEN
    settings.STRIPE_API_BASE = healthy


def reset_time_passes() -> None:
    """Move the breaker's opening back past its reset time (instead of sleeping it out)."""
    back = int(time.time()) - django_settings.PSP_BREAKER_RESET_SECONDS - 1
    redis_client().set(keys.breaker("opened_at"), back)


def queue_with_fans(event: Event, now: float) -> list[queue.QueueStatus]:
    Event.objects.filter(pk=event.pk).update(admission_rate_per_minute=600, max_in_store=100)
    event.refresh_from_db()
    queue.forget_setup(event.pk)
    assert queue.tick(event=event, now=now) is not None  # opens the lanes
    return join_many(event, 20, now=now)


def admitted_by_tick(event: Event, now: float) -> tuple[int, object]:
    doc = queue.tick(event=event, now=now)
    assert doc is not None
    return doc["admitted"], doc["paused_reason"]


def test_five_failures_open_it_then_checkout_fails_fast_and_admission_pauses(
    fan, small_event, settings, refusing_psp, promoter_client
):
    now = float(int(time.time()))
    fans = queue_with_fans(small_event, now)
    order = hold(fan, 1)

    open_the_breaker(fan, order, settings, refusing_psp)

    # The sixth call fails at once, without touching the network.
    settings.STRIPE_API_BASE = refusing_psp.url
    answer = checkout(fan, order)
    assert (answer.status_code, answer.json()["error"]) == (503, "payment_provider_unavailable")
    assert 1 <= int(answer["Retry-After"]) <= settings.PSP_BREAKER_RESET_SECONDS
    assert refusing_psp.connections == 5
    # Nobody is admitted while it is open; the state says why.
    assert admitted_by_tick(small_event, now + 1) == (0, "payments_unavailable")
    # Fans keep their places and see them.
    last = queue.status(token=fans[-1].token, fan_id=None, now=now + 1, claim=False)
    assert (last.status, last.position) == (queue.WAITING, 20)
    # The promoter sees why in the event's live panel.
    panel = promoter_client.get(f"/admin/inventory/event/{small_event.pk}/change/").content.decode()
    with translation.override("es"):  # the admin speaks the promoter's language (es by default)
        why = translation.gettext("payments unavailable (PSP circuit breaker)")
        gate = translation.gettext("Admission gate: %(name)s") % {"name": "payments"}
    assert why in panel
    assert gate in panel and "PSP circuit breaker open after 5 failures" in panel


def test_after_the_reset_time_one_trial_closes_it_and_admission_resumes(fan, small_event, settings, refusing_psp):
    now = float(int(time.time()))
    queue_with_fans(small_event, now)
    order = hold(fan, 1)
    open_the_breaker(fan, order, settings, refusing_psp)
    assert admitted_by_tick(small_event, now + 1) == (0, "payments_unavailable")

    reset_time_passes()
    # Still paused until a trial call has proved the PSP is back.
    assert admitted_by_tick(small_event, now + 2) == (0, "payments_unavailable")
    answer = checkout(fan, order)  # the trial, against the healthy localstripe

    assert answer.status_code == 200, answer.content
    assert breaker.status().state == breaker.CLOSED
    assert admitted_by_tick(small_event, now + 3) == (10, None)


def test_a_failed_trial_opens_it_for_another_period(fan, small_event, settings, refusing_psp):
    order = hold(fan, 1)
    open_the_breaker(fan, order, settings, refusing_psp)
    reset_time_passes()
    settings.STRIPE_API_BASE = refusing_psp.url

    assert checkout(fan, order).status_code == 503
    assert refusing_psp.connections == 6  # the trial went out
    after = breaker.status()
    assert after.state == breaker.OPEN and after.retry_after > settings.PSP_BREAKER_RESET_SECONDS - 3
    assert checkout(fan, order).status_code == 503
    assert refusing_psp.connections == 6  # and the next call failed fast again


def test_half_open_lets_one_trial_through_at_a_time(fan, second_fan, small_event, settings, refusing_psp, hanging_psp):
    order = hold(fan, 1)
    other = hold(second_fan, 1)
    open_the_breaker(fan, order, settings, refusing_psp)
    reset_time_passes()
    settings.STRIPE_API_BASE = hanging_psp.url
    trial: list[object] = []

    def trial_call() -> None:  # another worker's PSP call: it becomes the trial
        try:
            get_provider().retrieve(intent_id="pi_anything")
        except ProviderUnavailable as exc:
            trial.append(type(exc))

    thread = threading.Thread(target=trial_call)
    thread.start()
    try:
        assert hanging_psp.connected.wait(10), "the trial call never reached the PSP"
        # While the trial hangs, everyone else fails fast.
        answer = checkout(second_fan, other)
        assert (answer.status_code, answer.json()["error"]) == (503, "payment_provider_unavailable")
        assert hanging_psp.connections == 1
    finally:
        thread.join(30)
    assert trial == [ProviderUnavailable]  # the trial timed out (the PSP's error, not CircuitOpen): open again
    assert breaker.status().state == breaker.OPEN


def test_declines_and_refusals_are_answers_not_failures(fan, small_event, settings):
    settings.PSP_BREAKER_FAIL_MAX = 2
    redis_client().set(keys.breaker("fail_counter"), 1)
    order = hold(fan, 1)
    assert checkout(fan, order).status_code == 200
    declined = post_json(fan, f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "pm_card_chargeCustomerFail"})
    assert declined.status_code == 402
    assert breaker.status().failures == 0  # the PSP answered: the count starts again
    assert checkout(fan, order).status_code == 200
    refused = post_json(fan, f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "pm_no_such_method"})
    assert refused.status_code == 502, refused.content
    assert breaker.status().state == breaker.CLOSED and breaker.status().failures == 0


def test_every_process_sees_the_same_breaker(fan, small_event, settings, refusing_psp):
    order = hold(fan, 1)
    open_the_breaker(fan, order, settings, refusing_psp)

    # Another thread builds its own breaker over the shared state...
    seen: list[str] = []
    thread = threading.Thread(target=lambda: seen.append(breaker._breaker().current_state))
    thread.start()
    thread.join(10)
    assert seen == [breaker.OPEN]
    # ...and so does another process.
    env = {
        **os.environ,
        "REDIS_KEY_PREFIX": django_settings.REDIS_KEY_PREFIX,
        "DJANGO_SETTINGS_MODULE": "ticketing.settings",
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    code = "import django, json; django.setup(); from payments import breaker; s = breaker.status(); print(json.dumps([s.state, s.failures]))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=Path(django_settings.BASE_DIR),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [breaker.OPEN, 5], out.stderr


def test_the_probe_closes_it_once_the_psp_answers(fan, small_event, settings, refusing_psp, localstripe_url):
    order = hold(fan, 1)
    open_the_breaker(fan, order, settings, refusing_psp)
    settings.STRIPE_API_BASE = refusing_psp.url
    assert tasks.probe() == breaker.OPEN  # reset time not over: nothing sent
    assert refusing_psp.connections == 5
    reset_time_passes()
    assert tasks.probe() == breaker.OPEN  # the trial failed
    assert refusing_psp.connections == 6
    reset_time_passes()
    settings.STRIPE_API_BASE = localstripe_url
    assert tasks.probe() == breaker.CLOSED  # localstripe's 404 for the probe intent is an answer


def test_the_sweeper_leaves_checkouts_alone_while_open_and_expires_them_after(
    fan, second_fan, small_event, settings, refusing_psp
):
    from inventory.models import InventoryItem, Order, OrderStatus
    from inventory.services.holds import sweep_expired
    from payments.models import Payment, PaymentStatus

    orders = [hold(client, 1) for client in (fan, second_fan)]
    for client, order in zip((fan, second_fan), orders, strict=True):
        assert checkout(client, order).status_code == 200
    healthy = settings.STRIPE_API_BASE
    open_the_breaker(fan, hold(fan, 1), settings, refusing_psp)
    past = timezone.now() - dt.timedelta(minutes=1)
    for order in orders:
        Order.objects.filter(pk=order.pk).update(expires_at=past)
        InventoryItem.objects.filter(order=order).update(locked_until=past)

    sweep_expired()  # no error: the orders cannot be cancelled at the PSP yet

    assert refusing_psp.connections == 5  # failed fast, no request
    assert set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)) == {
        OrderStatus.PAYMENT_PENDING
    }
    reset_time_passes()
    settings.STRIPE_API_BASE = healthy
    sweep_expired()  # the first cancel is the trial; it closes the breaker and the rest follow
    assert set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)) == {
        OrderStatus.EXPIRED
    }
    assert set(Payment.objects.filter(order__in=orders).values_list("status", flat=True)) == {PaymentStatus.CANCELED}
