"""Bots against the waiting room, with real fans alongside (docs/security.md, "Bots").

    locust -f locustfiles/bots.py --headless -u 40 -r 20 -t 60s \
        --host http://127.0.0.1:8000 --csv .var/locust-bots

The server must trust the load client's X-Forwarded-For (TRUSTED_PROXIES,
docs/loadtest.md): each real fan (OnSaleFan, from onsale.py) comes from its
own address; the bots come from a few addresses in 198.18.0.0/15 (the
benchmarking range), as a scalper's laptop or small server farm would:

- FloodBot: one address, a new identity (no cookies) for every join, each
  with an honestly solved challenge: the new-fan limit refuses most, the
  address gets flagged, and its later places go where the event sends
  flagged fans (the shadow line or the back of the line).
- ReplayBot: solves one challenge and sends the same solution again and again.
- ForgerBot: tampered and self-signed challenge solutions, forged store passes.

Every bot keeps polling the places it got, as a bot waiting for its turn
would, and counts how many were let in. Expected refusals (403, 404, 429)
are successes in Locust's statistics; a forged thing accepted is a failure,
as is any real fan's failure, so the usual thresholds (fan_journey.py:
failure ratio, p95) hold the run to "bots get little, fans are unaffected".
At the end it logs the bots' tally, writes it to LOCUST_BOTS_REPORT (a JSON
file) when set, and fails the run (exit code 1) when bots were let in more
than LOCUST_MAX_BOT_SHARE (default 0.1) of the real fans' admissions.
The tally is per Locust process: in distributed mode each worker logs its own.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import time
from collections import Counter
from typing import Any

from locust import HttpUser, between, events, task

from locustfiles import onsale  # the module, not the class: Locust would run OnSaleFan on its own too
from locustfiles.pow import join_body, solve

TALLY: Counter[str] = Counter()
MAX_BOT_SHARE = float(os.environ.get("LOCUST_MAX_BOT_SHARE", "0.1"))
JOIN = "/api/v1/events/[slug]/queue/"


def bot_address(host: int) -> str:
    """An address of the benchmarking range 198.18.0.0/15, never a real client's."""
    return f"198.18.{host >> 8 & 255}.{host & 255}"


class CountingFan(onsale.OnSaleFan):
    """A real fan (onsale.py's journey), counted when it is let in."""

    weight = 4
    buys = False  # holds and releases: the bot run is about places, not payments

    def context(self) -> dict[str, Any]:
        return {"real_fan": True}  # passed to every request event (count_fan_joins)

    def _wait_for_turn(self) -> bool:
        admitted = super()._wait_for_turn()
        TALLY["fans admitted" if admitted else "fans not admitted"] += 1
        return admitted


class Bot(HttpUser):
    abstract = True
    wait_time = between(0.05, 0.2)
    address = ""

    def on_start(self) -> None:
        self.client.headers["X-Forwarded-For"] = self.address or bot_address(random.randrange(1, 65535))
        self.slug = onsale.EVENT or self._first_on_sale()
        self.tokens: list[str] = []

    def _first_on_sale(self) -> str:
        events_ = self.client.get("/api/v1/events/", name="/api/v1/events/").json().get("events", [])
        return next((e["slug"] for e in events_ if e["sale_phase"] == "ON_SALE"), "")

    def join(self, body: dict[str, Any], kind: str) -> dict[str, Any] | None:
        """A join that counts what happened; refusals are what we expect."""
        with self.client.post(f"/api/v1/events/{self.slug}/queue/", json=body, name=JOIN, catch_response=True) as r:
            if r.status_code in (200, 201):
                r.success()
                TALLY[f"{kind}: places"] += r.status_code == 201
                place: dict[str, Any] = r.json()
                if place.get("token"):
                    self.tokens.append(place["token"])
                return place
            if r.status_code in (403, 429):
                TALLY[f"{kind}: refused {r.json().get('error')}"] += 1
                r.success()
                return None
            r.failure(f"join: {r.status_code} {r.text[:200]}")
            return None

    @task(1)
    def wait_for_a_turn(self) -> None:
        """Poll a place this bot got, as a bot waiting for its turn would."""
        if not self.tokens:
            return
        token = random.choice(self.tokens)
        with self.client.get(f"/api/v1/queue/{token}/", name="/api/v1/queue/[token]/", catch_response=True) as r:
            if r.status_code == 200:
                status = r.json().get("status")
                if status in ("OFFERED", "ADMITTED"):
                    TALLY["bot places let in"] += 1
                    self.tokens.remove(token)
                elif status == "CLOSED":
                    self.tokens.remove(token)
            r.success()  # a place it cannot read (another identity's) is its own problem


