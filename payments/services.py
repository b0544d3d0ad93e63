"""Every write path of payments: checkout, pay, settle, the release hook.

The rules (docs/payments.md): the PSP is never called inside a database
transaction; our own rows dedupe (one Payment per order and attempt, one
PENDING and one PAID per order, each webhook event once), whatever the PSP
does with idempotency keys; a succeeded payment ends in a PAID order with
tickets, or in a refund with its reason recorded.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from inventory import selectors as inventory_selectors
from inventory.models import InventoryItem, ItemStatus, Order, OrderStatus
from inventory.services import holds
from inventory.services.locking import Busy
from payments import notifications
from payments.errors import CheckoutNotStarted
from payments.models import Payment, PaymentStatus, Ticket
from payments.providers import (
    AuthenticationFailed,
    CardDeclined,
    CircuitOpen,
    Intent,
    IntentStatus,
    ProviderBusy,
    ProviderError,
    ProviderUnavailable,
    get_provider,
)
from ticketing.errors import DomainError

log = logging.getLogger(__name__)

UNSETTLED = (PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.CANCELED)


@dataclass(frozen=True)
class Checkout:
    order: Order
    payment: Payment
    # The PSP's bucket is full: a task creates the intent; ask again for it.
    processing: bool = False


@dataclass(frozen=True)
class PayResult:
    order: Order
    # The PSP's bucket is full: a task confirms the payment; poll the order.
    processing: bool = False
    # The bank asks for 3-D Secure (see Confirmation).
    action_secret: str | None = None


@dataclass(frozen=True)
class Confirmation:
    """What a confirmation left: the order, and, when the fan's bank asks
    them to authenticate (3-D Secure), the intent's client secret for
    Stripe.js to show the bank's step (docs/payments.md, "The checkout page")."""

    order: Order
    action_secret: str | None = None


# Stripe's code of a failed 3-D Secure step; a failure_reason that starts
# with AUTHENTICATION_FAILED tells the fan their bank said no, not their card.
AUTHENTICATION_FAILURE_CODE = "payment_intent_authentication_failure"
AUTHENTICATION_FAILED = "3-D Secure authentication failed"


def _minor_units(total: Decimal) -> int:
    return int((total * 100).to_integral_value())


def idempotency_key(*, order_id: uuid.UUID, attempt: int, amount: int, currency: str) -> str:
    """Deterministic: a retried checkout asks the PSP for the same intent."""
    return f"checkout:{order_id}:{attempt}:{amount}{currency.lower()}"


def _own_order(order_id: object, owner: str) -> Order:
    order = inventory_selectors.order_for_owner(order_id, owner)
    if order is None:
        raise holds.OrderNotFound("No such order.")
    return order


def _pending_payment(order: Order, email: str = "") -> Payment:
    """The order's PENDING payment, created (next attempt) when it has none."""
    for _ in range(3):
        payment = Payment.objects.filter(order=order, status=PaymentStatus.PENDING).first()
        if payment is not None:
            return payment
        attempt = (Payment.objects.filter(order=order).aggregate(n=Max("attempt"))["n"] or 0) + 1
        amount = _minor_units(order.total)
        try:
            with transaction.atomic():
                return Payment.objects.create(
                    order=order,
                    attempt=attempt,
                    idempotency_key=idempotency_key(
                        order_id=order.pk, attempt=attempt, amount=amount, currency=order.currency
                    ),
                    amount=amount,
                    currency=order.currency,
                    email=email,
                )
        except IntegrityError:
            continue  # a concurrent checkout created it: read theirs
    raise holds.InvalidTransition("The order's payment keeps changing; try again.")


