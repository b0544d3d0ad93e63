"""Seat holds and the order lifecycle: claim, release, checkout, sale, expiry.

Seat states: AVAILABLE → SOFT_LOCKED (cart) → HARD_LOCKED (paying) → SOLD.
Order states: HELD → PAYMENT_PENDING → PAID, or → CANCELLED / EXPIRED / FAILED.
Every function owns its transaction and follows the protocol of
``inventory.services.locking`` (docs/locking.md). Every error leaves the
database as it was.

Time: each function takes ``now`` (default: the application clock) and uses it
for every comparison, so tests control expiry without sleeping.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn

from django.utils import timezone

from inventory import hooks, selectors
from inventory.models import AuditEntry, Event, ItemStatus, Order, OrderStatus, Section
from inventory.services.locking import Busy, begin, inventory_transaction
from ticketing.inputs import shown
from ticketing.memo import Memo

SYSTEM = "system"
MAX_ATTEMPTS = 3
OPEN_ORDER_STATUSES = (OrderStatus.HELD, OrderStatus.PAYMENT_PENDING)
DONE_ORDER_STATUSES = (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.FAILED)


# --- errors -------------------------------------------------------------------


class HoldError(Exception):
    """A refused request: nothing was changed. ``status`` is the HTTP status."""

    status = 400
    code = "invalid_request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra


class InvalidHold(HoldError):
    status = 400


class SaleNotOpen(HoldError):
    status = 409
    code = "sale_not_open"


class SeatsUnavailable(HoldError):
    status = 409
    code = "seats_unavailable"

    def __init__(self, unavailable: Sequence[int]) -> None:
        super().__init__(
            "Some of these seats were just taken by someone else; pick others.", unavailable=sorted(unavailable)
        )
        self.unavailable = sorted(unavailable)


class NotEnoughSeats(HoldError):
    status = 409
    code = "not_enough_seats"


class LimitReached(HoldError):
    status = 409
    code = "ticket_limit_reached"


class OrderNotFound(HoldError):
    status = 404
    code = "order_not_found"


class InvalidTransition(HoldError):
    status = 409
    code = "invalid_transition"


class HoldExpired(HoldError):
    status = 409
    code = "hold_expired"


class _Shortfall(Exception):
    """Internal: the claim got fewer rows than asked; roll back and explain."""

    def __init__(self, claimed: Iterable[int] = ()) -> None:
        super().__init__()
        self.claimed = set(claimed)


class _Raced(Exception):
    """Internal: the order changed under us between read and write; retry."""


# --- results ------------------------------------------------------------------


@dataclass(frozen=True)
class HeldItem:
    id: int
    section: str
    row: str
    number: int | None
    place: int | None
    price: Decimal
    fee: Decimal


@dataclass(frozen=True)
class Hold:
    order_id: uuid.UUID
    status: str
    expires_at: dt.datetime
    total: Decimal
    currency: str
    items: tuple[HeldItem, ...]


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's key for one hold request and the hash of that request,
    written on the order the hold creates, in the same statement
    (inventory.services.idempotency decides what a repeated key means)."""

    key: str
    request_hash: str


def _key_params(key: IdempotencyKey | None) -> dict[str, str | None]:
    return {"key": key.key if key else None, "key_hash": key.request_hash if key else None}


# --- SQL ------------------------------------------------------------------------

_CLAIMABLE = "(i.status = 'AVAILABLE' OR (i.status IN ('SOFT_LOCKED', 'HARD_LOCKED') AND i.locked_until <= %(now)s))"

_FAN_TICKETS_SQL = """
    SELECT coalesce(sum(ticket_count), 0) FROM inventory_order
    WHERE event_id = %(event)s AND owner = %(owner)s
      AND (status IN ('PAID', 'PAYMENT_PENDING') OR (status = 'HELD' AND expires_at > %(now)s))
"""

# The claim: one statement, rows locked in id order, re-checked after any wait.
_CLAIM_SQL = f"""
    WITH target AS (
        SELECT i.id, i.status AS old_status, i.order_id AS old_order, s.code, pt.price, pt.fee, pt.currency
        FROM inventory_item i
        JOIN inventory_section s ON s.id = i.section_id
        JOIN inventory_pricetier pt ON pt.event_id = i.event_id AND pt.section_id = i.section_id
        WHERE i.event_id = %(event)s AND i.id = ANY(%(ids)s) AND {_CLAIMABLE}
          AND (NOT %(seated_only)s OR i.seat_id IS NOT NULL)
          AND (%(section)s::bigint IS NULL OR i.section_id = %(section)s::bigint)
        ORDER BY i.id
        FOR UPDATE OF i
    )
    UPDATE inventory_item i
    SET status = 'SOFT_LOCKED', locked_by = %(owner)s, locked_until = %(until)s, order_id = %(order)s,
        version = i.version + 1, updated_at = %(now)s
    FROM target
    WHERE i.id = target.id AND i.id = ANY(%(ids)s)  -- keeps the plan on the primary key, with or without stats
    RETURNING i.id, target.old_status, target.old_order, target.code, i.row_label, i.number, i.place_number,
              i.seat_id, target.price, target.fee, target.currency
"""

