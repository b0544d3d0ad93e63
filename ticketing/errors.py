"""One shape for every error a client can get.

Under /api/ every answer is JSON ``{"error": code, "detail": text}``, whoever
produced it: our views, Django's method decorators (405), the CSRF check
(403), the upload limit (413), the URL resolver (404) or a crash (500).
Pages get a short friendly page in the fan's language instead.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from ticketing.inputs import text_problem

API_PREFIX = "/api/"

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal the product gives on purpose.

    ``code`` is stable (clients branch on it), ``detail`` is English for the
    API, ``extra`` goes into the JSON body, ``retry_after`` (seconds) becomes
    a Retry-After header. Services raise these and never name an HTTP status:
    STATUS_BY_CODE maps a code to HTTP once, and pages find the fan's words
    for it in one table too (ticketing.error_texts). Each app subclasses it
    with its own codes (inventory's holds, the waiting room, the catalog).
    """

    code: str = "invalid_request"
    default_detail: str = "The request is not valid."

    def __init__(
        self, detail: str | None = None, *, code: str | None = None, retry_after: int | None = None, **extra: Any
    ) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)
        if code is not None:
            self.code = code
        self.retry_after = retry_after
        self.extra = extra

    @property
    def status(self) -> int:
        return status_of(self.code)


# Every code a DomainError can carry, and its HTTP status. A code missing
# here answers 400; ticketing/tests/test_errors.py fails on any code raised
# in the apps that is not listed.
STATUS_BY_CODE: dict[str, int] = {
    # the request itself
    "invalid_request": 400,
    "malformed_json": 400,
    "invalid_text": 400,
    "unknown_fields": 400,
    "missing_section": 400,
    "invalid_section": 400,
    "unknown_section": 400,
    "invalid_seat_ids": 400,
    "duplicate_seat_ids": 400,
    "unknown_seats": 400,
    "invalid_quantity": 400,
    "too_many_tickets": 400,
    "invalid_code": 400,
    "invalid_idempotency_key": 400,
    "invalid_catalog": 400,
    "bad_content_type": 415,
    # who may
    "queue_pass_required": 403,
    "not_your_place": 403,
    "csrf_failed": 403,
    # what exists
    "not_found": 404,
    "event_not_found": 404,
    "order_not_found": 404,
    "no_queue": 404,
    "no_challenge": 404,
    # the state of the sale
    "sale_not_open": 409,
    "seats_unavailable": 409,
    "not_enough_seats": 409,
    "ticket_limit_reached": 409,
    "invalid_transition": 409,
    "hold_expired": 409,
    "code_used_up": 409,
    "idempotency_key_reused": 422,
    "checkout_not_started": 409,
    "refund_refused": 409,
    # payments
    "card_declined": 402,
    "authentication_failed": 402,
    "payment_failed": 502,
    "invalid_signature": 400,
    # bots (queueroom.bots): the proof of work before a queue place
    "challenge_required": 403,
    "challenge_failed": 403,
    # load
    "rate_limited": 429,
    "too_many_requests": 429,
    "busy": 503,
    "payment_provider_unavailable": 503,
    "unavailable": 503,
}


def status_of(code: str) -> int:
    return STATUS_BY_CODE.get(code, 400)


def error_json(code: str, detail: str, **extra: Any) -> JsonResponse:
    """A JSON error answer for ``code``, its status from STATUS_BY_CODE."""
    return domain_error_response(DomainError(detail, code=code, **extra))


