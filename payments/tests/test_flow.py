"""The fan's payment journey against a real localstripe (docs/payments.md)."""

from __future__ import annotations

import pytest
from django.core import mail

from inventory.models import InventoryItem, ItemStatus, OrderStatus
from payments.models import Payment, PaymentStatus, Ticket
from payments.providers import IntentStatus, get_provider
from payments.tests.helpers import hold, post_json

pytestmark = pytest.mark.django_db


def checkout_url(order):  # type: ignore[no-untyped-def]
    return f"/api/v1/orders/{order.pk}/checkout/"


def pay_url(order):  # type: ignore[no-untyped-def]
    return f"/api/v1/orders/{order.pk}/pay/"


def test_checkout_then_card_pays_the_order_with_one_ticket_per_seat(
    fan, small_event, django_capture_on_commit_callbacks, celery_eager
):
    order = hold(fan, 2)

    response = post_json(fan, checkout_url(order), {"email": "fan@example.com"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "PAYMENT_PENDING"
    assert body["payment"]["provider"] == "stripe"
    assert body["payment"]["client_secret"].startswith("pi_")
    assert body["payment"]["publishable_key"].startswith("pk_")
    assert InventoryItem.objects.filter(order=order, status=ItemStatus.HARD_LOCKED).count() == 2

    with django_capture_on_commit_callbacks(execute=True):
        paid = post_json(fan, pay_url(order), {"payment_method": "pm_card_visa"})

    assert paid.status_code == 200, paid.content
    assert paid.json()["status"] == "PAID"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert InventoryItem.objects.filter(order=order, status=ItemStatus.SOLD).count() == 2
    payment = Payment.objects.get(order=order)
    assert payment.status == PaymentStatus.PAID
    assert get_provider().retrieve(intent_id=payment.intent_id).status == IntentStatus.SUCCEEDED
    tickets = list(Ticket.objects.filter(order=order))
    assert len(tickets) == 2 and len({t.code for t in tickets}) == 2
    assert all(len(t.code) >= 20 for t in tickets)
    assert len(mail.outbox) == 1 and tickets[0].code in mail.outbox[0].body

    page = fan.get(f"/orders/{order.pk}/tickets/")
    assert page.status_code == 200
    assert page.content.count(b'src="data:image/svg+xml') == 2


def test_checkout_twice_reuses_the_same_payment(fan, small_event):
    order = hold(fan, 1)
    first = post_json(fan, checkout_url(order)).json()
    second = post_json(fan, checkout_url(order)).json()
    assert first["payment"]["client_secret"] == second["payment"]["client_secret"]
    assert Payment.objects.filter(order=order).count() == 1


def test_declined_card_gives_the_cart_back_and_another_card_pays(fan, small_event):
    order = hold(fan, 1)
    post_json(fan, checkout_url(order))

    declined = post_json(fan, pay_url(order), {"payment_method": "pm_card_chargeCustomerFail"})

    assert declined.status_code == 402
    assert declined.json()["error"] == "card_declined"
    assert declined.json()["status"] == "HELD"
    order.refresh_from_db()
    assert order.status == OrderStatus.HELD
    failed = Payment.objects.get(order=order)
    assert failed.status == PaymentStatus.FAILED
    assert get_provider().retrieve(intent_id=failed.intent_id).status == IntentStatus.CANCELED
    assert InventoryItem.objects.filter(order=order, status=ItemStatus.SOFT_LOCKED).count() == 1

    assert post_json(fan, checkout_url(order)).status_code == 200
    paid = post_json(fan, pay_url(order), {"payment_method": "pm_card_visa"})

    assert paid.json()["status"] == "PAID"
    assert list(Payment.objects.filter(order=order).order_by("attempt").values_list("attempt", "status")) == [
        (1, PaymentStatus.FAILED),
        (2, PaymentStatus.PAID),
    ]


def test_pay_before_checkout_is_refused(fan, small_event):
    order = hold(fan, 1)
    response = post_json(fan, pay_url(order), {"payment_method": "pm_card_visa"})
    assert response.status_code == 409
    assert response.json()["error"] == "checkout_not_started"


def test_another_fan_cannot_checkout_pay_or_see_tickets(fan, second_fan, small_event):
    order = hold(fan, 1)
    post_json(fan, checkout_url(order))
    post_json(fan, pay_url(order), {"payment_method": "pm_card_visa"})

    assert post_json(second_fan, checkout_url(order)).status_code == 404
    refused = post_json(second_fan, pay_url(order), {"payment_method": "pm_card_visa"})
    assert (refused.status_code, refused.json()["error"]) == (404, "order_not_found")
    assert second_fan.get(f"/orders/{order.pk}/tickets/").status_code == 404
    assert second_fan.get(f"/api/v1/orders/{order.pk}/").status_code == 404
