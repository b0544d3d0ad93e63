"""The fan's journey in a real browser (Chromium, driven by Playwright) against
a real Daphne server, the real waiting room and the real store door:

join the queue → live position over the WebSocket → the admitter process's
tick makes the offer → the page fetches the pass and goes to the store on its own → pick
two seats on the SVG map → hold → the cart counts down. Then a second fan's
stale map: the seats went to someone else, and the page says so.

This is the only test that runs the fans' JavaScript (static/js/seatmap.js,
static/queueroom/waiting.js). `make test` installs Chromium when it can;
without it these tests are skipped with the reason shown.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from channels.testing import ChannelsLiveServerTestCase
from django.conf import settings

from inventory.models import Event, InventoryItem, Order
from inventory.services import demo
from queueroom import keys, services
from queueroom import redis_scripts as rs
from ticketing import memo

CHROMIUM = os.environ.get("CHROMIUM_PATH") or next(
    (path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on this machine (make test installs it with apt when it can)"
)


@pytest.fixture(scope="class")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread, which makes
    # Django refuse ORM calls as if they came from async code; they do not.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            yield chromium
            chromium.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.mark.usefixtures("browser")
class TestFanJourney(ChannelsLiveServerTestCase):
    host = "127.0.0.1"
    serialized_rollback = False

    @pytest.fixture(autouse=True)
    def _inject(self, browser: Any) -> Iterator[None]:
        self.browser = browser
        yield
        c = rs.client()
        found = list(c.scan_iter(match=f"{keys.prefix()}*", count=1000))
        if found:
            c.delete(*found)
        memo.clear_all()

    def setUp(self) -> None:
        self.event, _ = demo.seed_small()
        Event.objects.filter(pk=self.event.pk).update(admission_rate_per_minute=60, max_in_store=100)
        self.event.refresh_from_db()
        services.forget_setup(self.event.pk)
        # The first tick after the sale opened opens the general lane (the
        # admitter only ticks events fans have joined).
        services.tick(event=self.event, now=time.time())
        self.admitter = self.start_admitter()

    def tearDown(self) -> None:
        self.admitter.terminate()
        self.admitter.wait(10)

    def start_admitter(self) -> subprocess.Popen[bytes]:
        """The real admitter process (`manage.py run_admitter`), on this test's
        database and Redis key prefix: it ticks once a second and publishes
        each tick to the channel layer, where the live server's hub fans it
        out to the waiting pages."""
        db = settings.DATABASES["default"]
        url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        return subprocess.Popen(
            [sys.executable, "manage.py", "run_admitter", "--ticks", "120"],
            cwd=settings.BASE_DIR,
            env={**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"},
            stdout=subprocess.DEVNULL,
        )

    def fan(self) -> Any:
        context = self.browser.new_context(locale="en-US", viewport={"width": 1000, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    def admit(self, page: Any) -> None:
        """Join on the waiting page, then tick like the admitter until the
        page, told over its WebSocket, has taken the fan to the store."""
        page.goto(f"{self.live_server_url}/events/{self.event.slug}/queue/")
        page.get_by_role("button", name="Join the queue").click()
        page.locator('[data-q="position"]').wait_for()
        page.wait_for_url(re.compile(r".*/events/demo-small/(?!queue/).*"), timeout=30_000)

    def choose_two_seats(self, page: Any) -> list[str]:
        page.goto(f"{self.live_server_url}/events/{self.event.slug}/buy/A/")
        seats = page.locator("svg#seatmap circle.avail")
        ids = [seats.nth(n).get_attribute("data-id") for n in (11, 12)]
        for n in (11, 12):
            seats.nth(n).click()
        assert page.locator('svg#seatmap circle[aria-pressed="true"]').count() == 2
        return ids

    def test_queue_to_cart_with_live_updates_and_a_taken_seat(self) -> None:
        first = self.fan()
        self.admit(first)
        # Admission is visible: the fan's turn, one way in, the session counting down.
        assert first.get_by_role("heading", name="It's your turn").is_visible()
        assert re.fullmatch(r"00:(29|30):\d\d", first.locator("[data-store-session]").inner_text().strip())
        chosen = self.choose_two_seats(first)

        second = self.fan()
        self.admit(second)
        stale = self.choose_two_seats(second)  # the same two seats, still free on this map
        assert stale == chosen

        first.get_by_role("button", name="Hold these seats").click()
        first.wait_for_url(re.compile(r".*/orders/[0-9a-f-]+/$"))
        assert first.get_by_role("heading", name="Your tickets").is_visible()
        assert re.fullmatch(r"00:(09|10):\d\d", first.locator(".countdown").first.inner_text().strip())
        order = Order.objects.get()
        assert sorted(str(i) for i in order.inventory_items.values_list("id", flat=True)) == sorted(chosen)

        second.get_by_role("button", name="Hold these seats").click()
        second.wait_for_load_state()
        assert second.get_by_text("someone else took 2 of your seats").is_visible()
        for seat_id in chosen:  # now drawn as taken on the second fan's map
            assert "taken" in (second.locator(f'circle[data-id="{seat_id}"]').get_attribute("class") or "")
        assert Order.objects.count() == 1
        assert InventoryItem.objects.filter(event=self.event, status="SOFT_LOCKED").count() == 2
