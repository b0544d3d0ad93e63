"""A promoter refunds a whole paid order (from the admin).

Three steps, each safe to repeat, so that a refund happens once at the PSP
whoever clicks, however often, and whatever fails in between:

1. claim: ``refund_reason`` is set on the PAID payment by a conditional
   update; only the request that sets it talks to the PSP (as
   ``services._refund`` does for automatic refunds);
2. the refund at the PSP, with no database lock held; its id is stored at
   once, so a later step that fails never leads to a second refund;
3. one transaction: payment REFUNDED, the order PAID → REFUNDED with its
   seats back to AVAILABLE (``inventory…refund_order``, audited with the
   promoter's name), its tickets voided.

A retry after step 2 (say the inventory was busy) finds the refund id and
only finishes step 3. A claim whose PSP call failed is given back, so the
promoter can simply try again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from inventory.models import Order, OrderStatus
from inventory.services import holds
from payments.errors import RefundRefused
from payments.models import Payment, PaymentStatus, Ticket
from payments.providers import get_provider

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    REFUNDED = "refunded"  # this call refunded it
    ALREADY_REFUNDED = "already_refunded"  # refunded before: nothing done
    IN_PROGRESS = "in_progress"  # another request holds the claim right now


@dataclass(frozen=True)
class RefundResult:
    order_id: uuid.UUID
    outcome: Outcome
    refund_id: str = ""


def refund_order(*, order_id: uuid.UUID | str, actor: str, note: str = "") -> RefundResult:
    """Refund the PAID order ``order_id`` as a whole on behalf of ``actor``
    (the promoter's user name, kept in the audit trail and the refund
    reason). Raises RefundRefused for an order that is not paid,
    ProviderError when the PSP refuses or fails (nothing changed; try again),
    Busy when the inventory is contended (the money is back; try again to
    finish)."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise RefundRefused("No such order.")
    payment = Payment.objects.filter(order=order, status__in=[PaymentStatus.PAID, PaymentStatus.REFUNDED]).first()
    if order.status == OrderStatus.REFUNDED:
        return RefundResult(order.pk, Outcome.ALREADY_REFUNDED, payment.refund_id if payment else "")
    if order.status != OrderStatus.PAID:
        raise RefundRefused(f"Only a paid order can be refunded; this one is {order.status}.")
    if payment is None or payment.status != PaymentStatus.PAID or payment.intent_id is None:
        raise RefundRefused("This order has no paid payment to refund; run check_payments.")
    reason = f"refunded by {actor}" + (f": {note}" if note else "")
    claimed = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PAID, refund_reason="").update(
        refund_reason=reason[:300], updated_at=timezone.now()
    )
    if claimed:
        try:
            refund_id = get_provider().refund(intent_id=payment.intent_id, reason=reason)
        except Exception:
            # Nothing went back: give the claim back, so trying again works.
            Payment.objects.filter(pk=payment.pk, refund_id="").update(refund_reason="")
            raise
        Payment.objects.filter(pk=payment.pk).update(refund_id=refund_id, updated_at=timezone.now())
        log.info("refunded order %s (payment %s, %s) for %s", order.pk, payment.pk, refund_id, actor)
    else:
        payment.refresh_from_db()
        if payment.status == PaymentStatus.REFUNDED:
            return RefundResult(order.pk, Outcome.ALREADY_REFUNDED, payment.refund_id)
        if not payment.refund_id:
            return RefundResult(order.pk, Outcome.IN_PROGRESS)
        # Refunded at the PSP by an earlier attempt that did not finish: finish it.
    return _finish(payment_id=payment.pk, order_id=order.pk, actor=actor)


def _finish(*, payment_id: int, order_id: uuid.UUID, actor: str) -> RefundResult:
    """Step 3, in one transaction; a no-op when another request finished it."""
    now = timezone.now()
    with transaction.atomic():
        won = (
            Payment.objects.filter(pk=payment_id, status=PaymentStatus.PAID)
            .exclude(refund_id="")
            .update(status=PaymentStatus.REFUNDED, updated_at=now)
        )
        if won:
            holds.refund_order(order_id=order_id, actor=actor, reason="refunded", now=now)
            Ticket.objects.filter(order_id=order_id, voided_at__isnull=True).update(voided_at=now)
    refund_id = Payment.objects.values_list("refund_id", flat=True).get(pk=payment_id)
    return RefundResult(order_id, Outcome.REFUNDED if won else Outcome.ALREADY_REFUNDED, refund_id)
