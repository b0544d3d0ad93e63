"""The fan's pages of payments: the tickets of a paid order."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from inventory.identity import FanRequest
from payments import selectors


@require_GET
def tickets(request: FanRequest, order_id: str) -> HttpResponse:
    found = selectors.tickets_for_owner(order_id, request.fan_id)
    if found is None:
        raise Http404("No such order")
    order, tickets = found
    response = render(
        request,
        "payments/tickets.html",
        {
            "order": order,
            "event": order.event,
            # A void ticket (refunded) gets no QR code: nothing to scan at the door.
            "tickets": [{"ticket": t, "qr": "" if t.is_void else selectors.qr_data_uri(t.code)} for t in tickets],
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response
