"""The LUX Tour Spain demo catalog (and a tiny one for quick tests).

Capacities, dates and prices follow the reference case in shared/BRIEF.md:
Movistar Arena 17,500 x 4 + Palau Sant Jordi 18,000 x 4 = 142,000 places.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from inventory.models import Event, PriceTier, Section, Venue
from inventory.services.catalog import create_event_inventory, generate_seats, parse_row_labels

MADRID = ZoneInfo("Europe/Madrid")


@dataclass(frozen=True)
class SectionPlan:
    code: str
    name: str
    tier: str
    price: str
    fee: str
    capacity: int = 0  # general admission
    rows: str = ""  # seated
    seats_per_row: int = 0
    map_x: float = 0
    map_y: float = 0

    @property
    def seated(self) -> bool:
        return bool(self.rows)


def _lower(n: int, rows: str, per_row: int, start_x: float) -> list[SectionPlan]:
    plans = []
    for i in range(n):
        centre = abs(i - (n - 1) / 2) < n / 4
        plans.append(
            SectionPlan(
                code=str(101 + i),
                name=f"Grada baja {101 + i}",
                tier="Grada baja central" if centre else "Grada baja lateral",
                price="115.00" if centre else "85.00",
                fee="11.50" if centre else "8.50",
                rows=rows,
                seats_per_row=per_row,
                map_x=start_x + i * 100,
                map_y=600,
            )
        )
    return plans


def _upper(n: int, rows: str, per_row: int, start_x: float) -> list[SectionPlan]:
    return [
        SectionPlan(
            code=str(201 + i),
            name=f"Grada alta {201 + i}",
            tier="Grada alta",
            price="45.00",
            fee="4.50",
            rows=rows,
            seats_per_row=per_row,
            map_x=start_x + i * 100,
            map_y=800,
        )
        for i in range(n)
    ]


# 5,000 + 1,000 + 300 + 8 x 800 + 8 x 600 = 17,500
MOVISTAR = [
    SectionPlan("FRONT", "Front Stage", "Front Stage", "95.00", "9.50", capacity=1000, map_x=450, map_y=150),
    SectionPlan("PISTA", "Pista", "Pista", "65.00", "6.50", capacity=5000, map_x=450, map_y=350),
    SectionPlan(
        "VIP",
        "LUX VIP Package",
        "VIP package (early entry, merch, lounge)",
        "500.00",
        "36.50",
        rows="A-J",
        seats_per_row=30,
        map_x=450,
        map_y=500,
    ),
    *_lower(8, "A-T", 40, 100),
    *_upper(8, "A-O", 40, 100),
]

# 6,000 + 1,000 + 400 + 10 x 640 + 8 x 525 = 18,000
PALAU = [
    SectionPlan("FRONT", "Front Stage", "Front Stage", "95.00", "9.50", capacity=1000, map_x=500, map_y=150),
    SectionPlan("PISTA", "Pista", "Pista", "65.00", "6.50", capacity=6000, map_x=500, map_y=350),
    SectionPlan(
        "VIP",
        "LUX VIP Package",
        "VIP package (early entry, merch, lounge)",
        "500.00",
        "36.50",
        rows="A-J",
        seats_per_row=40,
        map_x=500,
        map_y=500,
    ),
    *_lower(10, "A-P", 40, 50),
    *_upper(8, "A-O", 35, 150),
]

TOUR = {
    "movistar-arena": (
        {"name": "Movistar Arena", "city": "Madrid", "address": "Av. Felipe II, s/n, 28009 Madrid"},
        MOVISTAR,
        [(2026, 3, 30), (2026, 4, 1), (2026, 4, 3), (2026, 4, 4)],
    ),
    "palau-sant-jordi": (
        {"name": "Palau Sant Jordi", "city": "Barcelona", "address": "Pg. Olímpic, 5-7, 08038 Barcelona"},
        PALAU,
        [(2026, 4, 13), (2026, 4, 15), (2026, 4, 17), (2026, 4, 18)],
    ),
}

# The real on-sale: artist + bank presale on 9 Dec 2025, general sale 11 Dec 2025, both 10:00.
PRESALE_OPENS = dt.datetime(2025, 12, 9, 10, 0, tzinfo=MADRID)
SALE_OPENS = dt.datetime(2025, 12, 11, 10, 0, tzinfo=MADRID)


@transaction.atomic
def build_venue(slug: str, info: dict[str, str], plans: list[SectionPlan]) -> Venue:
    venue, created = Venue.objects.get_or_create(slug=slug, defaults=info)
    if not created:
        return venue
    for order, plan in enumerate(plans):
        section = Section.objects.create(
            venue=venue,
            code=plan.code,
            name=plan.name,
            kind=Section.Kind.SEATED if plan.seated else Section.Kind.GENERAL_ADMISSION,
            capacity=plan.capacity,
            sort_order=order,
            map_x=plan.map_x,
            map_y=plan.map_y,
        )
        if plan.seated:
            rows = parse_row_labels(plan.rows)
            generate_seats(section=section, rows=rows, seats_per_row=[plan.seats_per_row] * len(rows))
    return venue


@transaction.atomic
def build_event(
    *,
    venue: Venue,
    plans: list[SectionPlan],
    slug: str,
    name: str,
    starts_at: dt.datetime,
    presale_opens_at: dt.datetime | None,
    sale_opens_at: dt.datetime,
    artist: str = "ROSALÍA",
) -> tuple[Event, int]:
    event, created = Event.objects.get_or_create(
        slug=slug,
        defaults={
            "venue": venue,
            "name": name,
            "artist": artist,
            "starts_at": starts_at,
            "presale_opens_at": presale_opens_at,
            "sale_opens_at": sale_opens_at,
            "description": "LUX Tour 2026. Max. 4 tickets per fan.",
        },
    )
    if created:
        sections = {s.code: s for s in venue.sections.all()}
        PriceTier.objects.bulk_create(
            PriceTier(
                event=event,
                section=sections[p.code],
                name=p.tier,
                price=Decimal(p.price),
                fee=Decimal(p.fee),
            )
            for p in plans
        )
    return event, create_event_inventory(event=event)


def show_start(year: int, month: int, day: int, *, rehearsal_sale: dt.datetime | None = None) -> dt.datetime:
    """A show's start, 21:00 in Madrid; for a rehearsal whose sale opens at
    ``rehearsal_sale``, the same day of the first year that leaves at least
    a week of sale."""
    starts = dt.datetime(year, month, day, 21, 0, tzinfo=MADRID)
    while rehearsal_sale is not None and starts < rehearsal_sale + dt.timedelta(days=7):
        starts = starts.replace(year=starts.year + 1)
    return starts


def seed_lux_tour(*, sale_opens_at: dt.datetime | None = None) -> list[tuple[Event, int]]:
    """Build the 8 LUX Tour Spain events, by default on the real dates (shows
    in spring 2026, sale in December 2025). ``sale_opens_at`` makes a
    rehearsal: the sale opens then, and shows that would already be over move
    forward by whole years (same day and time, new slug)."""
    general = sale_opens_at or SALE_OPENS
    presale = general - (SALE_OPENS - PRESALE_OPENS) if sale_opens_at is None else general - dt.timedelta(hours=1)
    results = []
    for venue_slug, (info, plans, dates) in TOUR.items():
        venue = build_venue(venue_slug, info, plans)
        for year, month, day in dates:
            starts = show_start(year, month, day, rehearsal_sale=sale_opens_at)
            results.append(
                build_event(
                    venue=venue,
                    plans=plans,
                    slug=f"rosalia-lux-{info['city'].lower()}-{starts:%Y-%m-%d}",
                    name=f"ROSALÍA · LUX Tour · {info['city']} {starts:%d/%m/%Y}",
                    starts_at=starts,
                    presale_opens_at=presale,
                    sale_opens_at=general,
                )
            )
    return results


SMALL = [
    SectionPlan("PISTA", "Pista", "Pista", "45.00", "4.50", capacity=40, map_x=300, map_y=200),
    SectionPlan("A", "Grada A", "Grada", "65.00", "6.50", rows="A-E", seats_per_row=10, map_x=300, map_y=400),
]


def seed_small() -> tuple[Event, int]:
    """One tiny event on sale now: 40 standing places and 50 seats."""
    venue = build_venue("sala-demo", {"name": "Sala Demo", "city": "Barcelona"}, SMALL)
    now = timezone.now()
    return build_event(
        venue=venue,
        plans=SMALL,
        slug="demo-small",
        name="Demo · small show",
        artist="Demo",
        starts_at=now + dt.timedelta(days=60),
        presale_opens_at=None,
        sale_opens_at=now - dt.timedelta(minutes=1),
    )
