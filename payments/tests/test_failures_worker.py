"""A payments worker killed in the middle of a payment (docs/failures.md,
"A worker dies mid-payment").

A real Celery worker on the ``payments`` queue (threads, as ``make run``
starts it) takes the payment a web request handed over. Its PSP is a small
proxy in front of localstripe that lets the confirmation through, so the
card is charged, and then holds the answer back: the worker is inside the
task, past the charge, with nothing recorded, when it is killed with
SIGKILL. The message was acknowledged late (``acks_late``), so it is still
"unacknowledged" in Redis; once it has been out for the visibility timeout
(CELERY_VISIBILITY_TIMEOUT, short here), another worker takes it back on
its next look (every 10 s) and runs it.
The redelivered task confirms the same PaymentIntent again, which the PSP
refuses (it succeeded already), reads the intent, and settles the order
PAID: one succeeded intent, one charge, and check_payments finds nothing.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError

from inventory.models import Order
from payments import bucket, services, tasks
from payments.models import Payment
from payments.providers import get_provider
from payments.tests.conftest import forget_psp_state
from payments.tests.helpers import hold, post_json
from ticketing.tests.failures import Proc, python, wait_for
from ticketing.tests.live import process_env

pytestmark = pytest.mark.django_db(transaction=True)  # the workers read what the test committed

CONFIRM = re.compile(r"^/v1/payment_intents/[^/]+/confirm$")
VISIBILITY = 5  # seconds: how long a dead worker's task stays out before another worker takes it


class HoldingPSP:
    """A proxy to the PSP. The first confirmation reaches the PSP (the
    charge happens), then its answer is held back until ``let_go``; every
    other request passes through."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.charged = threading.Event()
        self.released = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = requests.request(
                    self.command, proxy.target + self.path, data=body, headers=headers, timeout=30
                )
                if self.command == "POST" and CONFIRM.match(self.path) and not proxy.charged.is_set():
                    proxy.charged.set()
                    proxy.released.wait(120)  # the worker is killed meanwhile: nobody reads an answer
                    self.close_connection = True
                    return
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_DELETE = _forward  # noqa: N815 - http.server's names

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def holding_psp(localstripe_url: str) -> Iterator[HoldingPSP]:
    proxy = HoldingPSP(localstripe_url)
    try:
        yield proxy
    finally:
        proxy.close()


def payments_worker(name: str, psp: str, logs: Path, *, visibility: int) -> Proc:
    env = process_env(
        {
            "DB_POOL": "0",
            "STRIPE_API_BASE": psp,
            "STRIPE_WEBHOOK_SECRET": "whsec_test",
            "STRIPE_TIMEOUT_SECONDS": "120",  # the held answer must outlast the worker, not time out
            "PSP_BUCKET_PER_MINUTE": "600",  # as the test's web side
            "CELERY_VISIBILITY_TIMEOUT": str(visibility),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "LOG_LEVEL": "INFO",
            "CELERY_ROUTINE_LOG_LEVEL": "INFO",
        }
    )
    cmd = python("-m", "celery", "-A", "ticketing", "worker", "-Q", "payments", "-P", "threads", "-c", "2")
    cmd += ["-n", f"{name}@%h", "-l", "INFO", "--without-heartbeat", "--without-mingle", "--without-gossip"]
    return Proc(name, cmd, env=env, logs=logs)


def unacked() -> dict[str, float]:
    """The messages Redis holds as delivered but not acknowledged: delivery tag → time delivered."""
    index = f"{settings.REDIS_KEY_PREFIX}:celery:unacked_index"
    return {tag.decode(): score for tag, score in bucket.redis_client().zrange(index, 0, -1, withscores=True)}


def broker_keys() -> str:
    """The broker's keys of this run, with their types and TTLs (for a failure's message)."""
    client = bucket.redis_client()
    found = sorted(client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}:celery:*", count=1000))
    return (
        "\n".join(f"{k.decode()} {client.type(k).decode()} ttl={client.pttl(k)}" for k in found)
        + f"\nunacked {unacked()}"
    )


