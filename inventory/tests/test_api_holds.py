"""The store API: seats, holds, orders (docs/api.md)."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from inventory.access import StoreAccessDenied
from inventory.models import AuditEntry, InventoryItem, Order, OrderItem
from inventory.services import locking
from inventory.tests.helpers import seat_ids

pytestmark = pytest.mark.django_db

HOLDS = "/api/v1/events/demo-small/holds/"


def post(client, body, url=HOLDS):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json")


def snapshot():
    return (
        Order.objects.count(),
        OrderItem.objects.count(),
        AuditEntry.objects.count(),
        InventoryItem.objects.exclude(status="AVAILABLE").count(),
    )


@override_settings(INVENTORY_SEATS_CACHE_SECONDS=0)
def test_seats_lists_availability_but_never_who_holds(fan, second_fan, small_event):
    ids = seat_ids(small_event, count=1)
    assert post(second_fan, {"seat_ids": ids}).status_code == 201
    body = fan.get("/api/v1/events/demo-small/seats/?section=A").json()
    assert body["available"] == 49
    assert len(body["seats"]) == 50
    first = body["seats"][0]
    assert set(first) == {"id", "row", "number", "x", "y", "available"}
    assert (first["id"], first["row"], first["number"], first["available"]) == (ids[0], "A", 1, False)


def test_seats_of_a_general_admission_section_is_a_count(fan, small_event):
    body = fan.get("/api/v1/events/demo-small/seats/?section=PISTA").json()
    assert (body["available"], body["seats"], body["section"]["kind"]) == (40, [], "GA")


@pytest.mark.parametrize("query", ["", "?section=", "?section=NOPE"])
def test_seats_needs_a_known_section(fan, small_event, query):
    response = fan.get(f"/api/v1/events/demo-small/seats/{query}")
    assert response.status_code == 400
    assert set(response.json()) == {"error", "detail"}


def test_hold_chosen_seats(fan, small_event):
    ids = seat_ids(small_event, count=2)
    response = post(fan, {"seat_ids": ids})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "HELD"
    assert [s["id"] for s in body["seats"]] == ids
    assert body["seats"][0] == {
        "id": ids[0],
        "section": "A",
        "row": "A",
        "number": 1,
        "place": None,
        "price": "65.00",
        "fee": "6.50",
    }
    assert body["total"] == "143.00"
    assert body["expires_at"]
    order = fan.get(f"/api/v1/orders/{body['order_id']}/").json()
    assert (order["status"], order["total"], [s["id"] for s in order["seats"]]) == ("HELD", "143.00", ids)


def test_hold_best_available(fan, small_event):
    response = post(fan, {"section": "PISTA", "quantity": 3})
    assert response.status_code == 201
    assert len(response.json()["seats"]) == 3


def test_taken_seats_are_409_with_the_unavailable_ids(fan, second_fan, small_event):
    ids = seat_ids(small_event, count=3)
    post(second_fan, {"seat_ids": ids[1:2]})
    before = snapshot()
    response = post(fan, {"seat_ids": ids})
    assert response.status_code == 409
    assert response.json() == {
        "error": "seats_unavailable",
        "detail": response.json()["detail"],
        "unavailable": ids[1:2],
    }
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "malformed_json"),
        ("[1, 2]", "malformed_json"),
        ({"seat_ids": [1], "colour": "red"}, "unknown_fields"),
        ({}, "invalid_request"),
        ({"seat_ids": "1,2"}, "invalid_seat_ids"),
        ({"seat_ids": [1, "2"]}, "invalid_seat_ids"),
        ({"seat_ids": [True]}, "invalid_seat_ids"),
        ({"seat_ids": [1.0]}, "invalid_seat_ids"),
        ({"seat_ids": []}, "invalid_seat_ids"),
        ({"seat_ids": [0]}, "invalid_seat_ids"),
        ({"seat_ids": [-1]}, "invalid_seat_ids"),
        ({"seat_ids": [1, 2, 3, 4, 5]}, "too_many_tickets"),
        ({"seat_ids": [7, 7]}, "duplicate_seat_ids"),
        ({"seat_ids": [99999999]}, "unknown_seats"),
        ({"seat_ids": [2**80]}, "unknown_seats"),
        ({"section": "A"}, "invalid_request"),
        ({"quantity": 2}, "missing_section"),
        ({"section": "A", "quantity": 0}, "invalid_quantity"),
        ({"section": "A", "quantity": -2}, "invalid_quantity"),
        ({"section": "A", "quantity": 5}, "too_many_tickets"),
        ({"section": "A", "quantity": True}, "invalid_quantity"),
        ({"section": "A", "quantity": "2"}, "invalid_quantity"),
        ({"section": "A", "quantity": 2.5}, "invalid_quantity"),
        ({"section": "A", "quantity": None}, "invalid_quantity"),
        ({"section": 7, "quantity": 2}, "invalid_section"),
        ({"section": "ZZZ", "quantity": 2}, "unknown_section"),
        ({"section": "A", "quantity": 2, "seat_ids": [1]}, "invalid_request"),
    ],
)
def test_bad_hold_requests_are_400_and_change_nothing(fan, small_event, body, code):
    before = snapshot()
    response = post(fan, body)
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == code
    assert set(response.json()) >= {"error", "detail"}
    assert snapshot() == before


def test_ids_of_another_event_or_section_are_400(fan, small_event, future_event):
    other_event = seat_ids(future_event, count=1)
    assert post(fan, {"seat_ids": other_event}).json()["error"] == "unknown_seats"
    place = seat_ids(small_event, section="PISTA", count=1)
    assert post(fan, {"seat_ids": place}).status_code == 400
    seat = seat_ids(small_event, count=1)
    response = post(fan, {"seat_ids": seat, "section": "PISTA"})
    assert (response.status_code, response.json()["error"]) == (400, "unknown_seats")
    assert not Order.objects.exists()


def test_wrong_content_type_is_refused(fan, small_event):
    response = fan.post(HOLDS, data={"seat_ids": "1"})
    assert response.status_code in (400, 415)
    assert response.json()["error"] == "bad_content_type"


def test_unknown_event_is_404(fan, small_event):
    response = post(fan, {"section": "A", "quantity": 1}, url="/api/v1/events/nope/holds/")
    assert response.status_code == 404


def test_sale_not_open_is_409(fan, future_event):
    response = post(fan, {"section": "A", "quantity": 1}, url="/api/v1/events/future-show/holds/")
    assert (response.status_code, response.json()["error"]) == (409, "sale_not_open")


def test_fan_cap_across_orders_is_409(fan, small_event):
    assert post(fan, {"section": "PISTA", "quantity": 3}).status_code == 201
    response = post(fan, {"section": "A", "quantity": 2})
    assert (response.status_code, response.json()["error"]) == (409, "ticket_limit_reached")


def test_another_fans_order_is_404_and_cannot_be_released(fan, second_fan, small_event):
    order_id = post(fan, {"seat_ids": seat_ids(small_event, count=1)}).json()["order_id"]
    assert second_fan.get(f"/api/v1/orders/{order_id}/").status_code == 404
    assert second_fan.delete(f"/api/v1/orders/{order_id}/").status_code == 404
    assert Order.objects.get(pk=order_id).status == "HELD"
    assert fan.get("/api/v1/orders/not-a-uuid/").status_code == 404


def test_delete_releases_the_order(fan, small_event):
    ids = seat_ids(small_event, count=2)
    order_id = post(fan, {"seat_ids": ids}).json()["order_id"]
    response = fan.delete(f"/api/v1/orders/{order_id}/")
    assert (response.status_code, response.json()["status"]) == (200, "CANCELLED")
    assert set(InventoryItem.objects.filter(id__in=ids).values_list("status", flat=True)) == {"AVAILABLE"}


def test_busy_is_503_with_retry_after(fan, small_event, monkeypatch):
    from inventory.services import holds

    def contended(**kwargs):
        raise locking.Busy()

    monkeypatch.setattr(holds, "hold_best_available", contended)
    response = post(fan, {"section": "A", "quantity": 2})
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["error"] == "busy"


def deny(request, event):
    return StoreAccessDenied(code="queue_pass_required", detail="Join the queue first.", redirect_url="/queue/")


@override_settings(STORE_ACCESS_CHECK="inventory.tests.test_api_holds.deny")
def test_store_endpoints_check_the_door(fan, small_event):
    response = post(fan, {"section": "A", "quantity": 2})
    assert (response.status_code, response.json()) == (
        403,
        {"error": "queue_pass_required", "detail": "Join the queue first."},
    )
    assert fan.get("/api/v1/events/demo-small/seats/?section=A").status_code == 403
    assert fan.get("/events/demo-small/buy/A/").url == "/queue/"
    assert not Order.objects.exists()


def test_hold_endpoint_makes_few_queries(fan, small_event, django_assert_max_num_queries):
    ids = seat_ids(small_event, count=2)
    post(fan, {"section": "PISTA", "quantity": 1})  # warm the fan cookie
    # The event; lock timeout + fan lock; one statement that checks the cap,
    # claims, and writes order + lines + audit. +2 for the test's
    # SAVEPOINT/RELEASE (BEGIN/COMMIT in production are not counted).
    with django_assert_max_num_queries(5):
        assert post(fan, {"seat_ids": ids}).status_code == 201
    # Best-available adds the section (first use) and the SKIP LOCKED pick;
    # the claim statement checks the cap.
    with django_assert_max_num_queries(7):
        assert post(fan, {"section": "A", "quantity": 1}).status_code == 201


def test_json_api_needs_no_csrf_token_but_forms_do(small_event):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post(strict, {"section": "PISTA", "quantity": 1}).status_code == 201
    assert strict.post("/events/demo-small/hold/", {"section": "PISTA", "quantity": "1"}).status_code == 403
    # A cross-site form can only send form encodings, which the API refuses.
    assert strict.post(HOLDS, {"section": "PISTA", "quantity": "1"}).status_code in (400, 415)


def test_seats_answer_is_shared_for_a_few_seconds(fan, second_fan, small_event, django_assert_num_queries):
    assert fan.get("/api/v1/events/demo-small/seats/?section=A").json()["available"] == 50
    with django_assert_num_queries(2):  # the event and the section; the seats come from the shared cache
        assert second_fan.get("/api/v1/events/demo-small/seats/?section=A").json()["available"] == 50


@pytest.fixture
def event_cache(settings):  # type: ignore[no-untyped-def]
    """The store's per-process event cache, on, and empty before and after."""
    from inventory import selectors

    settings.INVENTORY_EVENT_CACHE_SECONDS = 2
    selectors._STORE_EVENTS.clear()
    yield selectors
    selectors._STORE_EVENTS.clear()


