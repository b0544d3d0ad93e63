"""Webhooks (signed, stored once, settled idempotently) and expiry against
payment, with a real localstripe."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from inventory.models import InventoryItem, Order, OrderStatus
from inventory.services import holds
from payments import services
from payments.models import Payment, PaymentStatus, Ticket, WebhookEvent
from payments.providers import IntentStatus, get_provider
from payments.tasks import settle_payment
from payments.tests.helpers import event_payload, hold, post_json, signed

pytestmark = pytest.mark.django_db

WEBHOOK = "/payments/stripe/webhook/"


def checkout(fan, order):  # type: ignore[no-untyped-def]
    assert post_json(fan, f"/api/v1/orders/{order.pk}/checkout/").status_code == 200
    return Payment.objects.get(order=order, status=PaymentStatus.PENDING)


def deliver(client, payload, signature):  # type: ignore[no-untyped-def]
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
    return client.post(WEBHOOK, data=payload, content_type="application/json", **headers)


def test_duplicate_webhook_is_stored_once_and_settles_once(
    fan, client, small_event, django_capture_on_commit_callbacks
):
    order = hold(fan, 2)
    payment = checkout(fan, order)
    get_provider().confirm(intent_id=payment.intent_id, payment_method="pm_card_visa")  # as Stripe.js would
    payload = event_payload(payment.intent_id)

    with django_capture_on_commit_callbacks() as first_callbacks:
        first = deliver(client, payload, signed(payload))
    with django_capture_on_commit_callbacks() as second_callbacks:
        second = deliver(client, payload, signed(payload))

    assert (first.status_code, first.json()["duplicate"]) == (200, False)
    assert (second.status_code, second.json()["duplicate"]) == (200, True)
    assert WebhookEvent.objects.count() == 1
    assert (len(first_callbacks), len(second_callbacks)) == (1, 0)
    settle_payment(payment.intent_id)  # the task, as the worker runs it; twice, as a redelivery would
    settle_payment(payment.intent_id)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Ticket.objects.filter(order=order).count() == 2
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "t=1,v1=deadbeef",
        "forged",
        "wrong secret",
        "stale",
    ],
)
def test_bad_stale_or_missing_signature_is_refused_and_changes_nothing(client, signature):  # type: ignore[no-untyped-def]
    payload = event_payload("pi_whatever")
    if signature == "wrong secret":
        signature = signed(payload, secret="whsec_someone_else")
    elif signature == "stale":
        signature = signed(payload, at=int(time.time()) - 3600)
    elif signature == "forged":
        signature = signed(payload.replace(b"pi_whatever", b"pi_other"))

    response = deliver(client, payload, signature)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_signature"
    assert WebhookEvent.objects.count() == 0


def test_webhook_before_the_checkout_response_finds_the_payment(fan, small_event):
    """The PSP can call back before the checkout stored the intent's id: the
    intent's metadata names our payment."""
    order = hold(fan, 1)
    holds.start_checkout(order_id=order.pk, owner=order.owner)
    payment = services._pending_payment(Order.objects.get(pk=order.pk))
    intent = get_provider().create_intent(
        amount=payment.amount,
        currency=payment.currency,
        idempotency_key=payment.idempotency_key,
        metadata={"order_id": str(order.pk), "payment_id": str(payment.pk)},
    )
    get_provider().confirm(intent_id=intent.id, payment_method="pm_card_visa")

    settle_payment(intent.id)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    payment.refresh_from_db()
    assert (payment.status, payment.intent_id) == (PaymentStatus.PAID, intent.id)
    assert get_provider().retrieve(intent_id=intent.id).status == IntentStatus.SUCCEEDED


def _past_deadline(order):  # type: ignore[no-untyped-def]
    past = timezone.now() - dt.timedelta(seconds=1)
    Order.objects.filter(pk=order.pk).update(expires_at=past)
    InventoryItem.objects.filter(order=order).update(locked_until=past)


def test_expiry_cancels_the_unpaid_payment_before_releasing(fan, small_event):
    order = hold(fan, 1)
    payment = checkout(fan, order)
    _past_deadline(order)

    holds.expire_order(order_id=order.pk)

    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CANCELED
    assert get_provider().retrieve(intent_id=payment.intent_id).status == IntentStatus.CANCELED


def test_expiry_honours_a_payment_that_already_succeeded(fan, small_event):
    order = hold(fan, 2)
    payment = checkout(fan, order)
    get_provider().confirm(intent_id=payment.intent_id, payment_method="pm_card_visa")  # webhook not here yet
    _past_deadline(order)

    holds.expire_order(order_id=order.pk)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Ticket.objects.filter(order=order).count() == 2
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID


def test_payment_that_succeeds_for_seats_that_are_gone_is_refunded_with_its_reason(fan, small_event):
    order = hold(fan, 1)
    payment = checkout(fan, order)
    # The checkout ended (say the PSP was slow to answer the cancel) and the
    # seat went back on sale; then the fan's payment succeeds anyway.
    holds.release_after_payment_cancelled(order_id=order.pk, final_status=OrderStatus.EXPIRED, reason="expired")
    get_provider().confirm(intent_id=payment.intent_id, payment_method="pm_card_visa")

    settle_payment(payment.intent_id)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.refund_id.startswith("re_")
    assert "seats gone" in payment.refund_reason
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert not Ticket.objects.filter(order=order).exists()
    settle_payment(payment.intent_id)  # again: no second refund
    assert Payment.objects.get(pk=payment.pk).refund_id == payment.refund_id
