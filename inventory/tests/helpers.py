"""Shared helpers for the inventory tests."""

from __future__ import annotations

from django.db.models import QuerySet

from inventory.models import Event, InventoryItem


def items(event: Event, section: str = "A") -> QuerySet[InventoryItem]:
    return InventoryItem.objects.filter(event=event, section__code=section).order_by("row_index", "number", "id")


def seat_ids(event: Event, section: str = "A", count: int = 2, offset: int = 0) -> list[int]:
    return list(items(event, section).values_list("id", flat=True)[offset : offset + count])


DASHBOARD_GROUP_MIGRATIONS = (
    "inventory.migrations.0009_promoter_and_operator_groups",
    "queueroom.migrations.0006_dashboard_group_permissions",
    "payments.migrations.0004_dashboard_group_permissions",
)


def ensure_dashboard_groups() -> None:
    """The "promoter" and "operator" groups as the data migrations make them.
    A transactional test (browser and live-server tests) empties every table
    when it ends, and only permissions come back by themselves (post_migrate):
    run the migrations' steps again (they are idempotent)."""
    import importlib

    from django.apps import apps

    for name in DASHBOARD_GROUP_MIGRATIONS:
        importlib.import_module(name).forwards(apps, None)
