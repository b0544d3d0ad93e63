"""Background payment work: settling an intent after its webhook."""

from __future__ import annotations

from celery import shared_task

from inventory.services.locking import Busy
from payments import services
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
