"""Reads with rules: a fan reads only their own tickets."""

from __future__ import annotations

import segno

from inventory import selectors as inventory_selectors
from inventory.models import Order
from payments.models import Ticket


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
