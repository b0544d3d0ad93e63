"""The order lifecycle after the hold: release, expiry, checkout, sale.

Order states: HELD → PAYMENT_PENDING → PAID (→ REFUNDED, see ``refunds``), or
→ CANCELLED / EXPIRED / FAILED. Every ending goes through one step,
``end_orders`` (the sweeper, the takeover of expired locks and refunds use it
too).

Orders with a payment in flight. Releasing a PAYMENT_PENDING order could
leave a fan charged without tickets, so ``release_order`` (the fan's
button, checkout expiry, the sweeper) does not release it itself: it asks the
handler the payments app registered in ``inventory.hooks``. That handler
cancels the payment at the provider (outside any database lock), then calls
``release_after_payment_cancelled`` here, or ``sell_order`` when the payment
had already succeeded. With no handler registered there is no payment to
cancel, and the order is released directly.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from django.db import transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from inventory import hooks, signals
from inventory.models import ItemStatus, Order, OrderStatus
from inventory.services.holds import audit, records, sql
from inventory.services.holds.errors import HoldExpired, InvalidTransition, OrderNotFound
from inventory.services.locking import Busy, begin, inventory_transaction

SYSTEM = "system"
MAX_ATTEMPTS = 3
OPEN_ORDER_STATUSES = (OrderStatus.HELD, OrderStatus.PAYMENT_PENDING)
DONE_ORDER_STATUSES = (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.FAILED)
# Orders with nothing left to release: the ends above, and a refunded sale
# (``refunds.refund_order``; never a release's final status).
ENDED_ORDER_STATUSES = (*DONE_ORDER_STATUSES, OrderStatus.REFUNDED)


def get_order(order_id: object, owner: str | None) -> Order:
    """The order, with its event; only the fan's own when ``owner`` is given."""
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


# --- ending orders --------------------------------------------------------------


def end_orders(
    cursor: CursorWrapper,
    *,
    order_ids: Sequence[uuid.UUID],
    from_statuses: Sequence[str],
    to_status: str,
    reason: str,
    actor: str,
    now: dt.datetime,
    freed: Sequence[records.ItemChange] = (),
    expired_only: bool = False,
) -> list[records.OrderChange]:
    """Move the orders ``from → to`` (with ``expired_only``, only those past
    their deadline), stop their lines being live, and audit the items the
    caller ``freed`` for them and the orders that moved. Call inside an
    inventory transaction, after the orders' items are locked (docs/locking.md).
    Returns the orders that moved; the caller decides whether fewer is fine."""
    cursor.execute(
        sql.END_ORDERS,
        {
            "orders": list(order_ids),
            "from": list(from_statuses),
            "to": to_status,
            "now": now,
            "expired_only": expired_only,
        },
    )
    ended = records.fetch(cursor, records.OrderChange._make)
    if ended:
        cursor.execute(sql.UNLIVE, {"orders": [order.id for order in ended]})
    audit.record(
        items=freed,
        orders=ended,
        item_status=ItemStatus.AVAILABLE,
        order_status=to_status,
        reason=reason,
        actor=actor,
        now=now,
    )
    return ended


def expire_displaced(cursor: CursorWrapper, *, order_ids: Sequence[uuid.UUID], now: dt.datetime, actor: str) -> None:
    """End the open orders whose expired locks a claim is taking over, before
    the new lines go in, so the one-live-line-per-seat constraint holds at
    every statement. Their other seats keep their expired locks (claimable)
    until the sweeper frees them."""
    end_orders(
        cursor,
        order_ids=order_ids,
        from_statuses=OPEN_ORDER_STATUSES,
        to_status=OrderStatus.EXPIRED,
        reason="lock_expired_claimed",
        actor=actor,
        now=now,
    )


def _free_and_end(order: Order, *, final_status: str, reason: str, actor: str, now: dt.datetime) -> bool:
    """One transaction: free the order's locked items and end it. False when
    the order changed under us between the read and the write (nothing was
    changed; read it again)."""
    with inventory_transaction() as cursor:
        begin(cursor, then=sql.FREE_ORDER_ITEMS, params={"orders": [order.pk], "now": now})
        freed = records.fetch(cursor, records.ItemChange._make)
        ended = end_orders(
            cursor,
            order_ids=[order.pk],
            from_statuses=[order.status],
            to_status=final_status,
            reason=reason,
            actor=actor,
            now=now,
            freed=freed,
        )
        if not ended:
            transaction.set_rollback(True)
    return bool(ended)


