"""The payment endpoints of the JSON API (docs/api.md) and the PSP's webhook."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from inventory import limits
from inventory.identity import FanRequest
from inventory.models import Order
from payments import services, webhooks
from payments.providers import get_provider
from ticketing.api import RequestError, json_body, reject_unknown_fields
from ticketing.errors import json_errors


def _optional_body(request: HttpRequest) -> dict[str, Any]:
    return json_body(request) if request.body else {}


# CSRF-exempt like the hold API: writes take only JSON bodies (or none),
# which a cross-site form cannot send without a preflight we never grant.
@csrf_exempt
@require_POST
@json_errors
def checkout(request: FanRequest, order_id: str) -> JsonResponse:
    _count_attempt(request, "payments.checkout", order_id, settings.CHECKOUT_RATE_LIMIT)
    data = _optional_body(request)
    reject_unknown_fields(data, {"email"})
    email = data.get("email", "")
    if not isinstance(email, str) or len(email) > 254 or (email and "@" not in email):
        raise RequestError("'email' must be an e-mail address.", code="invalid_request")
    result = services.start_checkout(order_id=order_id, owner=request.fan_id, email=email)
    # 202 + processing: the PSP's line is long and a task is creating the
    # intent; POST again (idempotent) until client_secret is there (docs/api.md).
    return JsonResponse(
        {
            "order_id": str(result.order.pk),
            "status": result.order.status,
            "expires_at": result.order.expires_at.isoformat() if result.order.expires_at else None,
            "processing": result.processing,
            "payment": {
                "provider": get_provider().name,
                "client_secret": result.payment.client_secret,
                "publishable_key": get_provider().publishable_key,
                "amount": result.payment.amount,
                "currency": result.payment.currency,
            },
        },
        status=202 if result.processing else 200,
        headers=_answer_headers(result.processing),
    )


def _count_attempt(request: FanRequest, group: str, order_id: str, rate: str) -> None:
    """Checkout and pay attempts per order and fan: a script trying cards
    (or hammering the PSP through us) is told to wait, before any work."""
    limited = limits.attempt(request, group=group, who=f"{request.fan_id}:{order_id}"[:120], rate=rate)
    if limited:
        raise RequestError(
            "Too many payment attempts for this order; wait a moment and try again.",
            code="rate_limited",
            retry_after=limited.retry_after,
        )


def _answer_headers(processing: bool) -> dict[str, str]:
    headers = {"Cache-Control": "private, no-store"}
    if processing:
        headers["Retry-After"] = str(PROCESSING_POLL_SECONDS)
    return headers


# How often a client polls while its payment is processing (Retry-After on 202).
PROCESSING_POLL_SECONDS = 2


@csrf_exempt
@require_POST
@json_errors
def pay(request: FanRequest, order_id: str) -> JsonResponse:
    _count_attempt(request, "payments.pay", order_id, settings.PAY_RATE_LIMIT)
    data = json_body(request)
    reject_unknown_fields(data, {"payment_method"})
    method = data.get("payment_method")
    if not isinstance(method, str) or not method or len(method) > 255:
        raise RequestError("Give 'payment_method', e.g. pm_card_visa.", code="invalid_request")
    # 202 + processing: the PSP's line is long and a task confirms the
    # payment; the fan polls GET /api/v1/orders/{id}/ ("payment.processing").
    result = services.pay_or_defer(order_id=order_id, owner=request.fan_id, payment_method=method)
    answer = {
        **_paid_json(result.order),
        "processing": result.processing,
        "order_url": f"/api/v1/orders/{result.order.pk}/",
    }
    if result.action_secret:
        # The bank asks the fan to authenticate: Stripe.js shows its step
        # with this secret, then the page calls settle/.
        answer["next_action"] = {"type": "authenticate", "client_secret": result.action_secret}
    return JsonResponse(answer, status=202 if result.processing else 200, headers=_answer_headers(result.processing))


@csrf_exempt
@require_POST
@json_errors
def settle(request: FanRequest, order_id: str) -> JsonResponse:
    """After Stripe.js (3-D Secure): the order as the PSP's view of its
    payment leaves it, without waiting for the webhook."""
    reject_unknown_fields(_optional_body(request), set())
    order = services.refresh(order_id=order_id, owner=request.fan_id)
    return JsonResponse(_paid_json(order), headers={"Cache-Control": "private, no-store"})


def _paid_json(order: Order) -> dict[str, Any]:
    return {
        "order_id": str(order.pk),
        "status": order.status,
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "tickets_url": reverse("payments:tickets", args=[order.pk]),
    }


# The PSP signs its webhooks; there is no CSRF token to check.
@csrf_exempt
@require_POST
@json_errors
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    created = webhooks.receive(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    return JsonResponse({"received": True, "duplicate": not created})
