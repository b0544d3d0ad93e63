"""A promoter watching the sale: logs in to the admin and polls each event's
live dashboard every 2 s, as the page does (docs/dashboard.md). The
simulation runs one per show (`SIM_PROMOTERS`), beside the fans.

Options (environment): LOCUST_PROMOTER_USER / LOCUST_PROMOTER_PASSWORD (an
admin account in the promoter group or above; the simulation makes one),
LOCUST_PROMOTER_POLL (2 s). Each poll is a request named
"/admin/[event]/dashboard/figures/"; a figures answer without its figures
counts as a failure.

    LOCUST_PROMOTER_USER=promoter LOCUST_PROMOTER_PASSWORD=... \\
        locust -f locustfiles/promoter.py --headless -u 1 -r 1 -t 1m --host http://127.0.0.1:8000
"""

from __future__ import annotations

import os
import re

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

USER = os.environ.get("LOCUST_PROMOTER_USER", "")
PASSWORD = os.environ.get("LOCUST_PROMOTER_PASSWORD", "")
POLL = float(os.environ.get("LOCUST_PROMOTER_POLL", "2"))
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
EVENT_LINK = re.compile(r'href="/admin/inventory/event/(\d+)/change/')


class Promoter(FastHttpUser):
    wait_time = constant(POLL)
    fixed_count = int(os.environ.get("SIM_PROMOTERS", "1"))

    def on_start(self) -> None:
        if not USER:
            raise StopUser()
        page = self.client.get("/admin/login/", name="/admin/login/")
        token = CSRF_FIELD.search(page.text or "")
        if token is None:
            raise StopUser()
        with self.client.post(
            "/admin/login/?next=/admin/",
            data=f"csrfmiddlewaretoken={token.group(1)}&username={USER}&password={PASSWORD}&next=/admin/",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": f"{self.host}/admin/login/"},
            name="/admin/login/",
            catch_response=True,
        ) as r:
            # Logged in: Django answers the admin index (after its redirect), not the form again.
            if CSRF_FIELD.search(r.text or "") and "id_password" in (r.text or ""):
                r.failure("the promoter could not log in")
                raise StopUser()
        listing = self.client.get("/admin/inventory/event/", name="/admin/inventory/event/")
        self.events = sorted({int(pk) for pk in EVENT_LINK.findall(listing.text or "")})
        self.turn = 0

    @task
    def watch(self) -> None:
        if not self.events:
            return
        pk = self.events[self.turn % len(self.events)]
        self.turn += 1
        with self.client.get(
            f"/admin/inventory/event/{pk}/dashboard/figures/",
            name="/admin/[event]/dashboard/figures/",
            catch_response=True,
        ) as r:
            if r.status_code != 200 or "figures" not in (r.json() or {}):
                r.failure(f"dashboard: {r.status_code}")
