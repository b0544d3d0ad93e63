"""Test helpers for other apps: the store is behind the waiting room
(settings.STORE_ACCESS_CHECK), so store tests need a fan holding a pass."""

from __future__ import annotations

import secrets
import time

from django.conf import settings
from django.test import Client

from inventory.identity import fan_id_from_cookies
from inventory.models import Event
from queueroom import passes


def fan_id_of(client: Client) -> str:
    """The fan id in a Django test client's identity cookie (set on its first request)."""
    if settings.FAN_COOKIE_NAME not in client.cookies:
        client.get("/healthz")  # the identity middleware sets the fan cookie
    fan_id = fan_id_from_cookies({settings.FAN_COOKIE_NAME: client.cookies[settings.FAN_COOKIE_NAME].value})
    assert fan_id is not None, "the client's fan cookie is not validly signed"
    return fan_id


def grant_store_pass(client: Client, event: Event, *, ttl: int = 1800, lane_id: int = 0) -> str:
    """Give ``client`` (a Django test client) a valid store pass for
    ``event`` (through lane ``lane_id``), bound to its fan identity cookie,
    without queueing. Returns it."""
    fan_id = fan_id_of(client)
    token = passes.sign_pass(
        passes.StorePass(
            event_id=event.pk,
            lane_id=lane_id,
            ticket=0,
            session_id=secrets.token_urlsafe(12),
            expires_at=int(time.time()) + ttl,
            binding=passes.browser_binding(fan_id),
        )
    )
    client.cookies[passes.pass_cookie_name(event.pk)] = token
    return token
