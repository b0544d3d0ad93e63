"""Public JSON API of the catalog (docs/api.md)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from inventory import selectors
from inventory.models import Event
from ticketing.api import error_response


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
        "max_tickets_per_order": event.max_tickets_per_order,
        "url": f"/api/v1/events/{event.slug}/",
    }


@require_GET
def event_list(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"events": [_event_summary(e) for e in selectors.published_events()]})


@require_GET
def event_detail(request: HttpRequest, slug: str) -> JsonResponse:
    event = selectors.published_events().filter(slug=slug).first()
    if event is None:
        return error_response(404, "event_not_found", f"No event with slug {slug!r}.")
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
