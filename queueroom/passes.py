"""Signed tokens of the waiting room: the store pass and the queue token.

Both are HMAC-SHA256 over a compact payload, checked in constant time,
without a Redis round trip. settings.QUEUE_PASS_KEYS lists the keys: the
first signs, every key verifies (rotation: put the new key first, drop the
old one after QUEUE_LEASE_MAX_SECONDS). Each signature names its key by a
short id, so verification tries one key, not all of them.

Pass:  base64url(payload) "." kid "." base64url(mac)
       payload = "p1|event|lane|ticket|session|expiry|binding"
Token: "event.lane.ticket.mac" (mac truncated to 128 bits): names a place
       in the queue, so it can be read without any lookup.
The browser binding is a hash of the fan's identity cookie (inventory.identity),
so a pass copied to another browser is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.http import HttpRequest

PASS_COOKIE_PREFIX = "qpass_"  # noqa: S105 - a cookie name
PASS_HEADER = "HTTP_X_QUEUE_PASS"  # noqa: S105 - a header name


class PassInvalid(Exception):
    """The pass is missing, malformed, forged, expired or not for this event/browser."""


@dataclass(frozen=True)
class StorePass:
    event_id: int
    lane_id: int
    ticket: int
    session_id: str
    expires_at: int
    binding: str


@dataclass(frozen=True)
class QueueToken:
    event_id: int
    lane_id: int
    ticket: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@cache
def _keys(raw: tuple[str, ...]) -> tuple[tuple[str, bytes], ...]:
    out = []
    for key in raw:
        secret = hashlib.sha256(b"queueroom-pass:" + key.encode()).digest()
        out.append((hashlib.sha256(secret).hexdigest()[:6], secret))
    return tuple(out)


def _signing_keys() -> tuple[tuple[str, bytes], ...]:
    return _keys(tuple(settings.QUEUE_PASS_KEYS))


def _mac(secret: bytes, message: str) -> bytes:
    return hmac.new(secret, message.encode(), hashlib.sha256).digest()


def browser_binding(fan_id: str) -> str:
    return _b64(hashlib.sha256(b"queue-binding:" + fan_id.encode()).digest()[:16])


def sign_pass(p: StorePass) -> str:
    kid, secret = _signing_keys()[0]
    payload = "|".join(
        ["p1", str(p.event_id), str(p.lane_id), str(p.ticket), p.session_id, str(p.expires_at), p.binding]
    )
    return f"{_b64(payload.encode())}.{kid}.{_b64(_mac(secret, payload))}"


def verify_pass(token: str, *, event_id: int, fan_id: str | None, now: float | None = None) -> StorePass:
    """The pass's claims, or PassInvalid with the reason."""
    if not token:
        raise PassInvalid("missing")
    try:
        payload_b64, kid, mac_b64 = token.split(".")
        payload = _unb64(payload_b64).decode()
        mac = _unb64(mac_b64)
    except ValueError as exc:  # also binascii.Error and UnicodeDecodeError
        raise PassInvalid("malformed") from exc
    secret = dict(_signing_keys()).get(kid)
    if secret is None or not hmac.compare_digest(_mac(secret, payload), mac):
        raise PassInvalid("bad signature")
    parts = payload.split("|")
    if len(parts) != 7 or parts[0] != "p1":
        raise PassInvalid("malformed")
    claims = StorePass(int(parts[1]), int(parts[2]), int(parts[3]), parts[4], int(parts[5]), parts[6])
    if claims.event_id != event_id:
        raise PassInvalid("other event")
    if claims.expires_at <= (time.time() if now is None else now):
        raise PassInvalid("expired")
    if not fan_id or not hmac.compare_digest(claims.binding, browser_binding(fan_id)):
        raise PassInvalid("other browser")
    return claims


def sign_token(t: QueueToken) -> str:
    message = f"{t.event_id}.{t.lane_id}.{t.ticket}"
    _, secret = _signing_keys()[0]
    return f"{message}.{_b64(_mac(secret, 'qt:' + message)[:16])}"


def verify_token(token: str) -> QueueToken:
    try:
        event_id, lane_id, ticket, mac_b64 = token.split(".")
        parsed = QueueToken(int(event_id), int(lane_id), int(ticket))
        mac = _unb64(mac_b64)
    except ValueError as exc:
        raise PassInvalid("malformed") from exc
    message = f"{event_id}.{lane_id}.{ticket}"
    for _kid, secret in _signing_keys():
        if hmac.compare_digest(_mac(secret, "qt:" + message)[:16], mac):
            return parsed
    raise PassInvalid("bad signature")


def pass_cookie_name(event_id: int) -> str:
    return f"{PASS_COOKIE_PREFIX}{event_id}"


def pass_from_request(request: HttpRequest, event_id: int) -> str:
    return request.META.get(PASS_HEADER) or request.COOKIES.get(pass_cookie_name(event_id), "")
