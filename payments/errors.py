"""Why a payment request was refused (codes in ticketing.errors.STATUS_BY_CODE)."""

from __future__ import annotations

from payments.providers.base import (
    AuthenticationFailed,
    CardDeclined,
    ProviderError,
    ProviderUnavailable,
    WebhookRejected,
)
from ticketing.errors import DomainError


class PaymentError(DomainError):
    code = "invalid_transition"


class CheckoutNotStarted(PaymentError):
    code = "checkout_not_started"


class RefundRefused(PaymentError):
    """This order cannot be refunded (not paid, or its records disagree)."""

    code = "refund_refused"


__all__ = [
    "AuthenticationFailed",
    "CardDeclined",
    "CheckoutNotStarted",
    "PaymentError",
    "ProviderError",
    "ProviderUnavailable",
    "RefundRefused",
    "WebhookRejected",
]
