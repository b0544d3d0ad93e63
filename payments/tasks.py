"""Background payment work, all on the ``payments`` Celery queue
(CELERY_TASK_ROUTES): settling an intent after its webhook, the payment
work a web request handed over because the PSP's leaky bucket was full,
the circuit breaker's probe, the confirmation e-mail and reconciliation.

The tasks wait for the bucket up to PSP_BUCKET_TASK_MAX_WAIT_SECONDS per
call, and retry, without limit, while the line is longer or the PSP is down
(the breaker open): payment work is never dropped. Each task is idempotent
and acks late: a worker that dies mid-task leaves the message for another.
"""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from inventory.services.locking import Busy
from payments import breaker, bucket, notifications, reconcile, services
from payments.providers import ProviderUnavailable, get_provider

log = logging.getLogger(__name__)


# Retried, never dropped: the PSP down (or the breaker open), the rows busy,
# PostgreSQL down or restarting (docs/failures.md). Every task is idempotent.
RETRIED = (ProviderUnavailable, Busy, OperationalError, InterfaceError)


def _countdown(exc: Exception) -> int:
    return max(1, int(getattr(exc, "retry_after", None) or 5))


@shared_task(
    name="payments.settle_payment",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=RETRIED,
    retry_backoff=True,  # 1, 2, 4 ... s, at most 10 min apart (Celery's default cap)
    max_retries=None,  # never dropped: the PSP may be down for a while (breaker open)
    ignore_result=True,
)
def settle_payment(intent_id: str) -> None:
    with bucket.waiting_up_to(settings.PSP_BUCKET_TASK_MAX_WAIT_SECONDS):
        services.settle(intent_id=intent_id)


@shared_task(
    name="payments.attach_intent",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    ignore_result=True,
)
def attach_intent(self, payment_id: int) -> None:  # type: ignore[no-untyped-def]
    """Create a checkout's intent (the fan's request found the line full)."""
    try:
        with bucket.waiting_up_to(settings.PSP_BUCKET_TASK_MAX_WAIT_SECONDS):
            services.attach_deferred(payment_id=payment_id)
    except RETRIED as exc:
        raise self.retry(exc=exc, countdown=_countdown(exc)) from exc


@shared_task(
    name="payments.confirm_payment",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    ignore_result=True,
)
def confirm_payment(self, payment_id: int, payment_method: str) -> None:  # type: ignore[no-untyped-def]
    """Confirm a payment (the fan's request found the line full)."""
    try:
        with bucket.waiting_up_to(settings.PSP_BUCKET_TASK_MAX_WAIT_SECONDS):
            services.confirm_deferred(payment_id=payment_id, payment_method=payment_method)
    except RETRIED as exc:
        raise self.retry(exc=exc, countdown=_countdown(exc)) from exc


@shared_task(name="payments.probe_psp", ignore_result=True)
def probe_psp() -> str:
    """Beat, every PSP_PROBE_SECONDS: once an open breaker's reset time has
    passed, one trial request (the half-open state) closes it if the PSP
    answers. Without it, a breaker opened while no fan could reach checkout
    (admission is paused while it is open) would never be tried again."""
    return probe()


def probe() -> str:
    """The probe itself; returns the breaker's state after it."""
    if not breaker.status().trial_due:
        return breaker.status().state
    try:
        with bucket.waiting_up_to(settings.PSP_BUCKET_TASK_MAX_WAIT_SECONDS):
            get_provider().ping()
    except ProviderUnavailable as exc:
        log.info("PSP probe: still unavailable (%s)", exc.detail)
    return breaker.status().state


# The confirmation e-mail. SMTP errors (refused, dropped, timed out) are
# retried with backoff (1 s doubling to 10 min, 10 tries: about 20 minutes);
# after that reconciliation sends what is still unsent. Idempotent:
# ``tickets_sent_at`` makes a redelivery send nothing.
@shared_task(
    name="payments.send_tickets_email",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
    ignore_result=True,
)
def send_tickets_email(payment_id: int, language: str | None = None) -> None:
    notifications.send_tickets(payment_id=payment_id, language=language)


# Beat sends this every PAYMENTS_RECONCILE_SECONDS. Runs that overlap are safe
# (every step is conditional); a run that finds the PSP down stops and the
# next one tries again, so it is not retried. Its PSP calls wait in the bucket
# like any task's.
@shared_task(name="payments.reconcile", ignore_result=True, max_retries=0)
def reconcile_payments() -> None:
    with bucket.waiting_up_to(settings.PSP_BUCKET_TASK_MAX_WAIT_SECONDS):
        reconcile.reconcile()
