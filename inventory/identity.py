"""The fan's identity: a random id in a signed, long-lived browser cookie.

Fans do not log in. Everything a fan owns (queue place, holds, orders) is
keyed by this id, so another browser cannot see or change it.

The one place that knows the cookie (name, signing salt, lifetime, flags):
the middleware below, the waiting room's WebSocket consumer and raw-ASGI
fast path (which read the ASGI scope and set the cookie themselves) and the
test helpers all go through these functions.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.http.cookie import parse_cookie

SALT = "fan-identity"


def new_fan_id() -> str:
    return secrets.token_urlsafe(18)


def _signer() -> signing.TimestampSigner:
    # What HttpRequest.get_signed_cookie and HttpResponse.set_signed_cookie use
    # (settings.SIGNING_BACKEND, a TimestampSigner unless changed).
    return signing.get_cookie_signer(salt=settings.FAN_COOKIE_NAME + SALT)


def sign_fan_id(fan_id: str) -> str:
    """The cookie value for ``fan_id``."""
    return _signer().sign(fan_id)


def fan_id_from_cookies(cookies: Mapping[str, str]) -> str | None:
    """The fan id in the request's cookies, if present, correctly signed and
    younger than the cookie's max age."""
    value = cookies.get(settings.FAN_COOKIE_NAME)
    if not value:
        return None
    try:
        return _signer().unsign(value, max_age=settings.FAN_COOKIE_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired included
        return None


def fan_id_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """fan_id_from_cookies for raw ASGI headers (WebSocket and fast path)."""
    for name, value in headers:
        if name == b"cookie":
            return fan_id_from_cookies(parse_cookie(value.decode("latin-1")))
    return None


def fan_id_from_scope(scope: Mapping[str, Any]) -> str | None:
    return fan_id_from_headers(scope.get("headers", ()))


def set_fan_cookie(response: HttpResponse, fan_id: str) -> None:
    response.set_cookie(
        settings.FAN_COOKIE_NAME,
        sign_fan_id(fan_id),
        max_age=settings.FAN_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


class FanRequest(HttpRequest):
    """A request after FanIdentityMiddleware: views that serve fans take this
    type, so ``request.fan_id`` is typed (as healthchecks declares its
    ApiRequest) instead of ignored at every use."""

    fan_id: str
    # True when the request came without a fan cookie (a new identity).
    fan_is_new: bool


class FanIdentityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fan_id = fan_id_from_cookies(request.COOKIES)
        is_new = not fan_id
        fan_request = cast(FanRequest, request)
        fan_request.fan_id = fan_id or new_fan_id()
        fan_request.fan_is_new = is_new
        response = self.get_response(request)
        if is_new:
            set_fan_cookie(response, fan_request.fan_id)
        return response
