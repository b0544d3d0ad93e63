"""Raw-ASGI handling of the two hottest waiting-room requests.

When a sale opens, hundreds of thousands of browsers join at once and then
poll. Through Django's ASGI handler each request costs two thread hops
(sync middleware, request signals) and ~6 ms of CPU on this machine
(docs/performance.md), capping one process near 150 joins/s. Here:

    POST /api/v1/events/{slug}/queue/   without a body, {} or {"altcha": ...} (no presale code)
    GET  /api/v1/events/{slug}/queue/challenge/   the proof-of-work challenge a join needs
    GET  /api/v1/queue/{token}/         while waiting (not offered, not admitted)

are answered on the event loop with asyncio Redis, with the same JSON, the
same fan cookie and the same host check as the Django views (queueroom.api).
Everything else, including every case these do not cover (cold caches,
presale codes, offers, passes, errors), falls through to Django, whose view
is the reference behaviour.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.http.request import split_domain_port, validate_host

from inventory.identity import fan_id_from_scope, new_fan_id, set_fan_cookie
from queueroom import bots, limits, selectors, services
from queueroom.services.setup import peek_setup
from ticketing import clientip
from ticketing.edge import security_headers
from ticketing.errors import domain_error_response

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JOIN = re.compile(r"^/api/v1/events/(?P<slug>[-a-zA-Z0-9_]+)/queue/$")
PLACE = re.compile(r"^/api/v1/queue/(?P<token>[\w.\-]+)/$")
CHALLENGE = re.compile(r"^/api/v1/events/(?P<slug>[-a-zA-Z0-9_]+)/queue/challenge/$")
_MAX_BODY = 4096
_NO_STORE = {"Cache-Control": "no-store"}


def _host_ok(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"host":
            domain, _ = split_domain_port(value.decode("latin-1"))
            return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)
    return False


class QueueFastPath:
    def __init__(self, app: Callable[[Scope, Any, Any], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _host_ok(scope):
            path, method = scope["path"], scope["method"]
            if method == "POST" and (match := JOIN.match(path)):
                handled, receive = await self._join(scope, receive, send, match["slug"])
                if handled:
                    return
            elif method == "GET" and (match := PLACE.match(path)):
                if await self._place(scope, send, match["token"]):
                    return
            elif method == "GET" and (match := CHALLENGE.match(path)):
                if await self._challenge(scope, send, match["slug"]):
                    return
        await self.app(scope, receive, send)

    async def _join(self, scope: Scope, receive: Receive, send: Send, slug: str) -> tuple[bool, Receive]:
        # A plain join has no body or "{}"; read at most _MAX_BODY bytes to
        # tell, and hand anything else to Django with every byte it sent:
        # what was read here first, then the rest from the server.
        body = b""
        more = True
        while more and len(body) <= _MAX_BODY:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return True, receive
            body += message.get("body", b"")
            more = bool(message.get("more_body"))
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": more}
            return await receive()

        payload = None if more else _plain_join(body)
        if payload is None:
            return False, replay  # presale code or bad input: the Django view decides
        event = selectors.peek_published_event(slug)
        setup = peek_setup(event.pk) if event is not None else None
        if event is None or setup is None:
            return False, replay
        fan_id = fan_id_from_scope(scope)
        new_fan = fan_id is None
        fan_id = fan_id or new_fan_id()
        now = time.time()
        verdict = await bots.acheck_join(
            setup, clientip.from_scope(scope), new_fan=new_fan, now=now, payload=payload.get(bots.FIELD)
        )
        if isinstance(verdict, services.QueueError):
            await _send(scope, send, domain_error_response(verdict))
            return True, replay
        bots.mark_checked(scope, verdict)  # a fall-through to Django does not pay (or judge) twice
        try:
            result = await services.ajoin(event_id=event.pk, fan_id=fan_id, now=now, flagged=verdict.flagged)
        except services.QueueError as exc:
            return await _unavailable(scope, send, exc), replay
        if result is None:
            return False, replay
        status, created = result
        response = JsonResponse(status.as_dict(), status=201 if created else 200)
        response["Cache-Control"] = "no-store"
        if new_fan:
            set_fan_cookie(response, fan_id)
        await _send(scope, send, response)
        return True, replay

    async def _challenge(self, scope: Scope, send: Send, slug: str) -> bool:
        """Every join of an event with a proof of work starts with this GET:
        answered here when the caches are warm (CPU only, no Redis)."""
        event = selectors.peek_published_event(slug)
        setup = peek_setup(event.pk) if event is not None else None
        if event is None or setup is None or setup.challenge_max_number <= 0:
            return False
        doc = bots.new_challenge(event.pk, setup.challenge_max_number, now=time.time())
        await _send(scope, send, JsonResponse(doc, headers=_NO_STORE))
        return True

    async def _place(self, scope: Scope, send: Send, token: str) -> bool:
        now = time.time()
        early = limits.early_poll(token, now=now)
        if early is not None:
            await _send(scope, send, HttpResponse(early, content_type="application/json", headers=_NO_STORE))
            return True
        try:
            status = await services.astatus(token=token, now=now)
        except services.QueueError as exc:
            return await _unavailable(scope, send, exc)
        if status is None:
            return False
        response = JsonResponse(status.as_dict(), headers=_NO_STORE)
        limits.remember_poll(
            token, response.content, status=status.status, poll_after=status.poll_after_seconds, now=now
        )
        await _send(scope, send, response)
        return True


def _plain_join(body: bytes) -> dict[str, Any] | None:
    """The join's JSON when it is a plain one (no body, {}, or only a
    proof-of-work solution); None for anything else (Django decides)."""
    text = body.strip()
    if text in (b"", b"{}"):
        return {}
    if not text.startswith(b"{"):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict) or set(doc) - {bots.FIELD}:
        return None
    return doc


async def _unavailable(scope: Scope, send: Send, exc: services.QueueError) -> bool:
    """Answer a Redis outage here, as the view would (queueroom.api): sending
    the request on to Django would only wait for the same Redis again.
    Other errors go to Django, which words them. Whether it answered."""
    if exc.code != services.UNAVAILABLE:
        return False
    await _send(scope, send, domain_error_response(exc))
    return True


async def _send(scope: Scope, send: Send, response: HttpResponse) -> None:
    headers = [(k.encode("ascii"), v.encode("latin-1")) for k, v in response.items()]
    headers.append((b"Content-Length", str(len(response.content)).encode()))
    headers.extend(security_headers(scope))
    for cookie in response.cookies.values():
        headers.append((b"Set-Cookie", cookie.output(header="").strip().encode("ascii")))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})
