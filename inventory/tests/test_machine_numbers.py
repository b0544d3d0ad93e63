"""Numbers that machines read (SVG geometry, data attributes, form values,
ARIA values) are written the same in every language: Spanish and Catalan
write 10,5 for ten and a half, and a browser reading cx="10,5" drops the
seat on the origin (issue 10: every seat of a section on one dot)."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from inventory.models import Order
from inventory.tests.helpers import seat_ids

pytestmark = pytest.mark.django_db

LANGUAGES = ["es", "ca", "en"]

# Attributes whose value is a number, or a list of numbers, that the browser
# or our scripts parse. Human text (aria-label, title, *-msg) may and should
# use the reader's decimal comma.
GEOMETRY = {"x", "y", "cx", "cy", "r", "rx", "ry", "x1", "y1", "x2", "y2", "width", "height", "dx", "dy"}
LISTS = {"viewbox", "points"}
NUMBER_DATA = re.compile(r"data-[a-z-]+")
HUMAN_DATA = re.compile(r"data-.*(msg|text|label|name|title|hint)$")
# Integers: parseInt("1.234") is 1.
INTEGERS = {"data-id", "data-max", "data-seconds", "data-row", "data-n", "tabindex"} | {
    f"aria-{name}" for name in ("valuenow", "valuemin", "valuemax", "rowindex", "colindex", "setsize", "posinset")
}
NUMBER_LIKE = re.compile(r"[-+]?[\d.,]+(e[-+]?\d+)?")


class _Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is not None:
                self.found.append((tag, name, value))

    handle_startendtag = handle_starttag


def attributes(html: str) -> list[tuple[str, str, str]]:
    parser = _Attributes()
    parser.feed(html)
    return parser.found


def numbers_in(text: str) -> list[str]:
    return [t for t in re.split(r"[\s,()]+", text.replace(",", " , ")) if t and t != ","]


def unreadable_numbers(html: str) -> list[str]:
    """Every machine-read attribute whose number a browser or float() would
    refuse: "10,0" in a coordinate, "1.234" (a thousands dot) in an id..."""
    bad = []
    for tag, name, value in attributes(html):
        if name in GEOMETRY and value.strip() and not value.strip().endswith("%"):
            if not _is_float(value):
                bad.append(f"<{tag} {name}={value!r}>")
        elif name in LISTS or name == "transform":
            inner = re.sub(r"[a-zA-Z]+\(|\)", " ", value)
            # A comma between digits with no space is a decimal comma here:
            # SVG separates list items with spaces or ", ".
            if re.search(r"\d,\d", inner) or not all(_is_float(t) for t in inner.split()):
                bad.append(f"<{tag} {name}={value!r}>")
        elif name in INTEGERS or (tag == "input" and name == "value"):
            if NUMBER_LIKE.fullmatch(value) and not re.fullmatch(r"[-+]?\d+", value):
                bad.append(f"<{tag} {name}={value!r}>")
        elif NUMBER_DATA.fullmatch(name) and not HUMAN_DATA.match(name):
            if NUMBER_LIKE.fullmatch(value) and not (_is_float(value) and value.count(".") <= 1):
                bad.append(f"<{tag} {name}={value!r}>")
        elif name == "style" and re.search(r"\d,\d", value):
            bad.append(f"<{tag} style={value!r}>")
        elif name == "content" and tag == "meta" and re.match(r"\d+,\d", value):
            bad.append(f"<{tag} content={value!r}>")
    return bad


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def speak(client, language: str):  # type: ignore[no-untyped-def]
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    return client


def seat_positions(html: str) -> list[tuple[float, float]]:
    """Where each seat is drawn: (cx, cy) of its circle, moved by the
    translate() of its group if it has one."""
    positions = []
    for found in re.finditer(r"<(?:g|circle)\b[^>]*\bclass=\"seat(?: [^\"]*)?\"[^>]*>", html):
        tag = found.group(0)
        move = re.search(r'transform="translate\(([^ )]+)[ ,]+([^ )]+)\)"', tag)
        cx = re.search(r'\bcx="([^"]*)"', tag)
        cy = re.search(r'\bcy="([^"]*)"', tag)
        if move:
            positions.append((float(move.group(1)), float(move.group(2))))
        else:
            assert cx and cy, tag
            positions.append((float(cx.group(1)), float(cy.group(1))))
    return positions


@pytest.mark.parametrize("language", LANGUAGES)
def test_seat_map_coordinates_parse_in_every_language(fan, small_event, language):
    html = speak(fan, language).get("/events/demo-small/buy/A/").content.decode()
    assert f'lang="{language}"' in html
    assert unreadable_numbers(html) == []
    positions = seat_positions(html)
    assert len(positions) == 50
    assert len(set(positions)) == 50, "seats drawn on top of each other"


@pytest.fixture
def wide_event(db):  # type: ignore[no-untyped-def]
    """A section 120 seats wide (x up to 1,190) whose inventory ids are over
    100,000: numbers that grouping would write as "1.190" or "100.001"."""
    from django.db import connection

    from inventory.services.demo import SectionPlan, build_event, build_venue

    plans = [
        SectionPlan("PISTA", "Pista", "Pista", "1250.50", "12.50", capacity=30, map_x=500, map_y=200),
        SectionPlan("W", "Wide", "Wide", "1500.00", "15.00", rows="A-C", seats_per_row=120, map_x=500, map_y=500),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('inventory_item', 'id'), 100000 + nextval(pg_get_serial_sequence('inventory_item', 'id')))"
        )
    venue = build_venue("sala-ancha", {"name": "Sala Ancha", "city": "Girona"}, plans)
    now = timezone.now()
    event, _ = build_event(
        venue=venue,
        plans=plans,
        slug="wide-show",
        name="Wide show",
        starts_at=now + dt.timedelta(days=30),
        presale_opens_at=None,
        sale_opens_at=now - dt.timedelta(minutes=1),
    )
    return event


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_fan_page_writes_machine_numbers_plainly(fan, wide_event, language, settings):
    # With thousands separators on, ids and coordinates over 999 would read
    # "1.234" in Spanish: the pages must not depend on the setting being off.
    settings.USE_THOUSAND_SEPARATOR = True
    speak(fan, language)
    fan.post("/events/wide-show/hold/", {"section": "W", "seat_ids": seat_ids(wide_event, section="W", count=2)})
    order = Order.objects.get()
    pages = [
        "/",
        "/events/wide-show/",
        "/events/wide-show/buy/W/",
        "/events/wide-show/buy/PISTA/",
        f"/orders/{order.pk}/",
    ]
    for page in pages:
        response = fan.get(page)
        assert response.status_code == 200, page
        assert unreadable_numbers(response.content.decode()) == [], page
    positions = seat_positions(fan.get("/events/wide-show/buy/W/").content.decode())
    assert len(positions) == len(set(positions)) == 360
    assert max(x for x, _ in positions) >= 1000


def test_the_checker_catches_localized_numbers():
    assert unreadable_numbers('<svg viewBox="0 0 410,0 60"><circle cx="10,0" cy="0.0" r="4"></svg>') == [
        "<svg viewbox='0 0 410,0 60'>",
        "<circle cx='10,0'>",
    ]
    assert unreadable_numbers('<p data-id="1.234" data-max-msg="Hasta 4,5"></p>') == ["<p data-id='1.234'>"]
    assert unreadable_numbers('<g transform="translate(10,5 20)"></g>') == ["<g transform='translate(10,5 20)'>"]
    assert unreadable_numbers('<g transform="translate(10.5 20)"><circle r="4.2"/></g>') == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_queue_pages_write_machine_numbers_plainly(rf, small_event, language, settings):
    """The waiting room is rendered here from its template alone: an hour
    to the opening (3,600 s) must reach waiting.js as 3600."""
    from types import SimpleNamespace

    from django.template.loader import render_to_string
    from django.utils import translation

    settings.USE_THOUSAND_SEPARATOR = True
    request = rf.get("/events/demo-small/queue/")
    base = {"event": small_event, "token": "t0k3n", "lanes": [], "progress": 37, "refresh": True}
    statuses = [
        SimpleNamespace(status="PRE_QUEUE", eta_seconds=3600, total_waiting=12_345, ticket=23_456),
        SimpleNamespace(
            status="WAITING", position=45_678, ahead=45_677, total_waiting=98_765, eta_range=(3600, 7200), paused=True
        ),
    ]
    with translation.override(language):
        pages = [render_to_string("queueroom/waiting_room.html", {**base, "status": s}, request) for s in statuses]
        pages.append(
            render_to_string("queueroom/unavailable.html", {"event": small_event, "retry_after": 1200}, request)
        )
    for html in pages:
        assert unreadable_numbers(html) == []
    assert 'data-seconds="3600"' in pages[0]
