"""Seat holds and the order lifecycle: claim, release, checkout, sale, expiry.

Seat states: AVAILABLE → SOFT_LOCKED (cart) → HARD_LOCKED (paying) → SOLD.
Order states: HELD → PAYMENT_PENDING → PAID (→ REFUNDED), or → CANCELLED /
EXPIRED / FAILED.
Every service owns its transaction and follows the protocol of
``inventory.services.locking`` (docs/locking.md). Every error leaves the
database as it was.

Time: each service takes ``now`` (default: the application clock) and uses it
for every comparison, so tests control expiry without sleeping.

Where things are:

- ``chosen``: ``hold_seats``, the seats a fan picked;
- ``best``: ``hold_best_available``, with the pure choice in ``blocks``;
- ``claims``: what both share (the fan's lock and cap, the claim, the order);
- ``lifecycle``: release, expiry, checkout, sale, and the payments app's
  entry point ``release_after_payment_cancelled`` (see ``inventory.hooks``);
- ``refunds``: ``refund_order``, the inventory half of a refunded sale;
- ``sweeper``: ``sweep_expired``, freeing expired locks in batches;
- ``validation``: the request's input; ``errors``: why a request is refused;
- ``sql``: every statement; ``records``: their row types; ``audit``: the
  audit trail.
"""

from inventory.services.holds.best import hold_best_available
from inventory.services.holds.chosen import hold_seats
from inventory.services.holds.errors import (
    HoldError,
    HoldExpired,
    InvalidHold,
    InvalidTransition,
    LimitReached,
    NotEnoughSeats,
    OrderNotFound,
    SaleNotOpen,
    SeatsUnavailable,
)
from inventory.services.holds.lifecycle import (
    DONE_ORDER_STATUSES,
    ENDED_ORDER_STATUSES,
    MAX_ATTEMPTS,
    OPEN_ORDER_STATUSES,
    SYSTEM,
    expire_order,
    release_after_payment_cancelled,
    release_order,
    return_to_hold,
    sell_order,
    start_checkout,
)
from inventory.services.holds.refunds import refund_order
from inventory.services.holds.results import HeldItem, Hold, IdempotencyKey
from inventory.services.holds.sweeper import sweep_expired

__all__ = [
    "DONE_ORDER_STATUSES",
    "ENDED_ORDER_STATUSES",
    "MAX_ATTEMPTS",
    "OPEN_ORDER_STATUSES",
    "SYSTEM",
    "HeldItem",
    "Hold",
    "HoldError",
    "HoldExpired",
    "IdempotencyKey",
    "InvalidHold",
    "InvalidTransition",
    "LimitReached",
    "NotEnoughSeats",
    "OrderNotFound",
    "SaleNotOpen",
    "SeatsUnavailable",
    "expire_order",
    "hold_best_available",
    "hold_seats",
    "refund_order",
    "release_after_payment_cancelled",
    "release_order",
    "return_to_hold",
    "sell_order",
    "start_checkout",
    "sweep_expired",
]
