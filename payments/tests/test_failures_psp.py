"""The PSP goes away mid-sale and comes back (docs/failures.md, "The PSP is unreachable").

Real processes throughout: a private localstripe (its state in a file, so it
comes back with its payments), the web server as ``make run`` starts it, and
the real admitter (``manage.py run_admitter``). localstripe is killed with
SIGKILL:

* checkouts answer 503 ``payment_provider_unavailable``; after
  PSP_BREAKER_FAIL_MAX (5) failures the breaker opens, and from then on
  checkout answers 503 with Retry-After without calling the PSP;
* the admitter's gate pauses admission: fans who join keep their places and
  wait, the state document says ``payments_unavailable``;
* localstripe comes back; once the reset time has passed, the breaker's
  probe (the beat task's body) makes the one trial call (half-open), which
  closes it; the admitter admits the waiting fans again, and a fan who was
  holding pays.

The breaker's own rules, one by one, are in payments/tests/test_psp_breaker.py
(in-process, against a PSP that refuses or hangs); this is the whole story
across the processes that share it through Redis.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inventory.models import Event
from payments import breaker, keys, tasks
from payments.bucket import redis_client
from queueroom import services as queue
from queueroom.tests.conftest import _clean_queue_state  # noqa: F401 - autouse: this module's queue keys
from ticketing.tests.failures import (
    Browser,
    Proc,
    leader_pid,
    python,
    running,
    start_admitter,
    start_web,
    wait_for,
)
from ticketing.tests.live import free_port

pytestmark = pytest.mark.django_db(transaction=True)  # the processes read what the test committed

JOIN = "/api/v1/events/demo-small/queue/"
HOLDS = "/api/v1/events/demo-small/holds/"


class LocalStripe:
    """A private localstripe that can be killed and started again on its port, with its state."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state = logs / "localstripe.pickle"
        self.start()

    def start(self) -> None:
        cmd = python("scripts/localstripe_server.py", "--port", str(self.port), "--state", str(self.state))
        self.proc = Proc("localstripe", cmd, env={"PATH": "/usr/bin:/bin"}, logs=self.logs)
        wait_for(self._answers, what="localstripe answers", context=self.proc.output)

    def _answers(self) -> bool:
        assert self.proc.alive(), self.proc.output()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False


def _status(fan: Browser, token: str) -> str:
    answer = fan.call("GET", f"/api/v1/queue/{token}/")
    assert answer.status_code == 200, answer.text
    return str(answer.json()["status"])


def _join(base: str) -> tuple[Browser, str]:
    fan = Browser(base)
    joined = fan.call("POST", JOIN)
    assert joined.status_code == 201, joined.text
    return fan, joined.json()["token"]


def _unavailable(answer: Any) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "payment_provider_unavailable"


@pytest.fixture
def psp(tmp_path: Path) -> Iterator[LocalStripe]:
    server = LocalStripe(tmp_path)
    try:
        yield server
    finally:
        server.proc.kill()  # whichever run of it is current


def test_psp_down_breaker_opens_admission_pauses_and_all_recovers(  # type: ignore[no-untyped-def]
    small_event, settings, psp: LocalStripe, tmp_path: Path
) -> None:
    Event.objects.filter(pk=small_event.pk).update(admission_rate_per_minute=600, max_in_store=100)
    settings.STRIPE_API_BASE = psp.url  # the probe below runs here, as beat's task would in a worker
    env = {
        "STRIPE_API_BASE": psp.url,
        "STRIPE_WEBHOOK_SECRET": "whsec_test",
        "STRIPE_MAX_RETRIES": "0",
        "STRIPE_TIMEOUT_SECONDS": "2",
        "STORE_ACCESS_CHECK": "",  # holds without a pass: the door has its own tests
        "PSP_BUCKET_PER_MINUTE": "60000",
    }
    admitting = start_admitter(logs=tmp_path)  # starts while the web server does
    with running(admitting):
        web, base = start_web(env, logs=tmp_path)
        with running(web):
            wait_for(lambda: leader_pid() == admitting.pid, what="the admitter leads", context=admitting.output)
            # Before: fans are admitted, a fan holds and checks out (the intent exists at the PSP).
            first, token = _join(base)
            wait_for(lambda: _status(first, token) == "ADMITTED", what="the admitter admits a fan")
            buyer = Browser(base)
            order = buyer.call("POST", HOLDS, {"section": "PISTA", "quantity": 1}).json()["order_id"]
            assert buyer.call("POST", f"/api/v1/orders/{order}/checkout/").status_code == 200

            psp.proc.kill()  # kill -9

            other = Browser(base)
            stuck = other.call("POST", HOLDS, {"section": "PISTA", "quantity": 1}).json()["order_id"]
            for _ in range(settings.PSP_BREAKER_FAIL_MAX):
                assert breaker.status().state == breaker.CLOSED
                _unavailable(other.call("POST", f"/api/v1/orders/{stuck}/checkout/"))
            assert breaker.status().state == breaker.OPEN
            fast = other.call("POST", f"/api/v1/orders/{stuck}/checkout/")  # refused by the breaker, no PSP call
            _unavailable(fast)
            assert 1 <= int(fast.headers["Retry-After"]) <= settings.PSP_BREAKER_RESET_SECONDS
            assert "paused" in fast.json()["detail"]

            # Admission pauses: newcomers wait, over several ticks, and the state says why.
            waiting = [_join(base) for _ in range(3)]
            opened = breaker.status().opened_at
            assert opened is not None
            wait_for(
                lambda: (doc := queue.state_document(small_event.pk)) and doc["t"] >= opened + 2 and doc["paused"],
                what="two admission ticks pass while the breaker is open",
            )
            doc = queue.state_document(small_event.pk)
            assert doc is not None and doc["paused_reason"] == "payments_unavailable"
            assert [_status(fan, tok) for fan, tok in waiting] == ["WAITING"] * 3

            psp.start()  # back on its port, with its payments
            # The reset time passes (moved back rather than waited out), then the probe's one trial closes it.
            redis_client().set(keys.breaker("opened_at"), int(time.time()) - settings.PSP_BREAKER_RESET_SECONDS - 1)
            assert breaker.status().trial_due
            assert tasks.probe() == breaker.CLOSED

            # Admission resumes by itself; the holding fan pays.
            wait_for(lambda: [_status(fan, tok) for fan, tok in waiting] == ["ADMITTED"] * 3, what="admission resumes")
            paid = buyer.call("POST", f"/api/v1/orders/{order}/pay/", {"payment_method": "pm_card_visa"})
            assert paid.status_code == 200, paid.text
            assert buyer.call("GET", f"/api/v1/orders/{order}/").json()["status"] == "PAID"
            # And the fan whose checkouts failed gets their intent now.
            assert other.call("POST", f"/api/v1/orders/{stuck}/checkout/").status_code == 200
