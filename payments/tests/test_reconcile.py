"""Reconciliation: payments whose webhook never came are settled from the
PSP's own state (``manage.py reconcile_payments`` and the beat task), with a
real localstripe."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from inventory.models import InventoryItem, ItemStatus, Order, OrderStatus
from inventory.services import holds
from payments.models import Payment, PaymentStatus, Ticket
from payments.providers import IntentStatus, get_provider
from payments.tasks import reconcile_payments
from payments.tests.helpers import hold, post_json

pytestmark = pytest.mark.django_db


def checkout(fan, order):  # type: ignore[no-untyped-def]
    assert post_json(fan, f"/api/v1/orders/{order.pk}/checkout/").status_code == 200
    return Payment.objects.get(order=order, status=PaymentStatus.PENDING)


def paid_at_the_psp_only(fan, quantity=2):  # type: ignore[no-untyped-def]
    """A fan pays with Stripe.js and the webhook is lost: the PSP says
    succeeded, we still say PAYMENT_PENDING."""
    order = hold(fan, quantity)
    payment = checkout(fan, order)
    get_provider().confirm(intent_id=payment.intent_id, payment_method="pm_card_visa")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYMENT_PENDING
    return order, payment


def reconcile(capsys, *args):  # type: ignore[no-untyped-def]
    call_command("reconcile_payments", *args)
    return capsys.readouterr().out


def test_a_lost_webhook_is_settled_by_reconciliation_once(fan, small_event, capsys):
    order, payment = paid_at_the_psp_only(fan)

    # Younger than the beat's age (PAYMENTS_RECONCILE_AFTER_SECONDS): left to its webhook.
    assert "0 pending payments checked" in reconcile(capsys)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYMENT_PENDING

    out = reconcile(capsys, "--older-than", "0")

    assert f"{order.pk} PAYMENT_PENDING → PAID: paid, payment {payment.pk}, intent {payment.intent_id}" in out
    assert "1 pending payments checked: 1 paid, 0 refunded, 0 released" in out
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID
    assert Ticket.objects.filter(order=order, voided_at__isnull=True).count() == 2
    assert InventoryItem.objects.filter(order=order, status=ItemStatus.SOLD).count() == 2

    again = reconcile(capsys, "--older-than", "0")

    assert "0 pending payments checked: 0 paid, 0 refunded, 0 released" in again
    assert str(order.pk) not in again
    assert Ticket.objects.filter(order=order).count() == 2


def test_dry_run_says_what_it_would_do_and_changes_nothing(fan, small_event, capsys):
    order, payment = paid_at_the_psp_only(fan, 1)

    out = reconcile(capsys, "--older-than", "0", "--dry-run")

    assert f"would: {order.pk} PAYMENT_PENDING → PAID: paid" in out
    assert "(dry run, nothing changed)" in out
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYMENT_PENDING
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING
    assert not Ticket.objects.filter(order=order).exists()


def _past_deadline(order):  # type: ignore[no-untyped-def]
    past = timezone.now() - dt.timedelta(seconds=1)
    Order.objects.filter(pk=order.pk).update(expires_at=past)
    InventoryItem.objects.filter(order=order).update(locked_until=past)


def test_a_cancelled_intent_past_its_deadline_is_released_through_the_release_path(fan, small_event, capsys):
    order = hold(fan, 2)
    payment = checkout(fan, order)
    get_provider().cancel(intent_id=payment.intent_id)  # at the PSP (say, from its dashboard)
    _past_deadline(order)

    out = reconcile(capsys, "--older-than", "0")

    assert f"{order.pk} PAYMENT_PENDING → EXPIRED: released" in out
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CANCELED
    assert InventoryItem.objects.filter(order=order).count() == 0  # the seats went back, cleared
    assert "0 pending payments checked" in reconcile(capsys, "--older-than", "0")


def test_an_unpaid_intent_still_in_time_is_left_alone(fan, small_event, capsys):
    order = hold(fan, 1)
    payment = checkout(fan, order)

    out = reconcile(capsys, "--older-than", "0", "--verbose-unchanged")

    assert f"{order.pk} PAYMENT_PENDING: unchanged" in out
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYMENT_PENDING
    assert get_provider().retrieve(intent_id=payment.intent_id).status == IntentStatus.REQUIRES_PAYMENT_METHOD


def test_a_lost_webhook_for_seats_that_are_gone_is_refunded(fan, small_event, capsys):
    order = hold(fan, 1)
    payment = checkout(fan, order)
    # The checkout ended without the cancel reaching the PSP, and then the fan's payment went through.
    holds.release_after_payment_cancelled(order_id=order.pk, final_status=OrderStatus.EXPIRED, reason="expired")
    get_provider().confirm(intent_id=payment.intent_id, payment_method="pm_card_visa")

    out = reconcile(capsys, "--older-than", "0")

    assert f"{order.pk} EXPIRED: refunded" in out
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED and payment.refund_id.startswith("re_")


def test_the_beat_task_reconciles_payments_older_than_the_setting(fan, small_event, settings):
    order, _ = paid_at_the_psp_only(fan, 1)
    settings.PAYMENTS_RECONCILE_AFTER_SECONDS = 0

    reconcile_payments()  # as the worker runs it

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_beat_sends_reconciliation_every_interval():
    entry = settings.CELERY_BEAT_SCHEDULE["payments-reconcile"]
    assert entry["task"] == "payments.reconcile"
    assert entry["schedule"] == 60.0
    assert settings.PAYMENTS_RECONCILE_AFTER_SECONDS == 300


def test_the_psp_down_stops_the_run_and_exits_non_zero(fan, small_event, settings, capsys):
    paid_at_the_psp_only(fan, 1)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    settings.STRIPE_MAX_RETRIES = 0

    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile_payments", "--older-than", "0")

    assert exit_.value.code == 1
    assert "Stopped early, the PSP is unavailable" in capsys.readouterr().err


def test_a_backlog_is_read_in_turns_of_the_batch(fan, second_fan, small_event, capsys):
    first = checkout(fan, hold(fan, 1))
    second = checkout(second_fan, hold(second_fan, 1))

    one = reconcile(capsys, "--older-than", "0", "--limit", "1", "--verbose-unchanged")
    two = reconcile(capsys, "--older-than", "0", "--limit", "1", "--verbose-unchanged")

    assert f"payment {first.pk}," in one and f"payment {second.pk}," not in one
    assert f"payment {second.pk}," in two and f"payment {first.pk}," not in two
