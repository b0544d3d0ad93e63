"""The provider the services use: the configured adapter behind the circuit
breaker and the leaky bucket (docs/payments.md, "Protecting the PSP").

Each call first asks the breaker (open: CircuitOpen at once, no network),
then takes its slots in the bucket (one per HTTP request the call makes;
confirm makes two), waiting at most as long as its context allows
(ProviderBusy otherwise), then runs through the breaker so its outcome
counts. Checking the breaker before the bucket means an open breaker never
books slots nobody will use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from payments import breaker, bucket
from payments.providers.base import (
    Intent,
    IntentPage,
    PaymentProvider,
    ProviderError,
    ProviderUnavailable,
    WebhookEvent,
)
from payments.providers.stripe import stripe_provider

T = TypeVar("T")

# The intent id the probe asks for: none exists, so a live PSP answers 404.
PROBE_INTENT = "pi_psp_probe"


class GuardedProvider:
    def __init__(self, inner: PaymentProvider) -> None:
        self.inner = inner
        self.name = inner.name
        self.publishable_key = inner.publishable_key

    def _call(self, cost: int, fn: Callable[[], T]) -> T:
        with breaker.guard() as run:
            bucket.acquire(cost=cost)
            return run(fn)

    def create_intent(self, *, amount: int, currency: str, idempotency_key: str, metadata: dict[str, str]) -> Intent:
        return self._call(
            1,
            lambda: self.inner.create_intent(
                amount=amount, currency=currency, idempotency_key=idempotency_key, metadata=metadata
            ),
        )

    def confirm(self, *, intent_id: str, payment_method: str) -> Intent:
        # Two requests: set the payment method, then confirm (see stripe.py).
        return self._call(2, lambda: self.inner.confirm(intent_id=intent_id, payment_method=payment_method))

    def retrieve(self, *, intent_id: str) -> Intent:
        return self._call(1, lambda: self.inner.retrieve(intent_id=intent_id))

    def cancel(self, *, intent_id: str) -> Intent:
        return self._call(1, lambda: self.inner.cancel(intent_id=intent_id))

    def refund(self, *, intent_id: str, reason: str) -> str:
        return self._call(1, lambda: self.inner.refund(intent_id=intent_id, reason=reason))

    def list_intents(self, *, limit: int = 100, starting_after: str | None = None) -> IntentPage:
        # One request per page (check_payments reads them all): metered like any call.
        return self._call(1, lambda: self.inner.list_intents(limit=limit, starting_after=starting_after))

    def verify_webhook(self, *, payload: bytes, signature: str | None) -> WebhookEvent:
        # A signature check, no PSP request: neither bucket nor breaker.
        return self.inner.verify_webhook(payload=payload, signature=signature)

    def ping(self) -> None:
        """One cheap request that proves the PSP answers (the half-open
        trial of the probe task): a refusal (404) is an answer, and closes
        the breaker; ProviderUnavailable when it does not answer."""
        try:
            self.retrieve(intent_id=PROBE_INTENT)
        except ProviderUnavailable:
            raise
        except ProviderError:
            pass


def get_provider() -> GuardedProvider:
    """The configured provider behind the breaker and the bucket."""
    return GuardedProvider(stripe_provider())
