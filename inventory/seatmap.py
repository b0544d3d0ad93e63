"""What the section page draws: the venue overview and the seat map, laid out
on the server as SVG-ready values. Pure functions over data already read (no
queries), so the page costs the same queries with or without the drawings.

Every number the browser reads is a plain string made here (``_n``): Python
formatting never uses the reader's decimal comma, Django's templates do
(issue 10: ``cx="10,0"`` in Spanish put every seat on one dot).

The overview is a schematic, not a plan: each section is a box centred on its
``map_x``/``map_y`` (0-1000 units, ``map_y`` growing away from the stage,
which is drawn at the top), sized from its distance to its neighbours. A venue
whose sections have no distinct positions gets a derived layout from what the
catalog does say: standing sections on the floor in front of the stage, then
one ring of seated sections per code series (101-108, 201-208) or price tier,
in the promoter's order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.template.defaultfilters import floatformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from inventory.models import Section

# Light fills, cheapest first, all legible under dark text. Beyond eight
# price bands the colours repeat; every box also prints its price.
BAND_COLOURS = ("#a8d5f2", "#9fd8a8", "#ffe08a", "#ffb37a", "#f59aa9", "#c9a6dc", "#86cfc8", "#d9c9a3")

# Seat map: how large a seat pitch (the distance between neighbouring
# seats) may be drawn before JavaScript zooms: a 10-seat section is not
# blown up to the width of the screen.
MAX_PITCH_PX = 32
SEAT_RADIUS = 0.42  # of the pitch


def _n(value: float) -> str:
    """A number as SVG and scripts read it: at most two decimals, a point,
    never a thousands separator."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def money(amount: Decimal) -> str:
    """A price as the reader writes it: "115", "62,50" (human text, so localized)."""
    return str(floatformat(amount, -2))


# --- the venue overview ------------------------------------------------------


@dataclass(frozen=True)
class Box:
    x: float  # centre
    y: float
    w: float
    h: float

    @property
    def left(self) -> float:
        return self.x - self.w / 2

    @property
    def top(self) -> float:
        return self.y - self.h / 2


@dataclass
class OverviewSection:
    code: str
    name: str
    href: str | None  # None: not sold for this event
    box: dict[str, str]
    label: dict[str, str]  # code line and price line positions, font size
    price_text: str
    band: int | None
    fill: str
    available: int
    capacity: int
    bar: dict[str, str] | None  # what is still available, as a bar
    current: bool
    sold_out: bool
    title: str


@dataclass
class Overview:
    view_box: str
    stage: dict[str, str]
    sections: list[OverviewSection]
    bands: list[dict[str, str]] = field(default_factory=list)
    derived: bool = False
    any_sold_out: bool = False


def venue_overview(
    sections: Sequence[Section],
    availability: Sequence[dict[str, Any]],
    *,
    current: str,
    url: Callable[[str], str],
) -> Overview:
    """The venue drawn from above: every section of the venue in place,
    coloured by its price band, with a bar of what is still available.
    ``availability`` is selectors.section_availability(event): a section
    without a price tier is drawn but not offered."""
    by_code = {row["code"]: row for row in availability}
    places, derived = layout(sections, tiers={row["code"]: row["tier"] for row in availability})
    prices = sorted({row["price"] for row in availability})
    band_of = {price: i for i, price in enumerate(prices)}
    drawn = []
    for section in sections:
        box = places[section.code]
        row = by_code.get(section.code)
        band = band_of[row["price"]] if row else None
        price_text = f"{money(row['price'])} €" if row else ""
        available = row["available"] if row else 0
        capacity = row["capacity"] if row else 0
        sold_out = row is not None and available == 0
        drawn.append(
            OverviewSection(
                code=section.code,
                name=section.name,
                href=url(section.code) if row else None,
                box={"x": _n(box.left), "y": _n(box.top), "w": _n(box.w), "h": _n(box.h)},
                label=_labels(box, section.code, price_text),
                price_text=price_text,
                band=band,
                fill=BAND_COLOURS[band % len(BAND_COLOURS)] if band is not None else "#e6e1e8",
                available=available,
                capacity=capacity,
                bar=_bar(box, available, capacity) if row else None,
                current=section.code == current,
                sold_out=sold_out,
                title=section_summary(section.name, row),
            )
        )
    bands = [
        {"fill": BAND_COLOURS[i % len(BAND_COLOURS)], "text": f"{money(price)} €"} for i, price in enumerate(prices)
    ]
    stage = _stage(list(places.values()))
    return Overview(
        view_box=_view_box([*places.values(), stage], margin=16),
        stage={"x": _n(stage.left), "y": _n(stage.top), "w": _n(stage.w), "h": _n(stage.h), "tx": _n(stage.x)},
        sections=drawn,
        bands=bands,
        derived=derived,
        any_sold_out=any(s.sold_out for s in drawn),
    )


