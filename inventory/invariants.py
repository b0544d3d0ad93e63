"""Read-only checks of the inventory invariants (BRIEF invariants 1 and 2).

Used by ``manage.py check_inventory`` and by the race tests: each check is
one SQL query returning the offending rows, so it runs on a live sale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

# A lock this long past its deadline means the sweeper is not running.
STALE_LOCK_GRACE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Check:
    name: str
    explanation: str
    sql: str


CHECKS = (
    Check(
        "seat_in_two_live_orders",
        "an item has more than one live order line",
        """SELECT oi.item_id, count(*) FROM inventory_orderitem oi JOIN inventory_item i ON i.id = oi.item_id
           WHERE oi.is_live AND (%(event)s::bigint IS NULL OR i.event_id = %(event)s::bigint)
           GROUP BY oi.item_id HAVING count(*) > 1""",
    ),
    Check(
        "section_over_capacity",
        "a section has more items (or more sold) than its capacity",
        """SELECT s.code, s.capacity, count(i.id), count(i.id) FILTER (WHERE i.status = 'SOLD')
           FROM inventory_item i JOIN inventory_section s ON s.id = i.section_id
           WHERE (%(event)s::bigint IS NULL OR i.event_id = %(event)s::bigint)
           GROUP BY i.event_id, s.id, s.code, s.capacity HAVING count(i.id) > s.capacity""",
    ),
    Check(
        "sold_item_without_paid_order",
        "a SOLD item whose order is not PAID or has no live line for it",
        """SELECT i.id, o.status FROM inventory_item i JOIN inventory_order o ON o.id = i.order_id
           WHERE i.status = 'SOLD' AND (%(event)s::bigint IS NULL OR i.event_id = %(event)s::bigint)
             AND (o.status <> 'PAID' OR NOT EXISTS (
                 SELECT 1 FROM inventory_orderitem oi WHERE oi.item_id = i.id AND oi.order_id = o.id AND oi.is_live))""",
    ),
    Check(
        "live_lock_without_open_order",
        "an unexpired lock whose order is not open, or has no live line for it",
        """SELECT i.id, o.status FROM inventory_item i JOIN inventory_order o ON o.id = i.order_id
           WHERE i.status IN ('SOFT_LOCKED', 'HARD_LOCKED') AND i.locked_until > %(now)s
             AND (%(event)s::bigint IS NULL OR i.event_id = %(event)s::bigint)
             AND (o.status NOT IN ('HELD', 'PAYMENT_PENDING') OR i.locked_by <> o.owner OR NOT EXISTS (
                 SELECT 1 FROM inventory_orderitem oi WHERE oi.item_id = i.id AND oi.order_id = o.id AND oi.is_live))""",
    ),
    Check(
        "live_line_of_ended_order",
        "an EXPIRED, CANCELLED, FAILED or REFUNDED order still has live lines",
        """SELECT o.id, o.status FROM inventory_order o
           WHERE o.status IN ('EXPIRED', 'CANCELLED', 'FAILED', 'REFUNDED')
             AND (%(event)s::bigint IS NULL OR o.event_id = %(event)s::bigint)
             AND EXISTS (SELECT 1 FROM inventory_orderitem oi WHERE oi.order_id = o.id AND oi.is_live)""",
    ),
    Check(
        "live_line_without_its_item",
        "a live line of an open or paid order whose item points elsewhere",
        """SELECT o.id, o.status, oi.item_id, i.status FROM inventory_order o
           JOIN inventory_orderitem oi ON oi.order_id = o.id AND oi.is_live
           JOIN inventory_item i ON i.id = oi.item_id
           WHERE (%(event)s::bigint IS NULL OR o.event_id = %(event)s::bigint)
             AND (i.order_id IS DISTINCT FROM o.id
                  OR (o.status = 'PAID' AND i.status <> 'SOLD')
                  OR (o.status = 'PAYMENT_PENDING' AND i.status <> 'HARD_LOCKED')
                  OR (o.status = 'HELD' AND i.status <> 'SOFT_LOCKED'))""",
    ),
    Check(
        "ticket_count_mismatch",
        "a live order's ticket count differs from its live lines",
        """SELECT o.id, o.ticket_count, count(oi.id) FROM inventory_order o
           LEFT JOIN inventory_orderitem oi ON oi.order_id = o.id AND oi.is_live
           WHERE o.status IN ('HELD', 'PAYMENT_PENDING', 'PAID')
             AND (%(event)s::bigint IS NULL OR o.event_id = %(event)s::bigint)
           GROUP BY o.id HAVING o.ticket_count <> count(oi.id)""",
    ),
    Check(
        "stale_lock",
        "a lock long past its deadline (is the sweeper running?)",
        """SELECT i.id, i.locked_until FROM inventory_item i
           WHERE i.status IN ('SOFT_LOCKED', 'HARD_LOCKED') AND i.locked_until < %(stale)s
             AND (%(event)s::bigint IS NULL OR i.event_id = %(event)s::bigint)""",
    ),
)


def find_violations(
    *, event_id: int | None = None, now: dt.datetime | None = None, limit: int = 20
) -> dict[str, list[tuple[object, ...]]]:
    """{check name: up to ``limit`` offending rows} for every failing check."""
    now = now or timezone.now()
    params = {"event": event_id, "now": now, "stale": now - STALE_LOCK_GRACE}
    found: dict[str, list[tuple[object, ...]]] = {}
    with connection.cursor() as cursor:
        for check in CHECKS:
            cursor.execute(f"{check.sql} LIMIT {int(limit)}", params)
            rows = cursor.fetchall()
            if rows:
                found[check.name] = rows
    return found
