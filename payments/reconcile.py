"""Reconciliation: our records brought in line with the PSP's own state.

Webhooks get lost (the PSP gives up, our endpoint was down, a task died
for good). So every few minutes (beat: ``payments.reconcile``; on demand:
``manage.py reconcile_payments``) each PENDING payment older than
``PAYMENTS_RECONCILE_AFTER_SECONDS`` is read back from the PSP:

- the intent succeeded → ``services.settle_intent``, exactly what its webhook
  would have done (PAID with tickets, or refunded when the seats are gone);
- the intent was cancelled or never paid (``canceled``,
  ``requires_payment_method``) and the checkout's deadline has passed → the
  order is released through the normal path (``holds.expire_order``, which
  hands it to the payment hook: cancel first, honour if it succeeded);
- anything else (in time, in 3-D Secure, processing) is left alone.

Paid payments whose confirmation e-mail was never sent (the broker was down
at the sale, or the task gave up) get it sent here, once per run. Every step is idempotent, so a second run,
or a run racing a webhook, changes nothing more.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.utils import timezone

from inventory.models import Order, OrderStatus
from inventory.services import holds
from inventory.services.locking import Busy
from payments import notifications, services
from payments.models import Payment, PaymentStatus
from payments.providers import Intent, IntentStatus, ProviderError, ProviderUnavailable, get_provider

log = logging.getLogger(__name__)

# An intent in one of these, past the checkout's deadline, will not be paid.
UNPAID_INTENT_STATUSES = (IntentStatus.CANCELED, IntentStatus.REQUIRES_PAYMENT_METHOD)
UNSENT_EMAIL_WINDOW = dt.timedelta(days=1)
UNSENT_EMAILS_PER_RUN = 100


class Action(StrEnum):
    PAID = "paid"  # settled from the PSP: the order is PAID with its tickets
    REFUNDED = "refunded"  # it had succeeded for seats that are gone: refunded
    RELEASED = "released"  # never paid, deadline passed: released
    EMAIL = "email"  # the confirmation e-mail, sent late
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass(frozen=True)
class Change:
    """What reconciliation did (or, in a dry run, would do) to one order."""

    order_id: object
    payment_id: int
    intent_id: str
    action: Action
    before: str  # the order's status before
    after: str  # and after (in a dry run: what it would be)
    detail: str = ""

    def line(self) -> str:
        arrow = f"{self.before} → {self.after}" if self.before != self.after else self.before
        note = f" ({self.detail})" if self.detail else ""
        return f"{self.order_id} {arrow}: {self.action}, payment {self.payment_id}, intent {self.intent_id}{note}"


@dataclass(frozen=True)
class Report:
    changes: list[Change]
    checked: int
    stopped: str = ""  # why the run stopped early (the PSP is unavailable)

    @property
    def counts(self) -> Counter[str]:
        return Counter(change.action.value for change in self.changes)

    def summary(self, *, dry_run: bool = False) -> str:
        counts = self.counts
        parts = ", ".join(f"{counts[a]} {a}" for a in Action)
        text = f"{self.checked} pending payments checked{' (dry run, nothing changed)' if dry_run else ''}: {parts}"
        return f"{text}; stopped early: {self.stopped}" if self.stopped else text


def default_age() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PAYMENTS_RECONCILE_AFTER_SECONDS)


def pending_payments(*, older_than: dt.timedelta, now: dt.datetime, limit: int) -> list[Payment]:
    """PENDING payments with an intent, created before ``now - older_than``,
    the longest unchecked first (a check that changes nothing touches
    ``updated_at``, so a long backlog is read in turns, ``limit`` per run)."""
    return list(
        Payment.objects.filter(
            status=PaymentStatus.PENDING, intent_id__isnull=False, created_at__lte=now - older_than
        ).order_by("updated_at", "pk")[:limit]
    )


def reconcile(
    *,
    older_than: dt.timedelta | None = None,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    limit: int | None = None,
) -> Report:
    """One pass over at most ``limit`` (default: PAYMENTS_RECONCILE_BATCH)
    PENDING payments older than ``older_than`` (default:
    PAYMENTS_RECONCILE_AFTER_SECONDS), then the unsent e-mails. One PSP call
    per payment: the batch bounds this job's share of the PSP's rate. Stops
    at the first ProviderUnavailable (the PSP is down: the next run tries
    again); another error on one payment is reported and the pass goes on."""
    now = now or timezone.now()
    age = default_age() if older_than is None else older_than
    changes: list[Change] = []
    batch = settings.PAYMENTS_RECONCILE_BATCH if limit is None else limit
    payments = pending_payments(older_than=age, now=now, limit=batch)
    stopped = ""
    for payment in payments:
        try:
            changes.append(_reconcile_one(payment, dry_run=dry_run, now=now))
        except ProviderUnavailable as exc:
            stopped = exc.detail
            break
        except (ProviderError, holds.HoldError, Busy) as exc:
            changes.append(_change(payment, Action.ERROR, _status(payment), detail=str(exc.detail)))
    if not stopped:
        changes.extend(_unsent_emails(older_than=age, now=now, dry_run=dry_run))
    report = Report(changes=changes, checked=len(payments), stopped=stopped)
    if report.stopped or any(c.action != Action.UNCHANGED for c in changes):
        log.info("reconciliation: %s", report.summary(dry_run=dry_run))
    return report


def _status(payment: Payment) -> str:
    return str(Order.objects.values_list("status", flat=True).get(pk=payment.order_id))


def _change(payment: Payment, action: Action, before: str, after: str = "", detail: str = "") -> Change:
    return Change(
        order_id=payment.order_id,
        payment_id=payment.pk,
        intent_id=payment.intent_id or "",
        action=action,
        before=before,
        after=after or before,
        detail=detail,
    )


def _reconcile_one(payment: Payment, *, dry_run: bool, now: dt.datetime) -> Change:
    assert payment.intent_id is not None
    intent = get_provider().retrieve(intent_id=payment.intent_id)
    order = Order.objects.get(pk=payment.order_id)
    before = order.status
    if intent.status == IntentStatus.SUCCEEDED:
        if dry_run:
            return _change(payment, Action.PAID, before, OrderStatus.PAID, detail="the intent succeeded")
        return _settled(payment, intent, before)
    deadline_passed = order.expires_at is not None and order.expires_at <= now
    if intent.status in UNPAID_INTENT_STATUSES and deadline_passed and before == OrderStatus.PAYMENT_PENDING:
        if dry_run:
            return _change(payment, Action.RELEASED, before, OrderStatus.EXPIRED, detail=f"intent {intent.status}")
        order = holds.expire_order(order_id=order.pk, now=now)
        payment.refresh_from_db()
        if payment.status == PaymentStatus.PAID:  # it succeeded meanwhile: the hook honoured it
            return _change(payment, Action.PAID, before, order.status, detail="succeeded while releasing")
        return _change(payment, Action.RELEASED, before, order.status, detail=f"intent {intent.status}")
    if not dry_run:  # its turn is over: the next run reads the others first
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(updated_at=now)
    return _change(payment, Action.UNCHANGED, before, detail=f"intent {intent.status}")


def _settled(payment: Payment, intent: Intent, before: str) -> Change:
    settled = services.settle_intent(intent)
    after = _status(payment)
    if settled is not None and settled.status == PaymentStatus.PAID:
        return _change(payment, Action.PAID, before, after, detail="missed webhook")
    if settled is not None and settled.status == PaymentStatus.REFUNDED:
        return _change(payment, Action.REFUNDED, before, after, detail=settled.refund_reason)
    return _change(payment, Action.UNCHANGED, before, after, detail="the intent succeeded; not settled yet")


def _unsent_emails(*, older_than: dt.timedelta, now: dt.datetime, dry_run: bool) -> Iterator[Change]:
    """Send, here and once per run, the e-mails of PAID payments that were
    not sent within ``older_than`` (their task was never queued, or gave up),
    up to a day after the sale: later, the fan has long had the tickets page."""
    unsent = Payment.objects.filter(
        status=PaymentStatus.PAID,
        tickets_sent_at__isnull=True,
        updated_at__lte=now - older_than,
        updated_at__gt=now - UNSENT_EMAIL_WINDOW,
    ).exclude(email="")
    for payment in unsent.order_by("updated_at")[:UNSENT_EMAILS_PER_RUN]:
        if dry_run:
            yield _change(payment, Action.EMAIL, OrderStatus.PAID, detail="the confirmation e-mail is unsent")
            continue
        try:
            sent = notifications.send_tickets(payment_id=payment.pk)
        except (smtplib.SMTPException, ConnectionError, TimeoutError) as exc:
            yield _change(payment, Action.ERROR, OrderStatus.PAID, detail=f"the e-mail failed again: {exc}")
            continue
        if sent:
            yield _change(payment, Action.EMAIL, OrderStatus.PAID, detail="the confirmation e-mail, sent late")
