"""The fan's pages of payments: the checkout page and the tickets of a paid order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from inventory import selectors as inventory_selectors
from inventory.identity import FanRequest
from inventory.models import Order, OrderStatus
from inventory.views import HOLD_WARNING_SECONDS
from payments import selectors, services, stripejs
from payments.providers import get_provider
from ticketing.error_texts import fan_message
from ticketing.errors import DomainError

# The refusals the checkout page's script may meet, in the fan's words
# (ticketing/error_texts.py), handed to it with the page.
PAGE_ERRORS = (
    "card_declined",
    "authentication_failed",
    "payment_failed",
    "payment_provider_unavailable",
    "hold_expired",
    "invalid_transition",
    "checkout_not_started",
    "order_not_found",
    "busy",
    "unavailable",
    "rate_limited",
    "too_many_requests",
)


@require_http_methods(["GET", "POST"])
def checkout(request: FanRequest, order_id: str) -> HttpResponse:
    """POST (the cart's "Pay" button): start the checkout, the seats now kept
    for the checkout's time, then show the page. GET: the payment form for
    an order in checkout, or back in the cart after a decline (the form's
    script checks out again). A paid order goes to its tickets; any other
    state to the cart, which tells the fan what happened."""
    order = inventory_selectors.order_for_owner(order_id, request.fan_id)
    if order is None:
        raise Http404("No such order")
    if request.method == "POST":
        try:
            services.start_checkout(order_id=order.pk, owner=request.fan_id)
        except DomainError as exc:
            messages.error(request, fan_message(exc))
            return redirect("inventory:cart", order_id=order.pk)
        return redirect("payments:checkout", order_id=order.pk)
    if order.status == OrderStatus.PAID:
        return redirect("payments:tickets", order_id=order.pk)
    now = timezone.now()
    live = order.expires_at is not None and order.expires_at > now
    if order.status not in (OrderStatus.HELD, OrderStatus.PAYMENT_PENDING) or not live:
        return redirect("inventory:cart", order_id=order.pk)
    response = render(request, "payments/checkout.html", _page(order, now))
    response["Cache-Control"] = "no-store"
    # Stripe.js's origin, on this page only (payments/stripejs.py).
    setattr(response, "_csp_update", stripejs.csp_update())  # noqa: B010 - django-csp reads this attribute
    return response


def _page(order: Order, now: dt.datetime) -> dict[str, object]:
    lines = inventory_selectors.order_lines(order)
    fees = sum((line["fee"] for line in lines), Decimal("0"))
    left = (order.expires_at - now).total_seconds() if order.expires_at else 0
    return {
        "warn": left <= HOLD_WARNING_SECONDS,
        "order": order,
        "event": order.event,
        "lines": lines,
        "fees": fees,
        "stripe_js": stripejs.script_url(),
        "test_mode": stripejs.is_test_mode(),
        "pay": {
            "publishable_key": get_provider().publishable_key,
            "checkout_url": reverse("payments_api:api_checkout", args=[order.pk]),
            "pay_url": reverse("payments_api:api_pay", args=[order.pk]),
            "settle_url": reverse("payments_api:api_settle", args=[order.pk]),
            "order_url": reverse("inventory_api:api_order", args=[order.pk]),
            "tickets_url": reverse("payments:tickets", args=[order.pk]),
            "cart_url": reverse("inventory:cart", args=[order.pk]),
            "errors": {code: fan_message(DomainError(code=code)) for code in PAGE_ERRORS},
            "texts": {
                "processing": _("Processing your payment…"),
                "authenticate": _("Your bank asks you to confirm this payment."),
                "paid": _("Paid. Opening your tickets…"),
                "card_invalid": _("Check the card number, expiry date and CVC, then try again."),
                "network": _("We could not reach the server. Check your connection and try again."),
                "generic": _("That did not work. Please try again."),
            },
            # Names for localstripe's bare test card inputs (real Stripe names its own).
            "fields": {
                "number": _("Card number"),
                "exp_month": _("Expiry month (MM)"),
                "exp_year": _("Expiry year (YY)"),
                "cvc": _("Security code (CVC)"),
                "postal_code": _("Postal code"),
            },
        },
    }


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
