"""Venue and event files: JSON export and all-or-nothing import (format in
docs/catalog-json.md). Every refusal is a CatalogError naming where in the
file it is, shown to the promoter as is (in the admin's language)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from inventory.models import Event, PriceTier, Seat, Section, Venue
from inventory.services.catalog.seating import SEAT_SPACING, CatalogError, create_event_inventory, seat_rank

VENUE_FORMAT = "ticketing.venue/1"
EVENT_FORMAT = "ticketing.event/1"


def export_venue(venue: Venue) -> dict[str, Any]:
    sections = []
    for section in venue.sections.order_by("sort_order", "code"):
        data: dict[str, Any] = {
            "code": section.code,
            "name": section.name,
            "kind": section.kind,
            "capacity": section.capacity,
            "sort_order": section.sort_order,
            "map_x": section.map_x,
            "map_y": section.map_y,
        }
        if not section.is_general_admission:
            rows: dict[int, dict[str, Any]] = {}
            for seat in section.seats.order_by("row_index", "number"):
                row = rows.setdefault(seat.row_index, {"label": seat.row_label, "index": seat.row_index, "seats": []})
                row["seats"].append({"number": seat.number, "rank": seat.rank, "x": seat.x, "y": seat.y})
            data["rows"] = list(rows.values())
        sections.append(data)
    return {
        "format": VENUE_FORMAT,
        "name": venue.name,
        "slug": venue.slug,
        "city": venue.city,
        "address": venue.address,
        "sections": sections,
    }


def _require(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise CatalogError(gettext("%(where)s: '%(key)s' is missing.") % {"where": where, "key": key})
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise CatalogError(gettext("%(where)s: '%(key)s' has the wrong type.") % {"where": where, "key": key})
    return value


def _number(data: dict[str, Any], key: str, default: float, where: str, kind: type[int] | type[float]) -> Any:
    """An optional number of the file: refused with the place it is in, never
    a TypeError from int([1]) or float("x") reaching the admin as a 500."""
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CatalogError(gettext("%(where)s: '%(key)s' must be a number.") % {"where": where, "key": key})
    try:
        return kind(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise CatalogError(gettext("%(where)s: '%(key)s' must be a number.") % {"where": where, "key": key}) from exc


@transaction.atomic
def import_venue(data: Any) -> Venue:
    """Create a venue with its sections and seats from export_venue's format.
    All or nothing: on any error nothing is written."""
    if not isinstance(data, dict) or data.get("format") != VENUE_FORMAT:
        raise CatalogError(gettext("Not a venue file (expected format '%(format)s').") % {"format": VENUE_FORMAT})
    slug = _require(data, "slug", str, "venue")
    if Venue.objects.filter(slug=slug).exists():
        raise CatalogError(gettext("A venue with slug '%(slug)s' already exists.") % {"slug": slug})
    venue = Venue.objects.create(
        name=_require(data, "name", str, "venue"),
        slug=slug,
        city=data.get("city", "") or "",
        address=data.get("address", "") or "",
    )
    codes: set[str] = set()
    for i, sdata in enumerate(_require(data, "sections", list, "venue")):
        _import_section(venue, sdata, index=i, codes=codes)
    return venue


def _import_section(venue: Venue, sdata: Any, *, index: int, codes: set[str]) -> None:
    where = f"sections[{index}]"
    if not isinstance(sdata, dict):
        raise CatalogError(gettext("%(where)s is not an object.") % {"where": where})
    code = _require(sdata, "code", str, where)
    if code in codes:
        raise CatalogError(
            gettext("%(where)s: section code '%(code)s' appears twice.") % {"where": where, "code": code}
        )
    codes.add(code)
    kind = sdata.get("kind", Section.Kind.SEATED)
    if kind not in Section.Kind.values:
        raise CatalogError(
            gettext("%(where)s: kind must be one of %(kinds)s.")
            % {"where": where, "kinds": ", ".join(Section.Kind.values)}
        )
    ga = kind == Section.Kind.GENERAL_ADMISSION
    section = Section.objects.create(
        venue=venue,
        code=code,
        name=_require(sdata, "name", str, where),
        kind=kind,
        capacity=_number(sdata, "capacity", 0, where, int) if ga else 0,
        sort_order=_number(sdata, "sort_order", index, where, int),
        map_x=_number(sdata, "map_x", 0, where, float),
        map_y=_number(sdata, "map_y", 0, where, float),
    )
    if ga:
        if section.capacity < 1:
            raise CatalogError(gettext("%(where)s: a standing section needs a capacity above 0.") % {"where": where})
        return
    seats = _section_seats(section, sdata, where)
    if len({(s.row_label, s.number) for s in seats}) != len(seats):
        raise CatalogError(gettext("%(where)s: a seat (row, number) appears twice.") % {"where": where})
    Seat.objects.bulk_create(seats, batch_size=5000)
    section.capacity = len(seats)
    section.save(update_fields=["capacity"])


def _section_seats(section: Section, sdata: dict[str, Any], where: str) -> list[Seat]:
    seats = []
    for j, row in enumerate(_require(sdata, "rows", list, where)):
        rwhere = f"{where}.rows[{j}]"
        if not isinstance(row, dict):
            raise CatalogError(gettext("%(where)s is not an object.") % {"where": rwhere})
        label = _require(row, "label", str, rwhere)
        index = _number(row, "index", j, rwhere, int)
        for k, seat in enumerate(_require(row, "seats", list, rwhere)):
            swhere = f"{rwhere}.seats[{k}]"
            if not isinstance(seat, dict):
                raise CatalogError(gettext("%(where)s is not an object.") % {"where": swhere})
            number = _require(seat, "number", int, swhere)
            seats.append(
                Seat(
                    section=section,
                    row_label=label,
                    row_index=index,
                    number=number,
                    rank=_number(seat, "rank", seat_rank(index, number, 1), swhere, int),
                    x=_number(seat, "x", number * SEAT_SPACING, swhere, float),
                    y=_number(seat, "y", index * SEAT_SPACING, swhere, float),
                )
            )
    return seats


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


EVENT_FIELDS = (
    "max_tickets_per_fan",
    "admission_rate_per_minute",
    "max_in_store",
    "hold_ttl_seconds",
    "checkout_ttl_seconds",
)


def export_event(event: Event) -> dict[str, Any]:
    return {
        "format": EVENT_FORMAT,
        "name": event.name,
        "slug": event.slug,
        "artist": event.artist,
        "description": event.description,
        "starts_at": _iso(event.starts_at),
        "presale_opens_at": _iso(event.presale_opens_at),
        "sale_opens_at": _iso(event.sale_opens_at),
        "sale_closes_at": _iso(event.sale_closes_at),
        "is_published": event.is_published,
        **{field: getattr(event, field) for field in EVENT_FIELDS},
        "price_tiers": [
            {
                "section": tier.section.code,
                "name": tier.name,
                "price": str(tier.price),
                "fee": str(tier.fee),
                "currency": tier.currency,
                "description": tier.description,
            }
            for tier in event.price_tiers.select_related("section").order_by("section__sort_order")
        ],
        "venue": export_venue(event.venue),
    }


def _parse_dt(value: Any, where: str) -> datetime | None:
    """An optional ISO 8601 date-time with a time zone."""
    if value in (None, ""):
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        raise CatalogError(gettext("%(where)s must be an ISO 8601 date-time with a time zone.") % {"where": where})
    return parsed


def _require_dt(value: Any, where: str) -> datetime:
    parsed = _parse_dt(value, where)
    if parsed is None:
        raise CatalogError(gettext("%(where)s is missing.") % {"where": where})
    return parsed


@transaction.atomic
def import_event(data: Any) -> Event:
    """Create an event (and its venue when the venue's slug is new) from
    export_event's format, then its inventory. All or nothing."""
    if not isinstance(data, dict) or data.get("format") != EVENT_FORMAT:
        raise CatalogError(gettext("Not an event file (expected format '%(format)s').") % {"format": EVENT_FORMAT})
    slug = _require(data, "slug", str, "event")
    if Event.objects.filter(slug=slug).exists():
        raise CatalogError(gettext("An event with slug '%(slug)s' already exists.") % {"slug": slug})
    vdata = _require(data, "venue", dict, "event")
    venue = Venue.objects.filter(slug=vdata.get("slug")).first() or import_venue(vdata)
    event = Event(
        venue=venue,
        name=_require(data, "name", str, "event"),
        slug=slug,
        artist=data.get("artist", "") or "",
        description=data.get("description", "") or "",
        starts_at=_require_dt(data.get("starts_at"), "starts_at"),
        presale_opens_at=_parse_dt(data.get("presale_opens_at"), "presale_opens_at"),
        sale_opens_at=_require_dt(data.get("sale_opens_at"), "sale_opens_at"),
        sale_closes_at=_parse_dt(data.get("sale_closes_at"), "sale_closes_at"),
        is_published=bool(data.get("is_published", True)),
    )
    if "max_tickets_per_order" in data and "max_tickets_per_fan" not in data:
        data = {**data, "max_tickets_per_fan": data["max_tickets_per_order"]}  # files exported before the rename
    for field in EVENT_FIELDS:
        if field in data:
            if not isinstance(data[field], int) or isinstance(data[field], bool):
                raise CatalogError(
                    gettext("%(where)s: '%(key)s' must be an integer.") % {"where": "event", "key": field}
                )
            setattr(event, field, data[field])
    try:
        event.full_clean()
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        raise CatalogError(f"event: {problems}") from exc
    event.save()
    sections = {s.code: s for s in venue.sections.all()}
    for i, tdata in enumerate(_require(data, "price_tiers", list, "event")):
        _import_price_tier(event, tdata, sections=sections, where=f"price_tiers[{i}]")
    create_event_inventory(event=event)
    return event


def _import_price_tier(event: Event, tdata: Any, *, sections: dict[str, Section], where: str) -> None:
    if not isinstance(tdata, dict):
        raise CatalogError(gettext("%(where)s is not an object.") % {"where": where})
    code = _require(tdata, "section", str, where)
    if code not in sections:
        raise CatalogError(gettext("%(where)s: the venue has no section '%(code)s'.") % {"where": where, "code": code})
    try:
        price = Decimal(str(_require(tdata, "price", (str, int, float), where)))
        fee = Decimal(str(tdata.get("fee", "0")))
    except InvalidOperation as exc:
        raise CatalogError(gettext("%(where)s: price and fee are decimal numbers.") % {"where": where}) from exc
    if not price.is_finite() or not fee.is_finite():
        raise CatalogError(gettext("%(where)s: price and fee are decimal numbers.") % {"where": where})
    if price < 0 or fee < 0:
        raise CatalogError(gettext("%(where)s: price and fee cannot be negative.") % {"where": where})
    PriceTier.objects.create(
        event=event,
        section=sections[code],
        name=_require(tdata, "name", str, where),
        price=price,
        fee=fee,
        currency=tdata.get("currency", "EUR"),
        description=tdata.get("description", "") or "",
    )
