"""The checkout page (/orders/{id}/pay/) and the ways to it: the cart's "Pay",
"my tickets" from the cart and the event page (docs/pages.md)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.utils import timezone

from inventory.models import ItemStatus, Order, OrderStatus, PriceTier
from payments import stripejs
from payments.tests.helpers import hold, post_json
from ticketing.error_texts import TEXTS
from ticketing.errors import DomainError

pytestmark = pytest.mark.django_db


@pytest.fixture
def fan(fan):  # type: ignore[no-untyped-def]
    """The tests read the English words (one test switches to Spanish)."""
    fan.cookies["django_language"] = "en"
    return fan


def csp(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def pay_page(fan, order):  # type: ignore[no-untyped-def]
    """The cart's "Pay" button, followed."""
    response = fan.post(f"/orders/{order.pk}/pay/")
    assert response.status_code == 302 and response.url == f"/orders/{order.pk}/pay/"
    return fan.get(response.url)


def config(response) -> dict[str, object]:  # type: ignore[no-untyped-def]
    found = re.search(r'<script id="pay-config" type="application/json">(.*?)</script>', response.content.decode())
    assert found
    return dict(json.loads(found.group(1)))


def test_the_cart_offers_pay_as_its_next_step(fan, small_event):
    order = hold(fan, 2)
    html = fan.get(f"/orders/{order.pk}/").content.decode()
    assert f'action="/orders/{order.pk}/pay/"' in html
    assert f"Pay {order.total} €" in html
    assert "once payments exist" not in html


def test_pay_starts_the_checkout_and_shows_amount_seats_fees_and_time_left(fan, small_event, localstripe_url):
    order = hold(fan, 2)
    page = pay_page(fan, order)

    assert page.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYMENT_PENDING  # the seats wait for the card now
    assert order.inventory_items.filter(status=ItemStatus.HARD_LOCKED).count() == 2
    html = page.content.decode()
    assert f"Pay {order.total} €" in html
    assert html.count("Standing") == 2  # each ticket listed
    assert '<tr class="fees"><th scope="row">Fees</th><td>9.00 €</td></tr>' in html  # 2 × 4.50, summed
    assert f'data-countdown="{order.expires_at.isoformat()}"' in html
    assert f'<script src="{localstripe_url}/js.stripe.com/v3/" defer></script>' in html
    assert page["Cache-Control"] == "no-store"
    settings = config(page)
    assert settings["publishable_key"] == "pk_test_localstripe"
    assert settings["pay_url"] == f"/api/v1/orders/{order.pk}/pay/"
    assert settings["order_url"] == f"/api/v1/orders/{order.pk}/"


def test_an_order_without_fees_says_so(fan, small_event):
    PriceTier.objects.filter(event=small_event).update(fee="0.00")
    order = hold(fan, 1)
    html = pay_page(fan, order).content.decode()
    assert "No fees" in html
    assert "fees</small>" not in html


def test_only_the_pay_page_allows_stripe_js_and_only_its_origin(fan, small_event, localstripe_url):
    order = hold(fan, 1)
    page = csp(pay_page(fan, order))
    assert page["script-src"] == ["'self'", localstripe_url]
    assert page["connect-src"] == ["'self'", localstripe_url]
    assert page["frame-src"] == [localstripe_url]
    assert page["default-src"] == ["'self'"]
    cart = csp(fan.get(f"/orders/{order.pk}/"))
    assert cart["script-src"] == ["'self'"] and cart["connect-src"] == ["'self'"] and "frame-src" not in cart


def test_real_stripe_is_loaded_from_stripe_with_its_3d_secure_frames(settings):
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    settings.STRIPE_JS_URL = ""
    assert stripejs.script_url() == "https://js.stripe.com/v3/"
    assert stripejs.csp_update() == {
        "script-src": ["https://js.stripe.com"],
        "frame-src": ["https://js.stripe.com", "https://hooks.stripe.com"],
        "connect-src": ["https://api.stripe.com"],
    }
    settings.STRIPE_JS_URL = "https://js.example.test/v3/"
    assert stripejs.script_url() == "https://js.example.test/v3/"
    assert stripejs.csp_update()["script-src"] == ["https://js.example.test"]


def test_the_page_speaks_the_fans_language_down_to_the_decline(fan, small_event):
    order = hold(fan, 1)
    fan.cookies["django_language"] = "es"
    page = pay_page(fan, order)
    html = page.content.decode()
    assert '<html lang="es">' in html
    errors = config(page)["errors"]
    assert isinstance(errors, dict)
    from django.utils import translation

    with translation.override("es"):
        expected = TEXTS["card_declined"](DomainError(code="card_declined"), 0)
    assert errors["card_declined"] == expected
    assert set(errors) >= {"card_declined", "authentication_failed", "payment_provider_unavailable", "hold_expired"}


def test_pay_page_states(fan, second_fan, small_event):
    order = hold(fan, 1)
    assert second_fan.get(f"/orders/{order.pk}/pay/").status_code == 404
    assert second_fan.post(f"/orders/{order.pk}/pay/").status_code == 404
    # HELD (after a decline): the form; its script checks out again.
    assert fan.get(f"/orders/{order.pk}/pay/").status_code == 200
    post_json(fan, f"/api/v1/orders/{order.pk}/checkout/")
    paid = post_json(fan, f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "pm_card_visa"})
    assert paid.json()["status"] == "PAID"
    response = fan.get(f"/orders/{order.pk}/pay/")
    assert response.status_code == 302 and response.url == f"/orders/{order.pk}/tickets/"

    released = hold(fan, 1)
    fan.post(f"/orders/{released.pk}/release/")
    response = fan.get(f"/orders/{released.pk}/pay/")
    assert response.status_code == 302 and response.url == f"/orders/{released.pk}/"


def test_pay_after_the_hold_ran_out_says_so_in_the_cart(fan, small_event):
    order = hold(fan, 1)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = fan.post(f"/orders/{order.pk}/pay/", follow=True)
    assert response.redirect_chain[-1][0] == f"/orders/{order.pk}/"
    assert "Your hold ran out" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.HELD  # nothing moved


def test_a_paid_order_links_to_my_tickets_from_the_cart_and_the_event_page(fan, small_event):
    order = hold(fan, 1)
    post_json(fan, f"/api/v1/orders/{order.pk}/checkout/")
    post_json(fan, f"/api/v1/orders/{order.pk}/pay/", {"payment_method": "pm_card_visa"})
    tickets = f'href="/orders/{order.pk}/tickets/"'
    cart = fan.get(f"/orders/{order.pk}/").content.decode()
    assert tickets in cart and "My tickets" in cart
    assert f'action="/orders/{order.pk}/pay/"' not in cart
    event = fan.get("/events/demo-small/").content.decode()
    assert tickets in event


def test_an_order_in_checkout_leads_back_to_the_payment(fan, small_event):
    order = hold(fan, 1)
    post_json(fan, f"/api/v1/orders/{order.pk}/checkout/")
    cart = fan.get(f"/orders/{order.pk}/").content.decode()
    assert f'href="/orders/{order.pk}/pay/"' in cart
    assert f'action="/orders/{order.pk}/release/"' in cart  # the fan may still let them go


def test_without_javascript_the_page_says_why_there_is_no_card_form(fan, small_event):
    html = pay_page(fan, hold(fan, 1)).content.decode()
    assert '<form id="pay-form" class="pay-form" hidden' in html  # shown by its script
    assert "<noscript><p" in html and "needs JavaScript" in html
