"""Idempotency-Key on POST /api/v1/events/{slug}/holds/ (docs/api.md): the
same key from the same fan gives one order, however often and however
concurrently it is sent."""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client

from inventory.models import AuditEntry, InventoryItem, Order, OrderItem
from inventory.tests.helpers import seat_ids
from inventory.tests.test_api_holds import HOLDS, snapshot

pytestmark = pytest.mark.django_db


def post(client: Client, body: object, key: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(HOLDS, data=json.dumps(body), content_type="application/json", headers=headers)


def test_same_key_twice_gives_the_same_order_and_counts_the_cap_once(fan, small_event):
    first = post(fan, {"section": "PISTA", "quantity": 2}, key="k-1")
    again = post(fan, {"section": "PISTA", "quantity": 2}, key="k-1")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["order_id"] == first.json()["order_id"]
    # The replay is the order as GET /api/v1/orders/{id}/ shows it (less its
    # payment block, which only that URL carries), plus the url: every field
    # of the 201 is there.
    shown = fan.get(first.json()["url"]).json()
    assert shown.pop("payment") is None
    assert again.json() == {**shown, "url": first.json()["url"]}
    assert set(first.json()) <= set(again.json())
    assert Order.objects.count() == 1
    assert InventoryItem.objects.filter(status="SOFT_LOCKED").count() == 2
    # The cap (4) saw 2 tickets, not 4.
    assert post(fan, {"section": "PISTA", "quantity": 2}).status_code == 201
    assert post(fan, {"section": "PISTA", "quantity": 1}).json()["error"] == "ticket_limit_reached"


def test_same_key_for_chosen_seats_in_another_order_is_the_same_request(fan, small_event):
    ids = seat_ids(small_event, count=3)
    first = post(fan, {"seat_ids": ids}, key="seats")
    again = post(fan, {"seat_ids": ids[::-1], "section": None}, key="seats")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["order_id"] == first.json()["order_id"]
    assert Order.objects.count() == 1


def test_the_key_is_stored_on_the_order_with_the_hash_of_the_request(fan, small_event):
    order_id = post(fan, {"section": "A", "quantity": 1}, key="stored").json()["order_id"]
    order = Order.objects.get(pk=order_id)
    assert order.idempotency_key == "stored"
    assert order.request_hash is not None and len(order.request_hash) == 64
    keyless = post(fan, {"section": "A", "quantity": 1}).json()["order_id"]
    assert Order.objects.filter(pk=keyless, idempotency_key=None, request_hash=None).exists()


def test_a_different_key_holds_again(fan, small_event):
    first = post(fan, {"section": "PISTA", "quantity": 2}, key="k-1")
    second = post(fan, {"section": "PISTA", "quantity": 2}, key="k-2")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["order_id"] != second.json()["order_id"]
    assert Order.objects.count() == 2
    assert post(fan, {"section": "PISTA", "quantity": 2}, key="k-1").json()["order_id"] == first.json()["order_id"]
    assert post(fan, {"section": "PISTA", "quantity": 2}, key="k-2").json()["order_id"] == second.json()["order_id"]


def test_keys_belong_to_one_fan(fan, second_fan, small_event):
    mine = post(fan, {"section": "PISTA", "quantity": 2}, key="shared")
    theirs = post(second_fan, {"section": "PISTA", "quantity": 2}, key="shared")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["order_id"] != theirs.json()["order_id"]
    assert Order.objects.count() == 2
    again = post(second_fan, {"section": "PISTA", "quantity": 2}, key="shared")
    assert (again.status_code, again.json()["order_id"]) == (200, theirs.json()["order_id"])


@pytest.mark.parametrize(
    "other",
    [
        {"section": "PISTA", "quantity": 3},
        {"section": "A", "quantity": 2},
        {"seat_ids": [1]},
        {"section": "PISTA", "quantity": "2"},
    ],
)
def test_same_key_with_another_request_is_422_and_changes_nothing(fan, small_event, other):
    order_id = post(fan, {"section": "PISTA", "quantity": 2}, key="k-1").json()["order_id"]
    before = snapshot()

    response = post(fan, other, key="k-1")

    assert response.status_code == 422
    body = response.json()
    assert (body["error"], body["order_id"]) == ("idempotency_key_reused", order_id)
    assert body["detail"]
    assert snapshot() == before


@pytest.mark.parametrize("key", ["", "x" * 256, "clé", "a\tb", "a\x00b", "a\x7fb", "\ud800"])
def test_bad_keys_are_400_and_change_nothing(fan, small_event, key):
    response = post(fan, {"section": "PISTA", "quantity": 1}, key=key)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_idempotency_key"
    assert not Order.objects.exists()


@pytest.mark.parametrize("key", ["a", "x" * 255, " !~", "6f1c2b7e-8d0a-4c61-9d6e-1f0b9b8f3a52"])
def test_good_keys(fan, small_event, key):
    assert post(fan, {"section": "PISTA", "quantity": 1}, key=key).status_code == 201
    assert post(fan, {"section": "PISTA", "quantity": 1}, key=key).status_code == 200


def test_refused_hold_stores_nothing_so_the_key_can_be_tried_again(fan, second_fan, small_event):
    ids = seat_ids(small_event, count=2)
    taken = post(second_fan, {"seat_ids": ids[:1]}).json()["order_id"]
    before = snapshot()
    assert post(fan, {"seat_ids": ids}, key="again").status_code == 409
    assert snapshot() == before

    second_fan.delete(f"/api/v1/orders/{taken}/")
    retried = post(fan, {"seat_ids": ids}, key="again")
    assert retried.status_code == 201
    replayed = post(fan, {"seat_ids": ids}, key="again")
    assert (replayed.status_code, replayed.json()["order_id"]) == (200, retried.json()["order_id"])


def test_replay_shows_the_order_as_it_is_now(fan, small_event):
    order_id = post(fan, {"section": "PISTA", "quantity": 2}, key="k").json()["order_id"]
    fan.delete(f"/api/v1/orders/{order_id}/")

    replay = post(fan, {"section": "PISTA", "quantity": 2}, key="k")

    assert replay.status_code == 200
    assert (replay.json()["order_id"], replay.json()["status"]) == (order_id, "CANCELLED")
    assert [s["held"] for s in replay.json()["seats"]] == [False, False]
    assert Order.objects.count() == 1


def test_a_key_adds_one_lookup_to_a_hold_and_a_replay_holds_nothing(
    fan, small_event, django_assert_max_num_queries, django_assert_num_queries
):
    ids = seat_ids(small_event, count=2)
    post(fan, {"section": "PISTA", "quantity": 1})  # warm the fan cookie
    # As test_hold_endpoint_makes_few_queries (5), plus the key's lookup.
    with django_assert_max_num_queries(6):
        assert post(fan, {"seat_ids": ids}, key="q").status_code == 201
    # The event, the key's lookup, its order (with its event), its lines.
    with django_assert_num_queries(4):
        assert post(fan, {"seat_ids": ids}, key="q").status_code == 200


def test_database_refuses_a_second_order_with_a_fans_key(fan, small_event):
    order = Order.objects.get(pk=post(fan, {"section": "PISTA", "quantity": 1}, key="db").json()["order_id"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(event=small_event, owner=order.owner, idempotency_key="db", request_hash="0" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(event=small_event, owner="someone", idempotency_key="no-hash")
    Order.objects.create(event=small_event, owner="someone", idempotency_key="db", request_hash="0" * 64)


# --- real parallel clients -------------------------------------------------------

CLIENTS = 12


def same_fan_clients(n: int) -> list[Client]:
    """n test clients of one fan (one fan cookie), one per thread."""
    first = Client()
    first.get("/api/v1/events/demo-small/orders/")  # sets the fan cookie
    clients = []
    for _ in range(n):
        client = Client()
        for name, morsel in first.cookies.items():
            client.cookies[name] = morsel.value
        clients.append(client)
    return clients


def race_posts(clients: list[Client], body: object, key: str) -> list[tuple[int, dict[str, object]]]:
    """POST the same hold from every client at once, each thread on its own
    database connection; (status, body) per client."""
    barrier = threading.Barrier(len(clients))
    results: list[tuple[int, dict[str, object]]] = [(0, {})] * len(clients)

    def send(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            response = post(clients[i], body, key=key)
            results[i] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a client hung"
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("body", [{"section": "PISTA", "quantity": 2}, {"section": "A", "quantity": 1}, "seats"])
def test_concurrent_requests_with_one_key_make_exactly_one_order(small_event, body):
    if body == "seats":
        body = {"seat_ids": seat_ids(small_event, count=2, offset=10)}

    results = race_posts(same_fan_clients(CLIENTS), body, key="one-click")

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 200: CLIENTS - 1}, results
    assert len({answer["order_id"] for _, answer in results}) == 1
    assert Order.objects.count() == 1
    order = Order.objects.get()
    assert OrderItem.objects.filter(order=order, is_live=True).count() == order.ticket_count
    assert InventoryItem.objects.exclude(status="AVAILABLE").count() == order.ticket_count
    assert AuditEntry.objects.filter(subject="order").count() == 1
