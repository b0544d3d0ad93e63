"""Races with a forced interleaving: another transaction holds the seat's row
lock while a hold runs (saleor's tests/race_condition.py idea)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections, transaction
from django.test import override_settings
from django.utils import timezone

from inventory.models import InventoryItem, Order
from inventory.services import holds
from inventory.services.locking import Busy
from inventory.tests.helpers import seat_ids

pytestmark = pytest.mark.django_db(transaction=True)


def hold_in_thread(event, ids, started: threading.Event) -> dict[str, object]:
    result: dict[str, object] = {}

    def run() -> None:
        try:
            started.set()
            result["hold"] = holds.hold_seats(event=event, owner="fan-b", seat_ids=ids)
        except (holds.HoldError, Busy) as exc:
            result["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    result["thread"] = thread
    return result


def wait_until_blocked(timeout: float = 5.0) -> None:
    """Until some backend waits on a row lock: an event, not a sleep."""
    with connections["default"].cursor() as cursor:
        for _ in range(int(timeout / 0.01)):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            threading.Event().wait(0.01)
    raise AssertionError("the hold never waited on the lock")


def test_hold_waits_for_a_concurrent_claim_then_refuses_cleanly(small_event):
    ids = seat_ids(small_event, count=2)
    other = Order.objects.create(
        event=small_event, owner="fan-a", status="HELD", expires_at=timezone.now() + dt.timedelta(minutes=5)
    )
    started = threading.Event()
    with transaction.atomic():
        # Fan A's claim is in flight: the row is locked and about to change.
        InventoryItem.objects.select_for_update().filter(pk=ids[1]).get()
        result = hold_in_thread(small_event, ids, started)
        started.wait(5)
        wait_until_blocked()
        InventoryItem.objects.filter(pk=ids[1]).update(
            status="SOFT_LOCKED", locked_by="fan-a", locked_until=timezone.now() + dt.timedelta(minutes=5), order=other
        )
    result["thread"].join(10)  # type: ignore[attr-defined]

    assert isinstance(result.get("error"), holds.SeatsUnavailable)
    assert result["error"].unavailable == [ids[1]]  # type: ignore[attr-defined]
    assert InventoryItem.objects.get(pk=ids[0]).status == "AVAILABLE"  # all or nothing
    assert not Order.objects.filter(owner="fan-b").exists()


def test_hold_waits_for_a_lock_that_is_let_go_and_then_wins(small_event):
    ids = seat_ids(small_event, count=2)
    started = threading.Event()
    with transaction.atomic():
        InventoryItem.objects.select_for_update().filter(pk=ids[0]).get()
        result = hold_in_thread(small_event, ids, started)
        started.wait(5)
        wait_until_blocked()
    result["thread"].join(10)  # type: ignore[attr-defined]
    assert "hold" in result, result


@override_settings(INVENTORY_LOCK_TIMEOUT_MS=100)
def test_lock_held_too_long_is_busy_and_changes_nothing(small_event):
    ids = seat_ids(small_event, count=2)
    started = threading.Event()
    with transaction.atomic():
        InventoryItem.objects.select_for_update().filter(pk=ids[1]).get()
        result = hold_in_thread(small_event, ids, started)
        result["thread"].join(10)  # type: ignore[attr-defined]
    assert isinstance(result.get("error"), Busy)
    assert set(InventoryItem.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"AVAILABLE"}
    assert not Order.objects.exists()
