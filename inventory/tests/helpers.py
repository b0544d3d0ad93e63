"""Shared helpers for the inventory tests."""

from __future__ import annotations

from django.db.models import QuerySet

from inventory.models import Event, InventoryItem


def items(event: Event, section: str = "A") -> QuerySet[InventoryItem]:
    return InventoryItem.objects.filter(event=event, section__code=section).order_by("row_index", "number", "id")


def seat_ids(event: Event, section: str = "A", count: int = 2, offset: int = 0) -> list[int]:
    return list(items(event, section).values_list("id", flat=True)[offset : offset + count])
