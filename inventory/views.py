"""The fans' catalog pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from inventory import selectors


def event_list(request: HttpRequest) -> HttpResponse:
    return render(request, "inventory/event_list.html", {"events": selectors.published_events()})


def event_detail(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(selectors.published_events(), slug=slug)
    sections = selectors.section_availability(event)
    return render(
        request,
        "inventory/event_detail.html",
        {
            "event": event,
            "sections": sections,
            "price_range": selectors.price_range(sections),
            "phase": event.sale_phase(),
            "available": sum(s["available"] for s in sections),
        },
    )
