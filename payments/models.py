"""Payments at the PSP, the webhooks that told us about them, and the tickets
a paid order gets (docs/payments.md)."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory.models import InventoryItem, Order


class PaymentStatus(models.TextChoices):
    PENDING = "PENDING", _("Pending")  # the intent exists (or is being created) and may still succeed
    PAID = "PAID", _("Paid")  # succeeded, and the order was sold by it
    REFUNDED = "REFUNDED", _("Refunded")  # succeeded, and the money went back
    FAILED = "FAILED", _("Failed")  # declined; the intent was cancelled
    CANCELED = "CANCELED", _("Cancelled")  # cancelled before it succeeded


class Payment(models.Model):
    """One attempt to pay an order: one PaymentIntent at the provider.

    Our own dedupe, whatever the PSP does with idempotency keys: one row per
    (order, attempt) and per key, and at most one PENDING and one PAID
    payment per order (partial unique indexes)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    attempt = models.PositiveSmallIntegerField()
    idempotency_key = models.CharField(max_length=200, unique=True)
    provider = models.CharField(max_length=20, default="stripe")
    intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)  # noqa: DJ001 - NULL until the PSP answers
    client_secret = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    amount = models.PositiveIntegerField(help_text="In the currency's smallest unit (cents).")
    currency = models.CharField(max_length=3)
    email = models.EmailField(blank=True, help_text="Where the tickets are sent.")
    failure_reason = models.CharField(max_length=300, blank=True)
    refund_id = models.CharField(max_length=255, blank=True)
    refund_reason = models.CharField(max_length=300, blank=True)
    # When the confirmation e-mail went out: a redelivered e-mail task finds
    # it set and sends nothing (payments.notifications).
    tickets_sent_at = models.DateTimeField(null=True, blank=True)
    # Set while a payment task waits for the PSP's leaky bucket on the fan's
    # behalf (creating the intent, or confirming it): the fan is shown
    # "processing your payment". Cleared when the task is done.
    processing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        # Refunding a sale from the admin needs this, not just staff status.
        permissions = [("refund_payment", "Can refund a paid order")]
        constraints = [
            models.UniqueConstraint(fields=["order", "attempt"], name="payment_attempt_unique"),
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="PENDING"), name="payment_one_pending_per_order"
            ),
            models.UniqueConstraint(fields=["order"], condition=Q(status="PAID"), name="payment_one_paid_per_order"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in PaymentStatus]), name="payment_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="REFUNDED") | ~Q(refund_id=""), name="payment_refunded_has_refund"
            ),
        ]

    def __str__(self) -> str:
        return f"Payment {self.order_id}#{self.attempt} ({self.status})"


class WebhookEvent(models.Model):
    """Each provider event id, stored once: a duplicate delivery finds it here."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    intent_id = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


def new_ticket_code() -> str:
    # 128 random bits: unguessable, and short enough for a QR code.
    return secrets.token_urlsafe(16)


class Ticket(models.Model):
    """One per seat or place of a paid order.

    A refund voids the order's tickets (``voided_at``) and puts the seats back
    on sale, so a seat can have several tickets over time, but only one that
    is not void (partial unique index)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="tickets")
    item = models.ForeignKey(InventoryItem, on_delete=models.PROTECT, related_name="tickets")
    code = models.CharField(max_length=32, unique=True, default=new_ticket_code, editable=False)
    issued_at = models.DateTimeField(default=timezone.now)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["item_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item"], condition=Q(voided_at__isnull=True), name="ticket_one_valid_per_item"
            ),
        ]

    def __str__(self) -> str:
        return f"Ticket {self.code[:6]}…" + (" (void)" if self.is_void else "")

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None
