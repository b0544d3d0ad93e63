"""GET /api/v1/events/{slug}/orders/: the fan's live orders (docs/api.md)."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from urllib.parse import urlsplit

import pytest
from django.core.signals import request_finished
from django.test import Client, override_settings
from django.utils import timezone

from inventory.models import InventoryItem, Order
from inventory.services import holds
from inventory.tests.helpers import seat_ids
from inventory.tests.test_api_holds import HOLDS, post

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/events/demo-small/orders/"


def test_orders_list_the_fans_own_orders_newest_first_shaped_like_one_order(fan, second_fan, small_event):
    first = post(fan, {"seat_ids": seat_ids(small_event, count=2)}).json()["order_id"]
    second = post(fan, {"section": "PISTA", "quantity": 1}).json()["order_id"]
    theirs = post(second_fan, {"section": "PISTA", "quantity": 3}).json()["order_id"]

    response = fan.get(ORDERS)

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    body = response.json()
    assert [o["order_id"] for o in body["orders"]] == [second, first]
    shown = fan.get(f"/api/v1/orders/{first}/").json()
    assert shown.pop("payment") is None  # only the order's own URL carries its payment
    assert body["orders"][1] == shown
    assert (body["tickets"], body["max_tickets_per_fan"]) == (3, 4)
    assert [o["order_id"] for o in second_fan.get(ORDERS).json()["orders"]] == [theirs]


def test_another_fan_sees_none_of_them(fan, small_event):
    post(fan, {"section": "PISTA", "quantity": 2})
    assert Client().get(ORDERS).json() == {"orders": [], "tickets": 0, "max_tickets_per_fan": 4}


def test_orders_are_those_counted_toward_the_cap(fan, small_event):
    """HELD in time, PAYMENT_PENDING (even late: its payment may still
    land) and PAID are listed; expired, released and failed orders are not."""
    listed = post(fan, {"section": "PISTA", "quantity": 1}).json()["order_id"]
    owner = Order.objects.get(pk=listed).owner
    now = timezone.now()
    long_ago = now - dt.timedelta(seconds=small_event.hold_ttl_seconds + 60)
    expired = holds.hold_best_available(event=small_event, owner=owner, section_code="PISTA", quantity=1)
    Order.objects.filter(pk=expired.order_id).update(expires_at=long_ago)  # the hold ran out
    InventoryItem.objects.filter(order_id=expired.order_id).update(locked_until=long_ago)
    released = post(fan, {"section": "PISTA", "quantity": 1}).json()["order_id"]
    fan.delete(f"/api/v1/orders/{released}/")
    paid = holds.hold_best_available(event=small_event, owner=owner, section_code="A", quantity=1)
    holds.start_checkout(order_id=paid.order_id, owner=owner)
    holds.sell_order(order_id=paid.order_id)
    checkout = holds.hold_best_available(event=small_event, owner=owner, section_code="A", quantity=1)
    holds.start_checkout(order_id=checkout.order_id, owner=owner)
    Order.objects.filter(pk=checkout.order_id).update(expires_at=long_ago)  # past its checkout deadline

    body = fan.get(ORDERS).json()

    assert {o["order_id"]: o["status"] for o in body["orders"]} == {
        listed: "HELD",
        str(paid.order_id): "PAID",
        str(checkout.order_id): "PAYMENT_PENDING",
    }
    assert str(expired.order_id) not in str(body)
    assert body["tickets"] == 3


def test_unknown_event_is_404(fan, small_event):
    response = fan.get("/api/v1/events/nope/orders/")
    assert response.status_code == 404
    assert response.json()["error"] == "event_not_found"


def test_only_get(fan, small_event):
    assert fan.post(ORDERS, data="{}", content_type="application/json").status_code == 405


def deny(request, event):
    from inventory.access import StoreAccessDenied

    return StoreAccessDenied(code="queue_pass_required", detail="Join the queue first.", redirect_url="/queue/")


def test_orders_need_no_store_pass(fan, small_event):
    """A fan whose pass ended mid-cart still finds what they hold."""
    order_id = post(fan, {"section": "PISTA", "quantity": 1}).json()["order_id"]
    with override_settings(STORE_ACCESS_CHECK="inventory.tests.test_api_orders.deny"):
        assert post(fan, {"section": "PISTA", "quantity": 1}).status_code == 403
        assert [o["order_id"] for o in fan.get(ORDERS).json()["orders"]] == [order_id]


def test_orders_list_costs_two_queries(fan, small_event, django_assert_num_queries):
    post(fan, {"seat_ids": seat_ids(small_event, count=2)})
    post(fan, {"section": "PISTA", "quantity": 2})
    # The event (per-process cache off in tests), the orders, all their lines.
    with django_assert_num_queries(3):
        assert len(fan.get(ORDERS).json()["orders"]) == 2
    with django_assert_num_queries(2):  # no orders: no lines query
        assert Client().get(ORDERS).json()["orders"] == []


def test_dropped_hold_answer_is_found_in_the_list_and_by_a_retry(fan, small_event):
    """The issue's case: the hold commits but its answer never arrives."""
    headers = {"Idempotency-Key": "retry-me-1"}
    fan.post(HOLDS, data='{"section": "PISTA", "quantity": 2}', content_type="application/json", headers=headers)
    # ...the answer is lost. The fan asks what they hold:
    orders = fan.get(ORDERS).json()["orders"]
    assert [o["status"] for o in orders] == ["HELD"]
    # ...or simply retries:
    retry = fan.post(
        HOLDS, data='{"quantity": 2, "section": "PISTA"}', content_type="application/json", headers=headers
    )
    assert (retry.status_code, retry.json()["order_id"]) == (200, orders[0]["order_id"])
    assert Order.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_hold_whose_connection_dropped_is_found_by_the_list_and_a_retry(live_server, small_event):
    """A real server and a client that hangs up right after sending: the
    hold still commits; the list and a retry with the key both find it."""
    fan = Client()
    fan.get(ORDERS)  # the fan cookie
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in fan.cookies.items())
    body = b'{"section": "PISTA", "quantity": 2}'
    raw = (
        f"POST {HOLDS} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nIdempotency-Key: dropped-1\r\nCookie: {cookie}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body
    finished = threading.Event()

    def on_finished(**kwargs: object) -> None:
        finished.set()

    request_finished.connect(on_finished)
    try:
        url = urlsplit(live_server.url)
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_RDWR)  # hang up before any answer
        assert finished.wait(timeout=20), "the server never finished the request"
    finally:
        request_finished.disconnect(on_finished)

    orders = fan.get(ORDERS).json()["orders"]
    assert [(o["status"], len(o["seats"])) for o in orders] == [("HELD", 2)]
    retry = fan.post(HOLDS, data=body, content_type="application/json", headers={"Idempotency-Key": "dropped-1"})
    assert (retry.status_code, retry.json()["order_id"]) == (200, orders[0]["order_id"])
    assert Order.objects.count() == 1
