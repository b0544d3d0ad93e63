"""Many clients at once, each on its own database connection: no oversell,
no seat in two orders, every client gets a whole hold or a clean refusal,
and opposite-order holds never deadlock.

Threads share the psycopg pool (DB_POOL_MAX connections at a time, like a
server process); every client's transaction runs on its own connection.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from inventory.invariants import find_violations
from inventory.models import InventoryItem, Order, OrderItem, OrderStatus
from inventory.services import holds
from inventory.services.locking import Busy
from inventory.tests.helpers import items, seat_ids

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 60


def race(clients: int, work: Callable[[int], Any]) -> list[tuple[str, Any]]:
    """Run ``work(i)`` in ``clients`` threads released together; collect
    ("ok", result) / ("refused", error) / ("busy", error) / ("crash", error)."""
    barrier = threading.Barrier(clients)
    results: list[tuple[str, Any]] = [("missing", None)] * clients

    def client(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = ("ok", work(i))
        except holds.HoldError as exc:
            results[i] = ("refused", exc)
        except Busy as exc:
            results[i] = ("busy", exc)
        except Exception as exc:  # noqa: BLE001 - reported by the assertions
            results[i] = ("crash", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a client hung"
    return results


def assert_consistent(event) -> None:
    assert find_violations(event_id=event.pk) == {}
    live = OrderItem.objects.filter(is_live=True, order__event=event)
    per_item = Counter(live.values_list("item_id", flat=True))
    assert all(n == 1 for n in per_item.values()), "a seat is in two live orders"
    for order in Order.objects.filter(event=event, status=OrderStatus.HELD):
        held = set(InventoryItem.objects.filter(order=order, status="SOFT_LOCKED").values_list("id", flat=True))
        lines = set(live.filter(order=order).values_list("item_id", flat=True))
        assert held == lines and len(held) == order.ticket_count, "an order got part of a hold"


def test_many_clients_racing_for_the_same_seats_get_one_winner(small_event):
    wanted = seat_ids(small_event, count=3, offset=20)

    results = race(
        CLIENTS,
        lambda i: holds.hold_seats(event=small_event, owner=f"fan-{i}", seat_ids=wanted[::-1] if i % 2 else wanted),
    )

    kinds = Counter(kind for kind, _ in results)
    assert kinds == {"ok": 1, "refused": CLIENTS - 1}, results
    assert all(isinstance(err, holds.SeatsUnavailable) for kind, err in results if kind == "refused")
    winner = next(hold for kind, hold in results if kind == "ok")
    assert sorted(i.id for i in winner.items) == sorted(wanted)
    assert Order.objects.count() == 1
    assert_consistent(small_event)


def test_overlapping_multi_seat_holds_in_opposite_orders_never_deadlock(small_event):
    ids = seat_ids(small_event, count=50)

    def work(i: int) -> holds.Hold:
        # Overlapping windows of 4 seats, every other client asking in reverse.
        start = (i * 3) % 46
        wanted = ids[start : start + 4]
        return holds.hold_seats(event=small_event, owner=f"fan-{i}", seat_ids=wanted[::-1] if i % 2 else wanted)

    results = race(CLIENTS, work)

    kinds = Counter(kind for kind, _ in results)
    assert set(kinds) <= {"ok", "refused"}, results  # no Busy: no deadlock, no lock timeout
    assert kinds["ok"] >= 1
    held = [i.id for kind, hold in results if kind == "ok" for i in hold.items]
    assert len(held) == len(set(held))
    assert InventoryItem.objects.filter(event=small_event, status="SOFT_LOCKED").count() == len(held)
    assert_consistent(small_event)


def _drain(event, section: str, fan: str, first_quantity: int) -> list[holds.Hold]:
    """Keep holding from ``section`` until it is exhausted or the fan's cap is reached."""
    got: list[holds.Hold] = []
    quantity = first_quantity
    while True:
        try:
            got.append(holds.hold_best_available(event=event, owner=fan, section_code=section, quantity=quantity))
        except holds.NotEnoughSeats as exc:
            left = exc.extra["available"]
            if left == 0:
                return got
            quantity = min(quantity, left)
        except holds.LimitReached as exc:
            if not exc.extra["allowed"]:
                return got
            quantity = exc.extra["allowed"]
        except Busy:
            continue


@pytest.mark.parametrize("section", ["A", "PISTA"])
def test_best_available_until_the_section_is_exhausted_never_oversells(small_event, section):
    capacity = items(small_event, section).count()

    results = race(CLIENTS, lambda i: _drain(small_event, section, f"fan-{i}", 1 + i % 3))

    assert all(kind == "ok" for kind, _ in results), results
    held = [item.id for _, got in results for hold in got for item in hold.items]
    assert len(held) == len(set(held)), "a seat was given twice"
    assert len(held) == capacity, "the section was not exhausted, or oversold"
    assert not items(small_event, section).filter(status="AVAILABLE").exists()
    per_fan = [sum(len(h.items) for h in got) for _, got in results]
    assert max(per_fan) <= small_event.max_tickets_per_fan
    if section == "A":
        # Most parties got adjacent seats in one row.
        together = sum(
            1
            for _, got in results
            for h in got
            if len({i.row for i in h.items}) == 1
            and max(i.number for i in h.items) - min(i.number for i in h.items) == len(h.items) - 1
        )
        assert together >= 0.8 * sum(len(got) for _, got in results)
    assert_consistent(small_event)


def test_one_fan_racing_themselves_stays_within_the_cap(small_event):
    results = race(
        20, lambda i: holds.hold_best_available(event=small_event, owner="greedy", section_code="PISTA", quantity=1)
    )
    kinds = Counter(kind for kind, _ in results)
    assert kinds == {"ok": small_event.max_tickets_per_fan, "refused": 20 - small_event.max_tickets_per_fan}
    assert all(isinstance(err, holds.LimitReached) for kind, err in results if kind == "refused")
    assert_consistent(small_event)


def test_many_clients_claiming_seats_of_one_expired_order_at_once(small_event):
    import datetime as dt

    from django.utils import timezone

    now = timezone.now()
    wanted = seat_ids(small_event, count=4, offset=30)
    old = holds.hold_seats(event=small_event, owner="slow-fan", seat_ids=wanted, now=now)
    later = now + dt.timedelta(seconds=small_event.hold_ttl_seconds + 1)

    results = race(
        CLIENTS,
        lambda i: holds.hold_seats(event=small_event, owner=f"fan-{i}", seat_ids=[wanted[i % 4]], now=later),
    )

    kinds = Counter(kind for kind, _ in results)
    assert kinds == {"ok": 4, "refused": CLIENTS - 4}, results
    assert Order.objects.get(pk=old.order_id).status == OrderStatus.EXPIRED
    assert not OrderItem.objects.filter(order_id=old.order_id, is_live=True).exists()
    assert_consistent(small_event)
