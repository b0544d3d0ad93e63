"""What the payments services need from a PSP, and nothing more."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from ticketing.errors import DomainError


class IntentStatus(StrEnum):
    """Stripe's PaymentIntent states (other PSPs map onto these)."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


@dataclass(frozen=True)
class Intent:
    """A payment intent as the provider sees it now."""

    id: str
    status: IntentStatus
    amount: int
    currency: str
    client_secret: str
    metadata: dict[str, str] = field(default_factory=dict)
    # The provider's reason for the last failed attempt, if any (English).
    last_error: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook: its id (stored once), type and intent id."""

    id: str
    type: str
    intent_id: str | None


class ProviderError(DomainError):
    """The PSP refused or failed a call; nothing was charged by it."""

    code = "payment_failed"


class CardDeclined(ProviderError):
    code = "card_declined"


class ProviderUnavailable(ProviderError):
    """The PSP did not answer in time or answered with an error of its own."""

    code = "payment_provider_unavailable"


class ProviderBusy(ProviderUnavailable):
    """The PSP's leaky bucket would make this call wait longer than its caller
    may (payments/bucket.py). Nothing was sent and no slot was taken: payment
    work hands it to the ``payments`` Celery queue; elsewhere it is a 503."""


class CircuitOpen(ProviderUnavailable):
    """The PSP's circuit breaker is open (payments/breaker.py): the call was
    refused at once, without touching the network."""


class WebhookRejected(ProviderError):
    """A webhook whose signature is missing, wrong or stale."""

    code = "invalid_signature"


class PaymentProvider(Protocol):
    name: str
    publishable_key: str

    def create_intent(
        self, *, amount: int, currency: str, idempotency_key: str, metadata: dict[str, str]
    ) -> Intent: ...

    def confirm(self, *, intent_id: str, payment_method: str) -> Intent:
        """Attach the payment method and confirm; CardDeclined on a decline."""
        ...

    def retrieve(self, *, intent_id: str) -> Intent: ...

    def cancel(self, *, intent_id: str) -> Intent:
        """Cancel the intent; one that can no longer be cancelled (it
        succeeded, or was cancelled already) is returned as it is."""
        ...

    def refund(self, *, intent_id: str, reason: str) -> str:
        """Refund the whole intent; returns the refund's id."""
        ...

    def verify_webhook(self, *, payload: bytes, signature: str | None) -> WebhookEvent:
        """The event, if ``signature`` proves the payload; else WebhookRejected."""
        ...