_INSERT_HOLD_SQL = """
    WITH new_order AS (
        INSERT INTO inventory_order
            (id, event_id, owner, status, total, currency, ticket_count, expires_at, created_at, updated_at,
             idempotency_key, request_hash)
        VALUES (%(order)s, %(event)s, %(owner)s, 'HELD', %(total)s, %(currency)s, %(count)s, %(until)s,
                %(now)s, %(now)s, %(key)s, %(key_hash)s)
    ), new_items AS (
        INSERT INTO inventory_orderitem (order_id, item_id, price, fee, is_live)
        SELECT %(order)s, t.item, t.price, t.fee, true
        FROM unnest(%(items)s::bigint[], %(prices)s::numeric[], %(fees)s::numeric[]) AS t(item, price, fee)
    )
    INSERT INTO inventory_auditentry
        (created_at, event_id, subject, order_id, item_id, from_status, to_status, reason, actor, data)
    SELECT %(now)s, %(event)s, 'item', %(order)s, t.item, t.from_status, 'SOFT_LOCKED', %(reason)s, %(owner)s,
           '{}'::jsonb
    FROM unnest(%(items)s::bigint[], %(froms)s::text[]) AS t(item, from_status)
    UNION ALL
    SELECT %(now)s, %(event)s, 'order', %(order)s, NULL, '', 'HELD', %(reason)s, %(owner)s, '{}'::jsonb
"""

# The common case in one statement: free seats only (no expired lock to take
# over, so no order to displace), the fan's cap checked in the same snapshot
# (taken after the fan's advisory lock), then the order, its lines and the
# audit rows. Fewer rows than asked → the caller rolls back; when the rows the
# statement adds about each id show the seats are simply taken, it refuses at
# once, otherwise the general path explains or handles the difference.
_FAST_HOLD_SQL = """
    WITH used AS (
        SELECT coalesce(sum(ticket_count), 0) AS n FROM inventory_order
        WHERE event_id = %(event)s AND owner = %(owner)s
          AND (status IN ('PAID', 'PAYMENT_PENDING') OR (status = 'HELD' AND expires_at > %(now)s))
    ), target AS (
        SELECT i.id, s.code, pt.price, pt.fee, pt.currency
        FROM inventory_item i
        JOIN inventory_section s ON s.id = i.section_id
        JOIN inventory_pricetier pt ON pt.event_id = i.event_id AND pt.section_id = i.section_id
        WHERE i.event_id = %(event)s AND i.id = ANY(%(ids)s) AND i.status = 'AVAILABLE'
          AND (NOT %(seated_only)s OR i.seat_id IS NOT NULL)
          AND (%(section)s::bigint IS NULL OR i.section_id = %(section)s::bigint)
          AND (SELECT n FROM used) + %(count)s <= %(max)s
        ORDER BY i.id
        FOR UPDATE OF i
    ), claimed AS (
        UPDATE inventory_item i
        SET status = 'SOFT_LOCKED', locked_by = %(owner)s, locked_until = %(until)s, order_id = %(order)s,
            version = i.version + 1, updated_at = %(now)s
        FROM target
        WHERE i.id = target.id AND i.id = ANY(%(ids)s)
        RETURNING i.id, target.code, i.row_label, i.number, i.place_number, target.price, target.fee, target.currency
    ), new_order AS (
        INSERT INTO inventory_order
            (id, event_id, owner, status, total, currency, ticket_count, expires_at, created_at, updated_at,
             idempotency_key, request_hash)
        SELECT %(order)s, %(event)s, %(owner)s, 'HELD', coalesce(sum(c.price + c.fee), 0),
               coalesce(min(c.currency), 'EUR'), count(*), %(until)s, %(now)s, %(now)s, %(key)s, %(key_hash)s
        FROM claimed c
    ), new_items AS (
        INSERT INTO inventory_orderitem (order_id, item_id, price, fee, is_live)
        SELECT %(order)s, c.id, c.price, c.fee, true FROM claimed c
    ), audit AS (
        INSERT INTO inventory_auditentry
            (created_at, event_id, subject, order_id, item_id, from_status, to_status, reason, actor, data)
        SELECT %(now)s, %(event)s, 'item', %(order)s, c.id, 'AVAILABLE', 'SOFT_LOCKED', %(reason)s, %(owner)s,
               '{}'::jsonb
        FROM claimed c
        UNION ALL
        SELECT %(now)s, %(event)s, 'order', %(order)s, NULL, '', 'HELD', %(reason)s, %(owner)s, '{}'::jsonb
    ), seen AS (
        SELECT i.id, i.status, i.locked_until,
               (i.seat_id IS NOT NULL OR NOT %(seated_only)s)
               AND (%(section)s::bigint IS NULL OR i.section_id = %(section)s::bigint) AS valid
        FROM inventory_item i
        WHERE i.event_id = %(event)s AND i.id = ANY(%(ids)s)
    )
    SELECT c.id, 'AVAILABLE', NULL::uuid, c.code, c.row_label, c.number, c.place_number, NULL::bigint, c.price,
           c.fee, c.currency, 'held', NULL::bigint
    FROM claimed c
    UNION ALL
    -- Only when the claim fell short: what this snapshot saw of each id, so a
    -- plain "someone else has them" needs no second transaction to explain.
    SELECT s.id, s.status, NULL::uuid, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           CASE WHEN NOT s.valid THEN 'invalid'
                WHEN s.status = 'SOLD' OR s.locked_until > %(now)s THEN 'taken'
                WHEN s.status = 'AVAILABLE' THEN 'raced'
                ELSE 'expired' END,
           (SELECT n FROM used)
    FROM seen s
    WHERE (SELECT count(*) FROM claimed) < %(count)s
"""

