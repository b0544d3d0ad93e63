"""The audit trail: one row per state change of a seat or an order (from → to,
when, why, by whom), written in the transaction of the change.

Every transition writes through ``record`` here, except a new hold: the
hold statements (``sql.FAST_HOLD``, ``sql.INSERT_HOLD``) insert their audit
rows themselves, in the same statement as the claim, because a separate
insert is one more round trip on the hottest path (docs/performance.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from inventory.models import AuditEntry
from inventory.services.holds.records import ItemChange, OrderChange


def record(
    *,
    items: Sequence[ItemChange] = (),
    orders: Sequence[OrderChange] = (),
    item_status: str = "",
    order_status: str = "",
    reason: str,
    actor: str,
    now: dt.datetime,
) -> None:
    """Audit ``items`` that moved to ``item_status`` and ``orders`` that
    moved to ``order_status``: one insert for the items, one for the orders
    (none for an empty list)."""
    if items:
        AuditEntry.objects.bulk_create(
            AuditEntry(
                created_at=now,
                event_id=item.event_id,
                subject=AuditEntry.Subject.ITEM,
                order_id=item.order_id,
                item_id=item.id,
                from_status=item.old_status,
                to_status=item_status,
                reason=reason,
                actor=actor,
            )
            for item in items
        )
    if orders:
        AuditEntry.objects.bulk_create(
            AuditEntry(
                created_at=now,
                event_id=order.event_id,
                subject=AuditEntry.Subject.ORDER,
                order_id=order.id,
                from_status=order.old_status,
                to_status=order_status,
                reason=reason,
                actor=actor,
            )
            for order in orders
        )
