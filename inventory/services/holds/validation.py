"""A hold request's input, checked before any write (invariant 6: bad input
gets a clear error and changes nothing)."""

from __future__ import annotations

import datetime as dt

from inventory import selectors
from inventory.models import Event, SalePhase, Section
from inventory.services.holds.errors import InvalidHold, SaleNotOpen
from ticketing.inputs import shown
from ticketing.memo import Memo

_MAX_BIGINT = 2**63 - 1


def ensure_on_sale(event: Event, now: dt.datetime, *, presale: bool = False) -> None:
    """Holds are for the general sale, and during the presale for fans let in
    through the presale lane (``presale``: the store's door says so)."""
    phase = event.sale_phase(now)
    if not event.is_published or not (phase == SalePhase.ON_SALE or (presale and phase == SalePhase.PRESALE)):
        raise SaleNotOpen("This event is not on sale right now.")


def checked_quantity(event: Event, quantity: object) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise InvalidHold("'quantity' must be an integer.", code="invalid_quantity")
    if quantity < 1:
        raise InvalidHold("'quantity' must be at least 1.", code="invalid_quantity")
    if quantity > event.max_tickets_per_fan:
        raise InvalidHold(f"At most {event.max_tickets_per_fan} tickets per order.", code="too_many_tickets")
    return quantity


def checked_ids(event: Event, item_ids: object) -> list[int]:
    """The seat ids, sorted (the lock order)."""
    if not isinstance(item_ids, list | tuple):
        raise InvalidHold("'seat_ids' must be a list of seat ids.", code="invalid_seat_ids")
    if not item_ids:
        raise InvalidHold("Pick at least one seat.", code="invalid_seat_ids")
    if any(not isinstance(i, int) or isinstance(i, bool) or i < 1 for i in item_ids):
        raise InvalidHold("Every seat id must be a positive integer.", code="invalid_seat_ids")
    if len(set(item_ids)) != len(item_ids):
        raise InvalidHold("A seat id appears twice.", code="duplicate_seat_ids")
    if len(item_ids) > event.max_tickets_per_fan:
        raise InvalidHold(f"At most {event.max_tickets_per_fan} tickets per order.", code="too_many_tickets")
    if any(i > _MAX_BIGINT for i in item_ids):
        raise InvalidHold("Unknown seat id.", code="unknown_seats")
    return sorted(item_ids)


# (venue id, code) → Section. A venue's sections are fixed once an event has
# inventory, and best-available asks for one on every hold. Only sections
# that exist are kept: made-up codes never take a place.
_SECTIONS: Memo[tuple[int, str], Section] = Memo("inventory.section", maxsize=4096, ttl=None)


def section_of(event: Event, code: object) -> Section:
    if not isinstance(code, str) or not code:
        raise InvalidHold("'section' must be a section code.", code="invalid_section")
    if not selectors.is_section_code(code):
        raise InvalidHold(f"No section {shown(code)} at this venue.", code="unknown_section")
    key = (event.venue_id, code)
    section = _SECTIONS.get(key)
    if section is None:
        section = Section.objects.filter(venue_id=event.venue_id, code=code).first()
        if section is None:
            raise InvalidHold(f"No section {shown(code)} at this venue.", code="unknown_section")
        _SECTIONS.set(key, section)
    return section