_PICK_FREE_SQL = """
    SELECT i.id, i.row_index, i.number, i.rank FROM inventory_item i
    WHERE i.event_id = %(event)s AND i.section_id = %(section)s AND i.status = 'AVAILABLE'
    ORDER BY i.rank, i.row_index, i.number
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
"""

_PICK_EXPIRED_SQL = """
    SELECT i.id, i.row_index, i.number, i.rank FROM inventory_item i
    WHERE i.event_id = %(event)s AND i.section_id = %(section)s
      AND i.status IN ('SOFT_LOCKED', 'HARD_LOCKED') AND i.locked_until <= %(now)s
    ORDER BY i.rank, i.row_index, i.number
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
"""

# Runs of adjacent free seats long enough for the party, for when the best
# seats are too scattered (read without locks; the pick is locked afterwards).
_FREE_RUNS_SQL = """
    WITH free AS (
        SELECT i.id, i.row_index, i.number, i.rank,
               i.number - row_number() OVER (PARTITION BY i.row_index ORDER BY i.number) AS grp
        FROM inventory_item i
        WHERE i.event_id = %(event)s AND i.section_id = %(section)s AND i.status = 'AVAILABLE'
    ), runs AS (
        SELECT row_index, grp FROM free GROUP BY row_index, grp HAVING count(*) >= %(n)s
    )
    SELECT f.id, f.row_index, f.number, f.rank FROM free f JOIN runs r USING (row_index, grp)
"""

_LOCK_IDS_SQL = f"""
    SELECT i.id, i.row_index, i.number, i.rank FROM inventory_item i
    WHERE i.id = ANY(%(ids)s) AND {_CLAIMABLE}
    ORDER BY i.id
    FOR UPDATE SKIP LOCKED
"""

_CLAIMABLE_COUNT_SQL = f"""
    SELECT count(*) FROM inventory_item i
    WHERE i.event_id = %(event)s AND i.section_id = %(section)s AND {_CLAIMABLE}
"""

_EXPIRE_DISPLACED_SQL = """
    WITH old AS (
        SELECT id, status FROM inventory_order
        WHERE id = ANY(%(orders)s) AND status IN ('HELD', 'PAYMENT_PENDING')
        ORDER BY id
        FOR UPDATE
    )
    UPDATE inventory_order o SET status = 'EXPIRED', updated_at = %(now)s
    FROM old WHERE o.id = old.id
    RETURNING o.id, old.status, o.event_id
"""

_UNLIVE_SQL = "UPDATE inventory_orderitem SET is_live = false WHERE order_id = ANY(%(orders)s) AND is_live"

_FREE_ORDER_ITEMS_SQL = """
    WITH target AS (
        SELECT id, status, order_id FROM inventory_item
        WHERE order_id = ANY(%(orders)s) AND status IN ('SOFT_LOCKED', 'HARD_LOCKED')
        ORDER BY id
        FOR UPDATE
    )
    UPDATE inventory_item i
    SET status = 'AVAILABLE', locked_by = NULL, locked_until = NULL, order_id = NULL,
        version = i.version + 1, updated_at = %(now)s
    FROM target WHERE i.id = target.id
    RETURNING i.id, target.status, target.order_id, i.event_id
"""

_END_ORDERS_SQL = """
    WITH old AS (
        SELECT id, status FROM inventory_order
        WHERE id = ANY(%(orders)s) AND status = ANY(%(from)s) AND (NOT %(expired_only)s OR expires_at <= %(now)s)
        ORDER BY id
        FOR UPDATE
    )
    UPDATE inventory_order o SET status = %(to)s, updated_at = %(now)s
    FROM old WHERE o.id = old.id
    RETURNING o.id, old.status, o.event_id
"""

_CHECKOUT_ITEMS_SQL = """
    WITH target AS (
        SELECT id FROM inventory_item
        WHERE order_id = %(order)s AND status = 'SOFT_LOCKED' AND locked_until > %(now)s
        ORDER BY id
        FOR UPDATE
    )
    UPDATE inventory_item i SET status = 'HARD_LOCKED', locked_until = %(until)s,
        version = i.version + 1, updated_at = %(now)s
    FROM target WHERE i.id = target.id
    RETURNING i.id, i.event_id
"""

# Honours a successful payment even past the checkout deadline, as long as
# nobody claimed the seats meanwhile (they still point at this order).
_SELL_ITEMS_SQL = """
    WITH target AS (
        SELECT id FROM inventory_item
        WHERE order_id = %(order)s AND status = 'HARD_LOCKED'
        ORDER BY id
        FOR UPDATE
    )
    UPDATE inventory_item i SET status = 'SOLD', sold_to = i.locked_by, sold_at = %(now)s,
        locked_by = NULL, locked_until = NULL, version = i.version + 1, updated_at = %(now)s
    FROM target WHERE i.id = target.id
    RETURNING i.id, i.event_id
"""

_SWEEP_BATCH_SQL = """
    WITH batch AS (
        SELECT i.id, i.status, i.order_id FROM inventory_item i
        JOIN inventory_order o ON o.id = i.order_id
        WHERE i.status IN ('SOFT_LOCKED', 'HARD_LOCKED') AND i.locked_until <= %(now)s
          AND o.status <> 'PAYMENT_PENDING'
        ORDER BY i.id
        LIMIT %(limit)s
        FOR UPDATE OF i SKIP LOCKED
    )
    UPDATE inventory_item i
    SET status = 'AVAILABLE', locked_by = NULL, locked_until = NULL, order_id = NULL,
        version = i.version + 1, updated_at = %(now)s
    FROM batch WHERE i.id = batch.id
    RETURNING i.id, batch.status, batch.order_id, i.event_id
"""


