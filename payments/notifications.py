"""The fan's confirmation e-mail with their tickets (Django's e-mail framework)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from payments.models import Payment, Ticket


def send_tickets(*, payment_id: int) -> None:
    """Send the paid order's tickets to the address given at checkout (none given: nothing sent)."""
    payment = Payment.objects.select_related("order", "order__event").get(pk=payment_id)
    if not payment.email:
        return
    tickets = list(Ticket.objects.filter(order=payment.order).select_related("item", "item__section"))
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