def start_checkout(*, order_id: uuid.UUID | str, owner: str, email: str = "") -> Checkout:
    """HELD → PAYMENT_PENDING (inventory), then the order's PaymentIntent,
    created or reused, outside any transaction. Calling it again for an
    order already in checkout returns the same payment. Raises
    OrderNotFound (not the owner's), HoldExpired, InvalidTransition,
    ProviderError (the PSP failed; the order stays in checkout and a retry
    reuses the payment)."""
    order = _own_order(order_id, owner)
    if order.status == OrderStatus.HELD:
        order = holds.start_checkout(order_id=order.pk, owner=owner)
    elif order.status != OrderStatus.PAYMENT_PENDING:
        raise holds.InvalidTransition(f"An order in {order.status} cannot start checkout.")
    payment = _pending_payment(order, email)
    if email and payment.email != email:
        # The checkout page sends the address with the card; the payment may
        # have been created by the cart's "Pay" button, without one.
        Payment.objects.filter(pk=payment.pk).update(email=email, updated_at=timezone.now())
        payment.email = email
    if payment.intent_id is None:
        if payment.processing_since is not None:
            return Checkout(order=order, payment=payment, processing=True)  # a task is on it
        try:
            payment = _attach_intent(payment)
        except ProviderBusy:
            # The PSP's line is longer than a web request may wait: a task
            # waits in it instead; the fan asks again (idempotent) for the intent.
            from payments.tasks import attach_intent

            _hand_over(payment, lambda: attach_intent.delay(payment.pk))
            payment.refresh_from_db()
            return Checkout(order=order, payment=payment, processing=True)
    return Checkout(order=order, payment=payment)


def _hand_over(payment: Payment, enqueue: Callable[[], object]) -> None:
    """Mark the payment as being processed by a task and queue that task,
    once (a concurrent request that also found the line full sees the mark).
    The mark goes back if the task cannot be queued."""
    marked = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING, processing_since__isnull=True).update(
        processing_since=timezone.now()
    )
    if not marked:
        return
    try:
        enqueue()
    except Exception as exc:  # the broker did not take it: the fan retries later
        _done_processing(payment.pk)
        log.warning("could not queue payment work for payment %s: %s", payment.pk, exc)
        raise ProviderBusy("Payments are very busy right now; nothing was charged.", retry_after=5) from exc


def _done_processing(payment_id: int) -> None:
    Payment.objects.filter(pk=payment_id).update(processing_since=None)


