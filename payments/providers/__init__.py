"""The payment service provider, behind one small interface.

``get_provider()`` gives the configured adapter (today: Stripe, or the
localstripe emulator at ``STRIPE_API_BASE``) behind the PSP's circuit
breaker and leaky bucket (payments/providers/guarded.py). Every error a PSP call can
raise leaves the adapter as a ``ProviderError`` subclass (``CardDeclined``,
``ProviderUnavailable``), so the services never see an SDK exception.
"""

from __future__ import annotations

from payments.providers.base import (
    AuthenticationFailed,
    CardDeclined,
    CircuitOpen,
    Intent,
    IntentPage,
    IntentStatus,
    PaymentProvider,
    ProviderBusy,
    ProviderError,
    ProviderUnavailable,
    WebhookEvent,
    WebhookRejected,
)
from payments.providers.guarded import GuardedProvider, get_provider
from payments.providers.stripe import StripeProvider

__all__ = [
    "AuthenticationFailed",
    "CardDeclined",
    "CircuitOpen",
    "GuardedProvider",
    "Intent",
    "IntentPage",
    "IntentStatus",
    "PaymentProvider",
    "ProviderBusy",
    "ProviderError",
    "ProviderUnavailable",
    "StripeProvider",
    "WebhookEvent",
    "WebhookRejected",
    "get_provider",
]