def section_summary(name: str, row: dict[str, Any] | None) -> str:
    """The one-line description of a section for screen readers and
    tooltips: name, price with fees, what is left."""
    if row is None:
        return name
    price = f"{money(row['price'])} €"
    if row["fee"]:
        price = _("%(price)s + %(fee)s € fees") % {"price": price, "fee": money(row["fee"])}
    if not row["available"]:
        left = _("sold out")
    else:
        left = ngettext("%(count)s available", "%(count)s available", row["available"]) % {"count": row["available"]}
    return f"{name} · {price} · {left}"


def layout(sections: Sequence[Section], *, tiers: dict[str, str] | None = None) -> tuple[dict[str, Box], bool]:
    """Each section's box on the overview, and whether the positions were
    derived (the catalog gave none, or gave two sections the same place)."""
    centres = {s.code: (s.map_x, s.map_y) for s in sections}
    derived = len(set(centres.values())) < len(sections)
    if derived:
        centres = _derived_centres(sections, tiers or {})
    return _boxes(centres), derived


def _derived_centres(sections: Sequence[Section], tiers: dict[str, str]) -> dict[str, tuple[float, float]]:
    ordered = sorted(sections, key=lambda s: (s.sort_order, s.code))
    floor = [s for s in ordered if s.is_general_admission]
    rings: dict[str, list[Section]] = {}
    for section in ordered:
        if not section.is_general_admission:
            rings.setdefault(_ring_key(section, tiers), []).append(section)
    centres: dict[str, tuple[float, float]] = {}
    y = 150.0
    for section in floor:
        centres[section.code] = (500.0, y)
        y += 150
    for ring in rings.values():
        pitch = min(120.0, 900 / len(ring))
        start = 500 - pitch * (len(ring) - 1) / 2
        for i, section in enumerate(ring):
            centres[section.code] = (start + i * pitch, y)
        y += 150
    return centres


def _ring_key(section: Section, tiers: dict[str, str]) -> str:
    """101-108 and 201-208 are two rings; otherwise one ring per price tier."""
    code = section.code
    if code.isdigit() and len(code) >= 3:
        return "series:" + code[: len(code) - 2]
    return "tier:" + tiers.get(code, "")


def _boxes(centres: dict[str, tuple[float, float]]) -> dict[str, Box]:
    """Boxes that never overlap: as wide as 90% of the distance to the
    nearest neighbour on the same ring (sections at about the same y), as
    tall as 80% of the gap to the nearest ring."""
    if not centres:
        return {}
    rings: list[list[str]] = []
    ring_ys: list[float] = []
    for code, (_x, y) in sorted(centres.items(), key=lambda item: (item[1][1], item[1][0])):
        if ring_ys and abs(y - ring_ys[-1]) <= 20:
            rings[-1].append(code)
        else:
            rings.append([code])
            ring_ys.append(y)
    spans = [max(centres[c][0] for c in ring) - min(centres[c][0] for c in ring) for ring in rings if len(ring) > 1]
    solo_width = min(max(0.45 * max(spans, default=600), 180), 420)
    boxes = {}
    for index, ring in enumerate(rings):
        gaps = [ring_ys[index] - ring_ys[index - 1]] if index else []
        if index + 1 < len(rings):
            gaps.append(ring_ys[index + 1] - ring_ys[index])
        height = min(max(0.8 * min(gaps, default=120), 50), 110)
        xs = sorted(centres[c][0] for c in ring)
        for code in ring:
            x, y = centres[code]
            neighbours = [abs(x - other) for other in xs if other != x]
            width = min(0.9 * min(neighbours), 420) if neighbours else solo_width
            boxes[code] = Box(x=x, y=y, w=max(width, 30), h=height)
    return boxes


def _labels(box: Box, code: str, price_text: str) -> dict[str, str]:
    """The code (bold) and the price inside the box, as large as fits, at
    most 28 units: about 10 px on a 390 px phone."""
    size = min(28.0, (box.w - 8) / max(len(code), 1) / 0.62, (box.h - 14) / 1.1)
    price_size = min(size, (box.w - 8) / max(len(price_text), 1) / 0.58)
    two_lines = price_text and box.h - 14 >= size + price_size + 4
    code_y = box.y - price_size / 2 - 2 if two_lines else box.y
    return {
        "x": _n(box.x),
        "code_y": _n(code_y),
        "size": _n(size),
        "price_y": _n(code_y + size / 2 + price_size * 0.9 + 2) if two_lines else "",
        "price_size": _n(price_size),
    }


def _bar(box: Box, available: int, capacity: int) -> dict[str, str]:
    inner = max(box.w - 12, 4)
    share = available / capacity if capacity else 0
    return {
        "x": _n(box.left + 6),
        "y": _n(box.top + box.h - 10),
        "w": _n(inner),
        "fill_w": _n(inner * share),
    }


