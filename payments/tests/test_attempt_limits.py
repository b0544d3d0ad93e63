"""Checkout and pay attempts are limited per fan and order: a script trying
cards gets 429 + Retry-After before any PSP call (docs/security.md, "Limits")."""

from __future__ import annotations

import pytest

from payments.models import Payment
from payments.tests.helpers import hold, post_json

pytestmark = pytest.mark.django_db


def test_pay_attempts_per_order_are_limited(fan, small_event, settings) -> None:
    settings.PAY_RATE_LIMIT = "2/m"
    order = hold(fan, 2)
    answers = []
    for _ in range(3):
        assert post_json(fan, f"/api/v1/orders/{order.pk}/checkout/").status_code == 200
        answers.append(
            post_json(fan, f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "pm_card_chargeCustomerFail"})
        )
    assert [a.status_code for a in answers] == [402, 402, 429]
    assert answers[2].json()["error"] == "rate_limited" and int(answers[2]["Retry-After"]) >= 1
    # The refused attempt reached no PSP: two attempts, two failed payments, the third still open.
    assert Payment.objects.filter(order=order, status="FAILED").count() == 2


def test_checkout_attempts_per_order_are_limited_and_other_orders_are_not(fan, small_event, settings) -> None:
    settings.CHECKOUT_RATE_LIMIT = "3/m"
    order, other = hold(fan, 1), hold(fan, 1)
    codes = [post_json(fan, f"/api/v1/orders/{order.pk}/checkout/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert post_json(fan, f"/api/v1/orders/{other.pk}/checkout/").status_code == 200