def test_a_worker_killed_mid_payment_is_replaced_and_the_order_settles_once(  # type: ignore[no-untyped-def]
    fan, small_event, settings, holding_psp: HoldingPSP, fresh_psp, tmp_path: Path
) -> None:
    order = hold(fan, 1)
    assert post_json(fan, f"/api/v1/orders/{order.pk}/checkout/").status_code == 200
    # The first worker never takes its own task back (its timeout is long);
    # the second one, with a short one, does once the first has died.
    first = payments_worker("first", holding_psp.url, tmp_path, visibility=3600)
    second: Proc | None = None
    try:
        wait_for(lambda: "ready." in first.output(), what="the first worker is ready", context=first.output)
        # The PSP's line is long: the fan's request hands the payment to the worker (202, "processing").
        settings.PSP_BUCKET_PER_MINUTE = 600
        settings.PSP_BUCKET_WEB_MAX_WAIT_SECONDS = 0
        assert bucket.reserve(cost=20, wait_limit=60).granted
        answer = post_json(fan, f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "pm_card_visa"})
        assert answer.status_code == 202, answer.content
        wait_for(
            lambda: holding_psp.charged.wait(0.2) or not first.alive(),
            what="the worker confirms",
            context=lambda: f"{first.output()[-600:]}\n{broker_keys()}\nnow {time.time()}",
        )
        assert first.alive(), first.output()
        assert len(unacked()) == 1  # the task, taken and not acknowledged
        # Another worker runs (production runs several; or a supervisor's restart).
        second = payments_worker("second", holding_psp.url, tmp_path, visibility=VISIBILITY)
        wait_for(lambda: "ready." in second.output(), what="the second worker is ready", context=second.output)
        first.kill()  # kill -9, past the charge, before anything was recorded
        holding_psp.released.set()
        payment = Payment.objects.get(order=order)
        assert (payment.status, Order.objects.get(pk=order.pk).status) == ("PENDING", "PAYMENT_PENDING")

        # Once the task has been out for the visibility timeout, the second
        # worker's next look (every 10 s) takes it back and runs it.
        wait_for(
            lambda: Order.objects.get(pk=order.pk).status == "PAID" or not second.alive(),
            what="the redelivered task settles the order",
            every=0.2,
            context=lambda: f"{second.output() if second else ''}\n{broker_keys()}\nnow {time.time()}",
        )
        assert second.alive(), second.output()
        wait_for(lambda: unacked() == {}, what="the redelivered task is acknowledged")
    finally:
        first.kill()
        if second is not None:
            second.kill()

    payment.refresh_from_db()
    assert (payment.status, payment.processing_since) == ("PAID", None)
    # One intent for the order, succeeded once, one charge.
    intents = [i for i in get_provider().list_intents().intents if i.metadata.get("order_id") == str(order.pk)]
    assert [(i.id, i.status) for i in intents] == [(payment.intent_id, "succeeded")]
    charges = requests.get(
        f"{settings.STRIPE_API_BASE}/v1/charges",
        params={"limit": 100},
        auth=(settings.STRIPE_SECRET_KEY, ""),
        timeout=10,
    ).json()["data"]
    assert [c["status"] for c in charges if c.get("payment_intent") == payment.intent_id] == ["succeeded"]
    forget_psp_state()  # the long line the test made up: check_payments' own PSP calls wait in it otherwise
    settings.PSP_BUCKET_PER_MINUTE = 60_000
    call_command("check_payments")  # exits 1 on any mismatch


@pytest.mark.parametrize(
    ("task", "work", "args"),
    [
        ("settle_payment", "settle", ("pi_x",)),
        ("attach_intent", "attach_deferred", (1,)),
        ("confirm_payment", "confirm_deferred", (1, "pm_card_visa")),
    ],
)
def test_payment_work_is_retried_while_postgresql_is_down(task, work, args, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Not dropped: a payment task that finds PostgreSQL down (or restarting) is retried later."""

    def database_down(**kwargs: object) -> None:
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    class Retried(Exception):
        pass

    def retry(*, exc: BaseException | None = None, **kwargs: object) -> None:
        raise Retried from exc

    the_task = getattr(tasks, task)
    monkeypatch.setattr(services, work, database_down)
    monkeypatch.setattr(the_task, "retry", retry)  # what Celery would do: publish it again, later
    with pytest.raises(Retried) as raised:
        the_task(*args)
    assert isinstance(raised.value.__cause__, OperationalError)
