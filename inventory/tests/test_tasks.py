import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from inventory.models import InventoryItem, Order
from inventory.services import holds
from inventory.tasks import sweep_expired_locks
from inventory.tests.helpers import seat_ids

pytestmark = pytest.mark.django_db


def test_sweep_runs_every_few_seconds_from_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["inventory-sweep-expired-locks"]
    assert entry["task"] == sweep_expired_locks.name
    assert entry["schedule"] <= 10


def test_sweep_task_expires_orders_past_their_deadline(small_event):
    hold = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=2))
    past = timezone.now() - dt.timedelta(seconds=1)  # the deadline passed: move it, do not sleep
    InventoryItem.objects.filter(order_id=hold.order_id).update(locked_until=past)
    Order.objects.filter(pk=hold.order_id).update(expires_at=past)
    assert sweep_expired_locks.apply().get() == 2
    assert Order.objects.get(pk=hold.order_id).status == "EXPIRED"
