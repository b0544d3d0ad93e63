"""The payment service provider, behind one small interface.

``get_provider()`` gives the configured adapter (today: Stripe, or the
localstripe emulator at ``STRIPE_API_BASE``). Every error a PSP call can
raise leaves the adapter as a ``ProviderError`` subclass (``CardDeclined``,
``ProviderUnavailable``), so the services never see an SDK exception.
"""

from __future__ import annotations

from payments.providers.base import (
    AuthenticationFailed,
    CardDeclined,
    Intent,
    IntentPage,
    IntentStatus,
    PaymentProvider,
    ProviderError,
    ProviderUnavailable,
    WebhookEvent,
    WebhookRejected,
)
from payments.providers.stripe import StripeProvider, get_provider

__all__ = [
    "AuthenticationFailed",
    "CardDeclined",
    "Intent",
    "IntentPage",
    "IntentStatus",
    "PaymentProvider",
    "ProviderError",
    "ProviderUnavailable",
    "StripeProvider",
    "WebhookEvent",
    "WebhookRejected",
    "get_provider",
]
