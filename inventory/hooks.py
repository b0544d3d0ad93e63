"""The one place where another app changes how inventory releases an order.

An order in PAYMENT_PENDING may have a payment in flight: releasing its seats
before cancelling the payment could leave a fan charged without tickets. So
every release of such an order (the fan's "release" button, checkout expiry,
the sweeper) goes through ``release_with_payment``. The payments app registers
its handler at start-up (``AppConfig.ready``); it cancels the payment at the
provider (never while holding a database lock), then either calls
``inventory.services.holds.release_order(..., payment_cleared=True)`` or, when
the payment already succeeded, ``sell_order``. inventory does not import
payments: dependencies point one way.
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


def release_with_payment(*, order_id: uuid.UUID, final_status: str, reason: str, actor: str) -> None:
    """Release an order that is PAYMENT_PENDING. Without a registered handler
    there is no payment to cancel, so the order is released directly."""
    if _handler is not None:
        _handler(order_id=order_id, final_status=final_status, reason=reason, actor=actor)
        return
    from inventory.services.holds import release_order

    release_order(order_id=order_id, final_status=final_status, reason=reason, actor=actor, payment_cleared=True)
