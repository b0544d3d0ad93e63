"""The section page: venue overview, seat map (names, rows, taken seats) and
the layout behind them (inventory/seatmap.py)."""

from __future__ import annotations

import re
from itertools import combinations

import pytest

from inventory import seatmap
from inventory.models import Section
from inventory.services import demo, holds
from inventory.tests.helpers import items, seat_ids

pytestmark = pytest.mark.django_db


def speak(client, language: str):  # type: ignore[no-untyped-def]
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    return client


def test_each_seat_is_named_with_row_number_and_price_and_taken_seats_say_so(fan, second_fan, small_event):
    taken = seat_ids(small_event, count=1, offset=1)  # row A, seat 2
    second_fan.post("/events/demo-small/hold/", {"section": "A", "seat_ids": taken})
    html = speak(fan, "es").get("/events/demo-small/buy/A/").content.decode()
    assert 'aria-label="Fila A, asiento 1, 65 € + 6,50 € de gastos"' in html
    seat = re.search(rf'<g class="seat taken"[^>]*data-id="{taken[0]}"[^>]*>', html)
    assert seat, "the taken seat is drawn as taken"
    assert 'aria-disabled="true"' in seat.group(0)
    assert 'aria-label="Fila A, asiento 2, ocupado"' in seat.group(0)
    assert html.count('class="seat taken"') == 1 and html.count('class="seat avail"') == 49


def test_seat_map_is_a_grid_of_labelled_rows(fan, small_event):
    html = speak(fan, "ca").get("/events/demo-small/buy/A/").content.decode()
    assert re.search(r'<svg id="seatmap"[^>]*role="grid"[^>]*aria-multiselectable="true"', html)
    assert html.count('role="row"') == 5
    assert [m for m in re.findall(r'role="rowheader"[^>]*>([^<]+)<', html)] == list("ABCDE")
    assert html.count('role="gridcell"') == 50
    assert 'aria-label="Seients de Grada A"' in html
    # Without JavaScript: a checkbox per free seat, row by row.
    assert html.count('<input type="checkbox" name="seat_ids"') == 50


def test_overview_draws_every_section_priced_with_what_is_left_and_marks_this_one(fan, small_event):
    fan.post("/events/demo-small/hold/", {"section": "PISTA", "mode": "best", "quantity": "4"})
    html = speak(fan, "en").get("/events/demo-small/buy/A/").content.decode()
    overview = html[html.index('<figure class="venue-overview"') : html.index("</figure>")]
    links = re.findall(r'<a href="([^"]+)" tabindex="-1" class="ov-section([^"]*)"><title>([^<]+)</title>', overview)
    assert links == [
        ("/events/demo-small/buy/PISTA/", "", "Pista · 45 € + 4.50 € fees · 36 available"),
        ("/events/demo-small/buy/A/", " current", "Grada A · 65 € + 6.50 € fees · 50 available"),
    ]
    assert ">45 €</text>" in overview and ">65 €</text>" in overview
    # The tabs say the same in words, for keyboards and screen readers.
    nav = html[html.index('<nav class="section-tabs"') : html.index("</nav>")]
    assert 'aria-current="page"' in nav
    assert "Pista · 45 € + 4.50 € fees · 36 available" in nav