def _check_final_status(final_status: str) -> None:
    if final_status not in DONE_ORDER_STATUSES:
        raise ValueError(f"final_status must be one of {DONE_ORDER_STATUSES}")


# --- releasing ----------------------------------------------------------------------


def release_order(
    *,
    order_id: uuid.UUID | str,
    owner: str | None = None,
    actor: str = SYSTEM,
    reason: str = "released",
    final_status: str = OrderStatus.CANCELLED,
    now: dt.datetime | None = None,
) -> Order:
    """Give an order's seats back and end it (CANCELLED by default; EXPIRED or
    FAILED for the sweeper and payments). ``owner`` restricts to the fan's own
    orders (another fan's order is OrderNotFound).

    An order in PAYMENT_PENDING goes to the payments app's handler
    (``inventory.hooks``) when one is registered. Releasing an order that
    already ended is a no-op; a PAID order cannot be released
    (InvalidTransition). Raises Busy when the order keeps changing under it.
    """
    _check_final_status(final_status)
    for _ in range(MAX_ATTEMPTS):
        order = get_order(order_id, owner)
        if order.status in ENDED_ORDER_STATUSES:
            return order
        if order.status == OrderStatus.PAID:
            raise InvalidTransition("This order is paid; ask for a refund instead.")
        handler = hooks.payment_release_handler() if order.status == OrderStatus.PAYMENT_PENDING else None
        if handler is not None:
            handler(order_id=order.pk, final_status=final_status, reason=reason, actor=actor)
            order.refresh_from_db()
            return order
        if _free_and_end(order, final_status=final_status, reason=reason, actor=actor, now=now or timezone.now()):
            order.refresh_from_db()
            return order
    raise Busy()


def release_after_payment_cancelled(
    *,
    order_id: uuid.UUID | str,
    final_status: str = OrderStatus.CANCELLED,
    reason: str = "released",
    actor: str = SYSTEM,
    now: dt.datetime | None = None,
) -> Order:
    """The payments app's way back: it cancelled the order's payment at the
    provider (or found there was none to honour), so release the checkout now.

    Only an order in PAYMENT_PENDING is released here; one that already ended
    is a no-op; any other is InvalidTransition (a PAID order is never
    released, and a HELD one goes through ``release_order``). Raises Busy
    when the order keeps changing under it.
    """
    _check_final_status(final_status)
    for _ in range(MAX_ATTEMPTS):
        order = get_order(order_id, None)
        if order.status in ENDED_ORDER_STATUSES:
            return order
        if order.status != OrderStatus.PAYMENT_PENDING:
            raise InvalidTransition(f"An order in {order.status} has no payment to cancel.")
        if _free_and_end(order, final_status=final_status, reason=reason, actor=actor, now=now or timezone.now()):
            order.refresh_from_db()
            return order
    raise Busy()


def expire_order(*, order_id: uuid.UUID | str, now: dt.datetime | None = None) -> Order:
    """End an open order whose deadline has passed (EXPIRED); a checkout goes
    through the payment hook. An order still in time is left alone."""
    now = now or timezone.now()
    order = get_order(order_id, None)
    if order.status not in OPEN_ORDER_STATUSES or (order.expires_at and order.expires_at > now):
        return order
    return release_order(order_id=order.pk, actor=SYSTEM, reason="expired", final_status=OrderStatus.EXPIRED, now=now)


# --- checkout and sale ------------------------------------------------------------------


