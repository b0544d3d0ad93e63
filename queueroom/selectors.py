"""Reads of the waiting room."""

from __future__ import annotations

import time

from inventory import selectors as inventory_selectors
from inventory.models import Event

_TTL = 5.0
_by_slug: dict[str, tuple[float, Event | None]] = {}


def published_event(slug: str) -> Event | None:
    """The published event with this slug, cached in-process for a few
    seconds: joins and polls of a big on-sale then cost no SQL."""
    mono = time.monotonic()
    hit = _by_slug.get(slug)
    if hit and hit[0] > mono:
        return hit[1]
    event = inventory_selectors.published_events().filter(slug=slug).first()
    _by_slug[slug] = (mono + _TTL, event)
    return event


def peek_published_event(slug: str) -> Event | None:
    """The cached event, or None when it is not cached (never touches the database)."""
    hit = _by_slug.get(slug)
    return hit[1] if hit and hit[0] > time.monotonic() else None
