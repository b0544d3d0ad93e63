"""The promoter's controls: pause/resume, the admission settings and the
presale lanes. Each
applies on the admitter's next tick (it reads them from PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from inventory.models import Event
from queueroom.models import Lane, QueueConfig
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


def set_lane_closed(*, event: Event, lane_id: int, closed: bool, now: dt.datetime | None = None) -> Lane:
    """Close a presale lane (nobody is let in from it; its fans keep their
    places) or open it again. Opening a presale lane whose time has not
    come opens the presale now (the event's "presale opens" becomes now).
    Applies on the admitter's next tick. Raises Lane.DoesNotExist."""
    lane = Lane.objects.get(pk=lane_id, event=event, kind=Lane.Kind.PRIORITY)
    Lane.objects.filter(pk=lane.pk).update(closed=closed)
    lane.closed = closed
    now = now or timezone.now()
    if not closed and lane.opens_at(event) > now:
        Event.objects.filter(pk=event.pk).update(presale_opens_at=now)
        event.presale_opens_at = now
    forget_setup(event.pk)
    return lane
