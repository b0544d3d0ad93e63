"""The checkout page's payment path through the API, with the requests
localstripe's test Stripe.js makes in the browser (payments/tests/helpers.py):
a card made into a payment method, pay/, the bank's 3-D Secure step, settle/.
The browser journey (ticketing/tests/test_browser_journey.py) walks the same
path in Chromium; these tests cover every branch of it."""

from __future__ import annotations

import pytest

from inventory.models import ItemStatus, OrderStatus
from payments import services
from payments.models import Payment, PaymentStatus, Ticket
from payments.providers import IntentStatus, get_provider
from payments.tests.helpers import hold, post_json, stripe_js_authenticate, stripe_js_card

pytestmark = pytest.mark.django_db

VISA = "4242424242424242"
THREE_D_SECURE = "4000002760003184"
THREE_D_SECURE_TOO = "4000000000003220"
DECLINED = "4000000000000341"  # localstripe declines it when charged (Stripe: "charge fails")
THREE_D_SECURE_THEN_DECLINED = "4000008260003178"


def url(order, step):  # type: ignore[no-untyped-def]
    return f"/api/v1/orders/{order.pk}/{step}/"


def pay_with(fan, order, number):  # type: ignore[no-untyped-def]
    assert post_json(fan, url(order, "checkout")).status_code == 200
    return post_json(fan, url(order, "pay"), {"payment_method": stripe_js_card(number)})


def test_a_card_from_the_form_pays(fan, small_event):
    order = hold(fan, 2)
    paid = pay_with(fan, order, VISA)
    assert paid.status_code == 200, paid.content
    assert paid.json() == {
        "order_id": str(order.pk),
        "status": "PAID",
        "paid_at": paid.json()["paid_at"],
        "tickets_url": f"/orders/{order.pk}/tickets/",
        "processing": False,
        "order_url": f"/api/v1/orders/{order.pk}/",
    }
    assert Ticket.objects.filter(order=order).count() == 2


@pytest.mark.parametrize("number", [THREE_D_SECURE, THREE_D_SECURE_TOO])
def test_3d_secure_card_asks_the_fan_then_settle_pays(fan, small_event, number):
    order = hold(fan, 1)
    asked = pay_with(fan, order, number)

    assert asked.status_code == 200, asked.content
    body = asked.json()
    assert body["status"] == "PAYMENT_PENDING"
    payment = Payment.objects.get(order=order)
    assert body["next_action"] == {"type": "authenticate", "client_secret": payment.client_secret}
    assert get_provider().retrieve(intent_id=payment.intent_id).status == IntentStatus.REQUIRES_ACTION

    assert stripe_js_authenticate(payment.client_secret, success=True) == 200
    settled = post_json(fan, url(order, "settle"))

    assert settled.status_code == 200, settled.content
    assert settled.json()["status"] == "PAID"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Ticket.objects.filter(order=order).count() == 1


def test_failed_3d_secure_gives_the_cart_back_and_another_card_pays(fan, small_event):
    order = hold(fan, 2)
    asked = pay_with(fan, order, THREE_D_SECURE)
    secret = asked.json()["next_action"]["client_secret"]

    assert stripe_js_authenticate(secret, success=False) == 200
    refused = post_json(fan, url(order, "settle"))

    assert refused.status_code == 402
    assert refused.json()["error"] == "authentication_failed"
    assert refused.json()["status"] == "HELD"
    order.refresh_from_db()
    assert order.status == OrderStatus.HELD
    assert order.inventory_items.filter(status=ItemStatus.SOFT_LOCKED).count() == 2
    first = Payment.objects.get(order=order)
    assert first.status == PaymentStatus.FAILED
    # Cancelled at the PSP: that attempt can never be charged later.
    assert get_provider().retrieve(intent_id=first.intent_id).status == IntentStatus.CANCELED

    paid = pay_with(fan, order, VISA)  # the page's next "Pay": checkout again, a new attempt

    assert paid.status_code == 200, paid.content
    assert paid.json()["status"] == "PAID"
    assert list(Payment.objects.filter(order=order).order_by("attempt").values_list("attempt", "status")) == [
        (1, PaymentStatus.FAILED),
        (2, PaymentStatus.PAID),
    ]


def test_a_card_declined_after_3d_secure_gives_the_cart_back(fan, small_event):
    order = hold(fan, 1)
    secret = pay_with(fan, order, THREE_D_SECURE_THEN_DECLINED).json()["next_action"]["client_secret"]

    assert stripe_js_authenticate(secret, success=True) == 402  # what Stripe.js hands the page
    refused = post_json(fan, url(order, "settle"))

    assert refused.status_code == 402
    assert refused.json()["error"] == "card_declined"
    order.refresh_from_db()
    assert order.status == OrderStatus.HELD


def test_a_declined_card_from_the_form_gives_the_cart_back(fan, small_event):
    order = hold(fan, 1)
    declined = pay_with(fan, order, DECLINED)
    assert declined.status_code == 402
    assert declined.json()["error"] == "card_declined"
    assert declined.json()["status"] == "HELD"
    assert pay_with(fan, order, VISA).json()["status"] == "PAID"


def test_the_webhook_settling_a_failed_3d_secure_first_leaves_the_same_answer(fan, small_event):
    """Real Stripe also sends payment_intent.payment_failed: whichever of the
    webhook's settle and the page's settle/ comes first, the order is back in
    the cart once, and the page still hears why."""
    order = hold(fan, 1)
    secret = pay_with(fan, order, THREE_D_SECURE).json()["next_action"]["client_secret"]
    stripe_js_authenticate(secret, success=False)
    intent_id = Payment.objects.get(order=order).intent_id

    services.settle(intent_id=intent_id)  # the webhook's task
    services.settle(intent_id=intent_id)  # delivered twice
    refused = post_json(fan, url(order, "settle"))

    assert refused.status_code == 402
    assert refused.json()["error"] == "authentication_failed"
    order.refresh_from_db()
    assert order.status == OrderStatus.HELD
    assert Payment.objects.get(order=order).status == PaymentStatus.FAILED


def test_settle_while_the_bank_still_asks_changes_nothing(fan, small_event):
    order = hold(fan, 1)
    pay_with(fan, order, THREE_D_SECURE)
    waiting = post_json(fan, url(order, "settle"))
    assert waiting.status_code == 200
    assert waiting.json()["status"] == "PAYMENT_PENDING"
    assert Payment.objects.get(order=order).status == PaymentStatus.PENDING


def test_settle_is_for_the_owner_only_and_takes_no_fields(fan, second_fan, small_event):
    order = hold(fan, 1)
    post_json(fan, url(order, "checkout"))
    assert post_json(second_fan, url(order, "settle")).status_code == 404
    assert post_json(fan, url(order, "settle"), {"intent": "pi_x"}).json()["error"] == "unknown_fields"
    assert post_json(fan, url(order, "settle")).json()["status"] == "PAYMENT_PENDING"


def test_the_email_given_with_the_card_is_where_the_tickets_go(fan, small_event):
    """The cart's "Pay" button starts the checkout without an address; the
    page's form sends it with the card."""
    order = hold(fan, 1)
    post_json(fan, url(order, "checkout"))
    post_json(fan, url(order, "checkout"), {"email": "fan@example.com"})
    assert Payment.objects.get(order=order).email == "fan@example.com"
