"""Reads of the waiting room."""

from __future__ import annotations

from inventory import selectors as inventory_selectors
from inventory.models import Event
from ticketing.memo import Memo

# slug → the published event or None. Unknown slugs are kept too (a flood of
# joins to one wrong slug costs one query per few seconds), so the bound
# matters: random slugs evict each other, never grow the process.
_by_slug: Memo[str, Event | None] = Memo("queueroom.published_event", maxsize=1024, ttl=5.0)


def published_event(slug: str) -> Event | None:
    """The published event with this slug, cached in-process for a few
    seconds: joins and polls of a big on-sale then cost no SQL. A slug no
    event can have is answered None without a query and never cached."""
    if not inventory_selectors.could_be_slug(slug):
        return None
    return _by_slug.get_or_load(slug, lambda: inventory_selectors.published_events().filter(slug=slug).first())


def peek_published_event(slug: str) -> Event | None:
    """The cached event, or None when it is not cached (never touches the database)."""
    return _by_slug.get(slug)
