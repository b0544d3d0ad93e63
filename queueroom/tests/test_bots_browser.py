"""The proof of work in a real browser (Chromium, driven by Playwright): the
vendored ALTCHA widget on the waiting page fetches a challenge, solves it in
its worker under the site's strict CSP, and the join form carries the
solution. Prints the solve time the widget measured (docs/security.md,
"Bots", has the numbers)."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from channels.testing import ChannelsLiveServerTestCase
from django.conf import settings

from inventory.models import Event
from inventory.services import demo
from queueroom import keys, passes, services
from queueroom import redis_scripts as rs
from queueroom.models import QueueConfig
from ticketing import memo
from ticketing.tests.browsers import CHROMIUM, chromium

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine")


@pytest.fixture(scope="class")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.mark.usefixtures("browser")
class TestProofOfWorkInTheBrowser(ChannelsLiveServerTestCase):
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
        Event.objects.filter(pk=self.event.pk).update(slug=f"pow-{uuid.uuid4().hex[:8]}")
        self.event.refresh_from_db()
        services.load_setup(self.event)
        # The production default, whatever the test settings say.
        QueueConfig.objects.filter(event=self.event).update(challenge_max_number=self.difficulty())
        services.forget_setup(self.event.pk)

    def difficulty(self) -> int:
        return int(os.environ.get("POW_DIFFICULTY", "20000"))

    def test_the_widget_solves_under_the_csp_and_the_form_joins_with_the_solution(self) -> None:
        context = self.browser.new_context(locale="en-US")
        self.addCleanup(context.close)
        page = context.new_page()
        page.set_default_timeout(30_000)
        refused: list[str] = []
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(f"{self.live_server_url}/events/{self.event.slug}/queue/")
        page.wait_for_function("() => { const f = document.querySelector('input[name=altcha]'); return f && f.value; }")
        payload = page.locator("input[name=altcha]").first.input_value()
        solution = json.loads(base64.b64decode(payload))["solution"]
        print(f"\nALTCHA solve in Chromium headless, difficulty {self.difficulty()}: {solution.get('time')} ms")
        # Only the widget's own inline <style> copy is refused: altcha.css is linked instead.
        assert all("style" in text for text in refused), refused
        page.get_by_role("button", name="Join the queue").click()
        page.wait_for_url(f"{self.live_server_url}/events/{self.event.slug}/queue/")
        token = page.locator("#queue").get_attribute("data-token")
        assert token, page.content()[:2000]
        assert passes.verify_token(token).event_id == self.event.pk
        assert settings.QUEUE_CHALLENGE_TTL_SECONDS > 0

    def test_a_fan_who_presses_join_before_the_widget_is_done_is_joined_when_it_is(self) -> None:
        QueueConfig.objects.filter(event=self.event).update(challenge_max_number=300_000)  # ~1-2 s here
        services.forget_setup(self.event.pk)
        context = self.browser.new_context(locale="en-US")
        self.addCleanup(context.close)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{self.live_server_url}/events/{self.event.slug}/queue/")
        page.get_by_role("button", name="Join the queue").click()  # at once
        page.locator("#queue[data-token]").wait_for()
        assert "That needs JavaScript" not in page.content()
