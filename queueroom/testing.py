"""Test helpers for other apps: the store is behind the waiting room
(settings.STORE_ACCESS_CHECK), so store tests need a fan holding a pass."""

from __future__ import annotations

import secrets
import time

from django.conf import settings
from django.http import HttpRequest
from django.test import Client

from inventory.models import Event
from queueroom import passes


def grant_store_pass(client: Client, event: Event, *, ttl: int = 1800) -> str:
    """Give ``client`` (a Django test client) a valid store pass for
    ``event``, bound to its fan identity cookie, without queueing. Returns it."""
    if settings.FAN_COOKIE_NAME not in client.cookies:
        client.get("/healthz")  # the identity middleware sets the fan cookie
    request = HttpRequest()
    request.COOKIES = {settings.FAN_COOKIE_NAME: client.cookies[settings.FAN_COOKIE_NAME].value}
    fan_id = request.get_signed_cookie(settings.FAN_COOKIE_NAME, salt="fan-identity")
    assert fan_id is not None  # no default: a bad signature raises
    token = passes.sign_pass(
        passes.StorePass(
            event_id=event.pk,
            lane_id=0,
            ticket=0,
            session_id=secrets.token_urlsafe(12),
            expires_at=int(time.time()) + ttl,
            binding=passes.browser_binding(fan_id),
        )
    )
    client.cookies[passes.pass_cookie_name(event.pk)] = token
    return token
