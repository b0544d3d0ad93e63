"""The Stripe adapter, on the official SDK: the only module that imports it.

Every call has a timeout and at most ``STRIPE_MAX_RETRIES`` network retries,
and every SDK error is translated in one place (``_calling``). It speaks to
``STRIPE_API_BASE``: localstripe in development and tests, Stripe itself by
configuration. localstripe answers 500 "Not implemented" to
``confirm(id, payment_method=...)``, so ``confirm`` sets the payment method
first and then confirms without arguments, which real Stripe accepts too.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from payments.providers.base import (
    CardDeclined,
    Intent,
    IntentPage,
    IntentStatus,
    ProviderError,
    ProviderUnavailable,
    WebhookEvent,
    WebhookRejected,
)


@contextmanager
def _calling(what: str) -> Iterator[None]:
    """The one place SDK errors become ours."""
    try:
        yield
    except stripe.CardError as exc:
        raise CardDeclined(f"The card was declined: {exc.user_message or exc.code or 'declined'}.") from exc
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise ProviderUnavailable(f"The payment provider did not answer ({what}).", retry_after=5) from exc
    except stripe.StripeError as exc:
        status = exc.http_status or 0
        if status >= 500 or status == 0:
            raise ProviderUnavailable(f"The payment provider failed ({what}).", retry_after=5) from exc
        raise ProviderError(f"The payment provider refused {what}: {exc.user_message or exc}") from exc


def _intent(resource: Any) -> Intent:
    obj = resource if isinstance(resource, dict) else resource.to_dict()
    error = obj.get("last_payment_error") or {}
    charge = obj.get("latest_charge")  # an id, unless expanded
    return Intent(
        id=obj["id"],
        status=IntentStatus(obj["status"]),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]),
        client_secret=str(obj.get("client_secret") or ""),
        metadata={str(k): str(v) for k, v in (obj.get("metadata") or {}).items()},
        last_error=str(error.get("message") or "") if error else "",
        amount_refunded=int(charge.get("amount_refunded") or 0) if isinstance(charge, dict) else 0,
        created=int(obj.get("created") or 0),
        last_error_code=str(error.get("code") or "") if error else "",
    )


class StripeProvider:
    name = "stripe"

    def __init__(
        self,
        *,
        api_base: str,
        secret_key: str,
        publishable_key: str,
        webhook_secret: str,
        timeout: float,
        max_retries: int,
        tolerance: int = 300,
    ) -> None:
        self.publishable_key = publishable_key
        self.webhook_secret = webhook_secret
        self.tolerance = tolerance
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base},
            max_network_retries=max_retries,
            http_client=stripe.new_default_http_client(timeout=timeout),
        )

    def create_intent(self, *, amount: int, currency: str, idempotency_key: str, metadata: dict[str, str]) -> Intent:
        with _calling("creating the payment"):
            obj = self.client.v1.payment_intents.create(
                {"amount": amount, "currency": currency.lower(), "metadata": metadata},
                {"idempotency_key": idempotency_key},
            )
        return _intent(obj)

    def confirm(self, *, intent_id: str, payment_method: str) -> Intent:
        with _calling("the payment"):
            self.client.v1.payment_intents.update(intent_id, {"payment_method": payment_method})
            obj = self.client.v1.payment_intents.confirm(intent_id)
        return _intent(obj)

    def retrieve(self, *, intent_id: str) -> Intent:
        with _calling("reading the payment"):
            obj = self.client.v1.payment_intents.retrieve(intent_id)
        return _intent(obj)

    def cancel(self, *, intent_id: str) -> Intent:
        try:
            with _calling("cancelling the payment"):
                obj = self.client.v1.payment_intents.cancel(intent_id)
        except ProviderError as exc:
            if isinstance(exc, ProviderUnavailable):
                raise
            # Refused: it succeeded or was cancelled meanwhile; say which.
            return self.retrieve(intent_id=intent_id)
        return _intent(obj)

    def refund(self, *, intent_id: str, reason: str) -> str:
        with _calling("the refund"):
            obj = self.client.v1.refunds.create(
                {"payment_intent": intent_id, "metadata": {"reason": reason[:500]}},
                {"idempotency_key": f"refund:{intent_id}"},
            )
        return str(obj["id"])

    def list_intents(self, *, starting_after: str | None = None, limit: int = 100) -> IntentPage:
        # The charge comes expanded so a refund shows without a call per intent
        # (localstripe 1.15 and Stripe both expand list data).
        params: stripe.params.PaymentIntentListParams = {"limit": limit, "expand": ["data.latest_charge"]}
        if starting_after:
            params["starting_after"] = starting_after
        with _calling("listing the payments"):
            page = self.client.v1.payment_intents.list(params)
        body = page.to_dict()
        return IntentPage(intents=[_intent(obj) for obj in body["data"]], has_more=bool(body.get("has_more")))

    def verify_webhook(self, *, payload: bytes, signature: str | None) -> WebhookEvent:
        if not signature:
            raise WebhookRejected("Missing Stripe-Signature header.")
        try:
            event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret, tolerance=self.tolerance)
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected("The signature does not match the body, or it is too old.") from exc
        except ValueError as exc:
            raise WebhookRejected("The body is not a Stripe event.") from exc
        body = event.to_dict()
        data = body.get("data") or {}
        obj = data.get("object") or {}
        intent_id = obj.get("id") if obj.get("object") == "payment_intent" else obj.get("payment_intent")
        return WebhookEvent(id=str(body["id"]), type=str(body["type"]), intent_id=intent_id)


@functools.cache
def stripe_provider() -> StripeProvider:
    """The configured Stripe adapter, built once per process. Services use
    payments.providers.get_provider(), which puts it behind the breaker and
    the bucket."""
    return StripeProvider(
        api_base=settings.STRIPE_API_BASE,
        secret_key=settings.STRIPE_SECRET_KEY,
        publishable_key=settings.STRIPE_PUBLISHABLE_KEY,
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        timeout=settings.STRIPE_TIMEOUT_SECONDS,
        max_retries=settings.STRIPE_MAX_RETRIES,
        tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
    )


@receiver(setting_changed)
def _forget_provider(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("STRIPE_"):
        stripe_provider.cache_clear()
