"""The request id: one per request, on every log line it writes and every
Celery task it queues (django-structlog carries it), and sent back in the
``X-Request-ID`` response header so a fan's report or a proxy's access log
leads to the lines.

An incoming ``X-Request-ID`` is kept only from a trusted proxy
(settings.TRUSTED_PROXIES, as for X-Forwarded-For: ticketing.clientip) and
only if it looks like an id (1-128 characters of ``[A-Za-z0-9._:-]``);
anyone else's is replaced with a new one, so a client cannot write into our
logs or pass itself off as another request.

Besides the request id the log context gets ``ip`` (the client address as
ticketing.clientip resolves it, instead of django-structlog's own guess from
headers anyone can send) and ``fan``: a short digest of the fan's identity
cookie, the same on every request of one browser, so a fan's way from the
waiting room to the ticket can be followed without logging the identity.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty
from django_structlog import signals

from inventory.identity import fan_id_from_cookies
from ticketing import clientip

HEADER = "X-Request-ID"
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def choose(peer: str | None, incoming: str | None) -> str:
    """The request id: the trusted proxy's, else a new one."""
    if incoming and _VALID.fullmatch(incoming) and clientip.is_trusted_peer(peer):
        return incoming
    return uuid.uuid4().hex


def fan_digest(fan_id: str) -> str:
    return hashlib.sha256(f"log:{fan_id}".encode()).hexdigest()[:16]


class RequestIdMiddleware:
    """Sets ``request.request_id`` and the response's X-Request-ID (no I/O:
    async-capable, so it adds no thread hop under Daphne)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def _prepare(self, request: HttpRequest) -> str:
        request_id = choose(request.META.get("REMOTE_ADDR"), request.headers.get(HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        return request_id

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self._async:
            return self.__acall__(request)
        request_id = self._prepare(request)
        response: HttpResponse = self.get_response(request)
        response[HEADER] = request_id
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        request_id = self._prepare(request)
        response: HttpResponse = await self.get_response(request)
        response[HEADER] = request_id
        return response


def _bind(sender: Any, request: HttpRequest, **kwargs: Any) -> None:
    """django-structlog's hook, before its request_started line: our request
    id, the resolved client address and the fan's digest."""
    context: dict[str, Any] = {"ip": clientip.from_request(request)}
    request_id = getattr(request, "request_id", None)
    if request_id:
        context["request_id"] = request_id
    fan_id = fan_id_from_cookies(request.COOKIES)
    if fan_id:
        context["fan"] = fan_digest(fan_id)
    structlog.contextvars.bind_contextvars(**context)


def _bind_user(sender: Any, request: HttpRequest, **kwargs: Any) -> None:
    """The promoter's user id on the request_finished line, when the view
    loaded the user (never a query of its own: this runs on the event loop)."""
    user = getattr(request, "user", None)
    loaded = getattr(user, "_wrapped", None) if isinstance(user, SimpleLazyObject) else user
    if loaded is not None and loaded is not empty and getattr(loaded, "is_authenticated", False):
        structlog.contextvars.bind_contextvars(user_id=loaded.pk)


signals.bind_extra_request_metadata.connect(_bind, dispatch_uid="ticketing.requestid.bind")
signals.bind_extra_request_finished_metadata.connect(_bind_user, dispatch_uid="ticketing.requestid.bind_user")
