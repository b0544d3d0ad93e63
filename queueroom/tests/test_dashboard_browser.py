"""The sale dashboard in a real browser (Chromium via Playwright, Django's
live server), at a laptop's 1366 × 768: the figures follow the queue without
a reload, the charts draw the last hour, and a control asks for confirmation
before it pauses the queue. Time in the page is Playwright's fake clock (no
test waits for a poll interval). A screenshot is saved where
DASHBOARD_SCREENSHOT says (for a person to look at). Skipped without
Chromium, like the other browser tests."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from inventory import dashboard
from inventory.models import Event
from queueroom import services
from queueroom.models import QueueConfig
from ticketing import metrics
from ticketing.tests.browsers import CHROMIUM, chromium

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium on this machine (make test installs it with apt when it can)"
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


def _join(slug: str) -> None:
    assert Client().post(f"/api/v1/events/{slug}/queue/", content_type="application/json").status_code == 201


def _an_hour_of_history(event: Event, now: float) -> None:
    """What the beat task would have kept during a busy hour."""
    for i in range(0, 361):
        t = now - 3600 + i * 10
        minute = i / 6
        dashboard.record(
            event.pk,
            t,
            {
                "waiting": float(round(4000 * math.exp(-minute / 25) + 30 * math.sin(minute))),
                "in_store": float(min(60, 5 + i)),
                "offers": float(6 + (i % 5)),
                "rate_set": 120.0,
                "admitted": float(i * 19),
                "sold": float(min(90, i // 5)),
                "held": float(4 + (i % 7)),
                "revenue": float(min(90, i // 5) * 25),
                "hold_attempts": float(i * 3),
                "hold_refusals": i * 0.5 + 10 * math.sin(minute / 9),
                "hold_errors": i * 0.05,
                "bucket_seconds": float(abs(math.sin(minute / 6)) * 3),
            },
        )


def test_the_dashboard_follows_the_sale_and_its_controls_ask_first(live_server, browser, promoter, small_event):  # type: ignore[no-untyped-def]
    client = dashboard._client()
    client.delete(dashboard.history_key(small_event.pk), metrics.counters_key())
    Event.objects.filter(pk=small_event.pk).update(max_in_store=1)  # one fan in the store, the rest wait
    small_event.refresh_from_db()
    services.forget_setup(small_event.pk)
    _join(small_event.slug)
    services.tick(event=small_event, now=time.time())
    _an_hour_of_history(small_event, time.time())

    login = Client()
    login.force_login(promoter)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en")
    context.add_cookies([{"name": "sessionid", "value": login.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    start = time.time() * 1000
    page.clock.install(time=start)
    page.clock.pause_at(start + 1_000)
    page.goto(f"{live_server.url}/admin/inventory/event/{small_event.pk}/dashboard/")
    waiting = page.locator('[data-key="waiting"] .dash-value')
    assert waiting.inner_text() == "0"
    assert page.locator('.dash-chart[data-chart="queue"] polyline[data-series="waiting"]').count() == 1

    # Two more fans queue up: the next poll shows them, without a reload.
    page.evaluate("() => { window.__sameDocument = true; }")
    _join(small_event.slug)
    _join(small_event.slug)
    services.tick(event=small_event, now=time.time() + 1)
    page.clock.run_for(2_100)
    page.wait_for_function("() => document.querySelector('[data-key=\"waiting\"] .dash-value').textContent === '2'")
    assert page.evaluate("() => window.__sameDocument") is True

    shot = os.environ.get("DASHBOARD_SCREENSHOT")
    if shot:
        page.screenshot(path=shot)
        page.screenshot(path=shot.replace(".png", "-full.png"), full_page=True)

    # Pause: the browser asks first; "cancel" changes nothing, "OK" pauses.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator('form[data-confirm] button:has-text("Pause admissions")').click()
    assert not QueueConfig.objects.filter(event=small_event, paused=True).exists()
    questions: list[str] = []

    def accept(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    with page.expect_navigation():
        page.locator('form[data-confirm] button:has-text("Pause admissions")').click()
    assert questions and "Pause admissions for" in questions[0]
    assert QueueConfig.objects.get(event=small_event).paused is True
    assert page.locator(".messagelist").inner_text().strip() == "Paused admissions."
    assert page.locator('form[data-confirm] button:has-text("Resume admissions")').count() == 1
    context.close()
    client.delete(dashboard.history_key(small_event.pk), metrics.counters_key())
