"""Reads with rules: what fans and promoters may see of the catalog."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from inventory.models import Event, InventoryItem, ItemStatus, Order, OrderItem, OrderStatus, PriceTier, Section
from ticketing.inputs import text_problem
from ticketing.memo import Memo


def published_events() -> QuerySet[Event]:
    return Event.objects.filter(is_published=True).select_related("venue").order_by("starts_at")


def upcoming_events(now: datetime | None = None) -> QuerySet[Event]:
    """Published shows that have not started yet, soonest first."""
    return published_events().filter(starts_at__gt=now or timezone.now())


def status_counts(event: Event) -> dict[str, int]:
    counts = {status.value: 0 for status in ItemStatus}
    rows = InventoryItem.objects.filter(event=event).values("status").order_by().annotate(n=Count("id"))
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


def section_availability(event: Event) -> list[dict[str, Any]]:
    """One row per priced section: price, capacity and available count.

    An expired lock counts as available: it is claimable at once. The counts
    are the same for every fan, so on on-sale day they are computed once per
    AVAILABILITY_CACHE_SECONDS per event, not once per page view."""
    ttl = settings.AVAILABILITY_CACHE_SECONDS
    if ttl <= 0:
        return _section_availability(event)
    key = f"availability:{event.pk}"
    result: list[dict[str, Any]] | None = cache.get(key)
    if result is None:
        result = _section_availability(event)
        cache.set(key, result, ttl)
    return result


def _section_availability(event: Event) -> list[dict[str, Any]]:
    now = timezone.now()
    claimable = Q(status=ItemStatus.AVAILABLE) | Q(
        status__in=[ItemStatus.SOFT_LOCKED, ItemStatus.HARD_LOCKED], locked_until__lte=now
    )
    counts = {
        row["section_id"]: row
        for row in InventoryItem.objects.filter(event=event)
        .values("section_id")
        .order_by()
        .annotate(total=Count("id"), available=Count("id", filter=claimable))
    }
    tiers: QuerySet[PriceTier] = (
        PriceTier.objects.filter(event=event).select_related("section").order_by("section__sort_order", "section__code")
    )
    result = []
    for tier in tiers:
        section = tier.section
        row = counts.get(section.id, {"total": 0, "available": 0})
        result.append(
            {
                "code": section.code,
                "name": section.name,
                "kind": section.kind,
                "tier": tier.name,
                "price": tier.price,
                "fee": tier.fee,
                "total_price": tier.price + tier.fee,
                "currency": tier.currency,
                "capacity": row["total"],
                "available": row["available"],
            }
        )
    return result


def price_range(sections: list[dict[str, Any]]) -> tuple[Decimal, Decimal] | None:
    if not sections:
        return None
    prices = [s["price"] for s in sections]
    return min(prices), max(prices)


# slug → event or None. Per process: every hold and every seat-map poll
# starts by looking the event up, and its row changes a few times a day, so
# reading it once per INVENTORY_EVENT_CACHE_SECONDS per process saves each of
# them a query (~40% of a hold's request CPU). Unknown slugs are kept too.
_STORE_EVENTS: Memo[str, Event | None] = Memo(
    "inventory.store_event", maxsize=1024, ttl=lambda: float(settings.INVENTORY_EVENT_CACHE_SECONDS)
)

_SLUG_MAX = Event._meta.get_field("slug").max_length or 0
_SLUG = re.compile(r"[-a-zA-Z0-9_]+\Z")


def could_be_slug(slug: str) -> bool:
    """False for a string no event's slug can be (too long, other characters):
    answer "not found" without a query, and keep it out of every cache."""
    return 0 < len(slug) <= _SLUG_MAX and _SLUG.match(slug) is not None


def store_event(slug: str, *, clock: Callable[[], float] = time.monotonic) -> Event | None:
    """A published event by slug, with its venue, or None. Shared by the
    store's requests in this process for INVENTORY_EVENT_CACHE_SECONDS: a
    promoter's change to sale dates, limits or publication reaches the store
    that much later. The instance is shared: read it, never change it."""
    if not could_be_slug(slug):
        return None
    return _STORE_EVENTS.get_or_load(slug, lambda: published_events().filter(slug=slug).first(), now=clock())


def is_section_code(code: object) -> bool:
    """Whether ``code`` could name a section at all (so junk never reaches a
    query or a URL: codes are short, and appear in /buy/<code>/)."""
    return (
        isinstance(code, str)
        and 0 < len(code) <= Section.CODE_MAX_LENGTH
        and "/" not in code
        and text_problem(code) is None
    )


def section_of(event: Event, code: str) -> Section | None:
    if not is_section_code(code):
        return None
    return Section.objects.filter(venue_id=event.venue_id, code=code).first()


def venue_sections(event: Event) -> list[Section]:
    """Every section of the event's venue, in the promoter's order (the
    venue overview draws them all; the page takes its own from the list, so
    drawing the overview costs no query)."""
    return list(Section.objects.filter(venue_id=event.venue_id).order_by("sort_order", "code"))


def section_seats(event: Event, section: Section, now: datetime | None = None) -> list[dict[str, Any]]:
    """The seats (or places) of a section with an ``available`` flag, never
    who holds them. An expired lock counts as available."""
    from django.utils import timezone

    now = now or timezone.now()
    rows = (
        InventoryItem.objects.filter(event=event, section=section)
        .order_by("row_index", "number", "place_number")
        .values_list("id", "row_label", "number", "place_number", "seat__x", "seat__y", "status", "locked_until")
    )
    return [
        {
            "id": item_id,
            "row": row,
            "number": number if place is None else None,
            "place": place,
            "x": x,
            "y": y,
            "available": status == ItemStatus.AVAILABLE
            or (status in (ItemStatus.SOFT_LOCKED, ItemStatus.HARD_LOCKED) and until is not None and until <= now),
        }
        for item_id, row, number, place, x, y, status, until in rows
    ]


def order_for_owner(order_id: object, owner: str) -> Order | None:
    """The fan's own order, or None (also for another fan's order)."""
    import uuid

    try:
        key = uuid.UUID(str(order_id))
    except ValueError:
        return None
    return Order.objects.select_related("event", "event__venue").filter(pk=key, owner=owner).first()


def order_lines(order: Order) -> list[dict[str, Any]]:
    return lines_of_orders([order]).get(order.pk, [])


def lines_of_orders(orders: list[Order]) -> dict[Any, list[dict[str, Any]]]:
    """Each order's lines (seats, prices, still held or not), in one query."""
    lines = (
        OrderItem.objects.filter(order__in=[o.pk for o in orders])
        .select_related("item", "item__section")
        .order_by("item__section__sort_order", "item__row_index", "item__number", "item__place_number")
    )
    result: dict[Any, list[dict[str, Any]]] = {o.pk: [] for o in orders}
    for line in lines:
        result[line.order_id].append(
            {
                "id": line.item_id,
                "section": line.item.section.code,
                "section_name": line.item.section.name,
                "row": line.item.row_label,
                "number": line.item.number if line.item.place_number is None else None,
                "place": line.item.place_number,
                "price": line.price,
                "fee": line.fee,
                "held": line.is_live,
            }
        )
    return result


# At most this many orders are listed; the per-fan cap (1-20 tickets, each
# order at least one) keeps a fan's live orders under it anyway.
MAX_LIVE_ORDERS = 20


def live_orders(event: Event, owner: str, now: datetime | None = None) -> list[Order]:
    """The fan's orders of ``event`` that count toward the ticket cap,
    newest first: HELD and not yet expired, PAYMENT_PENDING (its payment may
    still complete, so even past its deadline until payments settles it),
    and PAID. The same rule as the cap check in inventory.services.holds.sql.
    ``order.event`` is ``event``, so nothing else is read."""
    now = now or timezone.now()
    live = Q(status__in=[OrderStatus.PAID, OrderStatus.PAYMENT_PENDING]) | Q(
        status=OrderStatus.HELD, expires_at__gt=now
    )
    orders = list(
        Order.objects.filter(live, event_id=event.pk, owner=owner).order_by("-created_at", "-id")[:MAX_LIVE_ORDERS]
    )
    for order in orders:
        order.event = event
    return orders
