"""The on-sale smoke run (issue 13): real Daphne, the real admitter, a private
localstripe, and Locust headless for a few seconds with fans who queue, hold,
pay (some with a declined card first, some abandoning their cart) and open
their tickets. Then the two after-sale checks: check_inventory (no seat sold
twice, every lock in order) and check_payments (every succeeded payment
matches one paid order or one refund, both ways). About 25 s."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.core.management import call_command

from inventory.models import Event, Order, OrderStatus
from inventory.services import demo
from payments.models import Payment, PaymentStatus, Ticket
from queueroom import services
from queueroom.models import QueueConfig
from ticketing.tests.live import admitter, daphne, process_env

pytestmark = pytest.mark.django_db(transaction=True)

SECONDS = int(os.environ.get("ONSALE_SMOKE_SECONDS", "15"))


def test_fans_buy_and_every_seat_and_payment_adds_up(localstripe_url: str, fresh_psp: None, settings) -> None:
    event, _ = demo.seed_small()
    Event.objects.filter(pk=event.pk).update(admission_rate_per_minute=1200, max_in_store=500)
    services.load_setup(event)
    QueueConfig.objects.filter(event=event).update(challenge_max_number=2000)
    services.tick(event=event, now=time.time())
    server_env = {
        "STRIPE_API_BASE": localstripe_url,
        "TRUSTED_PROXIES": "127.0.0.1/32",
        # No Celery worker here: the e-mail task runs inline, and the PSP's
        # bucket is wide, so no payment is handed to a worker (202).
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "PSP_BUCKET_PER_MINUTE": "60000",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    with admitter(ticks=SECONDS + 20):
        with daphne(server_env) as base:
            run = subprocess.run(
                [sys.executable, "-m", "locust", "-f", "locustfiles/onsale.py", "--headless", "--only-summary"]
                + ["-u", "12", "-r", "6", "-t", f"{SECONDS}s", "--host", base, "--stop-timeout", "5"],
                cwd=settings.BASE_DIR,
                env={
                    **process_env(),
                    "LOCUST_EVENT": event.slug,
                    "LOCUST_DECLINE_SHARE": "0.3",
                    "LOCUST_ABANDON_SHARE": "0.2",
                    "LOCUST_MAX_P95_MS": "5000",
                },
                capture_output=True,
                text=True,
                timeout=SECONDS + 90,
                check=False,
            )
    print(run.stderr[-2500:])
    assert run.returncode == 0, run.stderr[-3000:]
    paid = Order.objects.filter(event=event, status=OrderStatus.PAID)
    assert paid.exists(), "no fan got as far as paying"
    assert Ticket.objects.filter(order__in=paid).count() == sum(o.ticket_count for o in paid)
    # The declined first cards left failed payments behind, and no paid order without its payment.
    assert Payment.objects.filter(order__in=paid, status=PaymentStatus.PAID).count() == paid.count()
    # The after-sale checks, as an operator runs them.
    call_command("check_inventory", stdout=StringIO())
    settings.STRIPE_API_BASE = localstripe_url
    out = StringIO()
    call_command("check_payments", stdout=out)  # in-flight states within the grace are normal
    print(out.getvalue())
