"""Invariant 4: only admitted fans reach the store; passes cannot be forged,
moved to another event or browser, or used after they expire."""

from __future__ import annotations

import base64
import time

import pytest
from django.test import RequestFactory

from inventory.access import StoreAccessDenied, ensure_store_access
from queueroom import passes
from queueroom.testing import fan_id_of

NOW = 1_800_000_000


def _pass(**overrides: object) -> str:
    fields: dict[str, object] = {
        "event_id": 7,
        "lane_id": 1,
        "ticket": 42,
        "session_id": "s1",
        "expires_at": NOW + 600,
        "binding": passes.browser_binding("fan-a"),
    }
    fields.update(overrides)
    return passes.sign_pass(passes.StorePass(**fields))  # type: ignore[arg-type]


def test_a_valid_pass_is_accepted() -> None:
    claims = passes.verify_pass(_pass(), event_id=7, fan_id="fan-a", now=NOW)
    assert (claims.ticket, claims.session_id) == (42, "s1")


@pytest.mark.parametrize(
    ("token", "event_id", "fan_id", "now", "reason"),
    [
        ("", 7, "fan-a", NOW, "missing"),
        ("garbage", 7, "fan-a", NOW, "malformed"),
        (_pass(expires_at=NOW - 1), 7, "fan-a", NOW, "expired"),
        (_pass(), 8, "fan-a", NOW, "other event"),
        (_pass(), 7, "fan-b", NOW, "other browser"),
        (_pass(), 7, None, NOW, "other browser"),
    ],
)
def test_bad_passes_are_refused(token: str, event_id: int, fan_id: str | None, now: int, reason: str) -> None:
    with pytest.raises(passes.PassInvalid, match=reason):
        passes.verify_pass(token, event_id=event_id, fan_id=fan_id, now=now)


def test_a_tampered_pass_is_refused() -> None:
    payload_b64, kid, mac = _pass().split(".")
    payload = base64.urlsafe_b64decode(payload_b64 + "==").decode().replace("|7|", "|8|")
    tampered = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
    with pytest.raises(passes.PassInvalid, match="bad signature"):
        passes.verify_pass(f"{tampered}.{kid}.{mac}", event_id=8, fan_id="fan-a", now=NOW)
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    with pytest.raises(passes.PassInvalid, match="bad signature"):
        passes.verify_pass(f"{payload_b64}.{kid}.{flipped}", event_id=7, fan_id="fan-a", now=NOW)


def test_a_forged_pass_signed_with_another_key_is_refused(settings) -> None:
    settings.QUEUE_PASS_KEYS = ["attacker-key"]
    forged = _pass()
    settings.QUEUE_PASS_KEYS = ["real-key"]
    with pytest.raises(passes.PassInvalid, match="bad signature"):
        passes.verify_pass(forged, event_id=7, fan_id="fan-a", now=NOW)


def test_keys_rotate_without_refusing_live_passes(settings) -> None:
    settings.QUEUE_PASS_KEYS = ["old"]
    old = _pass()
    settings.QUEUE_PASS_KEYS = ["new", "old"]
    assert passes.verify_pass(old, event_id=7, fan_id="fan-a", now=NOW)
    new = _pass()
    assert new.split(".")[1] != old.split(".")[1]  # signed with the new key
    settings.QUEUE_PASS_KEYS = ["new"]
    assert passes.verify_pass(new, event_id=7, fan_id="fan-a", now=NOW)
    with pytest.raises(passes.PassInvalid):
        passes.verify_pass(old, event_id=7, fan_id="fan-a", now=NOW)


def test_queue_tokens_cannot_be_forged() -> None:
    token = passes.sign_token(passes.QueueToken(7, 1, 42))
    assert passes.verify_token(token) == passes.QueueToken(7, 1, 42)
    with pytest.raises(passes.PassInvalid):
        passes.verify_token(token.replace("7.1.42", "7.1.41"))


@pytest.mark.django_db
def test_the_store_door_refuses_requests_without_a_valid_pass(small_event) -> None:
    request = RequestFactory().get("/store/")
    request.fan_id = "fan-a"  # type: ignore[attr-defined]
    with pytest.raises(StoreAccessDenied) as denied:
        ensure_store_access(request, small_event)
    assert denied.value.code == "queue_pass_required"
    assert denied.value.redirect_url == f"/events/{small_event.slug}/queue/"
    good = _pass(event_id=small_event.pk, expires_at=int(time.time()) + 60)
    request.COOKIES[passes.pass_cookie_name(small_event.pk)] = good
    ensure_store_access(request, small_event)
    request.fan_id = "fan-b"  # type: ignore[attr-defined]
    with pytest.raises(StoreAccessDenied):
        ensure_store_access(request, small_event)


@pytest.mark.django_db
def test_grant_store_pass_lets_a_test_client_through_the_store_door(small_event, fan) -> None:  # type: ignore[no-untyped-def]
    from queueroom.testing import grant_store_pass

    token = grant_store_pass(fan, small_event)
    request = RequestFactory().get("/store/")
    request.COOKIES[passes.pass_cookie_name(small_event.pk)] = token
    request.fan_id = fan_id_of(fan)  # type: ignore[attr-defined]
    ensure_store_access(request, small_event)