def json_errors(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """For API views: any DomainError the view or its services raise becomes
    its JSON answer (the one place where refusals meet HTTP)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        try:
            return view(request, *args, **kwargs)
        except DomainError as exc:
            return domain_error_response(exc)

    return wrapper


def domain_error_response(exc: DomainError) -> JsonResponse:
    """The one JSON shape of a DomainError: {"error", "detail", **extra}, its
    status from STATUS_BY_CODE, Retry-After when it has one."""
    response = JsonResponse({"error": exc.code, "detail": exc.detail, **exc.extra}, status=exc.status)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


# What a bare status means when nothing more specific was said.
API_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request is not valid."),
    403: ("forbidden", "You may not do this."),
    404: ("not_found", "No such resource."),
    405: ("method_not_allowed", "This method is not allowed here."),
    408: ("request_timeout", "The request took too long to arrive."),
    413: ("payload_too_large", "The request body is too large."),
    414: ("uri_too_long", "The address is too long."),
    415: ("bad_content_type", "Send a JSON body with Content-Type: application/json."),
    429: ("rate_limited", "Too many requests; wait a moment and try again."),
    500: ("server_error", "Something went wrong on our side; nothing was changed."),
    503: ("unavailable", "The service is busy or partly down; try again in a moment."),
}

PAGE_TEXTS = {
    400: (_("That did not work"), _("Something in that address or form is not valid. Go back and try again.")),
    403: (_("Not allowed"), _("You cannot open this page from here. Go back and try again.")),
    404: (_("Page not found"), _("This page does not exist, or is no longer here.")),
    413: (_("Too much data"), _("What you sent is too large. Go back and try again.")),
    429: (_("Too many tries"), _("That was a lot of requests in a short time. Wait a minute, then try again.")),
    500: (_("Something went wrong"), _("Something went wrong on our side; nothing was changed. Try again soon.")),
    503: (
        _("We are very busy"),
        _("Too many fans at once, or part of the service is down. Nothing was changed. Try again in a moment."),
    ),
}


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def api_error(status: int, code: str | None = None, detail: str | None = None) -> HttpResponse:
    return HttpResponse(json_error_body(status, code, detail), status=status, content_type="application/json")


def error_page(request: HttpRequest, status: int) -> HttpResponse:
    title, message = PAGE_TEXTS.get(status, PAGE_TEXTS[400])
    try:
        return render(request, "error.html", {"title": title, "message": message}, status=status)
    except Exception:  # the error page must never fail itself (a 500 while rendering a 500)
        return HttpResponse(str(message), status=status, content_type="text/plain; charset=utf-8")


def client_error(request: HttpRequest, status: int, code: str | None = None, detail: str | None = None) -> HttpResponse:
    return api_error(status, code, detail) if is_api(request) else error_page(request, status)


# --- Django's handlers (ticketing.urls) and the CSRF failure view ---------------


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return client_error(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return client_error(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return client_error(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its ``except``: a database outage raised
    # outside any view (a middleware's query) is a 503 too.
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_DOWN):
        return database_unavailable(request, exc)
    return client_error(request, 500)


# PostgreSQL down or restarting: connection refused or cut, no pooled
# connection within DB_POOL_TIMEOUT, a statement cancelled. The request's
# transaction was rolled back as a whole, so the answer is "nothing was
# changed, try again", not a crash (docs/failures.md).
DATABASE_DOWN = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER = 5


def database_unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """503 ``unavailable`` with Retry-After (a page for pages), one log line without a traceback."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    log.warning("database unavailable: %s: %s", type(exc).__name__, first_line)
    detail = "The database is not answering; nothing was changed. Try again in a moment."
    response = client_error(request, 503, "unavailable", detail)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api(request):
        return api_error(403, "csrf_failed", "This endpoint needs a CSRF token or a JSON body.")
    return error_page(request, 403)


# --- the middleware -------------------------------------------------------------


class ClientErrorMiddleware:
    """Outermost Django middleware: refuses what no view can use (a body over
    the limit, NUL in the path or a parameter) before anything reads it, and
    gives every /api/ error the JSON shape."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = self._refuse(request)
        response = refused or self.get_response(request)
        if is_api(request) and response.status_code >= 400 and not _is_json(response):
            allow = response.get("Allow")
            response = api_error(response.status_code)
            if allow:
                response["Allow"] = allow
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return client_error(request, 413)
        if isinstance(exception, SuspiciousOperation | BadRequest):
            return client_error(request, 400)
        if isinstance(exception, DATABASE_DOWN):
            return database_unavailable(request, exception)
        return None

    def _refuse(self, request: HttpRequest) -> HttpResponse | None:
        limit = settings.API_MAX_BODY_BYTES if is_api(request) else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return client_error(request, 400, "bad_request", "Content-Length is not a number.")
        if limit is not None and length > limit:
            return client_error(request, 413, "payload_too_large", f"The body may be at most {limit} bytes.")
        if text_problem(request.path):
            return client_error(request, 400, "invalid_text", "The address contains a NUL character.")
        for key, values in request.GET.lists():
            if text_problem(key) or any(text_problem(value) for value in values):
                return client_error(request, 400, "invalid_text", "A query parameter contains a NUL character.")
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            try:
                form = request.POST
            except RequestDataTooBig:
                return client_error(request, 413)
            for key, values in form.lists():
                if text_problem(key) or any(text_problem(value) for value in values):
                    return client_error(request, 400, "invalid_text", "A form field contains a NUL character.")
        return None


def _is_json(response: HttpResponse) -> bool:
    return str(response.get("Content-Type", "")).startswith("application/json")


def json_error_body(status: int, code: str | None = None, detail: str | None = None) -> bytes:
    """The JSON error for ``status``: ``code`` and ``detail``, or the status's
    defaults from API_CODES. Django answers (api_error), raw-ASGI answers
    (ticketing.edge) and the server's own (ticketing.server) all use it."""
    default_code, default_detail = API_CODES.get(status, ("error", "The request failed."))
    return json.dumps({"error": code or default_code, "detail": detail or default_detail}).encode()
