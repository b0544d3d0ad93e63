"""A double click on "pay": concurrent confirmations of one checkout charge
once, and every request answers with the paid order (never a 502)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from inventory.models import OrderStatus
from payments import services
from payments.models import Payment, PaymentStatus
from payments.tests.helpers import hold, post_json

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_pays_of_one_checkout_charge_once_and_all_answer_paid(fan, small_event):
    order = hold(fan, 1)
    assert post_json(fan, f"/api/v1/orders/{order.pk}/checkout/").status_code == 200
    owner = order.owner
    answers: list[object] = []
    start = threading.Barrier(6)

    def pay() -> None:
        start.wait(10)
        try:
            answers.append(services.pay(order_id=order.pk, owner=owner, payment_method="pm_card_visa").status)
        except Exception as exc:  # the assertion below names it
            answers.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=pay) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [OrderStatus.PAID] * 6
    assert Payment.objects.filter(order=order, status=PaymentStatus.PAID).count() == 1
