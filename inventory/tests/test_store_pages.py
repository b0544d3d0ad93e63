"""The fan's store pages: seat map, hold form, cart, release."""

from __future__ import annotations

import pytest

from inventory.models import InventoryItem, Order
from inventory.tests.helpers import seat_ids

pytestmark = pytest.mark.django_db


def test_event_page_links_to_the_store_when_on_sale(fan, small_event, future_event):
    assert b"/events/demo-small/buy/A/" in fan.get("/events/demo-small/").content
    assert b"/buy/" not in fan.get("/events/future-show/").content


def test_section_page_draws_the_seat_map(fan, small_event):
    response = fan.get("/events/demo-small/buy/A/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="seat avail"') == 50
    assert 'data-url="/api/v1/events/demo-small/seats/?section=A"' in html
    assert 'name="seat_ids"' in html  # the no-JS checkboxes


def test_ga_page_offers_a_quantity(fan, small_event):
    html = fan.get("/events/demo-small/buy/PISTA/").content.decode()
    assert 'name="quantity"' in html
    assert "<svg" not in html


def test_unknown_section_is_404(fan, small_event):
    assert fan.get("/events/demo-small/buy/NOPE/").status_code == 404


def test_hold_form_leads_to_the_cart_with_a_countdown(fan, small_event):
    ids = seat_ids(small_event, count=2)
    response = fan.post("/events/demo-small/hold/", {"section": "A", "seat_ids": ids})
    order = Order.objects.get()
    assert response.url == f"/orders/{order.pk}/"
    html = fan.get(response.url).content.decode()
    assert "data-countdown" in html and "143" in html
    assert 'http-equiv="refresh"' in html  # no-JS fallback


def test_best_available_form(fan, small_event):
    response = fan.post("/events/demo-small/hold/", {"section": "PISTA", "mode": "best", "quantity": "3"})
    assert response.status_code == 302
    assert Order.objects.get().ticket_count == 3


def test_taken_seat_gives_a_friendly_message(fan, second_fan, small_event):
    ids = seat_ids(small_event, count=2)
    second_fan.post("/events/demo-small/hold/", {"section": "A", "seat_ids": ids[:1]})
    response = fan.post("/events/demo-small/hold/", {"section": "A", "seat_ids": ids}, follow=True)
    assert "someone else took" in response.content.decode().lower() or response.context["messages"]
    assert Order.objects.count() == 1


def test_cart_of_another_fan_is_404(fan, second_fan, small_event):
    fan.post("/events/demo-small/hold/", {"section": "A", "seat_ids": seat_ids(small_event, count=1)})
    order = Order.objects.get()
    assert second_fan.get(f"/orders/{order.pk}/").status_code == 404
    assert second_fan.post(f"/orders/{order.pk}/release/").status_code == 404


def test_release_button_frees_the_seats(fan, small_event):
    ids = seat_ids(small_event, count=2)
    fan.post("/events/demo-small/hold/", {"section": "A", "seat_ids": ids})
    order = Order.objects.get()
    response = fan.post(f"/orders/{order.pk}/release/")
    assert response.url == "/events/demo-small/"
    assert set(InventoryItem.objects.filter(id__in=ids).values_list("status", flat=True)) == {"AVAILABLE"}


def test_pick_form_without_seats_asks_to_choose(fan, small_event):
    response = fan.post("/events/demo-small/hold/", {"section": "A"}, follow=True)
    assert len(response.context["messages"]) == 1
    assert not Order.objects.exists()
