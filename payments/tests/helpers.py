"""Shared steps of the payments tests: a fan's hold, a signed webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import requests

from inventory.models import Order

HOLDS = "/api/v1/events/demo-small/holds/"


def hold(client: Any, quantity: int = 2) -> Order:
    response = client.post(
        HOLDS, data=json.dumps({"section": "PISTA", "quantity": quantity}), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return Order.objects.get(pk=response.json()["order_id"])


def post_json(client: Any, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def signed(payload: bytes, secret: str = "whsec_test", at: int | None = None) -> str:  # noqa: S107 - a test secret
    stamp = int(time.time()) if at is None else at
    signature = hmac.new(secret.encode(), b"%d.%s" % (stamp, payload), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={signature}"


def event_payload(intent_id: str, event_id: str = "evt_test_1", kind: str = "payment_intent.succeeded") -> bytes:
    body = {
        "id": event_id,
        "object": "event",
        "type": kind,
        "data": {"object": {"id": intent_id, "object": "payment_intent"}},
    }
    return json.dumps(body).encode()


def hold_seats(client: Any, seat_ids: list[int]) -> Order:
    response = client.post(HOLDS, data=json.dumps({"seat_ids": seat_ids}), content_type="application/json")
    assert response.status_code == 201, response.content
    return Order.objects.get(pk=response.json()["order_id"])


def pay_order(client: Any, order: Order, email: str = "fan@example.com", card: str = "pm_card_visa") -> Order:
    """Checkout and pay ``order`` through the API; the order, refreshed."""
    response = post_json(client, f"/api/v1/orders/{order.pk}/checkout/", {"email": email})
    assert response.status_code == 200, response.content
    response = post_json(client, f"/api/v1/orders/{order.pk}/pay/", {"payment_method": card})
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    return order


# What localstripe's test Stripe.js does in the fan's browser, done here with
# the same requests (.venv/.../localstripe/localstripe-v3.js): the card form
# becomes a token whose card id is the payment method, and the 3-D Secure
# prompt's two buttons call _authenticate with success=true or false.


def stripe_js_card(number: str) -> str:
    """The payment method Stripe.js makes of ``number`` (createToken)."""
    from django.conf import settings

    response = requests.post(
        f"{settings.STRIPE_API_BASE}/v1/tokens",
        data={
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
            "key": settings.STRIPE_PUBLISHABLE_KEY,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["card"]["id"])


def stripe_js_authenticate(client_secret: str, *, success: bool) -> int:
    """The fan's answer to the bank's 3-D Secure step (confirmCardPayment);
    localstripe's HTTP status (402 when the card is declined after it)."""
    from django.conf import settings

    intent = client_secret.split("_secret_")[0]
    response = requests.post(
        f"{settings.STRIPE_API_BASE}/v1/payment_intents/{intent}/_authenticate?success={str(success).lower()}",
        data=json.dumps({"key": settings.STRIPE_PUBLISHABLE_KEY, "client_secret": client_secret}),
        timeout=10,
    )
    return int(response.status_code)
