import pytest
from django.core.management import call_command

from inventory.models import Event, InventoryItem, PriceTier, Section


@pytest.mark.django_db
def test_seed_demo_builds_the_lux_tour_and_is_idempotent():
    call_command("seed_demo")
    events = Event.objects.select_related("venue").order_by("starts_at")
    assert events.count() == 8
    assert [e.starts_at.strftime("%m-%d") for e in events] == [
        "03-30", "04-01", "04-03", "04-04", "04-13", "04-15", "04-17", "04-18",
    ]  # fmt: skip
    assert {e.venue.name for e in events[:4]} == {"Movistar Arena"}
    assert {e.venue.name for e in events[4:]} == {"Palau Sant Jordi"}
    # One inventory row per seat and standing place: the sum of the capacities.
    for event in events:
        capacity = sum(Section.objects.filter(venue=event.venue).values_list("capacity", flat=True))
        assert event.items.count() == capacity
        assert event.presale_opens_at < event.sale_opens_at
    assert InventoryItem.objects.count() == 4 * 17_500 + 4 * 18_000 == 142_000
    assert Section.objects.filter(venue__slug="palau-sant-jordi", kind="GA").exists()
    prices = PriceTier.objects.values_list("price", flat=True)
    assert min(prices) == 45 and max(prices) == 500
    standard = PriceTier.objects.exclude(section__code="VIP").values_list("price", flat=True)
    assert max(standard) == 115

    call_command("seed_demo")
    assert Event.objects.count() == 8
    assert InventoryItem.objects.count() == 142_000


@pytest.mark.django_db
def test_seed_demo_small_and_if_empty():
    call_command("seed_demo", "--small")
    assert Event.objects.get().items.count() == 90
    call_command("seed_demo", "--if-empty")
    assert Event.objects.count() == 1


def test_rehearsal_moves_past_shows_to_a_coming_year_and_keeps_future_ones():
    import datetime as dt

    from inventory.services.demo import MADRID, show_start

    opens = dt.datetime(2026, 11, 29, 10, 0, tzinfo=MADRID)
    assert show_start(2026, 3, 30) == dt.datetime(2026, 3, 30, 21, 0, tzinfo=MADRID)  # real date
    assert show_start(2026, 3, 30, rehearsal_sale=opens) == dt.datetime(2027, 3, 30, 21, 0, tzinfo=MADRID)
    assert show_start(2026, 12, 2, rehearsal_sale=opens) == dt.datetime(2027, 12, 2, 21, 0, tzinfo=MADRID)  # < 1 week
    assert show_start(2027, 4, 18, rehearsal_sale=opens) == dt.datetime(2027, 4, 18, 21, 0, tzinfo=MADRID)
