"""Background payment work: settling an intent after its webhook, the
confirmation e-mail, reconciliation. All of it runs on the ``payments``
queue (CELERY_TASK_ROUTES)."""

from __future__ import annotations

import smtplib

from celery import shared_task

from inventory.services.locking import Busy
from payments import notifications, reconcile, services
from payments.providers import ProviderUnavailable


# acks_late: a worker that dies mid-task leaves the message for another; the
# task is idempotent (settle re-reads the PSP and transitions conditionally).
@shared_task(
    name="payments.settle_payment",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(ProviderUnavailable, Busy),
    retry_backoff=True,
    max_retries=5,
    ignore_result=True,
)
def settle_payment(intent_id: str) -> None:
    services.settle(intent_id=intent_id)


# The confirmation e-mail. SMTP errors (refused, dropped, timed out) are
# retried with backoff (1 s doubling to 10 min, 10 tries: about 20 minutes);
# after that reconciliation sends what is still unsent. Idempotent: ``tickets_sent_at`` makes a redelivery send nothing.
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
# next one tries again, so it is not retried.
@shared_task(name="payments.reconcile", ignore_result=True, max_retries=0)
def reconcile_payments() -> None:
    reconcile.reconcile()
