"""The database itself refuses impossible states, whatever the code does."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import InventoryItem, Order, OrderItem, PriceTier, Section

pytestmark = pytest.mark.django_db


def _item(event, code="A"):
    return InventoryItem.objects.filter(event=event, section__code=code).order_by("id").first()


def test_a_seat_has_one_inventory_row_per_event(small_event):
    item = _item(small_event)
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryItem.objects.create(event=small_event, section=item.section, seat=item.seat)


def test_a_general_admission_place_exists_once_per_event(small_event):
    item = _item(small_event, "PISTA")
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryItem.objects.create(event=small_event, section=item.section, place_number=item.place_number)


def test_an_item_is_a_seat_or_a_place_not_both(small_event):
    item = _item(small_event)
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryItem.objects.create(event=small_event, section=item.section, seat=None, place_number=None)


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "SOLD"},  # sold without an order or buyer
        {"status": "SOFT_LOCKED"},  # locked without owner, expiry or order
        {"status": "AVAILABLE", "locked_by": "fan"},  # available but still carrying a lock
        {"status": "GONE"},  # not a state at all
    ],
)
def test_status_and_lock_fields_must_agree(small_event, fields):
    item = _item(small_event)
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryItem.objects.filter(pk=item.pk).update(**fields)


def test_a_sold_seat_keeps_no_lock_expiry(small_event):
    item = _item(small_event)
    order = Order.objects.create(event=small_event, owner="fan")
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryItem.objects.filter(pk=item.pk).update(
            status="SOLD",
            order=order,
            sold_to="fan",
            sold_at=timezone.now(),
            locked_until=timezone.now() + dt.timedelta(minutes=1),
        )


def test_a_seat_cannot_be_in_two_live_orders(small_event):
    item = _item(small_event)
    first = Order.objects.create(event=small_event, owner="fan")
    second = Order.objects.create(event=small_event, owner="other")
    OrderItem.objects.create(order=first, item=item, price=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderItem.objects.create(order=second, item=item, price=10)
    # Once the first order is no longer live the seat can go to another order.
    OrderItem.objects.filter(order=first).update(is_live=False)
    OrderItem.objects.create(order=second, item=item, price=10)


def test_a_paid_order_has_a_payment_time(small_event):
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(event=small_event, owner="fan", status="PAID")


def test_one_price_tier_per_section_and_event(small_event):
    section = Section.objects.get(venue=small_event.venue, code="A")
    with pytest.raises(IntegrityError), transaction.atomic():
        PriceTier.objects.create(event=small_event, section=section, name="again", price=1)


def test_general_admission_section_needs_capacity(small_event):
    with pytest.raises(IntegrityError), transaction.atomic():
        Section.objects.create(venue=small_event.venue, code="GA0", name="Empty", kind="GA", capacity=0)


def test_presale_must_open_before_the_general_sale(small_event):
    from inventory.models import Event

    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=small_event.pk).update(presale_opens_at=small_event.sale_opens_at)
