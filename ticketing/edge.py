"""The raw-ASGI front of every HTTP request, before Django or the queue's
fast path: the request body limit, and the headers every raw answer shares
with Django's.

Django's ASGI handler reads a whole request body (spooling it to disk)
before any middleware can look at it, so a client could make a process
read gigabytes to be told 413. Here the Content-Length is checked before a
byte is read, and a body without one is counted as it arrives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from ticketing.errors import API_PREFIX, json_error_body

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def body_limit(path: str) -> int:
    return int(settings.API_MAX_BODY_BYTES if path.startswith(API_PREFIX) else settings.MAX_REQUEST_BODY_BYTES)


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


async def send_json(
    scope: Scope, send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *security_headers(scope),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await send_json(
                    scope, send, 400, json_error_body(400, "bad_request", "Content-Length is not a number.")
                )
                return
            if int(declared) > limit:
                await send_json(scope, send, 413, _too_large(limit), [(b"connection", b"close")])
                return
            # The server delivers at most the declared length: nothing to
            # count, so the hot path (joins, polls) pays for no wrappers.
            await self.app(scope, receive, send)
            return
        received = 0
        answered = False

        async def counted() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    answered = True
                    await send_json(scope, send, 413, _too_large(limit), [(b"connection", b"close")])
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not answered:  # the 413 above was the answer
                await send(message)

        await self.app(scope, counted, guarded)


def _too_large(limit: int) -> bytes:
    return json_error_body(413, "payload_too_large", f"The body may be at most {limit} bytes.")


def security_headers(scope: Scope | None = None) -> list[tuple[bytes, bytes]]:
    """The headers Django's security, clickjacking and CSP middleware put on
    every answer, for answers made outside Django (probes, the queue's fast
    path, the 413 above): the same policy whoever answers."""
    headers = _static_security_headers()
    if scope is not None and settings.SECURE_HSTS_SECONDS and _is_https(scope):
        headers = [*headers, (b"strict-transport-security", _hsts())]
    return headers


@cache
def _static_security_headers() -> list[tuple[bytes, bytes]]:
    from csp.utils import build_policy

    headers = [
        (b"content-security-policy", build_policy().encode()),
        (b"x-frame-options", settings.X_FRAME_OPTIONS.encode()),
    ]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append((b"referrer-policy", str(settings.SECURE_REFERRER_POLICY).encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    return headers


def _hsts() -> bytes:
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return value.encode()


def _is_https(scope: Scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        name = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        return header(scope, name) == proxy[1].encode()
    return False


@receiver(setting_changed)
def _forget_headers(**kwargs: Any) -> None:
    _static_security_headers.cache_clear()