# --- validation -------------------------------------------------------------------


def _ensure_on_sale(event: Event, now: dt.datetime) -> None:
    if not event.is_published or event.sale_phase(now) != "ON_SALE":
        raise SaleNotOpen("This event is not on sale right now.")


def _check_quantity(event: Event, quantity: object) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise InvalidHold("'quantity' must be an integer.", code="invalid_quantity")
    if quantity < 1:
        raise InvalidHold("'quantity' must be at least 1.", code="invalid_quantity")
    if quantity > event.max_tickets_per_order:
        raise InvalidHold(f"At most {event.max_tickets_per_order} tickets per order.", code="too_many_tickets")
    return quantity


def _check_ids(event: Event, item_ids: object) -> list[int]:
    if not isinstance(item_ids, list | tuple):
        raise InvalidHold("'seat_ids' must be a list of seat ids.", code="invalid_seat_ids")
    if not item_ids:
        raise InvalidHold("Pick at least one seat.", code="invalid_seat_ids")
    if any(not isinstance(i, int) or isinstance(i, bool) or i < 1 for i in item_ids):
        raise InvalidHold("Every seat id must be a positive integer.", code="invalid_seat_ids")
    if len(set(item_ids)) != len(item_ids):
        raise InvalidHold("A seat id appears twice.", code="duplicate_seat_ids")
    if len(item_ids) > event.max_tickets_per_order:
        raise InvalidHold(f"At most {event.max_tickets_per_order} tickets per order.", code="too_many_tickets")
    if any(i > 2**63 - 1 for i in item_ids):
        raise InvalidHold("Unknown seat id.", code="unknown_seats")
    return sorted(item_ids)


# (venue id, code) → Section. A venue's sections are fixed once an event has
# inventory, and best-available asks for one on every hold. Only sections
# that exist are kept: made-up codes never take a place.
_SECTIONS: Memo[tuple[int, str], Section] = Memo("inventory.section", maxsize=4096, ttl=None)


def _section(event: Event, code: object) -> Section:
    if not isinstance(code, str) or not code:
        raise InvalidHold("'section' must be a section code.", code="invalid_section")
    if not selectors.is_section_code(code):
        raise InvalidHold(f"No section {shown(code)} at this venue.", code="unknown_section")
    key = (event.venue_id, code)
    section = _SECTIONS.get(key)
    if section is None:
        section = Section.objects.filter(venue_id=event.venue_id, code=code).first()
        if section is None:
            raise InvalidHold(f"No section {shown(code)} at this venue.", code="unknown_section")
        _SECTIONS.set(key, section)
    return section


# --- holds -------------------------------------------------------------------------


def _fan_key(event: Event, owner: str) -> str:
    return f"fan:{event.pk}:{owner}"


def _lock_fan_and_check_cap(cursor: Any, *, event: Event, owner: str, quantity: int, now: dt.datetime) -> None:
    begin(cursor, fan_key=_fan_key(event, owner))
    _check_cap_now(cursor, event=event, owner=owner, quantity=quantity, now=now)


def _check_cap_now(cursor: Any, *, event: Event, owner: str, quantity: int, now: dt.datetime) -> None:
    """The cap check alone, for a transaction that already holds the fan's lock."""
    cursor.execute(_FAN_TICKETS_SQL, {"event": event.pk, "owner": owner, "now": now})
    _check_cap(event, used=int(cursor.fetchone()[0]), quantity=quantity)


def _check_cap(event: Event, *, used: int, quantity: int) -> None:
    if used + quantity > event.max_tickets_per_order:
        left = max(0, event.max_tickets_per_order - used)
        raise LimitReached(
            f"You can have at most {event.max_tickets_per_order} tickets for this event; {left} more allowed.",
            allowed=left,
        )


def _claim(
    cursor: Any,
    *,
    event: Event,
    ids: list[int],
    owner: str,
    order_id: uuid.UUID,
    now: dt.datetime,
    seated_only: bool = False,
    section_id: int | None = None,
) -> list[tuple[Any, ...]]:
    cursor.execute(
        _CLAIM_SQL,
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
    rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _record_hold(
    cursor: Any,
    *,
    event: Event,
    owner: str,
    order_id: uuid.UUID,
    rows: list[tuple[Any, ...]],
    now: dt.datetime,
    reason: str,
    key: IdempotencyKey | None = None,
) -> Hold:
    """Write the order, its items and the audit rows for a claim that got
    every row it asked for. Orders displaced from expired locks end first, so
    the one-live-order-per-seat constraint holds at every statement."""
    displaced = sorted({row[2] for row in rows if row[2] is not None})
    if displaced:
        _expire_displaced(cursor, order_ids=displaced, now=now, actor=owner)
    items, total, currency = _held_items(rows)
    until = now + dt.timedelta(seconds=event.hold_ttl_seconds)
    cursor.execute(
        _INSERT_HOLD_SQL,
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
            "froms": [r[1] for r in rows],
            "reason": reason,
            **_key_params(key),
        },
    )
    return Hold(
        order_id=order_id,
        status=OrderStatus.HELD,
        expires_at=until,
        total=total,
        currency=currency,
        items=items,
    )