def attach_deferred(*, payment_id: int) -> None:
    """The ``payments.attach_intent`` task: create the intent of a checkout
    whose web request found the PSP's line full. Raises ProviderUnavailable
    (the task retries; the payment stays marked as processing)."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        return
    try:
        if payment.status == PaymentStatus.PENDING and payment.intent_id is None:
            _attach_intent(payment)
    except ProviderUnavailable:
        raise
    except DomainError as exc:
        log.info("deferred checkout of payment %s ended: %s", payment_id, exc.detail)
    _done_processing(payment_id)


def _attach_intent(payment: Payment) -> Payment:
    provider = get_provider()
    intent = provider.create_intent(
        amount=payment.amount,
        currency=payment.currency,
        idempotency_key=payment.idempotency_key,
        metadata={"order_id": str(payment.order_id), "payment_id": str(payment.pk), "attempt": str(payment.attempt)},
    )
    won = Payment.objects.filter(pk=payment.pk, intent_id__isnull=True, status=PaymentStatus.PENDING).update(
        intent_id=intent.id, client_secret=intent.client_secret, updated_at=timezone.now()
    )
    payment.refresh_from_db()
    if not won and payment.intent_id != intent.id:
        # A concurrent checkout attached its intent first, or the order was
        # released meanwhile: ours must never be paid.
        provider.cancel(intent_id=intent.id)
        if payment.status != PaymentStatus.PENDING:
            raise holds.InvalidTransition("The checkout ended while the payment was being created.")
    return payment


def pay(*, order_id: uuid.UUID | str, owner: str, payment_method: str) -> Order:
    """Confirm the order's payment server-side with ``payment_method``; see
    ``confirm``. The order as the confirmation left it."""
    return confirm(order_id=order_id, owner=owner, payment_method=payment_method).order


def confirm(*, order_id: uuid.UUID | str, owner: str, payment_method: str) -> Confirmation:
    """Confirm the order's payment server-side with ``payment_method`` (the
    checkout page's card, made into a payment method by Stripe.js; a test
    payment method for load tests and tests). Succeeded: the order is
    settled now (PAID with tickets, or refunded). The bank asks for 3-D
    Secure: the order stays PAYMENT_PENDING and the answer carries the
    secret Stripe.js needs (then ``refresh``). Declined: the intent is
    cancelled, the order goes back to HELD while its deadline lasts (else it
    is released as FAILED), and CardDeclined is raised with ``status``."""
    order = _own_order(order_id, owner)
    if order.status == OrderStatus.PAID:
        return Confirmation(order=order)
    if order.status != OrderStatus.PAYMENT_PENDING:
        raise CheckoutNotStarted("Start the checkout first.")
    payment = Payment.objects.filter(order=order, status=PaymentStatus.PENDING, intent_id__isnull=False).first()
    if payment is None or payment.intent_id is None:
        order.refresh_from_db()
        if order.status == OrderStatus.PAID:
            # A concurrent confirmation (a double click) paid it between
            # our two reads: this request's answer is the paid order too.
            return Confirmation(order=order)
        raise CheckoutNotStarted("Start the checkout first.")
    try:
        intent = get_provider().confirm(intent_id=payment.intent_id, payment_method=payment_method)
    except CardDeclined as exc:
        status = _declined(payment, exc.detail)
        raise CardDeclined(exc.detail, status=status) from exc
    except (ProviderBusy, CircuitOpen):
        raise  # nothing was sent
    except ProviderError:
        # A concurrent confirm of the same intent (a double click, a retried
        # request) makes the PSP refuse this one. If the payment went
        # through, this request's answer is the paid order, not an error.
        if _settled_paid(payment.intent_id):
            order.refresh_from_db()
            return Confirmation(order=order)
        raise
    if intent.status == IntentStatus.SUCCEEDED:
        _honour(payment, intent)
    order.refresh_from_db()
    action = intent.client_secret if intent.status == IntentStatus.REQUIRES_ACTION else None
    return Confirmation(order=order, action_secret=action)


def refresh(*, order_id: uuid.UUID | str, owner: str) -> Order:
    """The checkout page's call once Stripe.js has finished (3-D Secure
    passed, failed or was cancelled): settle the order's payment from the
    PSP's view now rather than wait for the webhook. Succeeded: PAID (or
    refunded). Failed: the order is back in the cart and CardDeclined or
    AuthenticationFailed is raised with ``status``, also when a webhook got
    here first. Still in progress: the order as it is (PAYMENT_PENDING)."""
    order = _own_order(order_id, owner)
    if order.status == OrderStatus.PAYMENT_PENDING:
        payment = Payment.objects.filter(order=order, status=PaymentStatus.PENDING, intent_id__isnull=False).first()
        if payment is not None and payment.intent_id is not None:
            settle(intent_id=payment.intent_id)
            order.refresh_from_db()
    if order.status == OrderStatus.PAYMENT_PENDING or order.status == OrderStatus.PAID:
        return order
    last = Payment.objects.filter(order=order).order_by("-attempt").first()
    if last is not None and last.status == PaymentStatus.FAILED:
        failed = AuthenticationFailed if last.failure_reason.startswith(AUTHENTICATION_FAILED) else CardDeclined
        raise failed(last.failure_reason, status=order.status)
    return order


def pay_or_defer(*, order_id: uuid.UUID | str, owner: str, payment_method: str) -> PayResult:
    """``pay`` for a web request: when the PSP's line is longer than a web
    request may wait (ProviderBusy), a ``payments.confirm_payment`` task waits
    in it instead and the result says ``processing`` (the fan polls the
    order). A payment a task is already confirming is not confirmed twice."""
    order = _own_order(order_id, owner)
    queued = Payment.objects.filter(
        order=order, status=PaymentStatus.PENDING, intent_id__isnull=False, processing_since__isnull=False
    ).exists()
    if queued and order.status == OrderStatus.PAYMENT_PENDING:
        return PayResult(order=order, processing=True)
    try:
        done = confirm(order_id=order.pk, owner=owner, payment_method=payment_method)
        return PayResult(order=done.order, action_secret=done.action_secret)
    except ProviderBusy:
        payment = Payment.objects.filter(order=order, status=PaymentStatus.PENDING, intent_id__isnull=False).first()
        if payment is None:
            raise
        from payments.tasks import confirm_payment

        pk = payment.pk
        _hand_over(payment, lambda: confirm_payment.delay(pk, payment_method))
        order.refresh_from_db()
        return PayResult(order=order, processing=True)


def confirm_deferred(*, payment_id: int, payment_method: str) -> None:
    """The ``payments.confirm_payment`` task: ``pay`` on behalf of a fan whose
    web request found the PSP's line full. A decline is recorded as in
    ``pay`` (payment FAILED, order back to HELD). Raises ProviderUnavailable
    (the task retries; the payment stays marked as processing)."""
    payment = Payment.objects.select_related("order").filter(pk=payment_id).first()
    if payment is None:
        return
    try:
        if payment.status == PaymentStatus.PENDING and payment.order.status == OrderStatus.PAYMENT_PENDING:
            pay(order_id=payment.order_id, owner=payment.order.owner, payment_method=payment_method)
    except ProviderUnavailable:
        raise
    except DomainError as exc:  # declined (recorded), refused, or the order moved on
        log.info("deferred payment %s ended: %s", payment_id, exc.detail)
    _done_processing(payment_id)


def _settled_paid(intent_id: str) -> bool:
    """Settle one intent from the PSP's view; whether that left it PAID."""
    try:
        payment = settle(intent_id=intent_id)
    except ProviderError:
        return False
    return payment is not None and payment.status == PaymentStatus.PAID


