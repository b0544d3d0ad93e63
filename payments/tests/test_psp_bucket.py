"""The PSP's leaky bucket (payments/bucket.py): slots one interval apart,
refusals that take nothing, every PSP request metered, and a web request
that finds the line long hands its payment to the ``payments`` queue (202,
"processing"), never an error."""

from __future__ import annotations

import pytest
from django.conf import settings

from inventory.models import OrderStatus
from payments import bucket, services, tasks
from payments.models import Payment, PaymentStatus
from payments.providers import ProviderBusy, get_provider
from payments.tests.helpers import event_payload, hold, post_json, signed

pytestmark = pytest.mark.django_db


def payments_queue_length() -> int:
    """Messages waiting in the ``payments`` Celery queue (this run's broker keys)."""
    return int(bucket.redis_client().llen(f"{settings.REDIS_KEY_PREFIX}:celery:payments"))


def book_the_line() -> None:
    """Take the next slot: the one after is an interval away (set the rate slow first)."""
    assert bucket.reserve(cost=1, wait_limit=3600).granted


def test_slots_are_one_interval_apart_and_a_refusal_takes_nothing(settings):
    settings.PSP_BUCKET_PER_MINUTE = 600  # 100 ms a request
    interval = bucket.interval_us()
    assert interval == 100_000

    first = bucket.reserve(cost=1, wait_limit=60)
    block = bucket.reserve(cost=3, wait_limit=60)
    after = bucket.reserve(cost=1, wait_limit=60)
    refused = bucket.reserve(cost=1, wait_limit=0.05)
    again = bucket.reserve(cost=1, wait_limit=60)

    assert first.granted and first.wait_us == 0 and first.slot_us == first.now_us
    assert block.slot_us == first.slot_us + interval
    assert after.slot_us == block.slot_us + 3 * interval  # a block of 3 takes 3 slots
    assert not refused.granted and refused.wait_us > 50_000
    assert again.slot_us == after.slot_us + interval  # the refusal booked nothing
    # The wait the script promises is the distance from its clock to the slot.
    assert again.wait_us == again.slot_us - again.now_us


def test_acquire_refuses_beyond_the_callers_patience(settings):
    settings.PSP_BUCKET_PER_MINUTE = 6  # 10 s a request
    book_the_line()
    with pytest.raises(ProviderBusy) as refused:
        bucket.acquire()
    assert refused.value.status == 503 and refused.value.retry_after >= 1
    with bucket.waiting_up_to(0.0), pytest.raises(ProviderBusy):
        bucket.acquire()


@pytest.mark.parametrize(("call", "cost"), [("create", 1), ("confirm", 2), ("retrieve", 1), ("verify", 0)])
def test_every_psp_request_takes_one_slot(settings, call, cost):
    settings.PSP_BUCKET_PER_MINUTE = 120  # 500 ms a request
    interval = bucket.interval_us()
    provider = get_provider()
    intent = provider.create_intent(amount=100, currency="eur", idempotency_key=f"k-{call}", metadata={})
    first = bucket.reserve(cost=1, wait_limit=60)  # the line now: one slot booked at first.slot_us
    assert first.granted

    with bucket.waiting_up_to(5):
        if call == "create":
            provider.create_intent(amount=100, currency="eur", idempotency_key="k-2", metadata={})
        elif call == "confirm":
            provider.confirm(intent_id=intent.id, payment_method="pm_card_visa")
        elif call == "retrieve":
            provider.retrieve(intent_id=intent.id)
        else:
            payload = event_payload(intent.id)
            provider.verify_webhook(payload=payload, signature=signed(payload))

    # The call booked its slots right behind the booked one (it asked at
    # once), so the next free slot is exactly `cost` intervals further on,
    # however long the requests themselves took.
    next_free = int(bucket.redis_client().get(bucket.keys.bucket()))
    assert next_free == first.slot_us + (1 + cost) * interval


