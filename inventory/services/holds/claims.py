"""What both kinds of hold share: the fan's lock and ticket cap, the claim,
and writing the order a claim creates.

A hold runs the fast path first: one statement (``sql.FAST_HOLD``) that
checks the cap, claims free seats and writes the order. When that falls short
the transaction rolls back and the general path runs: the cap as its own
query, the claim of any claimable row (``sql.CLAIM``, expired locks
included), the orders those locks belonged to expired, then the order
(``sql.INSERT_HOLD``). A claim that gets fewer rows than asked is a
``Shortfall``: the caller rolls back, then explains or retries.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.backends.utils import CursorWrapper

from inventory.models import Event, OrderStatus
from inventory.services.holds import records, sql
from inventory.services.holds.errors import LimitReached
from inventory.services.holds.lifecycle import expire_displaced
from inventory.services.holds.results import HeldItem, Hold, IdempotencyKey
from inventory.services.locking import begin


@dataclass(frozen=True)
class Shortfall:
    """A claim got fewer rows than asked (and was rolled back). ``claimed``:
    the ids it did get, when the caller needs them to explain."""

    claimed: frozenset[int] = frozenset()


def fan_key(event: Event, owner: str) -> str:
    """The fan's advisory lock (docs/locking.md, step 2)."""
    return f"fan:{event.pk}:{owner}"


def lock_fan_and_check_cap(cursor: CursorWrapper, *, event: Event, owner: str, quantity: int, now: dt.datetime) -> None:
    begin(cursor, fan_key=fan_key(event, owner))
    check_cap_now(cursor, event=event, owner=owner, quantity=quantity, now=now)


def check_cap_now(cursor: CursorWrapper, *, event: Event, owner: str, quantity: int, now: dt.datetime) -> None:
    """The cap check alone, for a transaction that already holds the fan's lock."""
    cursor.execute(sql.FAN_TICKETS, {"event": event.pk, "owner": owner, "now": now})
    check_cap(event, used=records.fetch_count(cursor), quantity=quantity)


def check_cap(event: Event, *, used: int, quantity: int) -> None:
    if used + quantity > event.max_tickets_per_fan:
        left = max(0, event.max_tickets_per_fan - used)
        raise LimitReached(
            f"You can have at most {event.max_tickets_per_fan} tickets for this event; {left} more allowed.",
            allowed=left,
        )


def claim(
    cursor: CursorWrapper,
    *,
    event: Event,
    ids: list[int],
    owner: str,
    order_id: uuid.UUID,
    now: dt.datetime,
    seated_only: bool = False,
    section_id: int | None = None,
) -> list[records.ClaimedRow]:
    """Claim whichever of ``ids`` are claimable (expired locks included)."""
    cursor.execute(
        sql.CLAIM,
        {
            "event": event.pk,
            "ids": ids,
            "owner": owner,
            "order": order_id,
            "now": now,
            "until": now + dt.timedelta(seconds=event.hold_ttl_seconds),
            "seated_only": seated_only,
            "section": section_id,
        },
    )
    return records.fetch(cursor, records.ClaimedRow._make)


def record_hold(
    cursor: CursorWrapper,
    *,
    event: Event,
    owner: str,
    order_id: uuid.UUID,
    rows: list[records.ClaimedRow],
    now: dt.datetime,
    reason: str,
    key: IdempotencyKey | None = None,
) -> Hold:
    """Write the order, its items and the audit rows for a claim that got
    every row it asked for. Orders displaced from expired locks end first, so
    the one-live-order-per-seat constraint holds at every statement."""
    displaced = sorted({row.old_order for row in rows if row.old_order is not None})
    if displaced:
        expire_displaced(cursor, order_ids=displaced, now=now, actor=owner)
    items, total, currency = held_items(rows)
    until = now + dt.timedelta(seconds=event.hold_ttl_seconds)
    cursor.execute(
        sql.INSERT_HOLD,
        {
            "order": order_id,
            "event": event.pk,
            "owner": owner,
            "total": total,
            "currency": currency,
            "count": len(items),
            "until": until,
            "now": now,
            "items": [i.id for i in items],
            "prices": [i.price for i in items],
            "fees": [i.fee for i in items],
            "froms": [row.old_status for row in rows],
            "reason": reason,
            **_key_params(key),
        },
    )
    return Hold(
        order_id=order_id, status=OrderStatus.HELD, expires_at=until, total=total, currency=currency, items=items
    )


def fast_hold_params(
    *,
    event: Event,
    owner: str,
    ids: list[int],
    order_id: uuid.UUID,
    now: dt.datetime,
    reason: str,
    seated_only: bool = False,
    section_id: int | None = None,
    key: IdempotencyKey | None = None,
) -> dict[str, Any]:
    """The parameters of ``sql.FAST_HOLD``."""
    return {
        "event": event.pk,
        "owner": owner,
        "ids": ids,
        "count": len(ids),
        "max": event.max_tickets_per_fan,
        "order": order_id,
        "now": now,
        "until": now + dt.timedelta(seconds=event.hold_ttl_seconds),
        "seated_only": seated_only,
        "section": section_id,
        "reason": reason,
        **_key_params(key),
    }


def fast_result(event: Event, order_id: uuid.UUID, rows: list[records.ClaimedRow], now: dt.datetime) -> Hold:
    """The hold the fast statement wrote (it computed the same total in SQL)."""
    items, total, currency = held_items(rows)
    return Hold(
        order_id=order_id,
        status=OrderStatus.HELD,
        expires_at=now + dt.timedelta(seconds=event.hold_ttl_seconds),
        total=total,
        currency=currency,
        items=items,
    )


def held_items(rows: list[records.ClaimedRow]) -> tuple[tuple[HeldItem, ...], Decimal, str]:
    """Claimed rows → items in id order, total, currency."""
    rows = sorted(rows, key=lambda r: r.id)
    items = tuple(
        HeldItem(
            id=r.id,
            section=r.section,
            row=r.row,
            number=r.number if r.place is None else None,
            place=r.place,
            price=r.price,
            fee=r.fee,
        )
        for r in rows
    )
    return items, sum((i.price + i.fee for i in items), Decimal("0.00")), rows[0].currency


def _key_params(key: IdempotencyKey | None) -> dict[str, str | None]:
    return {"key": key.key if key else None, "key_hash": key.request_hash if key else None}