def _held_items(rows: list[tuple[Any, ...]]) -> tuple[tuple[HeldItem, ...], Decimal, str]:
    """Claim rows (id, old status, old order, section, row, number, place,
    seat, price, fee, currency) → items in id order, total, currency."""
    rows = sorted(rows, key=lambda r: r[0])
    items = tuple(
        HeldItem(
            id=r[0],
            section=r[3],
            row=r[4],
            number=r[5] if r[6] is None else None,
            place=r[6],
            price=r[8],
            fee=r[9],
        )
        for r in rows
    )
    return items, sum((i.price + i.fee for i in items), Decimal("0.00")), rows[0][10]


def _fast_hold_params(
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
    return {
        "event": event.pk,
        "owner": owner,
        "ids": ids,
        "count": len(ids),
        "max": event.max_tickets_per_order,
        "order": order_id,
        "now": now,
        "until": now + dt.timedelta(seconds=event.hold_ttl_seconds),
        "seated_only": seated_only,
        "section": section_id,
        "reason": reason,
        **_key_params(key),
    }


def _plainly_taken(ids: list[int], rows: list[tuple[Any, ...]], *, max_tickets: int) -> list[int]:
    """From a short one-statement claim's rows, the requested ids that other
    fans hold or bought, when that alone explains the shortfall: every id is
    a valid seat, none is an expired lock to take over, and the fan's cap was
    not the reason. Otherwise [] and the general path decides."""
    held = {row[0] for row in rows if row[11] == "held"}
    seen = {row[0]: row for row in rows if row[11] != "held"}
    if set(ids) - seen.keys() or not seen:
        return []
    if any(row[11] in ("invalid", "expired") for row in seen.values()):
        return []
    used = next(iter(seen.values()))[12]
    if used + len(ids) > max_tickets:
        return []
    return sorted(i for i in ids if i not in held)


def _fast_result(event: Event, order_id: uuid.UUID, rows: list[tuple[Any, ...]], now: dt.datetime) -> Hold:
    items, total, currency = _held_items(rows)
    return Hold(
        order_id=order_id,
        status=OrderStatus.HELD,
        expires_at=now + dt.timedelta(seconds=event.hold_ttl_seconds),
        total=total,
        currency=currency,
        items=items,
    )


def _expire_displaced(cursor: Any, *, order_ids: list[uuid.UUID], now: dt.datetime, actor: str) -> None:
    cursor.execute(_EXPIRE_DISPLACED_SQL, {"orders": order_ids, "now": now})
    ended = cursor.fetchall()
    cursor.execute(_UNLIVE_SQL, {"orders": order_ids})
    _audit_orders(ended, to_status=OrderStatus.EXPIRED, reason="lock_expired_claimed", actor=actor, now=now)


def hold_seats(
    *,
    event: Event,
    owner: str,
    seat_ids: Sequence[int],
    section_code: str | None = None,
    now: dt.datetime | None = None,
    idempotency: IdempotencyKey | None = None,
) -> Hold:
    """Hold exactly these seats for ``owner``, all or nothing.

    Raises InvalidHold (bad ids, ids of another event or section, too many),
    SaleNotOpen, LimitReached, SeatsUnavailable (with the taken ids) or Busy.
    With ``idempotency``, the order carries the key, and an order of the
    same fan that already has it makes the insert fail (IntegrityError on
    ``order_idempotency_key_unique``): call through
    ``inventory.services.idempotency``, which handles that.
    """
    now = now or timezone.now()
    ids = _check_ids(event, seat_ids)
    section = _section(event, section_code) if section_code is not None else None
    _ensure_on_sale(event, now)
    order_id = uuid.uuid4()
    try:
        with inventory_transaction() as cursor:
            params = _fast_hold_params(
                event=event,
                owner=owner,
                ids=ids,
                order_id=order_id,
                now=now,
                reason="hold",
                seated_only=True,
                section_id=section.pk if section else None,
                key=idempotency,
            )
            begin(cursor, fan_key=_fan_key(event, owner), then=_FAST_HOLD_SQL, params=params)
            rows = cursor.fetchall()
            held = [row for row in rows if row[11] == "held"]
            if len(held) != len(ids):
                taken = _plainly_taken(ids, rows, max_tickets=event.max_tickets_per_order)
                if taken:
                    raise SeatsUnavailable(taken)  # rolls back the partial claim
                raise _Shortfall()
            return _fast_result(event, order_id, held, now)
    except _Shortfall:
        pass  # expired locks to take over, over the cap or bad ids: the general path tells which
    order_id = uuid.uuid4()
    try:
        with inventory_transaction() as cursor:
            _lock_fan_and_check_cap(cursor, event=event, owner=owner, quantity=len(ids), now=now)
            rows = _claim(
                cursor,
                event=event,
                ids=ids,
                owner=owner,
                order_id=order_id,
                now=now,
                seated_only=True,
                section_id=section.pk if section else None,
            )
            if len(rows) != len(ids):
                raise _Shortfall(row[0] for row in rows)
            return _record_hold(
                cursor, event=event, owner=owner, order_id=order_id, rows=rows, now=now, reason="hold", key=idempotency
            )
    except _Shortfall as shortfall:
        _explain_shortfall(event=event, ids=ids, section=section, claimed=shortfall.claimed)


def _explain_shortfall(*, event: Event, ids: list[int], section: Section | None, claimed: set[int]) -> NoReturn:
    """Why a claim got fewer rows: foreign ids (400) or taken seats (409)."""
    from inventory.models import InventoryItem

    known = InventoryItem.objects.filter(event=event, id__in=ids, seat__isnull=False)
    if section is not None:
        known = known.filter(section=section)
    unknown = sorted(set(ids) - set(known.values_list("id", flat=True)))
    if unknown:
        where = f"section {section.code}" if section else "this event"
        raise InvalidHold(f"These ids are not seats of {where}: {unknown}.", code="unknown_seats", invalid=unknown)
    raise SeatsUnavailable(sorted(set(ids) - claimed))


def _best_block(candidates: Sequence[tuple[int, int, int, int]], n: int) -> list[int] | None:
    """The n adjacent seats of one row with the best (lowest) total rank."""
    by_row: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    for candidate in candidates:
        by_row[candidate[1]].append(candidate)
    best: tuple[tuple[int, int, int], list[int]] | None = None
    for row_index, seats in by_row.items():
        seats.sort(key=lambda s: s[2])
        for j in range(len(seats) - n + 1):
            window = seats[j : j + n]
            if window[-1][2] - window[0][2] != n - 1:
                continue
            score = (sum(s[3] for s in window), row_index, window[0][2])
            if best is None or score < best[0]:
                best = (score, [s[0] for s in window])
    return best[1] if best else None


def _pick(cursor: Any, *, event: Event, section: Section, n: int, now: dt.datetime) -> tuple[list[int], bool]:
    """Lock and return the ids of the n best claimable units of ``section``
    (adjacent in one row when possible), or fewer when they are not there;
    and whether they are all AVAILABLE (no expired lock among them)."""
    params = {"event": event.pk, "section": section.pk, "now": now}
    if section.is_general_admission:
        cursor.execute(_PICK_FREE_SQL, {**params, "limit": n})
        picked = [row[0] for row in cursor.fetchall()]
        if len(picked) == n:
            return picked, True
        cursor.execute(_PICK_EXPIRED_SQL, {**params, "limit": n - len(picked)})
        return picked + [row[0] for row in cursor.fetchall()], False
    # Lock a few more than needed so concurrent fans, skipping each other's
    # locks, each find an adjacent block in their own slice of the best seats.
    limit = min(max(3 * n, 8), 60)
    cursor.execute(_PICK_FREE_SQL, {**params, "limit": limit})
    candidates = cursor.fetchall()
    free = {c[0] for c in candidates}
    if len(candidates) < limit:
        cursor.execute(_PICK_EXPIRED_SQL, {**params, "limit": limit - len(candidates)})
        candidates += cursor.fetchall()
    block = _best_block(candidates, n) if n > 1 else None
    if block is None and n > 1:
        cursor.execute(_FREE_RUNS_SQL, {**params, "n": n})
        runs = cursor.fetchall()
        for _ in range(3):
            block = _best_block(runs, n)
            if block is None:
                break
            cursor.execute(_LOCK_IDS_SQL, {"ids": block, "now": now})
            if len(cursor.fetchall()) == n:
                return block, False
            runs = [r for r in runs if r[0] not in block]
            block = None
    if block is None:
        candidates = sorted(candidates, key=lambda c: (c[3], c[1], c[2]))
        block = [c[0] for c in candidates[:n]]
    return block, all(i in free for i in block)


def hold_best_available(
    *,
    event: Event,
    owner: str,
    section_code: str,
    quantity: int,
    now: dt.datetime | None = None,
    idempotency: IdempotencyKey | None = None,
) -> Hold:
    """Hold the best ``quantity`` seats of a section (adjacent in one row when
    possible), or ``quantity`` general-admission places.

    Raises InvalidHold, SaleNotOpen, LimitReached, NotEnoughSeats or Busy;
    ``idempotency`` as for ``hold_seats``.
    """
    fixed_now = now
    quantity = _check_quantity(event, quantity)
    section = _section(event, section_code)
    _ensure_on_sale(event, fixed_now or timezone.now())
    for _ in range(MAX_ATTEMPTS):
        now = fixed_now or timezone.now()
        order_id = uuid.uuid4()
        try:
            with inventory_transaction() as cursor:
                begin(cursor, fan_key=_fan_key(event, owner))
                picked, all_free = _pick(cursor, event=event, section=section, n=quantity, now=now)
                if len(picked) == quantity and all_free:
                    # Locked by us and AVAILABLE: the one-statement claim gets
                    # them all unless the fan's cap, which it checks, says no.
                    params = _fast_hold_params(
                        event=event,
                        owner=owner,
                        ids=sorted(picked),
                        order_id=order_id,
                        now=now,
                        reason="hold_best",
                        key=idempotency,
                    )
                    cursor.execute(_FAST_HOLD_SQL, params)
                    rows = cursor.fetchall()
                    held = [row for row in rows if row[11] == "held"]
                    if len(held) == quantity:
                        return _fast_result(event, order_id, held, now)
                    seen = [row for row in rows if row[11] != "held"]
                    if seen:
                        _check_cap(event, used=int(seen[0][12]), quantity=quantity)
                    raise _Shortfall()
                # Expired locks to take over, or too few seats: the cap first.
                _check_cap_now(cursor, event=event, owner=owner, quantity=quantity, now=now)
                if len(picked) < quantity:
                    raise _Shortfall()
                rows = _claim(cursor, event=event, ids=sorted(picked), owner=owner, order_id=order_id, now=now)
                if len(rows) != quantity:
                    raise _Shortfall()
                return _record_hold(
                    cursor,
                    event=event,
                    owner=owner,
                    order_id=order_id,
                    rows=rows,
                    now=now,
                    reason="hold_best",
                    key=idempotency,
                )
        except _Shortfall:
            left = _claimable_count(event=event, section=section, now=now)
            if left < quantity:
                raise NotEnoughSeats(
                    f"Only {left} left in {section.name}." if left else f"{section.name} is sold out.",
                    available=left,
                ) from None
            # Enough exist but other fans hold row locks on them right now.
    raise Busy()


def _claimable_count(*, event: Event, section: Section, now: dt.datetime) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_CLAIMABLE_COUNT_SQL, {"event": event.pk, "section": section.pk, "now": now})
        return int(cursor.fetchone()[0])