def _declined(payment: Payment, reason: str) -> str:
    """After a decline: cancel the intent so it can never succeed later, then
    give the fan the cart back. Returns the order's status."""
    assert payment.intent_id is not None
    intent = get_provider().cancel(intent_id=payment.intent_id)
    if intent.status == IntentStatus.SUCCEEDED:
        return _honour(payment, intent).status
    failed = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
        status=PaymentStatus.FAILED, failure_reason=reason[:300], updated_at=timezone.now()
    )
    if not failed:
        # Another path (the page's refresh, a webhook, the fan's release)
        # settled this payment first, and the order with it.
        return str(Order.objects.values_list("status", flat=True).get(pk=payment.order_id))
    try:
        order = holds.return_to_hold(order_id=payment.order_id)
    except holds.HoldExpired:
        order = holds.release_after_payment_cancelled(
            order_id=payment.order_id, final_status=OrderStatus.FAILED, reason="payment_declined"
        )
    return order.status


def settle(*, intent_id: str) -> Payment | None:
    """Bring our records in line with the PSP's view of one intent (webhooks,
    reconciliation). Idempotent: a duplicate, late or early call changes
    nothing more. Returns the payment, or None when the intent is not ours."""
    return settle_intent(get_provider().retrieve(intent_id=intent_id))


def settle_intent(intent: Intent) -> Payment | None:
    """``settle`` for an intent just read from the PSP (reconciliation reads it itself)."""
    payment = Payment.objects.filter(
        Q(intent_id=intent.id) | Q(pk=_int(intent.metadata.get("payment_id")), intent_id__isnull=True)
    ).first()
    if payment is None:
        log.warning("settle: intent %s is not one of ours", intent.id)
        return None
    if payment.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
        return payment
    if intent.status == IntentStatus.SUCCEEDED:
        _honour(payment, intent)
        payment.refresh_from_db()
    elif intent.failed_attempt and payment.status == PaymentStatus.PENDING and payment.intent_id == intent.id:
        # Stripe.js's attempt failed (3-D Secure not passed, or the card
        # declined after it): the same rule as a decline in ``confirm``.
        _declined(payment, _failure_reason(intent))
        payment.refresh_from_db()
    return payment


