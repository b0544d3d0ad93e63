"""On-sale day end to end, as a fan: join the waiting room (with the proof of
work), wait for the turn, enter the store, hold the best 1-4 seats, check out,
pay with a Stripe test card (a share declined first, then paid with another),
open the tickets. A share of fans abandon their cart instead (the seats come
back and sell). Each fan buys once.

Options (environment): LOCUST_EVENT (slug; default the first event on sale),
LOCUST_DECLINE_SHARE (0.03), LOCUST_ABANDON_SHARE (0.05), LOCUST_MAX_TICKETS
(4), LOCUST_MAX_QUEUE_WAIT (600 s). Each fan's time in the queue and time to
ticket are reported as the pseudo-requests "JOURNEY time in queue" and
"JOURNEY time to ticket" (Locust's own percentiles and CSV).

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
from typing import Any

from locust import HttpUser, between
from locust.exception import StopUser

from locustfiles.fan_journey import enforce_thresholds  # noqa: F401 - registers the pass/fail check
from locustfiles.pow import join_body

EVENT = os.environ.get("LOCUST_EVENT", "")


def fan_address() -> str:
    """A random address in 100.64.0.0/10 (shared address space: never a real client's)."""
    n = random.getrandbits(22)
    return f"100.{64 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}"


MAX_WAIT_SECONDS = float(os.environ.get("LOCUST_MAX_QUEUE_WAIT", "600"))
DECLINE_SHARE = float(os.environ.get("LOCUST_DECLINE_SHARE", "0.03"))
ABANDON_SHARE = float(os.environ.get("LOCUST_ABANDON_SHARE", "0.05"))
MAX_TICKETS = int(os.environ.get("LOCUST_MAX_TICKETS", "4"))
VISA, DECLINED = "pm_card_visa", "pm_card_chargeCustomerFail"


class FanJourney:
    """The fan's journey, for either HTTP client Locust has: OnSaleFan below
    (HttpUser, requests) and the simulation's SimFan (FastHttpUser,
    geventhttpclient: a few times less CPU per request, so one load process
    plays many more fans). The two differ only in `new_browser`."""

    client: Any
    environment: Any
    wait_time = between(1, 2)
    # False: hold, look at the order and release it, again and again (the
    # store's load without payments; the bot scenario's real fans).
    buys = True

    def new_browser(self) -> None:
        """Forget the cookies (a new identity and pass) and come from a new
        address, as each real fan does; the server believes the header only
        from a trusted proxy (make run trusts loopback, docs/loadtest.md)."""
        self.client.cookies.clear()
        self.client.headers["X-Forwarded-For"] = fan_address()

    def on_start(self) -> None:
        self.new_browser()
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
        self.place_token = body.get("token")
        deadline = time.monotonic() + MAX_WAIT_SECONDS
        while body.get("status") not in ("ADMITTED", "CLOSED") and time.monotonic() < deadline:
            time.sleep(max(1.0, float(body.get("poll_after_seconds") or 2)))
            body = self.client.get(f"/api/v1/queue/{body['token']}/", name="/api/v1/queue/[token]/").json()
        return body.get("status") == "ADMITTED"

    def _go_home(self) -> None:
        """A fan who leaves without buying says so (the page's "leave"): the
        store slot goes to the next fan now, not after the idle timeout.
        (Paying ends the store session by itself.)"""
        token = getattr(self, "place_token", None)
        if token:
            with self.client.delete(f"/api/v1/queue/{token}/", name="/api/v1/queue/[token]/", catch_response=True) as r:
                if r.status_code in (200, 404):
                    r.success()

    def _journey(self, name: str, seconds: float) -> None:
        """A journey figure as a pseudo-request (Locust's percentiles and CSV)."""
        self.environment.events.request.fire(
            request_type="JOURNEY",
            name=name,
            response_time=seconds * 1000,
            response_length=0,
            exception=None,
            context={},
        )

    def buy(self) -> None:
        if not self.slug or not self.section:
            raise StopUser()
        joined = time.monotonic()
        if not self._wait_for_turn():
            if self.buys:
                raise StopUser()
            return
        self._journey("time in queue", time.monotonic() - joined)
        self.client.get(
            f"/api/v1/events/{self.slug}/seats/?section={self.section}", name="/api/v1/events/[slug]/seats/"
        )
        quantity = random.randint(1, MAX_TICKETS)
        with self.client.post(
            f"/api/v1/events/{self.slug}/holds/",
            json={"section": self.section, "quantity": quantity},
            name="/api/v1/events/[slug]/holds/",
            catch_response=True,
        ) as r:
            if r.status_code in (409, 429):
                # Sold out or taken, or this fan is over HOLD_RATE_LIMIT (a
                # scenario faster than a real fan): a clean refusal is correct.
                r.success()
                if self.buys:
                    self._go_home()
                    raise StopUser()  # a fan who found it sold out goes home
                return
            if r.status_code != 201:
                r.failure(f"hold: {r.status_code} {r.text[:200]}")
                return
            order_id = r.json()["order_id"]
        self.client.get(f"/api/v1/orders/{order_id}/", name="/api/v1/orders/[id]/")
        if not self.buys:
            self.client.delete(f"/api/v1/orders/{order_id}/", name="/api/v1/orders/[id]/")
            return
        if random.random() < ABANDON_SHARE:
            self.client.delete(f"/api/v1/orders/{order_id}/", name="/api/v1/orders/[id]/")
            self._go_home()
            raise StopUser()
        first_card = DECLINED if random.random() < DECLINE_SHARE else VISA
        if self._pay(order_id, first_card) or (first_card == DECLINED and self._pay(order_id, VISA)):
            self.client.get(f"/orders/{order_id}/tickets/", name="/orders/[id]/tickets/")
            self._journey("time to ticket", time.monotonic() - joined)
        raise StopUser()

    def _pay(self, order_id: str, card: str) -> bool:
        """Checkout, then pay with ``card``; whether the order ended PAID."""
        deadline = time.monotonic() + 120
        while True:
            with self.client.post(
                f"/api/v1/orders/{order_id}/checkout/",
                json={"email": "fan@example.com"},
                name="/api/v1/orders/[id]/checkout/",
                catch_response=True,
            ) as r:
                if r.status_code not in (200, 202):
                    r.failure(f"checkout: {r.status_code} {r.text[:200]}")
                    return False
                # 202: the PSP's line is long and a worker creates the payment; ask again.
                if r.status_code == 200 or time.monotonic() > deadline:
                    break
                wait = float(r.headers.get("Retry-After") or 2)
            time.sleep(wait)
        with self.client.post(
            f"/api/v1/orders/{order_id}/pay/",
            json={"payment_method": card},
            name="/api/v1/orders/[id]/pay/",
            catch_response=True,
        ) as r:
            if r.status_code == 402 and card == DECLINED:
                r.success()  # the declined test card: declined is the right answer
                return False
            if r.status_code not in (200, 202):
                r.failure(f"pay: {r.status_code} {r.text[:200]}")
                return False
            status = r.json().get("status")
        deadline = time.monotonic() + 120
        while status == "PAYMENT_PENDING" and time.monotonic() < deadline:  # a worker pays it (202)
            time.sleep(2)
            status = self.client.get(f"/api/v1/orders/{order_id}/", name="/api/v1/orders/[id]/").json().get("status")
        return status == "PAID"


class OnSaleFan(FanJourney, HttpUser):
    tasks = [FanJourney.buy]