# --- order transitions ------------------------------------------------------------


def _get_order(order_id: object, owner: str | None) -> Order:
    try:
        key = uuid.UUID(str(order_id))
    except ValueError:
        raise OrderNotFound("No such order.") from None
    orders = Order.objects.select_related("event")
    if owner is not None:
        orders = orders.filter(owner=owner)
    order = orders.filter(pk=key).first()
    if order is None:
        raise OrderNotFound("No such order.")
    return order


def _end_orders(
    cursor: Any,
    *,
    order_ids: list[uuid.UUID],
    from_statuses: Sequence[str],
    to_status: str,
    reason: str,
    actor: str,
    now: dt.datetime,
) -> list[uuid.UUID]:
    """Free the orders' locked items, then move the orders ``from → to``.
    Returns the orders that moved; the caller decides whether fewer is fine."""
    cursor.execute(_FREE_ORDER_ITEMS_SQL, {"orders": order_ids, "now": now})
    freed = cursor.fetchall()
    cursor.execute(
        _END_ORDERS_SQL,
        {"orders": order_ids, "from": list(from_statuses), "to": to_status, "now": now, "expired_only": False},
    )
    ended = cursor.fetchall()
    moved = [row[0] for row in ended]
    if moved:
        cursor.execute(_UNLIVE_SQL, {"orders": moved})
    _audit_items(freed, to_status=ItemStatus.AVAILABLE, reason=reason, actor=actor, now=now)
    _audit_orders(ended, to_status=to_status, reason=reason, actor=actor, now=now)
    return moved