def test_pay_finding_the_line_long_is_handed_to_the_payments_queue(fan, small_event, settings):
    order = hold(fan, 2)
    assert post_json(fan, f"/api/v1/orders/{order.pk}/checkout/").status_code == 200
    settings.PSP_BUCKET_PER_MINUTE = 2  # 30 s a request: far beyond the web request's 2 s
    book_the_line()

    answer = post_json(fan, f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "pm_card_visa"})

    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert (body["status"], body["processing"]) == ("PAYMENT_PENDING", True)
    assert int(answer["Retry-After"]) >= 1
    assert payments_queue_length() == 1  # routed to the payments queue
    shown = fan.get(f"/api/v1/orders/{order.pk}/").json()
    assert shown["status"] == "PAYMENT_PENDING"
    assert shown["payment"] == {
        "status": "PENDING",
        "attempt": 1,
        "processing": True,
        "ready": True,
        "error": None,
    }

    # A second click while the task waits: the same answer, no second task.
    again = post_json(fan, f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "pm_card_visa"})
    assert (again.status_code, again.json()["processing"]) == (202, True)
    assert payments_queue_length() == 1

    payment = Payment.objects.get(order=order)
    # The worker's task, while the line is still longer than it books ahead:
    # it stays in line (retries), the fan still sees "processing".
    settings.PSP_BUCKET_TASK_MAX_WAIT_SECONDS = 1
    with pytest.raises(ProviderBusy):
        tasks.confirm_payment(payment.pk, "pm_card_visa")
    assert fan.get(f"/api/v1/orders/{order.pk}/").json()["payment"]["processing"] is True

    # Its turn comes: the task pays; the order is PAID and no longer processing.
    settings.PSP_BUCKET_PER_MINUTE = 60_000
    bucket.redis_client().delete(bucket.keys.bucket())
    tasks.confirm_payment(payment.pk, "pm_card_visa")

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    shown = fan.get(f"/api/v1/orders/{order.pk}/").json()
    assert shown["payment"]["processing"] is False and shown["payment"]["status"] == "PAID"
    assert post_json(fan, f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "pm_card_visa"}).json()["status"] == (
        "PAID"
    )


def test_a_declined_card_paid_by_the_task_gives_the_cart_back(fan, small_event, settings):
    order = hold(fan, 1)
    post_json(fan, f"/api/v1/orders/{order.pk}/checkout/")
    settings.PSP_BUCKET_PER_MINUTE = 2
    book_the_line()
    answer = post_json(fan, f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "pm_card_chargeCustomerFail"})
    assert answer.status_code == 202

    settings.PSP_BUCKET_PER_MINUTE = 60_000
    bucket.redis_client().delete(bucket.keys.bucket())
    tasks.confirm_payment(Payment.objects.get(order=order).pk, "pm_card_chargeCustomerFail")

    shown = fan.get(f"/api/v1/orders/{order.pk}/").json()
    assert shown["status"] == OrderStatus.HELD
    assert shown["payment"] == {
        "status": "FAILED",
        "attempt": 1,
        "processing": False,
        "ready": False,
        "error": ("card_declined"),
    }


def test_checkout_finding_the_line_long_gets_its_intent_from_a_task(fan, small_event, settings):
    order = hold(fan, 1)
    settings.PSP_BUCKET_PER_MINUTE = 2
    book_the_line()

    answer = post_json(fan, f"/api/v1/orders/{order.pk}/checkout/")

    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert (body["status"], body["processing"], body["payment"]["client_secret"]) == ("PAYMENT_PENDING", True, "")
    assert payments_queue_length() == 1
    # Asking again (the page polls) neither calls the PSP nor queues a second task.
    assert post_json(fan, f"/api/v1/orders/{order.pk}/checkout/").status_code == 202
    assert payments_queue_length() == 1
    assert fan.get(f"/api/v1/orders/{order.pk}/").json()["payment"]["processing"] is True

    settings.PSP_BUCKET_PER_MINUTE = 60_000
    bucket.redis_client().delete(bucket.keys.bucket())
    tasks.attach_intent(Payment.objects.get(order=order).pk)

    ready = post_json(fan, f"/api/v1/orders/{order.pk}/checkout/")
    assert ready.status_code == 200
    assert ready.json()["processing"] is False and ready.json()["payment"]["client_secret"].startswith("pi_")
    assert Payment.objects.get(order=order).status == PaymentStatus.PENDING
    paid = post_json(fan, f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "pm_card_visa"})
    assert paid.json()["status"] == "PAID"


def test_a_fan_with_no_payment_yet_sees_no_payment(fan, small_event):
    order = hold(fan, 1)
    assert fan.get(f"/api/v1/orders/{order.pk}/").json()["payment"] is None
    services.start_checkout(order_id=order.pk, owner=order.owner)
    assert fan.get(f"/api/v1/orders/{order.pk}/").json()["payment"]["ready"] is True


def test_when_the_broker_refuses_the_hand_over_the_fan_gets_503_and_nothing_is_marked(
    fan, small_event, settings, monkeypatch
):
    order = hold(fan, 1)
    post_json(fan, f"/api/v1/orders/{order.pk}/checkout/")
    settings.PSP_BUCKET_PER_MINUTE = 2
    book_the_line()

    def broker_down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.confirm_payment, "delay", broker_down)
    answer = post_json(fan, f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "pm_card_visa"})

    assert (answer.status_code, answer.json()["error"]) == (503, "payment_provider_unavailable")
    assert int(answer["Retry-After"]) >= 1
    assert fan.get(f"/api/v1/orders/{order.pk}/").json()["payment"]["processing"] is False
