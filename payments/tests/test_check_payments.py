"""``manage.py check_payments``: money, orders and tickets agree, with the
PSP's own list of intents (a real localstripe, emptied first). Each kind of
mismatch is made by hand, bypassing the services, and must be found."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from inventory.models import InventoryItem, Order, OrderStatus
from inventory.services import holds
from payments import refunds
from payments.models import Payment, PaymentStatus, Ticket
from payments.providers import get_provider
from payments.tests.helpers import hold, pay_order, post_json

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_psp")]


def check(capsys, *args):  # type: ignore[no-untyped-def]
    """(exit code, stdout, stderr) of check_payments with no grace."""
    try:
        call_command("check_payments", "--grace", "0", *args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def sale(fan, small_event):  # type: ignore[no-untyped-def]
    """One clean paid order of 2 places: (order, its payment)."""
    order = pay_order(fan, hold(fan, 2))
    assert order.status == OrderStatus.PAID
    return order, Payment.objects.get(order=order, status=PaymentStatus.PAID)


def test_a_clean_sale_passes(sale, second_fan, client, capsys):
    # Beside the sale: a refunded sale, a payment refunded because its seats
    # were gone, a checkout in flight and a decline.
    refunded = pay_order(second_fan, hold(second_fan, 1))
    refunds.refund_order(order_id=refunded.pk, actor="promoter")
    gone = hold(client, 1)
    post_json(client, f"/api/v1/orders/{gone.pk}/checkout/")
    late = Payment.objects.get(order=gone)
    holds.release_after_payment_cancelled(order_id=gone.pk, final_status=OrderStatus.EXPIRED, reason="expired")
    get_provider().confirm(intent_id=late.intent_id, payment_method="pm_card_visa")
    from payments.services import settle

    assert settle(intent_id=late.intent_id).status == PaymentStatus.REFUNDED  # type: ignore[union-attr]
    in_flight = hold(client, 1)
    post_json(client, f"/api/v1/orders/{in_flight.pk}/checkout/")
    declined = hold(second_fan, 1)
    post_json(second_fan, f"/api/v1/orders/{declined.pk}/checkout/")
    post_json(second_fan, f"/api/v1/orders/{declined.pk}/pay/", {"payment_method": "pm_card_chargeCustomerFail"})

    code, out, err = check(capsys)

    assert (code, err) == (0, "")
    assert "OK: 15 payment checks hold (5 intents at the PSP)" in out


def _paid_payment_is_failed(order, payment):  # type: ignore[no-untyped-def]
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.FAILED)


def _order_is_cancelled(order, payment):  # type: ignore[no-untyped-def]
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELLED)


def _order_total_changed(order, payment):  # type: ignore[no-untyped-def]
    Order.objects.filter(pk=order.pk).update(total=order.total + 1)


def _order_marked_refunded(order, payment):  # type: ignore[no-untyped-def]
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.REFUNDED)


def _refund_claimed_long_ago(order, payment):  # type: ignore[no-untyped-def]
    Payment.objects.filter(pk=payment.pk).update(
        refund_reason="refunded by someone", updated_at=timezone.now() - dt.timedelta(hours=1)
    )


def _a_ticket_deleted(order, payment):  # type: ignore[no-untyped-def]
    Ticket.objects.filter(order=order).first().delete()  # type: ignore[union-attr]


def _a_ticket_for_a_held_seat(order, payment):  # type: ignore[no-untyped-def]
    held = holds.hold_best_available(event=order.event, owner="fan-x", section_code="PISTA", quantity=1)
    Ticket.objects.create(order_id=held.order_id, item=InventoryItem.objects.get(order_id=held.order_id))


def _intent_swapped_for_an_unpaid_one(order, payment):  # type: ignore[no-untyped-def]
    other = get_provider().create_intent(amount=payment.amount, currency="eur", idempotency_key="x", metadata={})
    Payment.objects.filter(pk=payment.pk).update(intent_id=other.id)


def _payment_amount_changed(order, payment):  # type: ignore[no-untyped-def]
    Payment.objects.filter(pk=payment.pk).update(amount=payment.amount + 100)


def _refunded_at_the_psp_behind_our_back(order, payment):  # type: ignore[no-untyped-def]
    get_provider().refund(intent_id=payment.intent_id, reason="dashboard")


def _marked_refunded_without_a_refund(order, payment):  # type: ignore[no-untyped-def]
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.REFUNDED, refund_id="re_never_made")


def _refunded_twice_at_the_psp(order, payment):  # type: ignore[no-untyped-def]
    get_provider().refund(intent_id=payment.intent_id, reason="one")
    get_provider().refund(intent_id=payment.intent_id, reason="two")  # localstripe lets this through


def _a_stranger_paid_at_the_psp(order, payment):  # type: ignore[no-untyped-def]
    provider = get_provider()
    stranger = provider.create_intent(amount=1234, currency="eur", idempotency_key="y", metadata={})
    provider.confirm(intent_id=stranger.id, payment_method="pm_card_visa")


def _a_webhook_lost(order, payment):  # type: ignore[no-untyped-def]
    fan_order = holds.hold_best_available(event=order.event, owner="fan-y", section_code="PISTA", quantity=1)
    from payments import services

    pending = services.start_checkout(order_id=fan_order.order_id, owner="fan-y").payment
    get_provider().confirm(intent_id=pending.intent_id, payment_method="pm_card_visa")  # and no webhook


@pytest.mark.parametrize(
    ("corrupt", "mismatch"),
    [
        (_paid_payment_is_failed, "paid_order_without_one_paid_payment"),
        (_order_is_cancelled, "paid_payment_of_unpaid_order"),
        (_order_total_changed, "paid_payment_amount_differs_from_order"),
        (_order_marked_refunded, "refunded_order_without_refunded_payment"),
        (_refund_claimed_long_ago, "refund_unfinished"),
        (_a_ticket_deleted, "paid_order_tickets_mismatch"),
        (_a_ticket_for_a_held_seat, "ticket_without_paid_seat"),
        (_intent_swapped_for_an_unpaid_one, "paid_payment_not_succeeded_at_psp"),
        (_payment_amount_changed, "paid_payment_amount_differs_at_psp"),
        (_refunded_at_the_psp_behind_our_back, "paid_payment_refunded_at_psp"),
        (_marked_refunded_without_a_refund, "refunded_payment_not_refunded_at_psp"),
        (_refunded_twice_at_the_psp, "refunded_more_than_paid_at_psp"),
        (_a_stranger_paid_at_the_psp, "succeeded_intent_unknown"),
        (_a_webhook_lost, "succeeded_intent_unsettled"),
    ],
)
def test_each_kind_of_mismatch_is_found(sale, capsys, corrupt, mismatch):  # type: ignore[no-untyped-def]
    order, payment = sale
    assert check(capsys)[0] == 0

    corrupt(order, payment)
    code, out, err = check(capsys)

    assert code == 1
    assert f"MISMATCH {mismatch}: " in err
    assert "OK" not in out


def test_a_mismatch_only_the_psp_knows_needs_the_psp(sale, capsys):
    order, payment = sale
    _a_stranger_paid_at_the_psp(order, payment)

    assert check(capsys, "--skip-psp")[0] == 0
    assert check(capsys)[0] == 1


def test_a_refund_under_way_is_not_a_mismatch_within_the_grace(sale, capsys):
    order, payment = sale
    Payment.objects.filter(pk=payment.pk).update(refund_reason="refunded by someone", updated_at=timezone.now())

    call_command("check_payments", "--grace", "300")

    assert "OK" in capsys.readouterr().out


def test_the_psp_unreadable_exits_2(sale, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    settings.STRIPE_MAX_RETRIES = 0

    with pytest.raises(CommandError) as error:
        call_command("check_payments")

    assert error.value.returncode == 2
    assert "Could not read the payments at the PSP" in str(error.value)
