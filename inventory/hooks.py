"""The one place where another app changes how inventory releases an order:
a registry inventory asks, importing nothing of inventory itself.

An order in PAYMENT_PENDING may have a payment in flight: releasing its seats
before cancelling the payment could leave a fan charged without tickets. So
``inventory.services.holds.release_order`` (the fan's "release" button,
checkout expiry, the sweeper) asks ``payment_release_handler()`` and, when a
handler is registered, hands such an order to it instead of releasing it.

The contract for the payments app, which registers its handler at start-up
(``AppConfig.ready``): the handler cancels the payment at the provider (never
while holding a database lock), then either calls
``inventory.services.holds.release_after_payment_cancelled(order_id=...,
final_status=..., reason=..., actor=...)`` with the values it was given, or,
when the payment already succeeded, ``sell_order``. With no handler
registered (no payments app yet) there is no payment to cancel, and
inventory releases the order itself. Dependencies point one way: payments
imports inventory, never the reverse.
"""

from __future__ import annotations

import uuid
from typing import Protocol


class PaymentReleaseHandler(Protocol):
    def __call__(self, *, order_id: uuid.UUID, final_status: str, reason: str, actor: str) -> None: ...


_handler: PaymentReleaseHandler | None = None


def register_payment_release(handler: PaymentReleaseHandler | None) -> None:
    """Install (or with None, remove) the handler for orders with a payment in flight."""
    global _handler
    _handler = handler


def payment_release_handler() -> PaymentReleaseHandler | None:
    """The registered handler, or None when no app handles payments."""
    return _handler