def _failure_reason(intent: Intent) -> str:
    if intent.last_error_code == AUTHENTICATION_FAILURE_CODE:
        return f"{AUTHENTICATION_FAILED}: {intent.last_error}"
    return intent.last_error or intent.last_error_code


def _int(value: str | None) -> int:
    try:
        return int(value or "0")
    except ValueError:
        return 0


HONOUR_ATTEMPTS = 3


def _honour(payment: Payment, intent: Intent) -> Order:
    """A succeeded intent: PAID order with tickets, or a refund with its reason."""
    now = timezone.now()
    try:
        for attempt in range(HONOUR_ATTEMPTS):
            try:
                with transaction.atomic():
                    won = Payment.objects.filter(pk=payment.pk, status__in=UNSETTLED).update(
                        status=PaymentStatus.PAID, intent_id=intent.id, updated_at=now
                    )
                    if won:
                        order = holds.sell_order(order_id=payment.order_id, now=now)
                        _issue_tickets(order)
                        transaction.on_commit(lambda: notifications.queue_tickets(payment_id=payment.pk), robust=True)
                break
            except Busy:
                # The seats' rows were locked for a moment (a release, the
                # sweeper): nothing was written; the money is taken, so try again.
                if attempt == HONOUR_ATTEMPTS - 1:
                    raise
    except holds.InvalidTransition as exc:
        _refund(payment, intent, reason=f"seats gone: {exc.detail}")
    except IntegrityError:
        _refund(payment, intent, reason="the order was already paid by another payment")
    return Order.objects.get(pk=payment.order_id)


def _issue_tickets(order: Order) -> None:
    items = InventoryItem.objects.filter(order=order, status=ItemStatus.SOLD).values_list("pk", flat=True)
    Ticket.objects.bulk_create([Ticket(order=order, item_id=item) for item in items])


def _refund(payment: Payment, intent: Intent, *, reason: str) -> None:
    """Refund a succeeded intent that cannot become a sale. The claim on
    ``refund_reason`` makes it happen once, whoever gets here first."""
    claimed = Payment.objects.filter(pk=payment.pk, status__in=UNSETTLED, refund_reason="").update(
        refund_reason=reason[:300], intent_id=intent.id, updated_at=timezone.now()
    )
    if not claimed:
        return
    try:
        refund_id = get_provider().refund(intent_id=intent.id, reason=reason)
    except Exception:
        Payment.objects.filter(pk=payment.pk).update(refund_reason="")  # let a retry claim it again
        raise
    Payment.objects.filter(pk=payment.pk).update(
        status=PaymentStatus.REFUNDED, refund_id=refund_id, updated_at=timezone.now()
    )
    log.info("refunded payment %s (%s): %s", payment.pk, intent.id, reason)


def release_with_payment(*, order_id: uuid.UUID, final_status: str, reason: str, actor: str) -> None:
    """inventory's release hook for a PAYMENT_PENDING order: cancel the
    payment at the PSP first (no database lock held), then release; a
    payment that already succeeded is honoured instead (sold, or refunded
    when the seats are gone). Raises ProviderUnavailable when the PSP cannot
    say: the order is then left as it is, to be tried again."""
    payment = Payment.objects.filter(order_id=order_id, status=PaymentStatus.PENDING).first()
    if payment is not None and payment.intent_id is not None:
        intent = get_provider().cancel(intent_id=payment.intent_id)
        if intent.status == IntentStatus.SUCCEEDED:
            _honour(payment, intent)
            return
    if payment is not None:
        # Without an intent yet, the checkout creating one sees this and cancels it.
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
            status=PaymentStatus.CANCELED, failure_reason=reason[:300], updated_at=timezone.now()
        )
    holds.release_after_payment_cancelled(order_id=order_id, final_status=final_status, reason=reason, actor=actor)
