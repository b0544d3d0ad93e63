import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from inventory.invariants import find_violations
from inventory.models import InventoryItem, OrderItem
from inventory.services import holds
from inventory.tests.helpers import seat_ids

pytestmark = pytest.mark.django_db


def test_clean_sale_passes(small_event, capsys):
    hold = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=2))
    holds.start_checkout(order_id=hold.order_id, owner="fan-1")
    holds.sell_order(order_id=hold.order_id)
    holds.hold_best_available(event=small_event, owner="fan-2", section_code="PISTA", quantity=3)
    call_command("check_inventory", "demo-small")
    assert "OK" in capsys.readouterr().out


def test_violation_exits_non_zero(small_event):
    hold = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=2))
    # Bypass the services: a line goes dead while its seat is still locked to the order.
    OrderItem.objects.filter(order_id=hold.order_id).update(is_live=False)
    with pytest.raises(SystemExit) as exit_:
        call_command("check_inventory")
    assert exit_.value.code == 1


def test_stale_lock_is_reported(small_event):
    now = timezone.now()
    holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=1), now=now)
    assert "stale_lock" in find_violations(now=now + dt.timedelta(hours=1))
    assert find_violations(now=now) == {}
    assert InventoryItem.objects.filter(status="SOFT_LOCKED").count() == 1