def start_checkout(*, order_id: uuid.UUID | str, owner: str, now: dt.datetime | None = None) -> Order:
    """HELD → PAYMENT_PENDING; the order's seats go SOFT_LOCKED → HARD_LOCKED
    with the checkout deadline. Refused when any seat's hold has expired."""
    now = now or timezone.now()
    order = get_order(order_id, owner)
    if order.status != OrderStatus.HELD:
        raise InvalidTransition(f"An order in {order.status} cannot start checkout.")
    until = now + dt.timedelta(seconds=order.event.checkout_ttl_seconds)
    with inventory_transaction() as cursor:
        begin(cursor, then=sql.CHECKOUT_ITEMS, params={"order": order.pk, "now": now, "until": until})
        items = records.fetch(cursor, records.MovedItem._make)
        if len(items) != order.ticket_count:
            raise HoldExpired("Your hold has expired; pick your seats again.")
        updated = Order.objects.filter(pk=order.pk, status=OrderStatus.HELD, expires_at__gt=now).update(
            status=OrderStatus.PAYMENT_PENDING, expires_at=until, updated_at=now
        )
        if updated != 1:
            raise HoldExpired("Your hold has expired; pick your seats again.")
        _record_step(
            order,
            items,
            items_from=ItemStatus.SOFT_LOCKED,
            items_to=ItemStatus.HARD_LOCKED,
            order_from=OrderStatus.HELD,
            order_to=OrderStatus.PAYMENT_PENDING,
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
    order = get_order(order_id, None)
    if order.status == OrderStatus.PAID:
        return order
    if order.status != OrderStatus.PAYMENT_PENDING:
        raise InvalidTransition(f"An order in {order.status} cannot be sold.")
    with inventory_transaction() as cursor:
        begin(cursor, then=sql.SELL_ITEMS, params={"order": order.pk, "now": now})
        items = records.fetch(cursor, records.MovedItem._make)
        if len(items) != order.ticket_count:
            raise InvalidTransition("The order lost its seats before the payment completed.")
        updated = Order.objects.filter(pk=order.pk, status=OrderStatus.PAYMENT_PENDING).update(
            status=OrderStatus.PAID, paid_at=now, updated_at=now
        )
        if updated != 1:
            raise InvalidTransition("The order changed while it was being paid.")
        _record_step(
            order,
            items,
            items_from=ItemStatus.HARD_LOCKED,
            items_to=ItemStatus.SOLD,
            order_from=OrderStatus.PAYMENT_PENDING,
            order_to=OrderStatus.PAID,
            reason=reason,
            actor=actor,
            now=now,
        )
        transaction.on_commit(
            lambda: signals.order_paid.send_robust(
                sender=Order, order_id=order.pk, owner=order.owner, event_id=order.event_id
            )
        )
    order.refresh_from_db()
    return order


def return_to_hold(
    *,
    order_id: uuid.UUID | str,
    actor: str = "payments",
    reason: str = "payment_declined",
    now: dt.datetime | None = None,
) -> Order:
    """PAYMENT_PENDING → HELD; every seat HARD_LOCKED → SOFT_LOCKED, keeping
    the checkout's deadline: a declined payment gives the fan the cart back
    to try another card. The payments app calls this only after its payment
    was cancelled or failed at the provider. Raises HoldExpired when the
    deadline has passed (release the order instead) and InvalidTransition
    when the order is not in checkout."""
    now = now or timezone.now()
    order = get_order(order_id, None)
    if order.status == OrderStatus.HELD:
        return order
    if order.status != OrderStatus.PAYMENT_PENDING:
        raise InvalidTransition(f"An order in {order.status} cannot go back to the cart.")
    with inventory_transaction() as cursor:
        begin(cursor, then=sql.UNCHECKOUT_ITEMS, params={"order": order.pk, "now": now})
        items = records.fetch(cursor, records.MovedItem._make)
        if len(items) != order.ticket_count:
            raise HoldExpired("Your hold has expired; pick your seats again.")
        updated = Order.objects.filter(pk=order.pk, status=OrderStatus.PAYMENT_PENDING, expires_at__gt=now).update(
            status=OrderStatus.HELD, updated_at=now
        )
        if updated != 1:
            raise HoldExpired("Your hold has expired; pick your seats again.")
        _record_step(
            order,
            items,
            items_from=ItemStatus.HARD_LOCKED,
            items_to=ItemStatus.SOFT_LOCKED,
            order_from=OrderStatus.PAYMENT_PENDING,
            order_to=OrderStatus.HELD,
            reason=reason,
            actor=actor,
            now=now,
        )
    order.refresh_from_db()
    return order


def _record_step(
    order: Order,
    items: Sequence[records.MovedItem],
    *,
    items_from: str,
    items_to: str,
    order_from: str,
    order_to: str,
    reason: str,
    actor: str,
    now: dt.datetime,
) -> None:
    """Audit one order's step forward: its items, then the order."""
    audit.record(
        items=[records.ItemChange(item.id, items_from, order.pk, item.event_id) for item in items],
        orders=[records.OrderChange(order.pk, order_from, order.event_id)],
        item_status=items_to,
        order_status=order_to,
        reason=reason,
        actor=actor,
        now=now,
    )
