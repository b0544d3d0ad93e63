"""The fan's store pages: seat map, hold form, cart, release."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

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
    assert 'id="seatmap"' not in html  # the venue overview only


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


def english(client):  # type: ignore[no-untyped-def]
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    return client


def form_key(html: str, form: str) -> str:
    """The idempotency key of one hold form of a rendered section page."""
    import re

    start = html.index('id="pick-form"') if form == "pick" else html.index('class="best"')
    found = re.search(r'name="idempotency_key" value="([^"]+)"', html[start:])
    assert found
    return found.group(1)


def test_store_pages_show_your_cart_with_each_order_and_its_time_left(fan, second_fan, small_event):
    english(fan)
    fan.post("/events/demo-small/hold/", {"section": "A", "seat_ids": seat_ids(small_event, count=2)})
    fan.post("/events/demo-small/hold/", {"section": "PISTA", "mode": "best", "quantity": "1"})
    first, second = Order.objects.order_by("created_at")

    for page in ("/events/demo-small/buy/A/", "/events/demo-small/"):
        html = fan.get(page).content.decode()
        assert "Your cart" in html
        assert f'href="/orders/{first.pk}/"' in html and f'href="/orders/{second.pk}/"' in html
        assert html.index(f"/orders/{second.pk}/") < html.index(f"/orders/{first.pk}/")  # newest first
        assert "2 tickets · 143.00 €" in html and "1 ticket · " in html
        assert "data-no-reload>00:09:" in html or "data-no-reload>00:10:00" in html
    # Another fan's pages show nothing of it.
    other = second_fan.get("/events/demo-small/buy/A/").content.decode()
    assert "your-cart" not in other and str(first.pk) not in other


def test_released_and_expired_orders_leave_your_cart(fan, small_event):
    import datetime as dt

    from django.utils import timezone

    fan.post("/events/demo-small/hold/", {"section": "PISTA", "mode": "best", "quantity": "2"})
    fan.post("/events/demo-small/hold/", {"section": "PISTA", "mode": "best", "quantity": "1"})
    released, expired = Order.objects.order_by("created_at")
    assert fan.get("/events/demo-small/buy/A/").content.decode().count('href="/orders/') == 2
    fan.post(f"/orders/{released.pk}/release/")
    Order.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert "your-cart" not in fan.get("/events/demo-small/buy/A/").content.decode()


def test_hold_forms_carry_a_fresh_key_on_every_render(fan, small_event):
    first = fan.get("/events/demo-small/buy/A/").content.decode()
    second = fan.get("/events/demo-small/buy/A/").content.decode()
    keys = {form_key(first, "best"), form_key(first, "pick"), form_key(second, "best"), form_key(second, "pick")}
    assert len(keys) == 4


@pytest.mark.parametrize("form", ["pick", "best"])
def test_a_hold_form_sent_twice_gives_one_order(fan, small_event, form):
    key = form_key(fan.get("/events/demo-small/buy/A/").content.decode(), form)
    if form == "pick":
        data = {"section": "A", "seat_ids": seat_ids(small_event, count=2), "idempotency_key": key}
    else:
        data = {"section": "A", "mode": "best", "quantity": "2", "idempotency_key": key}

    first = fan.post("/events/demo-small/hold/", data)
    again = fan.post("/events/demo-small/hold/", data)  # a double click, or a resend after a lost answer

    order = Order.objects.get()
    assert first.url == again.url == f"/orders/{order.pk}/"
    assert order.ticket_count == 2


def test_a_stale_form_sent_with_another_choice_holds_nothing_and_says_so(fan, small_event):
    english(fan)
    key = form_key(fan.get("/events/demo-small/buy/A/").content.decode(), "pick")
    ids = seat_ids(small_event, count=3)
    fan.post("/events/demo-small/hold/", {"section": "A", "seat_ids": ids[:1], "idempotency_key": key})
    # Back to the same (cached) page, another seat, the same key.
    response = fan.post(
        "/events/demo-small/hold/", {"section": "A", "seat_ids": ids[1:], "idempotency_key": key}, follow=True
    )
    assert "This page was out of date, so nothing was held." in response.content.decode()
    assert Order.objects.count() == 1
    assert InventoryItem.objects.filter(status="SOFT_LOCKED").count() == 1


@pytest.mark.parametrize(
    ("language", "title", "tickets"), [("es", "Tu carrito", "2 entradas"), ("ca", "La teva cistella", "2 entrades")]
)
def test_your_cart_speaks_the_fans_language(fan, small_event, language, title, tickets):
    fan.post("/i18n/setlang/", {"language": language, "next": "/"})
    fan.post("/events/demo-small/hold/", {"section": "PISTA", "mode": "best", "quantity": "2"})
    html = fan.get("/events/demo-small/buy/A/").content.decode()
    assert title in html and tickets in html


def test_released_cart_shows_the_real_state_and_is_never_cached(fan, small_event):
    ids = seat_ids(small_event, count=2)
    order_url = fan.post("/events/demo-small/hold/", {"section": "A", "seat_ids": ids}).url
    held = fan.get(order_url, HTTP_ACCEPT_LANGUAGE="en")
    assert held["Cache-Control"] == "no-store"  # back/forward must ask again, not replay "held for you"
    assert "Total" in held.content.decode()
    fan.post(f"{order_url}release/")
    released = fan.get(order_url, HTTP_ACCEPT_LANGUAGE="en")
    html = released.content.decode()
    assert released["Cache-Control"] == "no-store"
    assert "These tickets were released" in html
    assert "Total" not in html and "data-countdown" not in html


def test_cart_warns_before_the_hold_runs_out(fan, small_event):
    ids = seat_ids(small_event, count=1)
    order_url = fan.post("/events/demo-small/hold/", {"section": "A", "seat_ids": ids}).url
    html = fan.get(order_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="hold-warning" hidden' in html  # shown by countdown.js at 2 minutes
    assert 'aria-live="polite"' in html and "data-announce-120=" in html
    Order.objects.update(expires_at=timezone.now() + dt.timedelta(seconds=90))
    html = fan.get(order_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="hold-warning">' in html and "Less than 2 minutes left" in html
