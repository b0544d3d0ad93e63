"""django-prometheus' and django-structlog's middleware without thread hops.

Under Daphne the middleware chain runs on the event loop, and Django runs
each hook of a sync ``MiddlewareMixin`` (and django-structlog runs its
``prepare``/``handle_response``) through ``sync_to_async``: one hop to the
thread executor and back per hook, seven per request for these two
packages. Their hooks only touch memory (prometheus_client's counters, the
structlog context, one log line), so here they run inline on the loop; the
sync path (the test client, a WSGI server) is theirs, unchanged. The hops
matter most under concurrency (Django runs them on one thread per process);
sequential requests on the shared 2-core machine could not tell the variants
apart (docs/operations.md, "What it costs").

The only hook that could touch the database is django-structlog's user
binding (``request.user`` is lazy: evaluating it may read the session), so
it is off (DJANGO_STRUCTLOG_USER_ID_FIELD = "") and the user id is bound
only when the view already loaded the user (ticketing.requestid).
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse
from django_prometheus import middleware as prometheus
from django_structlog.app_settings import app_settings
from django_structlog.middlewares import request as structlog_request


def _as_coroutine(owner: object, hook: Callable[..., Any]) -> Callable[..., Any]:
    """The sync ``hook`` as a coroutine method of ``owner`` (Django names a
    hook's class through ``__self__`` in its messages)."""

    async def inline(_self: object, *args: Any, **kwargs: Any) -> Any:
        return hook(*args, **kwargs)

    return types.MethodType(inline, owner)


class _InlineHooks:
    """For a MiddlewareMixin whose hooks do no I/O: in async mode, call them
    on the event loop. process_view and process_template_response are made
    coroutines, which Django then awaits instead of wrapping."""

    get_response: Callable[[HttpRequest], Any]

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        super().__init__(get_response)  # type: ignore[call-arg]
        if iscoroutinefunction(self):
            for name in ("process_view", "process_template_response"):
                hook = getattr(self, name, None)
                if hook is not None:
                    setattr(self, name, _as_coroutine(self, hook))

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response  # type: ignore[no-any-return]


class PrometheusBeforeMiddleware(_InlineHooks, prometheus.PrometheusBeforeMiddleware):  # type: ignore[misc]
    pass


class PrometheusAfterMiddleware(_InlineHooks, prometheus.PrometheusAfterMiddleware):  # type: ignore[misc]
    pass


class RequestMiddleware(structlog_request.RequestMiddleware):
    """django-structlog's request middleware, its two hooks inline."""

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        self.prepare(request)
        try:
            response: HttpResponse = await self.get_response(request)  # type: ignore[misc]
        except asyncio.CancelledError:
            structlog_request.logger.log(app_settings.REQUEST_CANCELLED_LOG_LEVEL, "request_cancelled")
            raise
        self.handle_response(request, response)
        return response