def release_order(
    *,
    order_id: uuid.UUID | str,
    owner: str | None = None,
    actor: str = SYSTEM,
    reason: str = "released",
    final_status: str = OrderStatus.CANCELLED,
    payment_cleared: bool = False,
    now: dt.datetime | None = None,
) -> Order:
    """Give an order's seats back and end it (CANCELLED by default; EXPIRED or
    FAILED for the sweeper and payments). ``owner`` restricts to the fan's own
    orders (another fan's order is OrderNotFound).

    An order in PAYMENT_PENDING goes through ``hooks.release_with_payment``
    first unless ``payment_cleared`` (the payments app says there is no
    payment to honour). Releasing an order that already ended is a no-op; a
    PAID order cannot be released (InvalidTransition).
    """
    if final_status not in DONE_ORDER_STATUSES:
        raise ValueError(f"final_status must be one of {DONE_ORDER_STATUSES}")
    for _ in range(MAX_ATTEMPTS):
        order = _get_order(order_id, owner)
        if order.status in DONE_ORDER_STATUSES:
            return order
        if order.status == OrderStatus.PAID:
            raise InvalidTransition("This order is paid; ask for a refund instead.")
        if order.status == OrderStatus.PAYMENT_PENDING and not payment_cleared:
            hooks.release_with_payment(order_id=order.pk, final_status=final_status, reason=reason, actor=actor)
            order.refresh_from_db()
            return order
        try:
            with inventory_transaction() as cursor:
                begin(cursor)
                moved = _end_orders(
                    cursor,
                    order_ids=[order.pk],
                    from_statuses=[order.status],
                    to_status=final_status,
                    reason=reason,
                    actor=actor,
                    now=now or timezone.now(),
                )
                if not moved:
                    raise _Raced()
        except _Raced:
            continue
        order.refresh_from_db()
        return order
    raise Busy()


def expire_order(*, order_id: uuid.UUID | str, now: dt.datetime | None = None) -> Order:
    """End an open order whose deadline has passed (EXPIRED); a checkout goes
    through the payment hook. An order still in time is left alone."""
    now = now or timezone.now()
    order = _get_order(order_id, None)
    if order.status not in OPEN_ORDER_STATUSES or (order.expires_at and order.expires_at > now):
        return order
    return release_order(order_id=order.pk, actor=SYSTEM, reason="expired", final_status=OrderStatus.EXPIRED, now=now)


def start_checkout(*, order_id: uuid.UUID | str, owner: str, now: dt.datetime | None = None) -> Order:
    """HELD → PAYMENT_PENDING; the order's seats go SOFT_LOCKED → HARD_LOCKED
    with the checkout deadline. Refused when any seat's hold has expired."""
    now = now or timezone.now()
    order = _get_order(order_id, owner)
    if order.status != OrderStatus.HELD:
        raise InvalidTransition(f"An order in {order.status} cannot start checkout.")
    until = now + dt.timedelta(seconds=order.event.checkout_ttl_seconds)
    with inventory_transaction() as cursor:
        begin(cursor, then=_CHECKOUT_ITEMS_SQL, params={"order": order.pk, "now": now, "until": until})
        items = cursor.fetchall()
        if len(items) != order.ticket_count:
            raise HoldExpired("Your hold has expired; pick your seats again.")
        updated = Order.objects.filter(pk=order.pk, status=OrderStatus.HELD, expires_at__gt=now).update(
            status=OrderStatus.PAYMENT_PENDING, expires_at=until, updated_at=now
        )
        if updated != 1:
            raise HoldExpired("Your hold has expired; pick your seats again.")
        _audit_items(
            items,
            from_status=ItemStatus.SOFT_LOCKED,
            to_status=ItemStatus.HARD_LOCKED,
            reason="checkout",
            actor=owner,
            now=now,
            order_id=order.pk,
        )
        _audit_orders(
            [(order.pk, OrderStatus.HELD, order.event_id)],
            to_status=OrderStatus.PAYMENT_PENDING,
            reason="checkout",
            actor=owner,
            now=now,
        )
    order.refresh_from_db()
    return order