def test_store_reads_the_event_once_per_cache_period(fan, small_event, event_cache, django_assert_max_num_queries):
    ids = seat_ids(small_event, count=2)
    post(fan, {"section": "PISTA", "quantity": 1})  # warm the fan cookie and the cache
    # Lock timeout + fan lock, then the one-statement claim; +2 for the
    # test's SAVEPOINT/RELEASE. No event query.
    with django_assert_max_num_queries(4):
        assert post(fan, {"seat_ids": ids}).status_code == 201


def test_cached_event_expires_and_unknown_slugs_are_cached_too(small_event, event_cache, django_assert_num_queries):
    from inventory.models import Event

    now = [100.0]
    assert event_cache.store_event("demo-small", clock=lambda: now[0]).pk == small_event.pk
    assert event_cache.store_event("no-such-event", clock=lambda: now[0]) is None
    Event.objects.filter(pk=small_event.pk).update(is_published=False)
    with django_assert_num_queries(0):
        assert event_cache.store_event("demo-small", clock=lambda: now[0]).pk == small_event.pk
        assert event_cache.store_event("no-such-event", clock=lambda: now[0]) is None
    now[0] += 2  # the deadline is exclusive
    with django_assert_num_queries(1):
        assert event_cache.store_event("demo-small", clock=lambda: now[0]) is None


