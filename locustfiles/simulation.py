"""The on-sale day of `make simulate-onsale` (scripts/simulate_onsale.py): the
fan of locustfiles/onsale.py, but each Locust user plays many fans one after
another (new cookies, new address: a new browser each time), so a few hundred
users replay tens of thousands of fans without the load generator limiting.

Each fan picks a show the way fans do (most want the first Madrid and
Barcelona dates) among the shows not yet sold out, and a section with seats
left; ~2% leave the queue before their turn (DELETE /api/v1/queue/{token}/).
Declined cards and abandoned carts come from onsale.py's options.

Options (environment), beside onsale.py's: SIM_EVENTS ("slug=weight,...", the
shows and how much fans want each; default every event on sale, weight 1),
LOCUST_LEAVE_SHARE (0.02), SIM_PRESALE_CODE (a presale code; none by default)
and SIM_PRESALE_SHARE (0.1, the fans who have it), SIM_TIMELINE (a JSON file: requests by status and
p95 per 5-s bucket, errors, the journey figures; rewritten every 5 s and at
the end, for the report).

    SIM_EVENTS=a=5,b=1 locust -f locustfiles/simulation.py --headless -u 200 -r 50 --host http://127.0.0.1:8000
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import gevent
import requests
from locust import events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

import locustfiles.onsale as onsale  # a module, not the class: Locust would run OnSaleFan too
from locustfiles.pow import join_body
from locustfiles.promoter import Promoter  # noqa: F401 - a promoter watches the dashboard (SIM_PROMOTERS)

LEAVE_SHARE = float(os.environ.get("LOCUST_LEAVE_SHARE", "0.02"))
PRESALE_CODE = os.environ.get("SIM_PRESALE_CODE", "")
PRESALE_SHARE = float(os.environ.get("SIM_PRESALE_SHARE", "0.1"))
TIMELINE = os.environ.get("SIM_TIMELINE", "")
BUCKET_SECONDS = 5


def parse_weights(raw: str) -> dict[str, float]:
    """ "slug=weight,slug2=weight2" → {slug: weight}; a slug alone weighs 1."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        slug, _, weight = part.partition("=")
        weights[slug] = float(weight or 1)
    return weights


WEIGHTS = parse_weights(os.environ.get("SIM_EVENTS", ""))
# slug → {section code: available}, refreshed every 2 s by one greenlet for
# the whole process: what a fan sees on the listing ("sold out" badges).
AVAILABLE: dict[str, dict[str, int]] = {}


def _refresh_availability(host: str) -> None:
    session = requests.Session()
    while True:
        for slug in list(WEIGHTS):
            try:
                detail = session.get(f"{host}/api/v1/events/{slug}/", timeout=10).json()
                AVAILABLE[slug] = {s["code"]: s["available"] for s in detail.get("sections", [])}
            except (requests.RequestException, ValueError):
                logging.warning("availability of %s: no answer", slug)
        gevent.sleep(2)


class Timeline:
    """Requests per 5-s bucket (by status, failures, response times) and the
    journey figures, written to SIM_TIMELINE as JSON for the report."""

    def __init__(self) -> None:
        self.started = time.time()
        self.buckets: dict[int, dict[str, Any]] = defaultdict(
            lambda: {"requests": 0, "failures": 0, "status": defaultdict(int), "times": []}
        )
        self.status: dict[str, int] = defaultdict(int)
        self.journeys: dict[str, list[float]] = defaultdict(list)
        # [ETA shown at join (s), actual time to the turn (s), joined before the opening]
        self.eta: list[tuple[float, float, bool]] = []

    def record(self, request_type: str, name: str, response_time: float, response: Any, exception: Any) -> None:
        if request_type == "JOURNEY":
            self.journeys[name].append(round(response_time / 1000, 3))
            return
        bucket = self.buckets[int((time.time() - self.started) // BUCKET_SECONDS)]
        code = str(getattr(response, "status_code", 0) or 0)
        bucket["requests"] += 1
        bucket["failures"] += 1 if exception else 0
        bucket["status"][code] += 1
        bucket["times"].append(response_time)
        self.status[code] += 1

    def document(self) -> dict[str, Any]:
        rows = []
        for index in sorted(self.buckets):
            b = self.buckets[index]
            times = sorted(b["times"])
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))] if times else 0
            rows.append(
                {
                    "t": self.started + index * BUCKET_SECONDS,
                    "requests": b["requests"],
                    "failures": b["failures"],
                    "status": dict(b["status"]),
                    "p95_ms": round(p95, 1),
                }
            )
        return {
            "bucket_seconds": BUCKET_SECONDS,
            "buckets": rows,
            "status": dict(self.status),
            "journeys": self.journeys,
            "eta": self.eta,
        }

    def write(self) -> None:
        if TIMELINE:
            tmp = Path(f"{TIMELINE}.tmp")
            tmp.write_text(json.dumps(self.document()))
            tmp.replace(TIMELINE)


