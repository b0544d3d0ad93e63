"""Public JSON API of the catalog (docs/api.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from inventory import hooks, limits, selectors
from inventory.access import ensure_store_access, presale_access
from inventory.identity import FanRequest
from inventory.models import Event, Order
from inventory.services import holds, idempotency
from ticketing.api import RequestError, json_body, reject_unknown_fields
from ticketing.errors import error_json, json_errors
from ticketing.inputs import shown


def _event_summary(event: Event) -> dict[str, Any]:
    return {
        "slug": event.slug,
        "name": event.name,
        "artist": event.artist,
        "venue": {"name": event.venue.name, "city": event.venue.city, "slug": event.venue.slug},
        "starts_at": event.starts_at.isoformat(),
        "presale_opens_at": event.presale_opens_at.isoformat() if event.presale_opens_at else None,
        "sale_opens_at": event.sale_opens_at.isoformat(),
        "sale_phase": event.sale_phase(),
        "max_tickets_per_fan": event.max_tickets_per_fan,
        "url": f"/api/v1/events/{event.slug}/",
    }


@csrf_exempt  # read-only: any other method gets 405, not a CSRF page
@require_GET
def event_list(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"events": [_event_summary(e) for e in selectors.published_events()]})


@csrf_exempt  # read-only: any other method gets 405, not a CSRF page
@require_GET
def event_detail(request: HttpRequest, slug: str) -> JsonResponse:
    event = selectors.published_events().filter(slug=slug).first()
    if event is None:
        return error_json("event_not_found", f"No event with slug {shown(slug)}.")
    sections = selectors.section_availability(event)
    return JsonResponse(
        {
            **_event_summary(event),
            "sections": [
                {
                    "code": s["code"],
                    "name": s["name"],
                    "kind": s["kind"],
                    "tier": s["tier"],
                    "price": str(s["price"]),
                    "fee": str(s["fee"]),
                    "currency": s["currency"],
                    "capacity": s["capacity"],
                    "available": s["available"],
                }
                for s in sections
            ],
            "available": sum(s["available"] for s in sections),
        }
    )


# --- the store ------------------------------------------------------------------

# Every store error leaves as {"error", "detail"} with its status from one
# table (ticketing.errors): the services' refusals, the door (403),
# contention (503 + Retry-After).
store_api = json_errors


def _store_event(request: HttpRequest, slug: str) -> Event:
    event = selectors.store_event(slug)
    if event is None:
        raise RequestError(f"No event with slug {shown(slug)}.", code="event_not_found")
    ensure_store_access(request, event)
    return event


@csrf_exempt  # read-only: any other method gets 405, not a CSRF page
@require_GET
@store_api
def seats(request: HttpRequest, slug: str) -> JsonResponse:
    event = _store_event(request, slug)
    code = request.GET.get("section", "")
    if not code:
        raise RequestError("Give ?section=CODE.", code="missing_section")
    section = selectors.section_of(event, code)
    if section is None:
        raise RequestError(f"No section {shown(code)} at this venue.", code="unknown_section")

    def build() -> dict[str, Any]:
        items = selectors.section_seats(event, section)
        return {
            "section": {"code": section.code, "name": section.name, "kind": section.kind},
            "max_per_order": event.max_tickets_per_fan,
            "available": sum(1 for i in items if i["available"]),
            "seats": [] if section.is_general_admission else [{k: i[k] for k in SEAT_KEYS} for i in items],
        }

    # Every open seat map polls this; the answer is the same for everyone, so
    # one database read per section per few seconds serves them all.
    ttl = settings.INVENTORY_SEATS_CACHE_SECONDS
    body = cache.get_or_set(f"inventory:seats:{event.pk}:{section.pk}", build, ttl) if ttl else build()
    return JsonResponse(body, headers={"Cache-Control": "no-store"})


SEAT_KEYS = ("id", "row", "number", "x", "y", "available")
HOLD_BY_IDS = frozenset({"seat_ids", "section"})
HOLD_BEST = frozenset({"section", "quantity"})


def parse_hold_request(data: dict[str, Any]) -> dict[str, Any]:
    """The hold request's shape (the services check the values)."""
    reject_unknown_fields(data, HOLD_BY_IDS | HOLD_BEST)
    if "seat_ids" in data and "quantity" in data:
        raise RequestError("Send either 'seat_ids' or 'section' with 'quantity', not both.", code="invalid_request")
    if "seat_ids" in data:
        return {"seat_ids": data["seat_ids"], "section": data.get("section")}
    if "quantity" in data:
        if "section" not in data:
            raise RequestError("'quantity' needs a 'section'.", code="missing_section")
        return {"section": data["section"], "quantity": data["quantity"]}
    raise RequestError("Send 'seat_ids', or 'section' with 'quantity'.", code="invalid_request")


