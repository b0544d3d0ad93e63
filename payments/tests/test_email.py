"""The confirmation e-mail goes through Celery (queue ``payments``): sent
once whatever redelivers the task, retried on SMTP errors, in the fan's
language. Django's locmem backend (mail.outbox)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.core import mail
from django.db import connections
from django.utils import timezone, translation

from payments import notifications, refunds
from payments.models import Payment, PaymentStatus, Ticket
from payments.reconcile import reconcile
from payments.tasks import send_tickets_email
from payments.tests.helpers import hold, pay_order
from payments.tests.mail_backends import FlakyBackend, StallingBackend

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(fan, small_event):  # type: ignore[no-untyped-def]
    """A paid order whose e-mail task was queued, not run: its payment."""
    order = pay_order(fan, hold(fan, 2))
    payment = Payment.objects.get(order=order, status=PaymentStatus.PAID)
    assert payment.tickets_sent_at is None
    return payment


def test_the_task_runs_on_the_payments_queue():
    route = settings.CELERY_TASK_ROUTES["payments.*"]
    assert route == {"queue": "payments"}
    assert send_tickets_email.acks_late


def test_a_sale_queues_the_e_mail_after_commit_and_the_task_sends_it(
    fan, small_event, django_capture_on_commit_callbacks, celery_eager
):
    order = hold(fan, 2)
    with django_capture_on_commit_callbacks() as callbacks:
        pay_order(fan, order)
    assert mail.outbox == []  # nothing is sent inside the fan's request

    with translation.override("en"):
        for callback in callbacks:
            callback()  # the commit: the task is queued (eager here: it runs now)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["fan@example.com"]
    assert message.subject == f"Your tickets for {small_event.name}"
    for ticket in Ticket.objects.filter(order=order):
        assert ticket.code in message.body
    assert Payment.objects.get(order=order).tickets_sent_at is not None


def test_a_redelivered_task_sends_nothing_more(paid):
    send_tickets_email(paid.pk)
    send_tickets_email(paid.pk)  # acks late: a worker died after sending, the broker redelivers

    assert len(mail.outbox) == 1


def test_smtp_errors_are_retried_and_the_e_mail_goes_once(paid, settings):
    settings.EMAIL_BACKEND = "payments.tests.mail_backends.FlakyBackend"
    FlakyBackend.failures = 2

    result = send_tickets_email.apply(args=(paid.pk,))  # in this process: its retries run here too

    assert result.successful()
    assert FlakyBackend.failures == 0
    assert len(mail.outbox) == 1
    assert Payment.objects.get(pk=paid.pk).tickets_sent_at is not None


def test_the_e_mail_is_in_the_language_the_fan_paid_in(paid):
    send_tickets_email(paid.pk, "ca")

    assert mail.outbox[0].subject.startswith("Les teves entrades per a ")


def test_a_refunded_order_gets_no_confirmation(paid):
    refunds.refund_order(order_id=paid.order_id, actor="cashier")

    send_tickets_email(paid.pk)

    assert mail.outbox == []


def test_reconciliation_sends_an_e_mail_whose_task_was_lost(paid):
    later = timezone.now() + dt.timedelta(seconds=settings.PAYMENTS_RECONCILE_AFTER_SECONDS + 1)

    report = reconcile(now=later)
    reconcile(now=later)  # and only once

    assert [c.action for c in report.changes] == ["email"]
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_while_the_first_is_sending_skips_instead_of_sending_twice(paid, settings):
    settings.EMAIL_BACKEND = "payments.tests.mail_backends.StallingBackend"
    StallingBackend.sending.clear()
    StallingBackend.release.clear()
    results: list[object] = []

    def first() -> None:
        try:
            results.append(notifications.send_tickets(payment_id=paid.pk))
        finally:
            connections.close_all()

    thread = threading.Thread(target=first)
    thread.start()
    assert StallingBackend.sending.wait(10)

    duplicate = notifications.send_tickets(payment_id=paid.pk)  # the row is locked: skipped at once

    StallingBackend.release.set()
    thread.join(30)
    assert (results, duplicate) == ([True], False)
    assert len(mail.outbox) == 1
