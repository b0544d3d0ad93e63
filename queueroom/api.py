"""The waiting room's JSON API (docs/waiting-room.md): join, status, heartbeat,
leave, and the per-event state document for cacheable polling."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inventory.identity import FanRequest
from queueroom import bots, limits, passes, selectors, services
from ticketing import clientip
from ticketing.api import RequestError, json_body
from ticketing.errors import domain_error_response, error_json
from ticketing.inputs import shown


def status_response(request: HttpRequest, s: services.QueueStatus, *, status: int = 200) -> JsonResponse:
    response = JsonResponse(s.as_dict(), status=status)
    if s.store_pass and s.pass_expires_at:
        set_pass_cookie(response, s)
    response["Cache-Control"] = "no-store"
    return response


def set_pass_cookie(response: HttpResponse, s: services.QueueStatus) -> None:
    assert s.token and s.store_pass and s.pass_expires_at
    event_id = passes.verify_token(s.token).event_id
    response.set_cookie(
        passes.pass_cookie_name(event_id),
        s.store_pass,
        max_age=max(int(s.pass_expires_at - time.time()), 0),
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


@csrf_exempt  # no ambient authority: the place is keyed by the fan cookie, and joining twice is a no-op
@require_POST
def join(request: FanRequest, slug: str) -> JsonResponse:
    event = selectors.published_event(slug)
    if event is None:
        return error_json("event_not_found", f"No event with slug {shown(slug)}.")
    body: dict[str, Any] = {}
    if request.body:
        try:
            body = json_body(request)
        except RequestError as exc:
            return domain_error_response(exc)
    code = body.get("code", "")
    if not isinstance(code, str) or len(code) > 40:
        return error_json("invalid_code", "code must be a string of at most 40 characters.")
    now = time.time()
    try:
        verdict = bots.checked_upstream(request) or bots.check_join(
            services.cached_setup(event.pk),
            clientip.from_request(request),
            new_fan=request.fan_is_new,
            now=now,
            payload=body.get(bots.FIELD),
            limits_done=limits.checked_upstream(request),
        )
        s, created = services.join(event=event, fan_id=request.fan_id, code=code, now=now, flagged=verdict.flagged)
    except services.QueueError as exc:
        return domain_error_response(exc)
    return status_response(request, s, status=201 if created else 200)


@csrf_exempt  # read-only
@require_GET
def challenge(request: HttpRequest, slug: str) -> JsonResponse:
    """A fresh proof-of-work challenge for one join of the event (queueroom.bots):
    solve it, then join with {"altcha": <payload>}. Each is good for one join."""
    event = selectors.published_event(slug)
    if event is None:
        return error_json("event_not_found", f"No event with slug {shown(slug)}.")
    setup = services.cached_setup(event.pk)
    if setup.challenge_max_number <= 0:
        return error_json("no_challenge", "This event's queue asks for no challenge: join without one.")
    doc = bots.new_challenge(event.pk, setup.challenge_max_number, now=time.time())
    return JsonResponse(doc, headers={"Cache-Control": "no-store"})


@csrf_exempt
@require_http_methods(["GET", "DELETE"])
def place(request: FanRequest, token: str) -> HttpResponse:
    fan_id = request.fan_id
    now = time.time()
    if request.method == "GET" and (early := limits.early_poll(token, now=now)) is not None:
        return HttpResponse(early, content_type="application/json", headers={"Cache-Control": "no-store"})
    try:
        if request.method == "DELETE":
            limits.forget_poll(token)
            s = services.leave(token=token, fan_id=fan_id, now=now)
        else:
            s = services.status(token=token, fan_id=fan_id, now=now)
    except services.QueueError as exc:
        return domain_error_response(exc)
    response = status_response(request, s)
    if request.method == "GET":
        limits.remember_poll(token, response.content, status=s.status, poll_after=s.poll_after_seconds, now=now)
    return response


@csrf_exempt
@require_POST
def heartbeat(request: FanRequest, token: str) -> JsonResponse:
    try:
        st = services.heartbeat(token=token, fan_id=request.fan_id, now=time.time())
    except services.QueueError as exc:
        return domain_error_response(exc)
    if st is None:
        return error_json("not_found", "No such place in a queue.")
    return JsonResponse({"ok": True})


@csrf_exempt  # read-only: any other method gets 405, not a CSRF page
@require_GET
@cache_control(public=True, max_age=1)
def state(request: HttpRequest, slug: str) -> JsonResponse:
    """The same document for everyone: clients derive their position from
    their place (GET status) and the lane's front."""
    event = selectors.published_event(slug)
    if event is None:
        return error_json("event_not_found", f"No event with slug {shown(slug)}.")
    try:
        doc = services.state_document(event.pk)
    except services.QueueError as exc:
        return domain_error_response(exc)
    if doc is None:
        return error_json("no_queue", "This event has no queue yet.")
    # The lanes of flagged fans are nobody's business but the promoter's (the admin shows them).
    hidden = {lane.kind for lane in services.cached_setup(event.pk).lanes if lane.flagged}
    if hidden:
        doc = {**doc, "lanes": {k: v for k, v in doc["lanes"].items() if v.get("kind") not in hidden}}
    return JsonResponse(doc)