def hold_request(data: dict[str, Any]) -> idempotency.HoldRequest:
    """A parsed hold request (parse_hold_request) as the services take it."""
    if "quantity" in data:
        return idempotency.HoldRequest(section=data["section"], quantity=data["quantity"], best=True)
    return idempotency.HoldRequest(section=data["section"], seat_ids=data["seat_ids"])


# CSRF-exempt on purpose: writes accept only Content-Type application/json
# (json_body) or DELETE, which a cross-site page cannot send without a CORS
# preflight that we never grant; Locust and scripts need no token.
@csrf_exempt
@require_http_methods(["POST"])
@store_api
def create_hold(request: FanRequest, slug: str) -> JsonResponse:
    event = _store_event(request, slug)
    limited = limits.hold_attempt(request)
    if limited:
        raise RequestError(
            "Too many hold attempts from this browser; wait a moment and try again.",
            code="too_many_requests",
            retry_after=limited.retry_after,
        )
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        idempotency.check_key(key)
    data = parse_hold_request(json_body(request))
    owner: str = request.fan_id
    outcome = idempotency.hold(
        event=event, owner=owner, request=hold_request(data), key=key, presale=presale_access(request)
    )
    if outcome.replayed is not None:
        # The order an earlier request with this key created, as it is now.
        return JsonResponse(
            {**order_json(outcome.replayed), "url": f"/api/v1/orders/{outcome.replayed.pk}/"},
            headers={"Idempotent-Replayed": "true"},
        )
    hold = outcome.hold
    assert hold is not None
    return JsonResponse(
        {
            "order_id": str(hold.order_id),
            "status": hold.status,
            "seats": [
                {
                    "id": item.id,
                    "section": item.section,
                    "row": item.row,
                    "number": item.number,
                    "place": item.place,
                    "price": str(item.price),
                    "fee": str(item.fee),
                }
                for item in hold.items
            ],
            "expires_at": hold.expires_at.isoformat(),
            "total": str(hold.total),
            "currency": hold.currency,
            "url": f"/api/v1/orders/{hold.order_id}/",
        },
        status=201,
    )


def order_json(order: Order, lines: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if lines is None:
        lines = selectors.order_lines(order)
    return {
        "order_id": str(order.pk),
        "event": order.event.slug,
        "status": order.status,
        "seats": [
            {
                "id": line["id"],
                "section": line["section"],
                "row": line["row"],
                "number": line["number"],
                "place": line["place"],
                "price": str(line["price"]),
                "fee": str(line["fee"]),
                "held": line["held"],
            }
            for line in lines
        ],
        "expires_at": order.expires_at.isoformat() if order.expires_at else None,
        "total": str(order.total),
        "currency": order.currency,
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
    }


def order_with_payment(order: Order) -> dict[str, Any]:
    """One order as GET /api/v1/orders/{id}/ shows it: with its latest payment
    (payments registers the reader; None without one), whose "processing" is
    true while payment work waits for the PSP: the page that polls this URL
    says "processing your payment". One query more, so lists leave it out."""
    return {**order_json(order), "payment": hooks.order_payment(order)}


@csrf_exempt
@require_http_methods(["GET", "DELETE"])
@store_api
def order_detail(request: FanRequest, order_id: str) -> JsonResponse:
    owner: str = request.fan_id
    order = selectors.order_for_owner(order_id, owner)
    if order is None:
        raise RequestError("No such order.", code="order_not_found")
    if request.method == "DELETE":
        order = holds.release_order(order_id=order.pk, owner=owner, actor=owner, reason="released_by_fan")
    return JsonResponse(order_with_payment(order))


@require_GET
def event_orders(request: FanRequest, slug: str) -> JsonResponse:
    """The fan's orders of the event that count toward the ticket cap. Like
    reading one order, it needs no store pass: a fan whose pass ended, or
    whose hold answer was lost, still finds what they hold."""
    event = selectors.store_event(slug)
    if event is None:
        return error_json("event_not_found", f"No event with slug {shown(slug)}.")
    owner: str = request.fan_id
    orders = selectors.live_orders(event, owner)
    lines = selectors.lines_of_orders(orders) if orders else {}
    return JsonResponse(
        {
            "orders": [order_json(order, lines[order.pk]) for order in orders],
            "tickets": sum(order.ticket_count for order in orders),
            "max_tickets_per_fan": event.max_tickets_per_fan,
        },
        headers={"Cache-Control": "private, no-store"},
    )