def sell_order(
    *, order_id: uuid.UUID | str, actor: str = "payments", reason: str = "paid", now: dt.datetime | None = None
) -> Order:
    """PAYMENT_PENDING → PAID; every seat HARD_LOCKED → SOLD. Only payment
    confirmation calls this. Raises InvalidTransition when the order is not
    in checkout or lost a seat (the caller refunds)."""
    now = now or timezone.now()
    order = _get_order(order_id, None)
    if order.status == OrderStatus.PAID:
        return order
    if order.status != OrderStatus.PAYMENT_PENDING:
        raise InvalidTransition(f"An order in {order.status} cannot be sold.")
    with inventory_transaction() as cursor:
        begin(cursor, then=_SELL_ITEMS_SQL, params={"order": order.pk, "now": now})
        items = cursor.fetchall()
        if len(items) != order.ticket_count:
            raise InvalidTransition("The order lost its seats before the payment completed.")
        updated = Order.objects.filter(pk=order.pk, status=OrderStatus.PAYMENT_PENDING).update(
            status=OrderStatus.PAID, paid_at=now, updated_at=now
        )
        if updated != 1:
            raise InvalidTransition("The order changed while it was being paid.")
        _audit_items(
            items,
            from_status=ItemStatus.HARD_LOCKED,
            to_status=ItemStatus.SOLD,
            reason=reason,
            actor=actor,
            now=now,
            order_id=order.pk,
        )
        _audit_orders(
            [(order.pk, OrderStatus.PAYMENT_PENDING, order.event_id)],
            to_status=OrderStatus.PAID,
            reason=reason,
            actor=actor,
            now=now,
        )
    order.refresh_from_db()
    return order


def sweep_expired(*, now: dt.datetime | None = None, batch_size: int = 500, max_batches: int = 20) -> int:
    """Free expired locks in SKIP LOCKED batches and expire their orders;
    then send checkouts past their deadline through the payment hook.
    Returns how many seats were freed. Safe to run concurrently."""
    freed_total = 0
    for _ in range(max_batches):
        at = now or timezone.now()
        with inventory_transaction() as cursor:
            begin(cursor, then=_SWEEP_BATCH_SQL, params={"now": at, "limit": batch_size})
            freed = cursor.fetchall()
            if freed:
                order_ids = sorted({row[2] for row in freed})
                cursor.execute(
                    _END_ORDERS_SQL,
                    {
                        "orders": order_ids,
                        "from": [OrderStatus.HELD],
                        "to": OrderStatus.EXPIRED,
                        "now": at,
                        "expired_only": True,
                    },
                )
                ended = cursor.fetchall()
                if ended:
                    cursor.execute(_UNLIVE_SQL, {"orders": [row[0] for row in ended]})
                _audit_items(freed, to_status=ItemStatus.AVAILABLE, reason="expired", actor=SYSTEM, now=at)
                _audit_orders(ended, to_status=OrderStatus.EXPIRED, reason="expired", actor=SYSTEM, now=at)
        freed_total += len(freed)
        if len(freed) < batch_size:
            break
    at = now or timezone.now()
    late = Order.objects.filter(status=OrderStatus.PAYMENT_PENDING, expires_at__lte=at).order_by("expires_at")
    for order_id in late.values_list("id", flat=True)[:batch_size]:
        try:
            expire_order(order_id=order_id, now=at)
        except (Busy, HoldError):
            continue  # the next sweep tries again
    return freed_total


# --- audit -------------------------------------------------------------------------


def _audit_items(
    rows: Sequence[tuple[Any, ...]],
    *,
    to_status: str,
    reason: str,
    actor: str,
    now: dt.datetime,
    from_status: str | None = None,
    order_id: uuid.UUID | None = None,
) -> None:
    """rows: (item_id, from_status, order_id, event_id) or, with ``from_status``
    and ``order_id`` given, (item_id, event_id)."""
    entries = []
    for row in rows:
        if from_status is None:
            item_id, old, order, event_id = row[0], row[1], row[2], row[3]
        else:
            item_id, old, order, event_id = row[0], from_status, order_id, row[1]
        entries.append(
            AuditEntry(
                created_at=now,
                event_id=event_id,
                subject=AuditEntry.Subject.ITEM,
                order_id=order,
                item_id=item_id,
                from_status=old,
                to_status=to_status,
                reason=reason,
                actor=actor,
            )
        )
    if entries:
        AuditEntry.objects.bulk_create(entries)


def _audit_orders(
    rows: Sequence[tuple[Any, ...]], *, to_status: str, reason: str, actor: str, now: dt.datetime
) -> None:
    """rows: (order_id, from_status, event_id)."""
    if rows:
        AuditEntry.objects.bulk_create(
            AuditEntry(
                created_at=now,
                event_id=event_id,
                subject=AuditEntry.Subject.ORDER,
                order_id=order,
                from_status=old,
                to_status=to_status,
                reason=reason,
                actor=actor,
            )
            for order, old, event_id in rows
        )
