"""Reads with rules: what fans and promoters may see of the catalog."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet

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

    An expired lock counts as available: it is claimable at once."""
    from django.utils import timezone

    now = timezone.now()
    claimable = Q(items__status=ItemStatus.AVAILABLE) | Q(
        items__status__in=[ItemStatus.SOFT_LOCKED, ItemStatus.HARD_LOCKED], items__locked_until__lte=now
    )
    tiers: QuerySet[PriceTier] = (
        PriceTier.objects.filter(event=event).select_related("section").order_by("section__sort_order", "section__code")
    )
    counts = {
        row["id"]: row
        for row in event.venue.sections.annotate(
            total=Count("items", filter=Q(items__event=event)),
            available=Count("items", filter=Q(items__event=event) & claimable),
        ).values("id", "total", "available")
    }
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