def test_too_many_hold_attempts_get_429_and_change_nothing(fan, second_fan, small_event, settings):
    settings.HOLD_RATE_LIMIT = "3/m"
    for n in range(3):  # refused or not, every attempt counts
        assert post(fan, {"seat_ids": [10**9 + n]}).status_code == 400
    before = snapshot()
    limited = post(fan, {"section": "PISTA", "quantity": 1})
    assert limited.status_code == 429
    assert limited.json()["error"] == "too_many_requests"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert snapshot() == before
    # Another fan is not affected.
    assert post(second_fan, {"section": "PISTA", "quantity": 1}).status_code == 201


def test_hold_form_over_the_limit_explains_and_holds_nothing(fan, small_event, settings):
    settings.HOLD_RATE_LIMIT = "1/m"
    fan.post("/i18n/setlang/", {"language": "en", "next": "/"})
    form = {"section": "PISTA", "mode": "best", "quantity": "1"}
    assert fan.post("/events/demo-small/hold/", form).status_code == 302
    before = snapshot()
    page = fan.post("/events/demo-small/hold/", form, follow=True).content.decode()
    assert "That was a lot of tries in a short time." in page
    assert snapshot() == before


def test_hold_limit_lets_fans_through_when_the_cache_is_down(fan, small_event, settings, monkeypatch):
    from inventory import limits

    def broken(*args, **kwargs):
        raise ConnectionError("redis down")

    settings.HOLD_RATE_LIMIT = "1/m"
    monkeypatch.setattr(limits, "get_usage", broken)
    assert post(fan, {"section": "PISTA", "quantity": 1}).status_code == 201
    assert post(fan, {"section": "PISTA", "quantity": 1}).status_code == 201
