import json

import pytest
from django.utils import translation

from inventory.models import Event, InventoryItem, Seat, Section, Venue
from inventory.services import catalog
from inventory.services.catalog import CatalogError, parse_row_labels, parse_seat_counts


def test_row_ranges_parse():
    assert parse_row_labels("A-E") == ["A", "B", "C", "D", "E"]
    assert parse_row_labels("AA-AD") == ["AA", "AB", "AC", "AD"]
    assert parse_row_labels("1-3,7") == ["1", "2", "3", "7"]
    assert parse_row_labels("A, B ,C") == ["A", "B", "C"]


@pytest.mark.parametrize("spec", ["", "E-A", "5-1", "A-3", "A-ZZ", "A,A", "ABCDEFGHIJ"])
def test_bad_row_ranges_are_refused(spec):
    with pytest.raises(CatalogError):
        parse_row_labels(spec)


def test_seat_counts_parse():
    assert parse_seat_counts("30", 3) == [30, 30, 30]
    assert parse_seat_counts("10,12,14", 3) == [10, 12, 14]
    for bad in ("x", "10,12", "0", "501"):
        with pytest.raises(CatalogError):
            parse_seat_counts(bad, 3)


@pytest.mark.django_db
def test_generate_seats_makes_centred_rows_with_front_centre_best():
    venue = Venue.objects.create(name="V", slug="v")
    section = Section.objects.create(venue=venue, code="S", name="S")
    made = catalog.generate_seats(section=section, rows=["A", "B"], seats_per_row=[4, 6])
    assert made == 10
    section.refresh_from_db()
    assert section.capacity == 10
    seats = {(s.row_label, s.number): s for s in Seat.objects.filter(section=section)}
    best = min(seats.values(), key=lambda s: s.rank)
    assert best.row_label == "A" and best.number in (2, 3)
    assert all(seats[("A", n)].rank < seats[("B", n)].rank for n in range(1, 5))
    # The shorter front row is centred under the wider one.
    assert seats[("A", 1)].x > seats[("B", 1)].x
    assert seats[("A", 1)].y < seats[("B", 1)].y
    # Appending a row puts it behind the others.
    catalog.generate_seats(section=section, rows=["C"], seats_per_row=[2])
    assert Seat.objects.get(section=section, row_label="C", number=1).row_index == 2


@pytest.mark.django_db
def test_generate_seats_refuses_general_admission_and_sections_with_inventory(small_event):
    ga = Section.objects.get(venue=small_event.venue, code="PISTA")
    with pytest.raises(CatalogError):
        catalog.generate_seats(section=ga, rows=["A"], seats_per_row=[5])
    seated = Section.objects.get(venue=small_event.venue, code="A")
    with pytest.raises(CatalogError):
        catalog.generate_seats(section=seated, rows=["Z"], seats_per_row=[5])
    assert seated.seats.count() == 50


@pytest.mark.django_db
def test_event_inventory_is_one_row_per_seat_and_place_and_idempotent(small_event):
    assert InventoryItem.objects.filter(event=small_event).count() == 90
    assert InventoryItem.objects.filter(event=small_event, seat__isnull=False).count() == 50
    assert catalog.create_event_inventory(event=small_event) == 0
    assert InventoryItem.objects.filter(event=small_event).count() == 90


@pytest.mark.django_db
def test_event_json_round_trip_rebuilds_the_same_event_and_map(small_event):
    exported = catalog.export_event(small_event)
    text = json.dumps(exported)
    # Import into a fresh catalog: rename the slugs so both can coexist.
    data = json.loads(text)
    data["slug"] = "copy-of-demo"
    data["venue"]["slug"] = "copy-venue"
    copy = catalog.import_event(data)
    again = catalog.export_event(copy)
    for key in ("slug",):
        again.pop(key), exported.pop(key)
    again["venue"].pop("slug"), exported["venue"].pop("slug")
    assert again == exported
    assert copy.items.count() == small_event.items.count()


@pytest.mark.django_db
def test_venue_json_round_trip(small_event):
    exported = catalog.export_venue(small_event.venue)
    exported["slug"] = "venue-copy"
    venue = catalog.import_venue(json.loads(json.dumps(exported)))
    assert catalog.export_venue(venue) == exported


@pytest.mark.django_db
@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(format="other"), "Not an event file"),
        (lambda d: d.pop("sale_opens_at"), "sale_opens_at is missing"),
        (lambda d: d.update(starts_at="next tuesday"), "ISO 8601"),
        (lambda d: d["price_tiers"].append({"section": "NOPE", "name": "x", "price": "1"}), "no section 'NOPE'"),
        (lambda d: d["price_tiers"][0].update(price="-5"), "cannot be negative"),
        (lambda d: d.update(max_tickets_per_fan="4"), "must be an integer"),
        (lambda d: d["venue"]["sections"][1]["rows"][0]["seats"].append({"number": 1}), "appears twice"),
        # Each of these was a TypeError, ValueError or InvalidOperation: a 500 in the admin.
        (lambda d: d["venue"]["sections"][0].update(capacity=[40]), "'capacity' must be a number"),
        (lambda d: d["venue"]["sections"][1].update(map_x="left"), "'map_x' must be a number"),
        (lambda d: d["venue"]["sections"][1]["rows"][0]["seats"][0].update(x={"a": 1}), "'x' must be a number"),
        (lambda d: d["venue"]["sections"][1]["rows"][0].update(index="first"), "'index' must be a number"),
        (lambda d: d["venue"]["sections"][1]["rows"].append("row"), "is not an object"),
        (lambda d: d["price_tiers"][0].update(price="NaN"), "decimal numbers"),
        (lambda d: d["price_tiers"].append(7), "is not an object"),
    ],
)
def test_bad_event_json_is_refused_and_writes_nothing(small_event, mutate, message):
    data = catalog.export_event(small_event)
    data["slug"] = "bad-copy"
    data["venue"]["slug"] = "bad-venue"
    mutate(data)
    before = (Event.objects.count(), Venue.objects.count(), Seat.objects.count(), InventoryItem.objects.count())
    with pytest.raises(CatalogError, match=message), translation.override("en"):
        catalog.import_event(data)
    after = (Event.objects.count(), Venue.objects.count(), Seat.objects.count(), InventoryItem.objects.count())
    assert after == before
