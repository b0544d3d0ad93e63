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
    # The provider's reason for the last failed attempt, if any (English),
    # and its code (Stripe's: card_declined, payment_intent_authentication_failure...).
    last_error: str = ""
    last_error_code: str = ""

    # How much of it went back (smallest unit); said by ``list_intents``,
    # which reads each intent's charge (0 elsewhere).
    amount_refunded: int = 0
    created: int = 0  # Unix time

    @property
    def failed_attempt(self) -> bool:
        """The last attempt failed (declined, or 3-D Secure not passed) and
        the intent waits for another payment method."""
        return self.status == IntentStatus.REQUIRES_PAYMENT_METHOD and bool(self.last_error or self.last_error_code)


@dataclass(frozen=True)
class IntentPage:
    """One page of ``list_intents``; ``has_more``: ask again with
    ``starting_after`` set to the last intent's id."""

    intents: list[Intent]
    has_more: bool


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


class AuthenticationFailed(CardDeclined):
    """The fan's bank did not confirm the payment (3-D Secure failed or was
    cancelled); nothing was charged."""

    code = "authentication_failed"


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

    def list_intents(self, *, starting_after: str | None = None, limit: int = 100) -> IntentPage:
        """One page of every intent of the account, with ``amount_refunded``
        (for the payments check; one PSP call per page)."""
        ...

    def verify_webhook(self, *, payload: bytes, signature: str | None) -> WebhookEvent:
        """The event, if ``signature`` proves the payload; else WebhookRejected."""
        ...