class FloodBot(Bot):
    """One address, a new fan identity for every join."""

    weight = 1
    address = bot_address(7)

    @task(4)
    def flood(self) -> None:
        if not self.slug:
            return
        self.client.cookies.clear()  # a new identity: a new place, a new ticket cap (if it were free)
        self.join(join_body(self.client, self.slug), "flood")
        self.client.cookies.clear()


class ReplayBot(Bot):
    """One solved challenge, sent again and again."""

    weight = 1

    def on_start(self) -> None:
        super().on_start()
        self.payload = join_body(self.client, self.slug) if self.slug else {}

    @task(4)
    def replay(self) -> None:
        if not self.slug or not self.payload:
            return
        self.client.cookies.clear()
        self.join(self.payload, "replay")


class ForgerBot(Bot):
    """Solutions and passes it did not earn."""

    weight = 1

    @task(2)
    def forged_solution(self) -> None:
        if not self.slug:
            return
        body = join_body(self.client, self.slug)
        if not body:
            return
        doc = json.loads(base64.b64decode(body["altcha"]))
        if random.random() < 0.5:
            doc["solution"]["derivedKey"] = "00" * 32  # an answer it did not compute
        else:
            doc["challenge"]["parameters"]["expiresAt"] += 86_400  # a longer life it was not given
        self.client.cookies.clear()
        self.join({"altcha": base64.b64encode(json.dumps(doc).encode()).decode()}, "forged")

    @task(1)
    def self_signed(self) -> None:
        if not self.slug:
            return
        challenge = {
            "parameters": {
                "algorithm": "SHA-256",
                "nonce": "00" * 16,
                "salt": "00" * 16,
                "cost": 1,
                "keyLength": 32,
                "keyPrefix": "0",
                "expiresAt": int(time.time()) + 300,
            },
            "signature": "ab" * 32,
        }
        self.client.cookies.clear()
        self.join({"altcha": solve(challenge)}, "self-signed")

    @task(2)
    def forged_pass(self) -> None:
        """Straight to the store with a made-up pass."""
        if not self.slug:
            return
        with self.client.post(
            f"/api/v1/events/{self.slug}/holds/",
            json={"section": "PISTA", "quantity": 2},
            headers={"X-Queue-Pass": f"1.{random.getrandbits(64):x}.forged"},
            name="/api/v1/events/[slug]/holds/ (forged pass)",
            catch_response=True,
        ) as r:
            if r.status_code < 300:
                TALLY["forged passes accepted"] += 1
                r.failure("a forged pass was accepted")
            else:
                TALLY["forged passes refused"] += 1
                r.success()


@events.request.add_listener
def count_fan_joins(name: str, context: dict[str, Any], exception: Exception | None, **_kwargs: Any) -> None:
    """Whether real fans got their places (their joins are onsale.py's)."""
    if name == JOIN and context.get("real_fan"):
        TALLY["fans refused" if exception else "fans joined"] += 1


@events.quitting.add_listener
def bots_report(environment, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    tally = dict(sorted(TALLY.items()))
    logging.info("BOTS: %s", json.dumps(tally))
    if path := os.environ.get("LOCUST_BOTS_REPORT"):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(tally, f)
    fans = TALLY["fans admitted"]
    if TALLY["bot places let in"] > MAX_BOT_SHARE * max(fans, 1):
        logging.error("FAIL: bots were let in %d times, real fans %d", TALLY["bot places let in"], fans)
        environment.process_exit_code = 1
    if TALLY["forged passes accepted"]:
        logging.error("FAIL: %d forged passes accepted", TALLY["forged passes accepted"])
        environment.process_exit_code = 1
