"""A paid order refunded as a whole: PAID → REFUNDED, its seats back on sale.

The payments app calls ``refund_order`` after the money went back at the
provider (it owns the payment and the tickets; inventory never imports it).
Nothing here knows about money: this is the inventory half of a refund, the
seats and the order, audited under the name of whoever asked for it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.db import transaction
from django.utils import timezone

from inventory.models import Order, OrderStatus
from inventory.services.holds import records, sql
from inventory.services.holds.errors import InvalidTransition
from inventory.services.holds.lifecycle import MAX_ATTEMPTS, end_orders, get_order
from inventory.services.locking import Busy, begin, inventory_transaction

log = logging.getLogger(__name__)


def refund_order(
    *, order_id: uuid.UUID | str, actor: str, reason: str = "refunded", now: dt.datetime | None = None
) -> Order:
    """PAID → REFUNDED in one transaction: every SOLD seat of the order goes
    back to AVAILABLE (claimable at once), its lines stop being live, and the
    audit trail records each step with ``actor`` (the promoter's user name).

    Idempotent: an order already REFUNDED is returned as it is. Any other
    status is InvalidTransition. Raises Busy when the order keeps changing
    under it (nothing was changed; try again)."""
    for _ in range(MAX_ATTEMPTS):
        order = get_order(order_id, None)
        if order.status == OrderStatus.REFUNDED:
            return order
        if order.status != OrderStatus.PAID:
            raise InvalidTransition(f"An order in {order.status} cannot be refunded.")
        at = now or timezone.now()
        with inventory_transaction() as cursor:
            begin(cursor, then=sql.FREE_SOLD_ITEMS, params={"order": order.pk, "now": at})
            freed = records.fetch(cursor, records.ItemChange._make)
            ended = end_orders(
                cursor,
                order_ids=[order.pk],
                from_statuses=[OrderStatus.PAID],
                to_status=OrderStatus.REFUNDED,
                reason=reason,
                actor=actor,
                now=at,
                freed=freed,
            )
            if not ended:
                transaction.set_rollback(True)  # it changed under us: read it again
                continue
        if len(freed) != order.ticket_count:
            # The refund goes on (the money is back already); check_inventory says why.
            log.warning("refund of order %s freed %d of %d seats", order.pk, len(freed), order.ticket_count)
        order.refresh_from_db()
        return order
    raise Busy()
