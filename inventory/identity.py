"""The fan's identity: a random id in a signed, long-lived browser cookie.

Fans do not log in. Everything a fan owns (queue place, holds, orders) is
keyed by this id, so another browser cannot see or change it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

_SALT = "fan-identity"


def new_fan_id() -> str:
    return secrets.token_urlsafe(18)


class FanIdentityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fan_id = request.get_signed_cookie(settings.FAN_COOKIE_NAME, default=None, salt=_SALT)
        is_new = not fan_id
        request.fan_id = fan_id or new_fan_id()  # type: ignore[attr-defined]
        response = self.get_response(request)
        if is_new:
            response.set_signed_cookie(
                settings.FAN_COOKIE_NAME,
                request.fan_id,  # type: ignore[attr-defined]
                salt=_SALT,
                max_age=settings.FAN_COOKIE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