def _stage(boxes: Iterable[Box]) -> Box:
    boxes = list(boxes)
    if not boxes:
        return Box(x=500, y=40, w=300, h=36)
    left = min(b.left for b in boxes)
    right = max(b.left + b.w for b in boxes)
    top = min(b.top for b in boxes)
    return Box(x=(left + right) / 2, y=top - 48, w=max((right - left) * 0.4, 200), h=40)


def _view_box(boxes: Sequence[Box], *, margin: float) -> str:
    left = min(b.left for b in boxes) - margin
    top = min(b.top for b in boxes) - margin
    right = max(b.left + b.w for b in boxes) + margin
    bottom = max(b.top + b.h for b in boxes) + margin
    return f"{_n(left)} {_n(top)} {_n(right - left)} {_n(bottom - top)}"


# --- the seat map of one section ---------------------------------------------


@dataclass
class MapSeat:
    id: int
    number: int
    x: str
    y: str
    available: bool
    label: str


@dataclass
class MapRow:
    label: str
    left_x: str
    right_x: str
    y: str
    seats: list[MapSeat]


@dataclass
class SeatMap:
    view_box: str
    max_width_px: str  # without zoom: at most MAX_PITCH_PX between seats
    pitch: str  # distance between neighbouring seats, in map units
    radius: str
    diameter: str
    label_size: str  # row labels and the stage hint, in map units
    stage_x: str
    stage_y: str
    rows: list[MapRow]
    first_free: int | None  # the one seat in the Tab order (roving tabindex)
    label_free: str  # templates for seat names after a change, {row} {number}
    label_taken: str


def seat_map(seats: Sequence[dict[str, Any]], *, price: Decimal | None, fee: Decimal | None) -> SeatMap:
    """The seats of one section (selectors.section_seats, in row order),
    grouped by row, with row labels at both ends and each seat's accessible
    name: row, number and price, or "taken"."""
    price_text = f"{money(price)} €" if price is not None else ""
    if price_text and fee:
        price_text = _("%(price)s + %(fee)s € fees") % {"price": price_text, "fee": money(fee)}
    free = _("Row %(row)s, seat %(number)s, %(price)s")
    taken = _("Row %(row)s, seat %(number)s, taken")
    rows: dict[str, list[dict[str, Any]]] = {}
    for seat in seats:
        rows.setdefault(seat["row"], []).append(seat)
    pitch = _pitch(rows.values())
    drawn = []
    for label, row_seats in rows.items():
        xs = [s["x"] or 0.0 for s in row_seats]
        drawn.append(
            MapRow(
                label=label,
                left_x=_n(min(xs) - pitch * 1.3),
                right_x=_n(max(xs) + pitch * 1.3),
                y=_n(sum(s["y"] or 0.0 for s in row_seats) / len(row_seats)),
                seats=[
                    MapSeat(
                        id=s["id"],
                        number=s["number"],
                        x=_n(s["x"] or 0.0),
                        y=_n(s["y"] or 0.0),
                        available=s["available"],
                        label=(free if s["available"] else taken)
                        % {"row": label, "number": s["number"], "price": price_text},
                    )
                    for s in row_seats
                ],
            )
        )
    xs = [s["x"] or 0.0 for s in seats] or [0.0]
    ys = [s["y"] or 0.0 for s in seats] or [0.0]
    left, right = min(xs) - pitch * 2, max(xs) + pitch * 2
    top, bottom = min(ys) - pitch * 2.6, max(ys) + pitch * 0.8
    width = right - left
    return SeatMap(
        view_box=f"{_n(left)} {_n(top)} {_n(width)} {_n(bottom - top)}",
        max_width_px=_n(math.ceil(width / pitch * MAX_PITCH_PX)),
        pitch=_n(pitch),
        radius=_n(pitch * SEAT_RADIUS),
        diameter=_n(2 * pitch * SEAT_RADIUS),
        label_size=_n(pitch * 0.6),
        stage_x=_n((left + right) / 2),
        stage_y=_n(min(ys) - pitch * 1.5),
        rows=drawn,
        first_free=next((s["id"] for s in seats if s["available"]), seats[0]["id"] if seats else None),
        label_free=free % {"row": "{row}", "number": "{number}", "price": price_text},
        label_taken=taken % {"row": "{row}", "number": "{number}", "price": price_text},
    )


def _pitch(rows: Iterable[list[dict[str, Any]]]) -> float:
    """The usual distance between neighbouring seats in a row: imported
    maps may use any unit."""
    gaps = sorted(
        abs((b["x"] or 0.0) - (a["x"] or 0.0))
        for row in rows
        for a, b in zip(row, row[1:], strict=False)
        if (b["x"] or 0.0) != (a["x"] or 0.0)
    )
    return gaps[len(gaps) // 2] if gaps else 10.0
