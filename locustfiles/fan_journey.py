"""Fans browsing the catalog on on-sale day (the public HTTP endpoints).

Headless with CSV and pass/fail thresholds:

    locust -f locustfiles/fan_journey.py --headless -u 500 -r 100 -t 2m \
        --host http://127.0.0.1:8000 --csv .var/locust

Thresholds (exit code 1 when broken): failure ratio above LOCUST_MAX_FAIL_RATIO
(default 0.01) or p95 above LOCUST_MAX_P95_MS (default 1000). Distributed:
`--master` on one machine, `--worker --master-host=…` on the others.
"""

from __future__ import annotations

import logging
import os
import random

from locust import HttpUser, between, events, task

MAX_FAIL_RATIO = float(os.environ.get("LOCUST_MAX_FAIL_RATIO", "0.01"))
MAX_P95_MS = float(os.environ.get("LOCUST_MAX_P95_MS", "1000"))


class Fan(HttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        response = self.client.get("/api/v1/events/", name="/api/v1/events/")
        self.slugs = [e["slug"] for e in response.json().get("events", [])] if response.ok else []

    @task(3)
    def event_page(self) -> None:
        if self.slugs:
            slug = random.choice(self.slugs)
            self.client.get(f"/events/{slug}/", name="/events/[slug]/")

    @task(2)
    def event_api(self) -> None:
        if self.slugs:
            slug = random.choice(self.slugs)
            self.client.get(f"/api/v1/events/{slug}/", name="/api/v1/events/[slug]/")

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="/")


def requests_only(stats):  # type: ignore[no-untyped-def]
    """The aggregate of the real requests: the JOURNEY pseudo-requests
    (time in queue, time to ticket) are figures, not requests."""
    from locust.stats import StatsEntry

    total = StatsEntry(stats, "Requests", None, use_response_times_cache=False)
    for entry in stats.entries.values():
        if entry.method != "JOURNEY":
            total.extend(entry)
    return total


@events.quitting.add_listener
def enforce_thresholds(environment, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    total = requests_only(environment.stats)
    p95 = total.get_response_time_percentile(0.95) or 0
    if total.fail_ratio > MAX_FAIL_RATIO:
        logging.error("FAIL: failure ratio %.3f > %.3f", total.fail_ratio, MAX_FAIL_RATIO)
        environment.process_exit_code = 1
    elif p95 > MAX_P95_MS:
        logging.error("FAIL: p95 %.0f ms > %.0f ms", p95, MAX_P95_MS)
        environment.process_exit_code = 1
    else:
        logging.info("PASS: failure ratio %.3f, p95 %.0f ms", total.fail_ratio, p95)
