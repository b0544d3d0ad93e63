"""The fan's confirmation e-mail with their tickets (Django's e-mail framework).

A sale queues ``payments.send_tickets_email`` on commit (``queue_tickets``):
the SMTP server's speed or outage never touches the fan's payment request,
and the task retries on SMTP errors. Sending is idempotent: the payment's
``tickets_sent_at`` is set in the transaction that sent it, so a redelivered
task (acks late) or a second queueing sends nothing more.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from payments.models import Payment, PaymentStatus, Ticket

log = logging.getLogger(__name__)


def queue_tickets(*, payment_id: int) -> None:
    """Queue the confirmation e-mail of a paid payment (call on commit), in
    the language active now (the fan's, when their request paid)."""
    from payments.tasks import send_tickets_email  # the tasks module imports the services

    send_tickets_email.delay(payment_id, translation.get_language() or settings.LANGUAGE_CODE)


def send_tickets(*, payment_id: int, language: str | None = None) -> bool:
    """Send the paid order's tickets to the address given at checkout, once,
    in ``language`` (default: the active one). Returns whether this call sent
    them; False when there is nothing to send (no address, not PAID any more,
    sent already) or another worker is sending them right now. SMTP errors
    propagate (the task retries)."""
    with translation.override(language or translation.get_language()), transaction.atomic():
        # The payment row is locked while sending (only this row: ``of``), so a
        # concurrent duplicate skips it instead of sending a second copy; if
        # sending fails, the rollback leaves ``tickets_sent_at`` empty for the retry.
        payment = (
            Payment.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("order", "order__event")
            .filter(pk=payment_id, status=PaymentStatus.PAID, tickets_sent_at__isnull=True)
            .first()
        )
        if payment is None or not payment.email:
            return False
        tickets = list(
            Ticket.objects.filter(order=payment.order, voided_at__isnull=True).select_related("item", "item__section")
        )
        context = {
            "order": payment.order,
            "tickets": tickets,
            "url": f"{settings.SITE_URL}/orders/{payment.order_id}/tickets/",
        }
        send_mail(
            subject=_("Your tickets for %(event)s") % {"event": payment.order.event.name},
            message=render_to_string("payments/tickets_email.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[payment.email],
        )
        Payment.objects.filter(pk=payment.pk).update(tickets_sent_at=timezone.now())
    log.info("sent the tickets of payment %s", payment_id)
    return True
