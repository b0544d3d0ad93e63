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
from django.utils import translation

from inventory.models import Event, InventoryItem, Order
from inventory.services import demo
from queueroom import redis_scripts as rs
from queueroom import services


def words(language: str, text: str) -> str:
    """``text`` as the page shows it in ``language``."""
    with translation.override(language):
        return translation.gettext(text)


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
        keys = list(c.scan_iter(match=f"{rs.prefix()}*", count=1000))
        if keys:
            c.delete(*keys)
        services._setup_cache.clear()

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

    def fan(self, language: str = "en", viewport: tuple[int, int] = (1000, 900)) -> Any:
        """A new browser whose fan reads ``language`` (the Accept-Language
        of a browser set up in it, as the site picks it on a first visit)."""
        width, height = viewport
        context = self.browser.new_context(
            locale={"en": "en-US", "es": "es-ES", "ca": "ca-ES"}[language],
            viewport={"width": width, "height": height},
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    def admit(self, page: Any, language: str = "en") -> None:
        """Join on the waiting page, then tick like the admitter until the
        page, told over its WebSocket, has taken the fan to the store."""
        page.goto(f"{self.live_server_url}/events/{self.event.slug}/queue/")
        page.get_by_role("button", name=words(language, "Join the queue")).click()
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

    def test_the_seat_map_draws_every_seat_in_its_place_in_every_language(self) -> None:
        """Issue 10: in Spanish and Catalan the coordinates came out as
        cx="10,0", which the browser refuses, and all 50 seats sat on one dot."""
        for language in ("es", "ca", "en"):
            page = self.fan(language)
            self.admit(page, language)
            page.goto(f"{self.live_server_url}/events/{self.event.slug}/buy/A/")
            assert page.locator("html").get_attribute("lang") == language
            seats = page.locator("svg#seatmap .seat")
            assert seats.count() == 50
            boxes = [seats.nth(n).bounding_box() for n in range(50)]
            centres = {(round(b["x"] + b["width"] / 2), round(b["y"] + b["height"] / 2)) for b in boxes if b}
            assert len(centres) == 50, f"{language}: seats drawn on top of each other"
            page.context.close()
