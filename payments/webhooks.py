"""Recording a verified webhook once, and handing it to the settling task."""

from __future__ import annotations

from django.db import transaction

from payments.models import WebhookEvent
from payments.providers import get_provider


def receive(*, payload: bytes, signature: str | None) -> bool:
    """Verify the event (WebhookRejected otherwise) and store its id once.
    A new payment event queues its settlement after the commit. Returns
    False for a duplicate delivery, which changes nothing."""
    event = get_provider().verify_webhook(payload=payload, signature=signature)
    with transaction.atomic():
        _, created = WebhookEvent.objects.get_or_create(
            event_id=event.id, defaults={"type": event.type[:100], "intent_id": event.intent_id or ""}
        )
        if created and event.intent_id and event.type.startswith("payment_intent."):
            from payments.tasks import settle_payment

            intent_id = event.intent_id
            transaction.on_commit(lambda: settle_payment.delay(intent_id))
    return created
