"""On-sale day end to end: join the waiting room, wait for the turn, enter the
store, hold the best 2 seats, look at the order, release it.

    locust -f locustfiles/onsale.py --headless -u 300 -r 50 -t 3m \
        --host http://127.0.0.1:8000 --csv .var/locust-onsale

LOCUST_EVENT picks the event slug (default: the first event on sale). Each
simulated fan is a separate browser (its own cookies, so its own identity and
pass). Admission follows the event's admission rate, as for real fans; raise it
in the admin to push more load into the store. Thresholds as in fan_journey.py.
"""

from __future__ import annotations

import os
import random
import time

from locust import HttpUser, between, task

from locustfiles.fan_journey import enforce_thresholds  # noqa: F401 - registers the pass/fail check
from locustfiles.pow import join_body

EVENT = os.environ.get("LOCUST_EVENT", "")


def fan_address() -> str:
    """A random address in 100.64.0.0/10 (shared address space: never a real client's)."""
    n = random.getrandbits(22)
    return f"100.{64 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}"


MAX_WAIT_SECONDS = float(os.environ.get("LOCUST_MAX_QUEUE_WAIT", "600"))


class OnSaleFan(HttpUser):
    wait_time = between(1, 2)

    def on_start(self) -> None:
        # Each simulated fan comes from its own address, as real fans do; the
        # server believes the header only from a trusted proxy (make run
        # trusts loopback, docs/loadtest.md).
        self.client.headers["X-Forwarded-For"] = fan_address()
        self.slug = EVENT or self._first_on_sale()
        self.section = None
        if self.slug:
            detail = self.client.get(f"/api/v1/events/{self.slug}/", name="/api/v1/events/[slug]/").json()
            sections = [s for s in detail.get("sections", []) if s["available"] >= 2]
            self.section = sections[0]["code"] if sections else None

    def _first_on_sale(self) -> str:
        events = self.client.get("/api/v1/events/", name="/api/v1/events/").json().get("events", [])
        on_sale = [e["slug"] for e in events if e["sale_phase"] == "ON_SALE"]
        return on_sale[0] if on_sale else ""

    def _wait_for_turn(self) -> bool:
        with self.client.post(
            f"/api/v1/events/{self.slug}/queue/",
            json=join_body(self.client, self.slug),  # the proof of work, as the page's widget sends it
            name="/api/v1/events/[slug]/queue/",
            catch_response=True,
        ) as r:
            if r.status_code not in (200, 201):
                r.failure(f"join: {r.status_code} {r.text[:200]}")
                return False
            body = r.json()
        deadline = time.monotonic() + MAX_WAIT_SECONDS
        while body.get("status") not in ("ADMITTED", "CLOSED") and time.monotonic() < deadline:
            time.sleep(max(1.0, float(body.get("poll_after_seconds") or 2)))
            body = self.client.get(f"/api/v1/queue/{body['token']}/", name="/api/v1/queue/[token]/").json()
        return body.get("status") == "ADMITTED"

    @task
    def buy_and_release(self) -> None:
        if not self.slug or not self.section or not self._wait_for_turn():
            return
        self.client.get(
            f"/api/v1/events/{self.slug}/seats/?section={self.section}", name="/api/v1/events/[slug]/seats/"
        )
        with self.client.post(
            f"/api/v1/events/{self.slug}/holds/",
            json={"section": self.section, "quantity": 2},
            name="/api/v1/events/[slug]/holds/",
            catch_response=True,
        ) as r:
            if r.status_code in (409, 429):
                # Sold out or taken, or this fan is over HOLD_RATE_LIMIT (a
                # scenario faster than a real fan): a clean refusal is correct.
                r.success()
                return
            if r.status_code != 201:
                r.failure(f"hold: {r.status_code} {r.text[:200]}")
                return
            order_id = r.json()["order_id"]
        self.client.get(f"/api/v1/orders/{order_id}/", name="/api/v1/orders/[id]/")
        self.client.delete(f"/api/v1/orders/{order_id}/", name="/api/v1/orders/[id]/")
