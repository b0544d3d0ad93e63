"""The promoter's controls: pause/resume and the admission settings. Each
applies on the admitter's next tick (it reads them from PostgreSQL)."""

from __future__ import annotations

from inventory.models import Event
from queueroom.models import QueueConfig
from queueroom.services.setup import forget_setup


def set_paused(*, event: Event, paused: bool) -> None:
    """Pause or resume admissions; the admitter applies it on its next tick."""
    QueueConfig.objects.update_or_create(event=event, defaults={"paused": paused})


def set_admission(*, event: Event, rate_per_minute: int | None = None, max_in_store: int | None = None) -> None:
    """Change the admission rate and the store's capacity (each at least 1)."""
    changes: dict[str, int] = {}
    if rate_per_minute is not None:
        changes["admission_rate_per_minute"] = max(1, rate_per_minute)
    if max_in_store is not None:
        changes["max_in_store"] = max(1, max_in_store)
    if changes:
        Event.objects.filter(pk=event.pk).update(**changes)
        for name, value in changes.items():
            setattr(event, name, value)
        forget_setup(event.pk)