def test_a_sold_out_section_is_hatched_and_says_so(fan, small_event):
    for n in range(items(small_event, "PISTA").count() // 4):
        holds.hold_best_available(event=small_event, owner=f"fan-{n}", section_code="PISTA", quantity=4)
    html = speak(fan, "es").get("/events/demo-small/buy/A/").content.decode()
    assert 'class="ov-section soldout"' in html and 'fill="url(#ov-hatch)"' in html
    assert "Pista · 45 € + 4,50 € de gastos · agotado" in html
    assert 'class="soldout"' in html  # its tab, struck through


def test_small_sections_are_not_blown_up(fan, small_event):
    """Ten seats a row are drawn at most 32 px apart, not across the screen."""
    html = fan.get("/events/demo-small/buy/A/").content.decode()
    found = re.search(r'<svg id="seatmap" class="seatmap" viewBox="([^"]+)" style="max-width: (\d+)px"', html)
    assert found
    width = float(found.group(1).split()[2])
    assert int(found.group(2)) == pytest.approx(width / 10 * seatmap.MAX_PITCH_PX, abs=1)


def _overlap(a: seatmap.Box, b: seatmap.Box) -> bool:
    return a.left < b.left + b.w and b.left < a.left + a.w and a.top < b.top + b.h and b.top < a.top + a.h


@pytest.mark.parametrize("plans", [demo.MOVISTAR, demo.PALAU, demo.SMALL], ids=["movistar", "palau", "small"])
def test_catalog_positions_give_boxes_in_place_that_never_overlap(plans):
    sections = [
        Section(code=p.code, name=p.name, kind="SEATED" if p.seated else "GA", map_x=p.map_x, map_y=p.map_y)
        for p in plans
    ]
    boxes, derived = seatmap.layout(sections)
    assert not derived
    for section in sections:
        box = boxes[section.code]
        assert (box.x, box.y) == (section.map_x, section.map_y)
        assert box.w >= 30 and box.h >= 50
    for a, b in combinations(boxes.values(), 2):
        assert not _overlap(a, b)


def test_sections_without_positions_get_stage_floor_and_rings():
    """No geometry (all at 0,0, as a section made in the admin starts): the
    standing floor first, nearest the stage, then 1xx and 2xx rings."""
    codes = [("PISTA", "GA"), ("FRONT", "GA"), *((str(c), "SEATED") for c in (101, 102, 103, 201, 202))]
    sections = [Section(code=c, name=c, kind=k, sort_order=i) for i, (c, k) in enumerate(codes)]
    boxes, derived = seatmap.layout(sections)
    assert derived
    assert boxes["PISTA"].y < boxes["FRONT"].y < boxes["101"].y < boxes["201"].y  # the promoter's order
    assert boxes["101"].y == boxes["102"].y == boxes["103"].y
    assert boxes["101"].x < boxes["102"].x < boxes["103"].x
    assert boxes["201"].y == boxes["202"].y
    for a, b in combinations(boxes.values(), 2):
        assert not _overlap(a, b)


def test_every_layout_number_is_plain(small_event):
    from django.utils import translation

    sections = list(Section.objects.filter(venue=small_event.venue))
    with translation.override("es"):
        overview = seatmap.venue_overview(
            sections,
            [{"code": "A", "name": "A", "tier": "t", "price": 65, "fee": 6.5, "available": 5, "capacity": 50}],
            current="A",
            url=lambda code: f"/{code}/",
        )
    numbers = [overview.view_box, *overview.stage.values()]
    for section in overview.sections:
        numbers += [*section.box.values(), *section.label.values(), *(section.bar or {}).values()]
    for text in numbers:
        for part in text.split():
            float(part)


@pytest.mark.parametrize(
    ("language", "one", "many"),
    [
        ("es", "1 disponible", "50 disponibles"),
        ("ca", "1 disponible", "50 disponibles"),
        ("en", "1 available", "50 available"),
    ],
)
def test_the_count_of_seats_left_is_worded_for_one_and_for_many(fan, small_event, language, one, many):
    page = speak(fan, language).get("/events/demo-small/buy/A/").content.decode()
    count = re.search(r'<span id="avail-count" data-one="([^"]*)" data-other="([^"]*)">([^<]*)</span>', page)
    assert count, "the live count carries both forms for the seat map's updates"
    assert count.group(3) == many
    assert count.group(1).replace("%(count)s", "1") == one
    ids = seat_ids(small_event, count=49)
    for n, start in enumerate(range(0, 49, 4)):
        holds.hold_seats(event=small_event, owner=f"other-{n}", seat_ids=ids[start : start + 4])
    page = fan.get("/events/demo-small/buy/A/").content.decode()
    assert f'data-other="{count.group(2)}">{one}</span>' in page
