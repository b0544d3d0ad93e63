"""The sweeper: frees expired locks so the availability fans see stays
accurate. Claims never wait for it (an expired lock is claimable at once);
``inventory.tasks.sweep_expired_locks`` runs it every few seconds."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from inventory.models import Order, OrderStatus
from inventory.services.holds import records, sql
from inventory.services.holds.errors import HoldError
from inventory.services.holds.lifecycle import SYSTEM, end_orders, expire_order
from inventory.services.locking import Busy, begin, inventory_transaction
from ticketing.errors import DomainError

log = logging.getLogger(__name__)


def sweep_expired(*, now: dt.datetime | None = None, batch_size: int = 500, max_batches: int = 20) -> int:
    """Free expired locks in SKIP LOCKED batches and expire their orders;
    then send checkouts past their deadline through the payment hook.
    Returns how many seats were freed. Safe to run concurrently."""
    freed_total = 0
    for _ in range(max_batches):
        freed = _sweep_batch(now=now or timezone.now(), batch_size=batch_size)
        freed_total += freed
        if freed < batch_size:
            break
    at = now or timezone.now()
    late = Order.objects.filter(status=OrderStatus.PAYMENT_PENDING, expires_at__lte=at).order_by("expires_at")
    for order_id in late.values_list("id", flat=True)[:batch_size]:
        try:
            expire_order(order_id=order_id, now=at)
        except (Busy, HoldError):
            continue  # the next sweep tries again
        except DomainError as exc:
            # The payment hook could not reach the PSP (down, its circuit
            # breaker open, or its line full): the order stays in checkout
            # and the next sweep tries again; the other orders still expire.
            log.info("checkout %s not expired yet: %s", order_id, exc.detail)
            continue
    return freed_total


def _sweep_batch(*, now: dt.datetime, batch_size: int) -> int:
    """One transaction: a batch of expired locks freed (never a checkout's:
    those go through the payment hook), and their HELD orders that are past
    their deadline expired. Returns how many seats were freed."""
    with inventory_transaction() as cursor:
        begin(cursor, then=sql.SWEEP_BATCH, params={"now": now, "limit": batch_size})
        freed = records.fetch(cursor, records.ItemChange._make)
        if freed:
            end_orders(
                cursor,
                order_ids=sorted({item.order_id for item in freed}),
                from_statuses=[OrderStatus.HELD],
                to_status=OrderStatus.EXPIRED,
                expired_only=True,
                freed=freed,
                reason="expired",
                actor=SYSTEM,
                now=now,
            )
    return len(freed)
