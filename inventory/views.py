"""The fans' catalog pages."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from inventory import limits, seatmap, selectors
from inventory.access import StoreAccessDenied, ensure_store_access, presale_access, store_session
from inventory.identity import FanRequest
from inventory.models import Event, OrderStatus, SalePhase
from inventory.services import holds, idempotency
from inventory.templatetags.store_clock import clock
from ticketing.error_texts import fan_message
from ticketing.errors import DomainError


def event_list(request: HttpRequest) -> HttpResponse:
    return render(request, "inventory/event_list.html", {"events": selectors.upcoming_events()})


def event_detail(request: FanRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(selectors.published_events(), slug=slug)
    sections = selectors.section_availability(event)
    phase = event.sale_phase()
    session = store_session(request, event) if phase in (SalePhase.ON_SALE, SalePhase.PRESALE) else None
    if phase == SalePhase.PRESALE and not (session and session.presale):
        session = None  # during the presale, the store is for the presale lane's fans
    return render(
        request,
        "inventory/event_detail.html",
        {
            "event": event,
            "sections": sections,
            "price_range": selectors.price_range(sections),
            "phase": phase,
            # The way in is either the queue or, once admitted, the store: never both.
            "store_session": session,
            "available": sum(s["available"] for s in sections),
            **_your_cart(request, event),
        },
    )


def _your_cart(request: FanRequest, event: Event) -> dict[str, object]:
    """The fan's live orders of the event ("Your cart" on the store pages),
    each with its time left. A browser without the fan cookie has none,
    and costs no query (most first visits of the event page)."""
    if settings.FAN_COOKIE_NAME not in request.COOKIES:
        return {"your_cart": []}
    now = timezone.now()
    orders = selectors.live_orders(event, request.fan_id, now)
    return {
        "your_cart": [
            {
                "order": order,
                "time_left": clock(order.expires_at - now if order.expires_at else dt.timedelta()),
            }
            for order in orders
        ]
    }


def _form_keys() -> dict[str, str]:
    """A fresh Idempotency-Key for each hold form of this render: submitting
    the form twice, or again after the answer was lost, gives one order."""
    return {"best_key": secrets.token_urlsafe(16), "pick_key": secrets.token_urlsafe(16)}


# --- the store: seat map, cart --------------------------------------------------


def _store_page_event(request: HttpRequest, slug: str) -> Event:
    event = selectors.store_event(slug)
    if event is None:
        raise Http404("No such event.")
    ensure_store_access(request, event)
    return event


def _on_sale(request: HttpRequest, event: Event) -> bool:
    """Whether this fan may hold now: the general sale, or the presale for
    fans the door let in through the presale lane."""
    phase = event.sale_phase()
    return phase == SalePhase.ON_SALE or (phase == SalePhase.PRESALE and presale_access(request))


def section_page(request: FanRequest, slug: str, code: str) -> HttpResponse:
    try:
        event = _store_page_event(request, slug)
    except StoreAccessDenied as denial:
        return redirect(denial.redirect_url)
    if not selectors.is_section_code(code):
        raise Http404("No such section")
    venue_sections = selectors.venue_sections(event)
    section = next((s for s in venue_sections if s.code == code), None)
    if section is None:
        raise Http404("No such section")
    seats = selectors.section_seats(event, section)
    available = sum(1 for s in seats if s["available"])
    sections = selectors.section_availability(event)
    tier = next((s for s in sections if s["code"] == section.code), None)
    rows: dict[str, list[dict[str, object]]] = {}
    for seat in seats:
        rows.setdefault(seat["row"], []).append(seat)
    return render(
        request,
        "inventory/section.html",
        {
            "event": event,
            "section": section,
            "tier": tier,
            "overview": seatmap.venue_overview(
                venue_sections,
                sections,
                current=section.code,
                url=lambda c: reverse("inventory:section", args=[event.slug, c]),
            ),
            "seat_map": None
            if section.is_general_admission
            else seatmap.seat_map(seats, price=tier["price"] if tier else None, fee=tier["fee"] if tier else None),
            "rows": rows,
            "available": available,
            "available_words": _available_words(available),
            "quantities": range(1, event.max_tickets_per_fan + 1),
            "on_sale": _on_sale(request, event),
            **_your_cart(request, event),
            **_form_keys(),
        },
    )


def _available_words(count: int) -> dict[str, str]:
    """ "N available" in the page's language, now and for the seat map's live
    updates: the singular and the plural form with ``%(count)s`` left in
    (Catalan and Spanish use the plural for every count but 1)."""

    def words(n: int) -> str:
        return ngettext("%(count)s available", "%(count)s available", n)

    return {"now": words(count) % {"count": count}, "one": words(1), "other": words(2)}


def _int_list(values: list[str]) -> list[int] | None:
    try:
        return [int(v) for v in values]
    except ValueError:
        return None


@require_POST
def hold(request: FanRequest, slug: str) -> HttpResponse:
    """The no-JS and JS form target: hold, then show the cart."""
    try:
        event = _store_page_event(request, slug)
    except StoreAccessDenied as denial:
        return redirect(denial.redirect_url)
    code = request.POST.get("section", "")
    if code and not selectors.is_section_code(code):
        messages.error(request, _("Choose a section first."))
        return redirect(event_url(event))
    back = reverse("inventory:section", args=[event.slug, code]) if code else event_url(event)
    owner: str = request.fan_id
    if limits.hold_attempt(request):
        messages.error(request, _("That was a lot of tries in a short time. Wait a minute, then try again."))
        return redirect(back)
    try:
        if request.POST.get("mode") == "best":
            quantity = _int_list([request.POST.get("quantity", "")])
            if quantity is None:
                messages.error(request, _("Choose how many tickets you want."))
                return redirect(back)
            wanted = idempotency.HoldRequest(section=code, quantity=quantity[0], best=True)
        else:
            ids = _int_list(request.POST.getlist("seat_ids"))
            if not ids:
                messages.error(request, _("Choose seats on the map."))
                return redirect(back)
            wanted = idempotency.HoldRequest(section=code or None, seat_ids=ids)
        key = request.POST.get("idempotency_key") or None
        result = idempotency.hold(event=event, owner=owner, request=wanted, key=key, presale=presale_access(request))
    except DomainError as exc:
        (messages.warning if exc.code in _EXPECTED else messages.error)(
            request, fan_message(exc, limit=event.max_tickets_per_fan)
        )
        return redirect(back)
    return redirect("inventory:cart", order_id=result.order_id)


# Refusals that are part of a busy sale (someone was quicker), not the fan's mistake.
_EXPECTED = frozenset(
    {"seats_unavailable", "not_enough_seats", "ticket_limit_reached", "busy", "idempotency_key_reused"}
)


def event_url(event: Event) -> str:
    return reverse("inventory:event_detail", args=[event.slug])


def cart(request: FanRequest, order_id: str) -> HttpResponse:
    order = selectors.order_for_owner(order_id, request.fan_id)
    if order is None:
        raise Http404("No such order")
    lines = selectors.order_lines(order)
    now = timezone.now()
    expired = order.status == OrderStatus.HELD and order.expires_at is not None and order.expires_at <= now
    seconds_left = max(0, int((order.expires_at - now).total_seconds())) if order.expires_at else 0
    response = render(
        request,
        "inventory/cart.html",
        {
            "order": order,
            "event": order.event,
            "lines": lines,
            "expired": expired or order.status == OrderStatus.EXPIRED,
            "seconds_left": seconds_left,
            "warn": seconds_left <= HOLD_WARNING_SECONDS,
            "refresh": order.status in (OrderStatus.HELD, OrderStatus.PAYMENT_PENDING) and not expired,
        },
    )
    # Back and forward must ask again: a cached copy would show a released or
    # expired hold as still "held for you", with a live countdown.
    response["Cache-Control"] = "no-store"
    return response


# The cart warns (and tells screen readers) this long before a hold runs out.
HOLD_WARNING_SECONDS = 120


@require_POST
def release(request: FanRequest, order_id: str) -> HttpResponse:
    owner: str = request.fan_id
    order = selectors.order_for_owner(order_id, owner)
    if order is None:
        raise Http404("No such order")
    try:
        holds.release_order(order_id=order.pk, owner=owner, actor=owner, reason="released_by_fan")
    except DomainError as exc:
        messages.warning(request, fan_message(exc))
        return redirect("inventory:cart", order_id=order.pk)
    messages.success(request, _("Your tickets were released."))
    return redirect(event_url(order.event))
