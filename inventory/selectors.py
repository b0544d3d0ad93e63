"""Reads with rules: what fans and promoters may see of the catalog."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from inventory.models import Event, InventoryItem, ItemStatus, PriceTier


def published_events() -> QuerySet[Event]:
    return Event.objects.filter(is_published=True).select_related("venue").order_by("starts_at")


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
    result = cache.get(key)
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