TIMELINE_DATA = Timeline()


@events.request.add_listener
def _on_request(request_type, name, response_time, response=None, exception=None, **_kw):  # type: ignore[no-untyped-def]
    TIMELINE_DATA.record(request_type, name, response_time, response, exception)


@events.test_start.add_listener
def _on_start(environment, **_kw):  # type: ignore[no-untyped-def]
    if not WEIGHTS:
        events_on_sale = requests.get(f"{environment.host}/api/v1/events/", timeout=10).json().get("events", [])
        WEIGHTS.update({e["slug"]: 1.0 for e in events_on_sale if e["sale_phase"] in ("ON_SALE", "NOT_OPEN")})
    gevent.spawn(_refresh_availability, environment.host)

    def writer() -> None:
        while True:
            gevent.sleep(BUCKET_SECONDS)
            TIMELINE_DATA.write()

    gevent.spawn(writer)


@events.quitting.add_listener
def _on_quit(**_kw):  # type: ignore[no-untyped-def]
    TIMELINE_DATA.write()


class SimFan(onsale.FanJourney, FastHttpUser):
    """One Locust user, many fans in a row. FastHttpUser (geventhttpclient):
    a request costs the load generator a few times less CPU than with
    requests, which matters when Locust shares the machine with the servers."""

    # A fan's journey has a handful of requests in flight at most; the
    # default pool (10 connections per user) would hold idle sockets open.
    concurrency = 2
    connection_timeout = 30.0
    network_timeout = 60.0

    def new_browser(self) -> None:
        self.client.cookiejar.clear()
        self.client.client.default_headers["X-Forwarded-For"] = onsale.fan_address()

    def on_start(self) -> None:
        self.slug, self.section = "", None

    def _choose(self) -> bool:
        """Pick a show (weighted, among those with seats left) and a section
        (weighted by seats left); False while nothing is known or left."""
        open_shows = [s for s in WEIGHTS if sum(AVAILABLE.get(s, {}).values()) > 0]
        if not open_shows:
            return False
        self.slug = random.choices(open_shows, weights=[WEIGHTS[s] for s in open_shows])[0]
        sections = {code: n for code, n in AVAILABLE[self.slug].items() if n > 0}
        self.section = random.choices(list(sections), weights=list(sections.values()))[0]
        return True

    def fan(self) -> None:
        self.new_browser()
        if not self._choose():
            if AVAILABLE and all(sum(a.values()) == 0 for a in AVAILABLE.values()):
                gevent.sleep(5)  # sold out everywhere: nobody left to serve
            return
        try:
            self.buy()
        except StopUser:
            pass  # this fan's journey ended; the next fan comes

    def _join(self) -> dict[str, Any] | None:
        """Join the queue, as the page does: asking again a few times when
        the server answers an error (each error counts in the stats)."""
        presale = bool(PRESALE_CODE) and random.random() < PRESALE_SHARE
        for _ in range(5):
            try:
                body = join_body(self.client, self.slug)
            except (OSError, RuntimeError, ValueError):
                time.sleep(3)
                continue
            if presale:
                body["code"] = PRESALE_CODE  # a fan with the artist's presale code
            r = self.client.post(f"/api/v1/events/{self.slug}/queue/", json=body, name="/api/v1/events/[slug]/queue/")
            if r.status_code in (200, 201):
                place: dict[str, Any] = r.json()
                return place
            time.sleep(float(r.headers.get("Retry-After") or 3))
        return None

    def _wait_for_turn(self) -> bool:
        """onsale.py's wait, keeping the place when a status poll fails (the
        503's own words: "a place you have is kept"); ~2% leave instead."""
        body = self._join()
        if body is None:
            return False
        token = body["token"]
        joined, eta_shown, early = time.monotonic(), body.get("eta_seconds"), body.get("status") == "PRE_QUEUE"
        self.place_token = token  # a fan who goes home without buying leaves (onsale._go_home)
        if random.random() < LEAVE_SHARE:
            time.sleep(random.uniform(1, 10))
            self.client.delete(f"/api/v1/queue/{token}/", name="/api/v1/queue/[token]/")
            return False
        deadline = time.monotonic() + onsale.MAX_WAIT_SECONDS
        while body.get("status") not in ("ADMITTED", "CLOSED") and time.monotonic() < deadline:
            time.sleep(max(1.0, float(body.get("poll_after_seconds") or 2)))
            r = self.client.get(f"/api/v1/queue/{token}/", name="/api/v1/queue/[token]/")
            if r.status_code == 200:
                body = r.json()
        admitted = body.get("status") == "ADMITTED"
        if admitted and eta_shown is not None:
            TIMELINE_DATA.eta.append((float(eta_shown), round(time.monotonic() - joined, 1), early))
        return admitted


# Only the many-fans loop: the inherited `buy` is called from it, not as a task.
SimFan.tasks = [task(SimFan.fan)]
