"""Registries where other apps plug into the store, importing nothing of
inventory itself: how an order with a payment is released (below), what the
order API shows of its payment, and the admission gates the waiting room
asks before letting fans in (further down).

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

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


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


# --- the order's payment, as the order API shows it ----------------------------
#
# GET /api/v1/orders/{id}/ carries a "payment" block (None without a payments
# app): the fan's checkout page polls it to show "processing your payment"
# while payment work waits for the PSP. Payments registers the reader.


class OrderPaymentView(Protocol):
    def __call__(self, order: Any) -> dict[str, Any] | None: ...


_order_payment: OrderPaymentView | None = None


def register_order_payment_view(view: OrderPaymentView | None) -> None:
    """Install (or with None, remove) what the order API shows of an order's payment."""
    global _order_payment
    _order_payment = view


def order_payment(order: Any) -> dict[str, Any] | None:
    """The order's payment as the API shows it, or None."""
    return _order_payment(order) if _order_payment is not None else None


# --- admission gates -------------------------------------------------------------
#
# Whether the waiting room may let new fans into the store right now. The
# admitter (queueroom) asks every registered gate on each tick and admits
# nobody while one says no (fans keep their places and see their positions);
# payments registers one that says no while the PSP's circuit breaker is open,
# since fans let in then could not pay. queueroom and payments never import
# each other: both import this registry.


@dataclass(frozen=True)
class GateState:
    open: bool
    reason: str = ""  # a machine code when closed, e.g. "payments_unavailable"
    detail: str = ""  # one line for the promoter's live panel


class AdmissionGate(Protocol):
    def __call__(self) -> GateState: ...


_gates: dict[str, AdmissionGate] = {}


def register_admission_gate(name: str, gate: AdmissionGate | None) -> None:
    """Install (or with None, remove) the gate called ``name``."""
    if gate is None:
        _gates.pop(name, None)
    else:
        _gates[name] = gate


def admission_gates() -> dict[str, GateState]:
    """Every gate's state now, by name. A gate that fails is reported open
    (logged): a broken check must not stop the sale."""
    states: dict[str, GateState] = {}
    for name, gate in list(_gates.items()):
        try:
            states[name] = gate()
        except Exception as exc:
            log.warning("admission gate %s failed (%s): taken as open", name, exc)
            states[name] = GateState(open=True, detail=f"check failed: {exc}")
    return states


def admission_closed_reason() -> str | None:
    """The first closed gate's reason, or None when every gate is open."""
    return next((state.reason for state in admission_gates().values() if not state.open), None)
