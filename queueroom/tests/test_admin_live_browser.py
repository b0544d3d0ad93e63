"""The live queue panel of the event admin in a real browser (Chromium,
driven by Playwright) against Django's live server: it follows the queue
without a page reload, stops while the tab is hidden and fetches at once
when it shows again, and says "figures unavailable" when the endpoint does
not answer. Time in the page is Playwright's fake clock, so no test waits
for a poll interval to pass. Skipped without Chromium, like
ticketing/tests/test_browser_journey.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from inventory.models import Event
from queueroom import services
from ticketing.tests.browsers import CHROMIUM, chromium

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium on this machine (make test installs it with apt when it can)"
    ),
    pytest.mark.django_db(transaction=True),
]

# Counts the panel's fetches in the page itself: a timer that fires calls
# fetch at once, so after the fake clock has run, the count is exact.
COUNT_FETCHES = """
window.__figureFetches = 0;
const realFetch = window.fetch;
window.fetch = function (url, options) {
  if (String(url).includes("/queue-figures/")) window.__figureFetches += 1;
  return realFetch.call(this, url, options);
};
"""

SET_HIDDEN = """hidden => {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


def _join(slug: str) -> None:
    assert Client().post(f"/api/v1/events/{slug}/queue/", content_type="application/json").status_code == 201


def _waiting(page: Any) -> str:
    return str(page.evaluate("() => document.querySelector('.queue-live-body tr td').textContent"))


def test_the_live_panel_refreshes_itself_pauses_when_hidden_and_says_when_figures_are_unavailable(
    live_server, browser, promoter, small_event
) -> None:  # type: ignore[no-untyped-def]
    Event.objects.filter(pk=small_event.pk).update(max_in_store=1)  # one fan in the store, the rest wait
    small_event.refresh_from_db()
    services.forget_setup(small_event.pk)
    _join(small_event.slug)
    services.tick(event=small_event, now=time.time())

    client = Client()
    client.force_login(promoter)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.add_init_script(COUNT_FETCHES)
    start = time.time() * 1000
    page.clock.install(time=start)
    page.clock.pause_at(start + 1_000)  # from here the page's timers fire only when run_for says
    page.goto(f"{live_server.url}/admin/inventory/event/{small_event.pk}/change/")
    panel = page.locator("[data-queue-live]")
    assert panel.get_attribute("data-polling") == "on"
    assert _waiting(page) == "0"
    page.evaluate("() => { window.__sameDocument = true; }")

    # Two more fans queue up; the panel shows it on its next poll, no reload.
    _join(small_event.slug)
    _join(small_event.slug)
    services.tick(event=small_event, now=time.time() + 1)
    page.clock.run_for(2_100)
    page.wait_for_function("() => document.querySelector('.queue-live-body tr td').textContent === '2'")
    assert page.evaluate("() => window.__sameDocument") is True
    assert panel.get_attribute("data-updates") == "1"

    # Hidden tab: no fetch however long it stays hidden; shown again: one at once.
    page.evaluate(SET_HIDDEN, True)
    assert panel.get_attribute("data-polling") == "hidden"
    before = page.evaluate("() => window.__figureFetches")
    page.clock.run_for(60_000)
    assert page.evaluate("() => window.__figureFetches") == before
    page.evaluate(SET_HIDDEN, False)
    assert page.evaluate("() => window.__figureFetches") == before + 1
    assert panel.get_attribute("data-polling") == "on"
    page.locator('[data-queue-live][data-updates="2"]').wait_for()  # its answer shown: the next poll is due

    # The endpoint stops answering (Redis down is a 503): the last figures
    # stay, greyed, under the words for it.
    page.route(
        "**/queue-figures/",
        lambda route: route.fulfill(
            status=503, content_type="application/json", body='{"error": "unavailable", "detail": "x"}'
        ),
    )
    page.clock.run_for(2_100)
    page.locator(".queue-live.is-stale").wait_for()
    assert page.locator(".queue-live-note").inner_text() == panel.get_attribute("data-unavailable")
    assert _waiting(page) == "2"

    # It answers again with fresh figures (the admitter ticked): the warning
    # goes, after the back-off.
    services.tick(event=small_event, now=time.time() + 2)
    page.unroute("**/queue-figures/")
    # (Backed off to 4 s; not past the fetch's own 5 s time-out, which fake
    # time would otherwise reach before the server answers.)
    page.clock.run_for(4_100)
    page.wait_for_function("() => !document.querySelector('.queue-live').classList.contains('is-stale')")
    assert page.locator(".queue-live-note").inner_text() == ""
    context.close()
