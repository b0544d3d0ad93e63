"""The fan's identity cookie reads the same through every door: Django's
middleware, the WebSocket consumer and the raw-ASGI fast path
(inventory.identity is the one place that knows the cookie)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client

from inventory import identity
from queueroom import consumers


def _scope(cookie_value: str) -> dict:  # type: ignore[type-arg]
    return {"headers": [(b"host", b"127.0.0.1"), (b"cookie", f"fan_id={cookie_value}".encode())]}


def _signed_at(fan_id: str, at: float) -> str:
    """The cookie value the middleware would have set at ``at``."""
    signer = signing.get_cookie_signer(salt=settings.FAN_COOKIE_NAME + identity.SALT)
    return signing.Signer.sign(signer, f"{fan_id}{signer.sep}{signing.b62_encode(int(at))}")


@pytest.mark.django_db
def test_the_cookie_the_middleware_sets_is_the_fan_every_path_reads(fan: Client) -> None:
    cookie = fan.get("/").cookies[settings.FAN_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == settings.FAN_COOKIE_MAX_AGE
    fan_id = identity.fan_id_from_cookies({settings.FAN_COOKIE_NAME: cookie.value})
    assert fan_id is not None
    assert identity.fan_id_from_scope(_scope(cookie.value)) == fan_id
    assert consumers.fan_id_from_scope(_scope(cookie.value)) == fan_id  # what the consumer imports
    assert identity.sign_fan_id(fan_id).rsplit(":", 2)[0] == fan_id
    # The browser keeps its identity: no new cookie on the next request.
    assert settings.FAN_COOKIE_NAME not in fan.get("/").cookies


@pytest.mark.django_db
def test_a_cookie_older_than_its_max_age_is_a_new_fan_on_every_path(fan: Client) -> None:
    # The WebSocket consumer always refused it; the middleware used to take it.
    stale = _signed_at("old-fan", time.time() - settings.FAN_COOKIE_MAX_AGE - 60)
    fresh = _signed_at("old-fan", time.time() - 60)
    assert identity.fan_id_from_scope(_scope(fresh)) == "old-fan"
    assert identity.fan_id_from_scope(_scope(stale)) is None
    fan.cookies[settings.FAN_COOKIE_NAME] = stale
    renewed = fan.get("/").cookies[settings.FAN_COOKIE_NAME].value
    assert identity.fan_id_from_cookies({settings.FAN_COOKIE_NAME: renewed}) not in (None, "old-fan")


def test_a_forged_or_missing_cookie_is_no_fan() -> None:
    value = identity.sign_fan_id("fan-a")
    assert identity.fan_id_from_scope(_scope(value.replace("fan-a", "fan-b"))) is None
    assert identity.fan_id_from_scope({"headers": [(b"host", b"127.0.0.1")]}) is None
    assert identity.fan_id_from_cookies({}) is None
