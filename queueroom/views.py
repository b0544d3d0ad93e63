"""The waiting page: works with WebSocket updates, with polling, and with no
JavaScript at all (meta refresh every 20 s)."""

from __future__ import annotations

import time

import redis
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from inventory.identity import FanRequest
from inventory.models import Event
from queueroom import api, bots, selectors, services
from queueroom.messages import FanStatus
from queueroom.models import Lane
from ticketing import clientip
from ticketing.error_texts import fan_message


@require_http_methods(["GET", "POST"])
def waiting_room(request: FanRequest, slug: str) -> HttpResponse:
    event = selectors.published_event(slug)
    if event is None:
        raise Http404
    try:
        return _waiting_room(request, event)
    except services.QueueError as exc:
        if exc.code != services.UNAVAILABLE:
            raise
        return unavailable(request, event, retry_after=exc.retry_after or 5)


def unavailable(request: HttpRequest, event: Event, *, retry_after: int) -> HttpResponse:
    """The waiting room cannot reach its Redis: say so kindly, and let the
    page try again by itself (meta refresh, so also without JavaScript)."""
    response = render(request, "queueroom/unavailable.html", {"event": event, "retry_after": retry_after}, status=503)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


def _waiting_room(request: FanRequest, event: Event) -> HttpResponse:
    now = time.time()
    error = ""
    refused: services.QueueError | None = None
    if request.method == "POST":
        try:
            verdict = bots.check_join(
                services.cached_setup(event.pk),
                clientip.from_request(request),
                new_fan=request.fan_is_new,
                now=now,
                payload=request.POST.get(bots.FIELD),
            )
            code = request.POST.get("code", "")[:40]
            services.join(event=event, fan_id=request.fan_id, code=code, now=now, flagged=verdict.flagged)
        except services.QueueError as exc:
            if exc.code == services.UNAVAILABLE:
                raise
            error = fan_message(exc)
            refused = exc
        else:
            return redirect("queueroom:waiting_room", slug=event.slug)
    token = services.find_place(event=event, fan_id=request.fan_id)
    status = _status_of(token, request.fan_id, now)
    context = {**_page_context(event, token, status, now), "error": error}
    response = render(request, "queueroom/waiting_room.html", context, status=refused.status if refused else 200)
    response["Cache-Control"] = "no-store"
    if refused is not None and refused.retry_after:
        response["Retry-After"] = str(refused.retry_after)
    if status and status.store_pass:
        api.set_pass_cookie(response, status)
    return response


def _status_of(token: str | None, fan_id: str, now: float) -> services.QueueStatus | None:
    """The fan's place, or None when they have none (or it is gone); a Redis
    outage propagates (the page then says so)."""
    if not token:
        return None
    try:
        return services.status(token=token, fan_id=fan_id, now=now)
    except services.QueueError as exc:
        if exc.code == services.UNAVAILABLE:
            raise
        return None


def _page_context(
    event: Event, token: str | None, status: services.QueueStatus | None, now: float
) -> dict[str, object]:
    setup = services.cached_setup(event.pk)
    progress = 0
    if status and status.place and status.ahead is not None:
        progress = int(100 * (status.place - status.ahead) / status.place)
    has_presale = any(lane.kind == Lane.Kind.PRIORITY for lane in setup.lanes)
    challenge_url = reverse("queue_api:queue_challenge", args=[event.slug]) if setup.challenge_max_number > 0 else ""
    state = services.state_document(event.pk) or {}
    lane_state = state.get("lanes", {}).get(str(status.lane)) if status else None
    return {
        "event": event,
        "status": status,
        "token": token,
        "progress": progress,
        "lanes": [
            {"name": lane.name, "commitment": lane.commitment, "opens_at": lane.opens_at, "open": now >= lane.opens_at}
            for lane in setup.public_lanes
        ],
        "has_presale": has_presale,
        # The join forms carry the proof of work (queueroom.bots) when the event asks for one.
        "challenge_url": challenge_url,
        # A fan waiting in the general line may still use a presale code.
        "code_upgrade": has_presale
        and status is not None
        and status.lane == setup.general.id
        and status.status in (FanStatus.WAITING, FanStatus.PRE_QUEUE),
        "revealed_key": lane_state.get("key") if lane_state else None,
        "eta_minutes": eta_minutes(status.eta_range) if status and status.eta_range else None,
        "refresh": status is None or status.status in (FanStatus.PRE_QUEUE, FanStatus.WAITING, FanStatus.OFFERED),
    }


def fairness(request: HttpRequest, slug: str) -> HttpResponse:
    """The technical side of the draw (docs/waiting-room.md): each lane's
    commitment, its key once opened, and how to check the order by hand."""
    event = selectors.published_event(slug)
    if event is None:
        raise Http404
    setup = services.cached_setup(event.pk)
    try:
        state = services.state_document(event.pk) or {}
    except redis.RedisError:  # the commitments still come from PostgreSQL
        state = {}
    lanes = []
    for lane in setup.public_lanes:
        published = state.get("lanes", {}).get(str(lane.id)) or {}
        lanes.append(
            {"name": lane.name, "commitment": lane.commitment, "key": published.get("key"), "m": published.get("m")}
        )
    return render(request, "queueroom/fairness.html", {"event": event, "lanes": lanes})


def eta_minutes(eta_range: tuple[int, int]) -> tuple[int, int]:
    """The wait in whole minutes, as "low–high": never "1–1" (a range that
    says nothing), always at least a minute wide. static/queueroom/waiting.js
    does the same in the browser."""
    low = eta_range[0] // 60
    return low, max(-(-eta_range[1] // 60), low + 1)
