"""The store's real door: holds and store pages need a valid pass for the event."""

import json

import pytest

from queueroom.testing import grant_store_pass

pytestmark = pytest.mark.django_db


def _hold(client, slug="demo-small"):
    return client.post(
        f"/api/v1/events/{slug}/holds/",
        data=json.dumps({"section": "PISTA", "quantity": 2}),
        content_type="application/json",
    )


def test_hold_without_a_pass_is_403_and_holds_nothing(fan, small_event):
    from inventory.models import Order

    response = _hold(fan)
    assert response.status_code == 403
    assert response.json()["error"] == "queue_pass_required"
    assert not Order.objects.exists()


def test_hold_with_a_pass_for_this_event_is_created(fan, small_event):
    grant_store_pass(fan, small_event)
    response = _hold(fan)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "HELD"


def test_a_pass_does_not_travel_to_another_browser(fan, second_fan, small_event):
    token = grant_store_pass(fan, small_event)
    second_fan.get("/healthz")
    for name, morsel in fan.cookies.items():
        if morsel.value == token:
            second_fan.cookies[name] = token
    assert _hold(second_fan).status_code == 403


def test_store_page_without_a_pass_redirects_to_the_waiting_room(fan, small_event):
    response = fan.get("/events/demo-small/buy/PISTA/")
    assert response.status_code in (302, 303)
    assert "demo-small" in response["Location"]
