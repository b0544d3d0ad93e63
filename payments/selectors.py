"""Reads with rules: a fan reads only their own tickets and payments."""

from __future__ import annotations

from typing import Any

import segno

from inventory import selectors as inventory_selectors
from inventory.models import Order
from payments.models import Payment, PaymentStatus, Ticket


def tickets_for_owner(order_id: object, owner: str) -> tuple[Order, list[Ticket]] | None:
    """The fan's own order and its tickets, or None (also for another fan's)."""
    order = inventory_selectors.order_for_owner(order_id, owner)
    if order is None:
        return None
    tickets = list(Ticket.objects.filter(order=order).select_related("item", "item__section"))
    return order, tickets


def qr_data_uri(code: str) -> str:
    """The ticket's QR code as an SVG data URI (the CSP allows img-src data:)."""
    return str(segno.make(code, error="m").svg_data_uri(scale=4))


def payment_summary(order: Order) -> dict[str, Any] | None:
    """The order's latest payment as the order API shows it (registered into
    inventory.hooks): ``processing`` is true while a payment task waits for
    the PSP on the fan's behalf, so the checkout page says "processing your
    payment" and polls; ``error`` is ``card_declined`` after a decline."""
    payment = (
        Payment.objects.filter(order_id=order.pk)
        .order_by("-attempt")
        .only("status", "attempt", "processing_since", "intent_id")
        .first()
    )
    if payment is None:
        return None
    pending = payment.status == PaymentStatus.PENDING
    return {
        "status": payment.status,
        "attempt": payment.attempt,
        "processing": pending and payment.processing_since is not None,
        "ready": pending and payment.intent_id is not None,
        "error": "card_declined" if payment.status == PaymentStatus.FAILED else None,
    }
